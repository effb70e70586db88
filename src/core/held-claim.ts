import type { ClaimContext, Execution, HeldClaim, IdempotentCall } from './call.js';
import { ConfigurationError, StoreUnavailableError } from './errors.js';
import type { CallEventBody } from './events.js';
import { LazyAbort, holdLease } from './lease.js';
import type { LocalCache } from './local-cache.js';
import { announceLocal } from './local-waiters.js';
import type { ResolvedOptions } from './options.js';
import { type Outcome, type StorePolicy } from './outcome.js';
import type { IdempotencyRecord, RecordScope } from './record.js';
import type { StoredOutcomes } from './stored-outcome.js';
import { type StepCalls, StepRunner, TRANSACTIONAL_STEPS, refusedSteps } from './steps.js';
import type { Completion, IdempotencyStore } from './store.js';
import type { CallTrace, StepSpan } from './telemetry.js';
import type { OpenTransaction } from './transaction.js';

export type Emit = (event: CallEventBody) => void;

/** The emit of an unobserved call. Compared against before building an event on the hot path: nothing would read it. */
export const ignoreEvents: Emit = () => {};

/** What a held claim needs from its engine. */
export interface ClaimKit {
  store: IdempotencyStore;
  /** The store steps are loaded from and recorded in: `store` when it has the step methods, else the engine's own. */
  steps: IdempotencyStore;
  /** The engine's own store, which local waiters are grouped by (`store` may be an observed view of it). */
  waiters: object;
  /** This call's trace (telemetry on). */
  trace: CallTrace | undefined;
  config: ResolvedOptions;
  outcomes: StoredOutcomes;
  cache: LocalCache | undefined;
  shouldStore: StorePolicy;
  emit: Emit;
  payload(value: unknown): { payload?: unknown };
}

interface Claimed {
  call: IdempotentCall;
  scope: RecordScope;
  record: IdempotencyRecord;
  reclaimed: boolean;
  deriveKey(purpose?: string): string;
  /** The span of the work (telemetry on): from the claim to commit or release. */
  span?: StepSpan;
}

/** The work's context; `signal` is read from `lease` when the work reads it (made lazily, see LazyAbort). */
function contextOf<Tx>(claimed: Claimed, lease: { readonly signal: AbortSignal }, steps: StepCalls<Tx>, tx?: Tx): ClaimContext<Tx> {
  const { call, scope, record, deriveKey } = claimed;
  const context: ClaimContext<Tx> = {
    tenant: call.tenant,
    operation: call.operation,
    key: scope.key,
    fence: record.fence,
    get signal() {
      return lease.signal;
    },
    deriveKey,
    step: (name, fn) => steps.step(name, fn),
    databaseStep: (name, fn) => steps.databaseStep(name, fn),
  };
  if (tx !== undefined) context.tx = tx;
  return context;
}

function execution<T>(claimed: Claimed, outcome: Outcome<T>, stored: boolean): Execution<T> {
  return { replayed: false, outcome, key: claimed.scope.key, fence: claimed.record.fence, stored, reclaimed: claimed.reclaimed, deriveKey: claimed.deriveKey };
}

/** Finishing twice is an adapter bug: say so instead of storing twice. */
function once(): () => void {
  let finished = false;
  return () => {
    if (finished) throw new ConfigurationError('oncely: this claim was already committed or released.');
    finished = true;
  };
}

/** Ends the work's span with its outcome; the trace context of the work, to store with the outcome. */
function endWork(kit: ClaimKit, claimed: Claimed, outcome: Outcome | undefined, failed = outcome?.ok === false): string | undefined {
  const span = claimed.span;
  if (!span || !kit.trace) return undefined;
  if (outcome) span.set({ outcome: failed ? 'error' : 'success' });
  if (outcome && !outcome.ok) span.fail(outcome.error);
  span.end();
  return kit.trace.traceContext(span);
}

/** Starts the span of one lease renewal, inside the work's span. */
function renewalSpans(trace: CallTrace | undefined, work: StepSpan | undefined, fence: number): (() => StepSpan) | undefined {
  if (!trace || !work) return undefined;
  return () => {
    const span = trace.start('renew', work);
    span.set({ fence });
    return span;
  };
}

