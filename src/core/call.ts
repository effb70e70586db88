import type { Duration } from './duration.js';
import type { Outcome, StorePolicy } from './outcome.js';
import type { Tenant } from './scope.js';

/** What a duplicate gets while the first request still runs: 409 at once, or wait for the result. */
export type InProgressMode = 'reject' | 'wait';

/** One call: which record, with which input. */
export interface IdempotentCall {
  tenant: Tenant;
  /** What is being done, e.g. a procedure path or a mutation name. */
  operation: string;
  /** The raw key from the request; validated here. */
  key: unknown;
  /** The operation's input; its canonical SHA-256 is the fingerprint. */
  input?: unknown;
  /** A precomputed fingerprint instead of `input`. */
  fingerprint?: string;
  inProgress?: InProgressMode;
  waitTimeout?: Duration;
  shouldStore?: StorePolicy;
  /**
   * Transactional mode: the claim, the work's writes through `claim.tx` and the stored outcome
   * commit together or not at all, so database side effects happen exactly once even if the
   * process dies. Duplicates wait for the transaction and then replay. A failed outcome never
   * commits the work's writes: they are undone; the store policy then decides, as in lease mode,
   * whether the error is stored (deterministic errors) or the key released (unexpected errors).
   * Default: the engine's `transactional`.
   */
  transactional?: boolean;
}

/** What the work is given while its call holds the claim. */
export interface ClaimContext<Tx = unknown> {
  tenant: Tenant;
  operation: string;
  key: string;
  /** 1 on the first claim, higher when an abandoned claim was taken over. */
  fence: number;
  /** Aborted when the lease is lost: another request may now run the same work. */
  signal: AbortSignal;
  /**
   * A key for a downstream call (e.g. a payment provider), stable across every retry and re-claim of
   * this operation, distinct per `purpose`.
   */
  deriveKey(purpose?: string): string;
  /**
   * Lease mode: an external step (a call outside your database, e.g. charging a card). Runs `fn`
   * and records its result; a retry after a crash or takeover gets the recorded result without
   * running it again. At-least-once: a crash after `fn` but before the record re-runs it, so pass
   * `step.key` (`deriveKey(name)`) to the provider as its idempotency key. Steps are matched by
   * position and name (StepMismatchError otherwise) and run one at a time.
   */
  step<T>(name: string, fn: (step: { key: string }) => Promise<T> | T): Promise<T>;
  /**
   * Lease mode, on a store with transactions (PrismaStore): a database step. Runs `fn(tx)` in a
   * store transaction that also records the step, fenced by this claim's token: exactly-once (a
   * holder that lost its claim rolls its writes back).
   */
  databaseStep<T>(name: string, fn: (tx: Tx) => Promise<T>): Promise<T>;
  /** Transactional mode only: the transaction handle (Prisma: the interactive transaction client). */
  tx?: Tx;
}

/** How a call ended. */
export interface Execution<T> {
  /** True when the outcome came from the store instead of running the work. */
  replayed: boolean;
  outcome: Outcome<T>;
  key: string;
  fence: number;
  /** False when the outcome was not stored (policy said no, or the lease was lost). */
  stored: boolean;
  /** True when this call took over an abandoned or expired record (fence > 1). */
  reclaimed: boolean;
  /** Same as ClaimContext.deriveKey: usable on replays too, e.g. to answer with the downstream key. */
  deriveKey(purpose?: string): string;
}

/** begin() found a stored outcome: answer with it, run nothing. */
export interface Replay<T> {
  readonly replayed: true;
  readonly execution: Execution<T>;
}

/**
 * begin() claimed the key: run the work with `context`, then finish exactly once with commit()
 * (stores the outcome if the policy says so, else releases; in transactional mode commits a
 * success and rolls back a failure) or release() (the work did not run or must not be kept).
 */
export interface HeldClaim<T, Tx = unknown> {
  readonly replayed: false;
  readonly context: ClaimContext<Tx>;
  commit(outcome: Outcome<T>, options?: CommitOptions): Promise<Execution<T>>;
  release(): Promise<void>;
}

export interface CommitOptions {
  /**
   * Transactional mode: the outcome is a failure although it is a value (e.g. a GraphQL result
   * with errors), so the work's writes are undone before it is stored, as for a thrown error.
   * Ignored in lease mode, where nothing can undo the writes.
   */
  failed?: boolean;
}

export type Begun<T, Tx = unknown> = Replay<T> | HeldClaim<T, Tx>;
