import type { ClaimContext, Execution, HeldClaim, IdempotentCall } from './call.js';
import { ConfigurationError, StoreUnavailableError } from './errors.js';
import type { CallEventBody } from './events.js';
import { holdLease } from './lease.js';
import type { LocalCache } from './local-cache.js';
import { announceLocal } from './local-waiters.js';
import type { ResolvedOptions } from './options.js';
import { type Outcome, type StorePolicy } from './outcome.js';
import type { IdempotencyRecord, RecordScope } from './record.js';
import type { StoredOutcomes } from './stored-outcome.js';
import type { Completion, IdempotencyStore } from './store.js';
import type { OpenTransaction } from './transaction.js';

export type Emit = (event: CallEventBody) => void;

/** What a held claim needs from its engine. */
export interface ClaimKit {
  store: IdempotencyStore;
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
}

function contextOf<Tx>(claimed: Claimed, signal: AbortSignal, tx?: Tx): ClaimContext<Tx> {
  const { call, scope, record, deriveKey } = claimed;
  return { tenant: call.tenant, operation: call.operation, key: scope.key, fence: record.fence, signal, deriveKey, ...(tx === undefined ? {} : { tx }) };
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

async function completion(kit: ClaimKit, scope: RecordScope, outcome: Outcome): Promise<Completion> {
  const response = await kit.outcomes.encode(scope, outcome);
  const now = kit.config.clock.now();
  return { response, completedAt: now, expiresAt: now + kit.config.retention };
}

/**
 * Lease mode: the record is visible while the work runs; a heartbeat renews the lease, and the
 * holder's token fences every later change, so a holder that lost its claim can change nothing.
 */
export function leaseClaim<T, Tx = never>(kit: ClaimKit, claimed: Claimed): HeldClaim<T, Tx> {
  const { scope, record } = claimed;
  const lease = holdLease(kit.store, scope, record, kit.config, () => kit.emit({ type: 'lease_lost', fence: record.fence }));
  const finish = once();
  return {
    replayed: false,
    context: contextOf(claimed, lease.signal),
    async commit(outcome) {
      finish();
      lease.stop();
      const kind = outcome.ok ? 'success' : 'error';
      const policy = claimed.call.shouldStore ?? kit.shouldStore;
      let stored = false;
      try {
        if (policy(outcome)) {
          const done = await completion(kit, scope, outcome);
          stored = await kit.store.complete(scope, record.token, done);
          if (stored) kit.cache?.set({ ...record, status: 'completed', response: done.response, leaseExpiresAt: null, updatedAt: done.completedAt, expiresAt: done.expiresAt }, done.completedAt);
          kit.emit(stored ? { type: 'completed', fence: record.fence, outcome: kind, ...kit.payload(outcome) } : { type: 'lease_lost', fence: record.fence });
        } else {
          const released = await kit.store.release(scope, record.token);
          kit.emit(released ? { type: 'released', fence: record.fence, outcome: kind } : { type: 'lease_lost', fence: record.fence });
        }
      } catch {
        // The work ran and its outcome stands; the record stays in progress until its lease runs out.
        kit.emit({ type: 'lease_lost', fence: record.fence });
      }
      announceLocal(kit.store, scope);
      return execution(claimed, outcome, stored);
    },
    async release() {
      finish();
      lease.stop();
      const released = await kit.store.release(scope, record.token).catch(() => false);
      announceLocal(kit.store, scope);
      kit.emit(released ? { type: 'released', fence: record.fence } : { type: 'lease_lost', fence: record.fence });
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
  const end = async (complete: Parameters<typeof open.finish>[0]) => {
    try {
      await open.finish(complete);
    } finally {
      announceLocal(kit.store, scope);
    }
  };
  const rollBack = async (kind?: 'success' | 'error') => {
    await end(null);
    kit.emit({ type: 'released', fence: record.fence, ...(kind ? { outcome: kind } : {}) });
  };
  return {
    replayed: false,
    context: contextOf(claimed, new AbortController().signal, tx),
    async commit(outcome, options = {}) {
      finish();
      const failed = !outcome.ok || options.failed === true;
      let done: Completion | undefined;
      try {
        const policy = claimed.call.shouldStore ?? kit.shouldStore;
        if (!failed || (undoable && policy(outcome))) done = await completion(kit, scope, outcome);
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
      await end(async (txStore) => {
        if (failed) await txStore.undoWork!();
        if (!(await txStore.complete(scope, record.token, ready))) {
          throw new StoreUnavailableError(new Error('The claim vanished inside its own transaction.'));
        }
      });
      kit.emit({ type: 'completed', fence: record.fence, outcome: outcome.ok ? 'success' : 'error', ...kit.payload(outcome) });
      return execution(claimed, outcome, true);
    },
    async release() {
      finish();
      await rollBack();
    },
  };
}
