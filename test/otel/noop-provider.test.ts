import { afterEach, describe, expect, it } from 'vitest';
import { Idempotency, MemoryStore } from '../../src/index.js';
import { openTelemetry } from '../../src/otel/index.js';
import { otelHarness } from './support/otel.js';

let harness = otelHarness();
afterEach(async () => {
  await harness.shutdown();
  harness = otelHarness();
});

const call = (key: string) => ({ tenant: 'acme', operation: 'pay', key, input: { amount: 5 } });
const traced = { tenant: 'acme', operation: 'pay', key: 'k', store: 'MemoryStore' };

/** The stored answer as the store keeps it: a trace context is a `c<traceparent>\n` prefix. */
async function storedResponse(store: MemoryStore, key: string): Promise<string> {
  const record = await store.get({ tenant: 'acme', operation: 'pay', key });
  return record!.response!;
}

describe('openTelemetry() on the no-op provider (no SDK registered)', () => {
  it('traces no call, measures nothing, and the engine stores no trace context', async () => {
    const telemetry = openTelemetry();
    expect(telemetry.call(traced)).toBeUndefined();
    expect(telemetry.measuring!()).toBe(false);
    const store = new MemoryStore();
    const engine = new Idempotency({ store, telemetry });
    expect(await engine.execute(call('k-noop'), () => 'paid')).toMatchObject({ replayed: false, stored: true, outcome: { ok: true, value: 'paid' } });
    expect(await engine.execute(call('k-noop'), () => 'ran twice')).toMatchObject({ replayed: true, outcome: { ok: true, value: 'paid' } });
    expect(await storedResponse(store, 'k-noop')).not.toMatch(/^c00-/);
  });

  it('an SDK registered after the engine was built is used from the next call on: spans, links and metrics', async () => {
    const store = new MemoryStore();
    const engine = new Idempotency({ store, telemetry: openTelemetry() });
    await engine.execute(call('k-before'), () => 'before');

    harness.registerGlobally();
    await engine.execute(call('k-after'), () => 'after');
    expect(harness.spans().map((s) => s.name).sort()).toEqual(['oncely.claim', 'oncely.complete', 'oncely.execute']);
    const execute = harness.one('oncely.execute');
    expect(await storedResponse(store, 'k-after')).toMatch(new RegExp(`^c00-${execute.spanContext().traceId}-${execute.spanContext().spanId}-01\n`));

    harness.exporter.reset();
    expect((await engine.execute(call('k-after'), () => 'no')).replayed).toBe(true);
    expect(harness.one('oncely.replay').links.map((l) => l.context.spanId)).toEqual([execute.spanContext().spanId]);
    harness.exporter.reset();
    // Stored while no SDK was there: replayed without a link.
    expect((await engine.execute(call('k-before'), () => 'no')).replayed).toBe(true);
    expect(harness.one('oncely.replay').links).toEqual([]);

    // Only what ran after the registration is counted: 1 claim, 2 replays, 3 claims read + 1 completion timed.
    expect(await harness.sum('oncely.claims')).toBe(1);
    expect(await harness.sum('oncely.replays')).toBe(2);
    const durations = await harness.metric('oncely.store.duration');
    expect(Object.fromEntries(durations.map((p) => [p.attributes['oncely.store.method'], (p.value as { count: number }).count]))).toEqual({ createOrGet: 3, complete: 1 });
  });

  it('with a meter and no tracer: counts, times the store and holds the claim in flight, with no span', async () => {
    const telemetry = openTelemetry({ meter: harness.meter });
    expect(telemetry.measuring!()).toBe(true);
    const store = new MemoryStore();
    const engine = new Idempotency({ store, telemetry });
    let inFlight = -1;
    await engine.execute(call('k-metrics'), async () => {
      inFlight = await harness.sum('oncely.claims.in_flight');
      return 'paid';
    });
    expect((await engine.execute(call('k-metrics'), () => 'no')).replayed).toBe(true);
    expect(inFlight).toBe(1);
    expect(await harness.sum('oncely.claims.in_flight')).toBe(0);
    expect(await harness.sum('oncely.claims')).toBe(1);
    expect(await harness.sum('oncely.replays')).toBe(1);
    const durations = await harness.metric('oncely.store.duration');
    expect(Object.fromEntries(durations.map((p) => [p.attributes['oncely.store.method'], (p.value as { count: number }).count]))).toEqual({ createOrGet: 2, complete: 1 });
    expect(harness.spans()).toEqual([]);
    expect(await storedResponse(store, 'k-metrics')).not.toMatch(/^c00-/);
  });
});
