import type { Clock } from './clock.js';
import { IdempotencyError } from './errors.js';
import type { IdempotencyRecord, RecordScope } from './record.js';
import type { IdempotencyStore } from './store.js';
import type { StepSpan } from './telemetry.js';

export interface Lease {
  /** Aborted when the lease is lost: another request may now run the same work. Made when first read. */
  readonly signal: AbortSignal;
  /** Whether the lease was lost (without making `signal`). */
  readonly aborted: boolean;
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
  const lease = new HeldLease();
  if (timing.heartbeat === false) return lease;
  lease.timer = setInterval(() => {
    const now = timing.clock.now();
    const span = traceRenewal?.();
    store.renew(scope, record.token, now + timing.lease, now).then(
      (renewed) => {
        if (!renewed && !lease.aborted) {
          lease.lose();
          span?.fail(lease.signal.reason);
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
  lease.timer.unref?.();
  return lease;
}

/**
 * An AbortSignal made only when someone reads it: most work never looks at its signal, and an
 * AbortController per call was one of the engine's dearest allocations. Aborted before the first
 * read, the signal is born aborted, with the reason made at the abort.
 */
export class LazyAbort {
  private controller: AbortController | undefined;
  private reason: unknown;
  private done = false;

  constructor(private readonly reasonOf: () => unknown) {}

  get aborted(): boolean {
    return this.done;
  }

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.done) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }

  abort(): void {
    if (this.done) return;
    this.done = true;
    this.reason = this.reasonOf();
    this.controller?.abort(this.reason);
  }
}

/** A held lease: its lazily made signal, and the heartbeat's timer (none with heartbeat: false). A class: one object per call instead of an object literal with getters and closures. */
class HeldLease extends LazyAbort implements Lease {
  timer: ReturnType<typeof setInterval> | undefined;

  constructor() {
    super(leaseLostError);
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
  }

  lose(): void {
    this.stop();
    this.abort();
  }
}
