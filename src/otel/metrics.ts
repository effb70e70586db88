import type { Attributes, Counter, Histogram, Meter, UpDownCounter } from '@opentelemetry/api';
import type { IdempotencyEvent } from '../core/events.js';
import type { StoreMethod } from '../core/telemetry.js';

/** The instruments on one meter (openTelemetry() makes them anew when the global meter changes: an SDK registered later). */
export class Instruments {
  readonly claims: Counter;
  readonly replays: Counter;
  readonly conflicts: Counter;
  readonly mismatches: Counter;
  readonly leaseLosses: Counter;
  readonly storeFailures: Counter;
  readonly inFlight: UpDownCounter;
  readonly storeDuration: Histogram;

  constructor(readonly meter: Meter) {
    this.claims = meter.createCounter('oncely.claims', { description: 'Keys claimed: the work runs (first executions and takeovers).' });
    this.replays = meter.createCounter('oncely.replays', { description: 'Calls answered with a stored outcome.' });
    this.conflicts = meter.createCounter('oncely.conflicts', { description: 'Calls refused because another request holds the key (409).' });
    this.mismatches = meter.createCounter('oncely.mismatches', { description: 'Calls refused because the key was used with another input (422).' });
    this.leaseLosses = meter.createCounter('oncely.lease.losses', { description: 'Claims lost while or after the work ran: another request may run it again.' });
    this.storeFailures = meter.createCounter('oncely.store.failures', { description: 'Store calls that threw.' });
    this.inFlight = meter.createUpDownCounter('oncely.claims.in_flight', { description: 'Claims held right now: work running or not yet committed.' });
    this.storeDuration = meter.createHistogram('oncely.store.duration', {
      description: 'Duration of each store call, by method.',
      unit: 's',
      advice: { explicitBucketBoundaries: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5] },
    });
  }

  /** Counts what an engine event says. */
  count(event: IdempotencyEvent): void {
    switch (event.type) {
      case 'claimed':
        this.claims.add(1, { 'oncely.operation': event.operation, 'oncely.reclaimed': event.reclaimed });
        return;
      case 'replayed':
        this.replays.add(1, { 'oncely.operation': event.operation, 'oncely.outcome': event.outcome, 'oncely.cached': event.cached });
        return;
      case 'conflict':
        this.conflicts.add(1, { 'oncely.operation': event.operation });
        return;
      case 'mismatch':
        this.mismatches.add(1, { 'oncely.operation': event.operation });
        return;
      case 'lease_lost':
        this.leaseLosses.add(1, { 'oncely.operation': event.operation });
        return;
      case 'store_failed':
        this.storeFailures.add(1, { 'oncely.store.method': event.method, ...(event.operation === undefined ? {} : { 'oncely.operation': event.operation }) });
        return;
      default:
        return;
    }
  }

  storeCall(method: StoreMethod, durationMs: number, failed: boolean, store: string): void {
    const attributes: Attributes = { 'oncely.store.method': method, 'oncely.store': store, 'oncely.outcome': failed ? 'error' : 'success' };
    this.storeDuration.record(durationMs / 1000, attributes);
  }
}
