import type { RecordScope } from './record.js';
import type { IdempotencyStore, TransactionScope, TransactionalStore } from './store.js';
import { type IdempotencyTelemetry, type StoreMethod, storeTimingGate } from './telemetry.js';

/** Told about every store call: its method, duration, the error it threw (if any) and the scope it was about. */
export type StoreObserver = (method: StoreMethod, durationMs: number, failure: { error: unknown } | undefined, scope: RecordScope | undefined) => void;

const TIMED = ['create', 'createOrGet', 'get', 'takeOver', 'renew', 'complete', 'release', 'purgeExpired', 'loadSteps', 'recordStep'] as const;

/**
 * The same store, each call timed and reported to `observe`. Only built when something observes
 * (telemetry or onEvent): otherwise the engine calls the store directly. Optional methods stay
 * optional; a transaction's store is observed too. Given the engine's `watchers`, a call is timed
 * only while one of them listens (see storeTimingGate), else it goes to the store as it is.
 */
export function observeStore<S extends IdempotencyStore>(store: S, observe: StoreObserver, watchers?: { onEvent?: unknown; telemetry?: IdempotencyTelemetry }): S {
  return observeWith(store, observe, storeTimingGate(watchers?.onEvent, watchers?.telemetry));
}

function observeWith<S extends IdempotencyStore>(store: S, observe: StoreObserver, timing: (() => boolean) | undefined): S {
  const observed: Record<string, unknown> = {};
  for (const method of TIMED) {
    const original = store[method] as ((...args: unknown[]) => Promise<unknown>) | undefined;
    if (typeof original !== 'function') continue;
    // Plain promise chaining, not async/await: one tick per call less on the hot path.
    const timed = (...args: unknown[]) => {
      const started = performance.now();
      let pending: Promise<unknown>;
      try {
        pending = original.apply(store, args);
      } catch (error) {
        pending = Promise.reject(error);
      }
      return pending.then(
        (result) => {
          observe(method, performance.now() - started, undefined, undefined);
          return result;
        },
        (error: unknown) => {
          observe(method, performance.now() - started, { error }, scopeOf(args[0]));
          throw error;
        },
      );
    };
    // While nothing measures (`timing` says so), the store is called as it is: no clock, no extra promise.
    observed[method] = timing ? (...args: unknown[]) => (timing() ? timed(...args) : original.apply(store, args)) : timed;
  }
  // Untimed: waiting, closing and the transaction's savepoints are not store latency.
  for (const method of ['waitForChange', 'close', 'markWork', 'undoWork'] as const) {
    const original = (store as TransactionScope)[method] as ((...args: unknown[]) => unknown) | undefined;
    if (typeof original === 'function') observed[method] = (...args: unknown[]) => original.apply(store, args);
  }
  const transaction = (store as Partial<TransactionalStore>).transaction;
  if (typeof transaction === 'function') {
    observed.transaction = async <R>(fn: (txStore: TransactionScope, tx: unknown) => Promise<R>): Promise<R> => {
      if (timing && !timing()) return transaction.call(store as unknown as TransactionalStore, fn) as Promise<R>;
      const started = performance.now();
      let thrownInside: { error: unknown } | undefined;
      try {
        return await transaction.call<TransactionalStore, [(txStore: TransactionScope, tx: unknown) => Promise<R>], Promise<R>>(store as unknown as TransactionalStore, async (txStore, tx) => {
          try {
            return await fn(observeWith(txStore, observe, timing), tx);
          } catch (error) {
            thrownInside = { error };
            throw error;
          }
        });
      } catch (error) {
        // Only the transaction's own failure (open, commit), not what was thrown inside it (a
        // rollback, a refusal, a store call already reported). Not timed when it succeeds: it
        // lasts as long as the user's work.
        if (thrownInside?.error !== error) observe('transaction', performance.now() - started, { error }, undefined);
        throw error;
      }
    };
  }
  return observed as S;
}

function scopeOf(argument: unknown): RecordScope | undefined {
  const scope = argument as Partial<RecordScope> | undefined;
  return typeof scope?.tenant === 'string' && typeof scope.operation === 'string' && typeof scope.key === 'string'
    ? { tenant: scope.tenant, operation: scope.operation, key: scope.key }
    : undefined;
}
