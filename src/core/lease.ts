import type { Clock } from './clock.js';
import { IdempotencyError } from './errors.js';
import type { IdempotencyRecord, RecordScope } from './record.js';
import type { IdempotencyStore } from './store.js';
import type { StepSpan } from './telemetry.js';

export interface Lease {
  /** Aborted when the lease is lost: another request may now run the same work. */
  signal: AbortSignal;
  stop(): void;
  /** The holder found the claim gone itself (a fenced write refused): aborts `signal`, stops renewing. */
  lose(): void;
}

/** What a held claim's work gets when its lease is lost (the abort reason of `signal`). */
export function leaseLostError(): IdempotencyError {
  return new IdempotencyError('IDEMPOTENCY_KEY_IN_USE', 'The idempotency lease was lost.');
}

/**
 * Renews a held claim's lease every `heartbeat` ms while the work runs. A renewal refused by the
 * store (the record was taken over or purged) aborts `signal` and calls `onLost`; a renewal that
 * fails is retried on the next beat, since the lease still has time left.
 */
export function holdLease(
  store: IdempotencyStore,
  scope: RecordScope,
  record: IdempotencyRecord,
  timing: { lease: number; heartbeat: number | false; clock: Clock },
  onLost: () => void,
  /** Starts the span of one renewal (telemetry on). */
  traceRenewal?: () => StepSpan,
): Lease {
  const controller = new AbortController();
  const abort = () => {
    if (!controller.signal.aborted) controller.abort(leaseLostError());
  };
  if (timing.heartbeat === false) return { signal: controller.signal, stop: () => {}, lose: abort };
  const timer = setInterval(() => {
    const now = timing.clock.now();
    const span = traceRenewal?.();
    store.renew(scope, record.token, now + timing.lease, now).then(
      (renewed) => {
        if (!renewed && !controller.signal.aborted) {
          clearInterval(timer);
          abort();
          span?.fail(controller.signal.reason);
          onLost();
        }
        span?.end();
      },
      (error: unknown) => {
        span?.fail(error);
        span?.end();
      },
    );
  }, timing.heartbeat);
  timer.unref?.();
  return {
    signal: controller.signal,
    stop: () => clearInterval(timer),
    lose: () => {
      clearInterval(timer);
      abort();
    },
  };
}