/** Runs a finishing step (complete, release) in its own span when tracing. */
function traced<R>(kit: ClaimKit, step: 'complete' | 'release', fence: number, run: () => Promise<R>): Promise<R> {
  // Untraced: run's own promise, without one more async layer.
  return kit.trace ? inSpan(kit.trace, step, fence, run) : run();
}

async function inSpan<R>(trace: CallTrace, step: 'complete' | 'release', fence: number, run: () => Promise<R>): Promise<R> {
  const span = trace.start(step);
  span.set({ fence });
  try {
    return await run();
  } catch (error) {
    span.fail(error);
    throw error;
  } finally {
    span.end();
  }
}

function completion(kit: ClaimKit, scope: RecordScope, outcome: Outcome, traceContext?: string): Promise<Completion> {
  return kit.outcomes.encode(scope, outcome, traceContext).then((response) => {
    // Read once the outcome is encoded (a codec may take its time).
    const now = kit.config.clock.now();
    return { response, completedAt: now, expiresAt: now + kit.config.retention };
  });
}

/** A claim's StepRunner, made when first needed; finish() before that still refuses later steps. */
class LazySteps<Tx> implements StepCalls<Tx> {
  private runner: StepRunner<Tx> | undefined;
  private finished = false;

  constructor(private readonly make: () => StepRunner<Tx>) {}

  private get(): StepRunner<Tx> {
    if (!this.runner) {
      this.runner = this.make();
      if (this.finished) this.runner.finish();
    }
    return this.runner;
  }

  step<T>(name: string, fn: (step: { key: string }) => Promise<T> | T): Promise<T> {
    return this.get().step(name, fn);
  }

  databaseStep<T>(name: string, fn: (tx: Tx) => Promise<T>): Promise<T> {
    return this.get().databaseStep(name, fn);
  }

  holdsSteps(): Promise<boolean> {
    return this.get().holdsSteps();
  }

  finish(): void {
    this.finished = true;
    this.runner?.finish();
  }
}

/**
 * Lease mode: the record is visible while the work runs; a heartbeat renews the lease, and the
 * holder's token fences every later change, so a holder that lost its claim can change nothing.
 */
export function leaseClaim<T, Tx = never>(kit: ClaimKit, claimed: Claimed): HeldClaim<T, Tx> {
  const { scope, record } = claimed;
  // One lease_lost per claim: a heartbeat that found the claim gone already said so.
  let lost = false;
  const loseLease = () => {
    if (lost) return;
    lost = true;
    kit.emit({ type: 'lease_lost', fence: record.fence });
  };
  const lease = holdLease(kit.store, scope, record, kit.config, loseLease, renewalSpans(kit.trace, claimed.span, record.fence));
  // Made at the first step call (or when giving back needs to know about steps): most work runs none.
  const steps = new LazySteps<Tx>(() => new StepRunner<Tx>({
    store: kit.steps,
    outcomes: kit.outcomes,
    clock: kit.config.clock,
    lease: kit.config.lease,
    scope,
    token: record.token,
    reclaimed: claimed.reclaimed,
    deriveKey: claimed.deriveKey,
    held: lease,
    loseLease: () => {
      lease.lose();
      loseLease();
    },
    emit: kit.emit,
    fence: record.fence,
  }));
  /**
   * Gives the claim back without an outcome. A record holding steps is not deleted (a retry would
   * run its recorded database steps again): its lease ends now instead, so the retry (same input
   * only) takes it over at once and resumes at the first unfinished step.
   */
  const giveBack = async (): Promise<boolean> => {
    if (await steps.holdsSteps()) {
      const now = kit.config.clock.now();
      return kit.store.renew(scope, record.token, now, now);
    }
    return kit.store.release(scope, record.token);
  };
  const finish = once();
  return {
    replayed: false,
    context: contextOf(claimed, lease, steps),
    async commit(outcome) {
      finish();
      steps.finish();
      lease.stop();
      const traceContext = endWork(kit, claimed, outcome);
      const kind = outcome.ok ? 'success' : 'error';
      const policy = claimed.call.shouldStore ?? kit.shouldStore;
      let stored = false;
      // The record as the store holds it once the completion went through (for the local cache and waiters).
      let committed: IdempotencyRecord | undefined;
      try {
        if (policy(outcome)) {
          stored = await traced(kit, 'complete', record.fence, async () => {
            const done = await completion(kit, scope, outcome, traceContext);
            const completed = await kit.store.complete(scope, record.token, done);
            if (completed) {
              committed = completedRecord(record, done);
              kit.cache?.set(committed, done.completedAt);
            }
            return completed;
          });
          if (stored && kit.emit !== ignoreEvents) kit.emit({ type: 'completed', fence: record.fence, outcome: kind, ...kit.payload(outcome) });
          else loseLease();
        } else {
          const released = await traced(kit, 'release', record.fence, giveBack);
          if (released) kit.emit({ type: 'released', fence: record.fence, outcome: kind });
          else loseLease();
        }
      } catch {
        // The work ran and its outcome stands; the record stays in progress until its lease runs out.
        loseLease();
      }
      announceLocal(kit.waiters, scope, committed);
      return execution(claimed, outcome, stored);
    },
    async release() {
      finish();
      steps.finish();
      lease.stop();
      endWork(kit, claimed, undefined);
      const released = await traced(kit, 'release', record.fence, giveBack).catch(() => false);
      announceLocal(kit.waiters, scope);
      if (released) kit.emit({ type: 'released', fence: record.fence });
      else loseLease();
    },
  };
}

