import { IdempotencyError, StoreUnavailableError } from './errors.js';
import type { TransactionScope, TransactionalStore } from './store.js';

// Thrown inside the transaction to roll it back without an error for the caller.
const ROLLBACK = Symbol('oncely.rollback');

export type Completion = (store: TransactionScope) => Promise<void>;

export interface OpenTransaction<B> {
  /** What `begin` returned inside the transaction. */
  begun: B;
  /**
   * Ends the transaction: `complete` runs inside it and commits with it; null rolls it back.
   * Resolves once the database answered; rejects with 503 when the transaction failed.
   */
  finish(complete: Completion | null): Promise<void>;
}

/**
 * Opens a store transaction, runs `begin` in it and keeps it open until finish(): an adapter may
 * run the work in a later hook, after this returned, and its writes through the transaction handle
 * still commit (or roll back) with the claim. When `begin` holds nothing (a replay, a conflict) the
 * transaction commits at once.
 */
export async function openTransaction<B>(
  store: TransactionalStore,
  begin: (txStore: TransactionScope, tx: unknown) => Promise<{ begun: B; holds: boolean }>,
): Promise<OpenTransaction<B>> {
  let handOut!: (begun: B) => void;
  const handedOut = new Promise<B>((resolve) => {
    handOut = resolve;
  });
  let finishWith!: (complete: Completion | null) => void;
  const finished = new Promise<Completion | null>((resolve) => {
    finishWith = resolve;
  });
  const done = store
    .transaction(async (txStore, tx) => {
      const { begun, holds } = await begin(txStore, tx);
      handOut(begun);
      if (!holds) return;
      const complete = await finished;
      if (!complete) throw ROLLBACK;
      await complete(txStore);
    })
    .then(
      () => undefined,
      (error: unknown) => {
        if (error === ROLLBACK) return;
        // Opening, completing or committing failed: nothing was committed, or the commit's answer
        // was lost and a retry replays it. Either way the client may retry with the same key.
        throw error instanceof IdempotencyError ? error : new StoreUnavailableError(error);
      },
    );
  const begun = await new Promise<B>((resolve, reject) => {
    handedOut.then(resolve);
    done.then(() => reject(new StoreUnavailableError(new Error('The transaction ended before the claim was decided.'))), reject);
  });
  return {
    begun,
    finish: (complete) => {
      finishWith(complete);
      return done;
    },
  };
}