/**
 * Transactional mode: nobody sees the claim before the transaction commits, so there is no lease
 * to renew. A success is stored and committed with the work's writes through `tx`. A failed
 * outcome never commits those writes: the transaction returns to the point right after the claim
 * and, when the store policy keeps the error (a deterministic one), stores it there, so retries
 * replay it as in lease mode; otherwise, or on release(), everything rolls back, the claim too.
 */
export function transactionClaim<T, Tx>(kit: ClaimKit, claimed: Claimed, open: OpenTransaction<unknown>, tx: Tx, undoable: boolean): HeldClaim<T, Tx> {
  const { scope, record } = claimed;
  const finish = once();
  // Waiters in this process are woken only once the transaction ended: before, a re-read still
  // sees the old state (or, on databases that lock the row, blocks until the end anyway).
  const end = async (complete: Parameters<typeof open.finish>[0], completed?: IdempotencyRecord) => {
    let committed = false;
    try {
      await open.finish(complete);
      committed = true;
    } finally {
      announceLocal(kit.waiters, scope, committed ? completed : undefined);
    }
  };
  const rollBack = async (kind?: 'success' | 'error') => {
    await traced(kit, 'release', record.fence, () => end(null));
    kit.emit({ type: 'released', fence: record.fence, ...(kind ? { outcome: kind } : {}) });
  };
  return {
    replayed: false,
    context: contextOf(claimed, new LazyAbort(() => undefined), refusedSteps<Tx>(TRANSACTIONAL_STEPS), tx),
    async commit(outcome, options = {}) {
      finish();
      const failed = !outcome.ok || options.failed === true;
      const traceContext = endWork(kit, claimed, outcome, failed);
      let done: Completion | undefined;
      try {
        const policy = claimed.call.shouldStore ?? kit.shouldStore;
        if (!failed || (undoable && policy(outcome))) done = await completion(kit, scope, outcome, traceContext);
      } catch (error) {
        // A throwing policy or codec must not leave the transaction (and its connection) open
        // until the database's timeout.
        await end(null);
        throw error;
      }
      if (!done) {
        await rollBack('error');
        return execution(claimed, outcome, false);
      }
      const ready = done;
      // Not cached: only the commit makes it true.
      await traced(kit, 'complete', record.fence, () =>
        end(async (txStore) => {
          if (failed) await txStore.undoWork!();
          if (!(await txStore.complete(scope, record.token, ready))) {
            throw new StoreUnavailableError(new Error('The claim vanished inside its own transaction.'));
          }
        }, completedRecord(record, ready)),
      );
      kit.emit({ type: 'completed', fence: record.fence, outcome: outcome.ok ? 'success' : 'error', ...kit.payload(outcome) });
      return execution(claimed, outcome, true);
    },
    async release() {
      finish();
      endWork(kit, claimed, undefined);
      await rollBack();
    },
  };
}

/** The record as the store holds it after `complete(scope, record.token, done)` changed it. */
function completedRecord(record: IdempotencyRecord, done: Completion): IdempotencyRecord {
  return { ...record, status: 'completed', response: done.response, leaseExpiresAt: null, updatedAt: done.completedAt, expiresAt: done.expiresAt };
}
