import type { IdempotencyRecord, RecordScope } from './record.js';

/**
 * Persistence for idempotency records. Every method is one atomic step; the engine makes all the
 * decisions (expiry, fingerprints, replay), so a store only has to keep these promises:
 *
 * - `create` inserts only when no record exists for the scope, and never aborts a surrounding
 *   database transaction when one does.
 * - `takeOver`, `renew`, `complete` and `release` change a record only while it still carries
 *   `token` (fencing: a holder that lost its claim can change nothing).
 * - `takeOver` re-checks at write time that the record is reclaimable at `now` (see
 *   `isReclaimable`), so a holder that renewed or completed in the meantime keeps its record.
 * - Steps (optional `loadSteps` / `recordStep`): `create` / `createOrGet` insert a record with no
 *   steps; `takeOver` clears the steps when the replaced record was expired at `now` (a new logical
 *   operation) and keeps them when it was an in-progress record whose lease ran out (the taker
 *   resumes them), decided at write time from the stored expiry; `release` and purges delete them
 *   with the record; `complete` may keep or drop them (they are never read after completion).
 */
export interface IdempotencyStore {
  /** Inserts `record`; false when the scope already has one. */
  create(record: IdempotencyRecord): Promise<boolean>;
  /**
   * Optional: `create`, and when the scope already has a record, that record, in one round trip
   * (a claim's first step; a replay then costs one statement instead of two). Same promise as
   * `create`: inserts only when no record exists for the scope, never changes an existing record,
   * never aborts a surrounding database transaction. `existing` is null when the record vanished
   * (released, purged) between the failed insert and the read; the caller tries again.
   * `record.token` must be new (random per claim): stores may tell their own insert by it.
   * Without it, the engine calls `create`, then `get`.
   */
  createOrGet?(record: IdempotencyRecord): Promise<CreateOrGet>;
  /** The record of a scope, expired or not; null when none. */
  get(scope: RecordScope): Promise<IdempotencyRecord | null>;
  /** Replaces the record carrying `expectedToken` if it is reclaimable at `now`. */
  takeOver(record: IdempotencyRecord, expectedToken: string, now: number): Promise<boolean>;
  /** Extends the lease of an in-progress record held with `token`. */
  renew(scope: RecordScope, token: string, leaseExpiresAt: number, now: number): Promise<boolean>;
  /** Stores the outcome of an in-progress record held with `token`. */
  complete(scope: RecordScope, token: string, completion: Completion): Promise<boolean>;
  /** Deletes an in-progress record held with `token`, so the key can be used again at once. */
  release(scope: RecordScope, token: string): Promise<boolean>;
  /**
   * Deletes up to `limit` records expired at `now` (completed ones, and in-progress ones whose lease
   * also ran out), oldest expiry first. Returns how many were deleted.
   */
  purgeExpired(now: number, limit: number): Promise<number>;
  /**
   * Optional: resolves when the record of `scope` may have changed, or after `timeoutMs`. Stores
   * with change notifications implement it; the engine polls with backoff otherwise.
   */
  waitForChange?(scope: RecordScope, timeoutMs: number): Promise<void>;
  /** The steps recorded for the record held with `token`, in index order; null when `token` no longer holds it. */
  loadSteps?(scope: RecordScope, token: string): Promise<StepRecord[] | null>;
  /**
   * Appends `step` to the record held with `token` (fenced: false when the token no longer holds it,
   * or when a step with that index is already recorded) and, in the same atomic write, renews the
   * lease to `leaseExpiresAt`, so a takeover racing with it fails its write-time reclaimable check.
   */
  recordStep?(scope: RecordScope, token: string, step: StepRecord, leaseExpiresAt: number): Promise<boolean>;
  /** Optional: releases connections the store opened itself (never the client it was given). */
  close?(): Promise<void> | void;
}

/** One completed step of a multi-step run (see `ClaimContext.step` / `databaseStep`). */
export interface StepRecord {
  /** 0-based position in the run. */
  index: number;
  name: string;
  kind: 'database' | 'external';
  /** The serialized (and encoded) result, like `Completion.response`. */
  result: string;
  /** Epoch ms. */
  completedAt: number;
}

/** What `createOrGet` did: inserted the record, or found the scope's existing one. */
export type CreateOrGet = { created: true } | { created: false; existing: IdempotencyRecord | null };

export interface Completion {
  response: string;
  completedAt: number;
  expiresAt: number;
}

/**
 * A store that can run a claim, the caller's own writes and the completion in one database
 * transaction (transactional mode). `tx` is the store's transaction handle, handed to the work
 * (for Prisma: the interactive transaction client).
 */
export interface TransactionalStore<Tx = unknown> extends IdempotencyStore {
  transaction<R>(fn: (store: TransactionScope, tx: Tx) => Promise<R>): Promise<R>;
}

/**
 * The transaction handle a store hands to the work in transactional mode (`tx`): for a
 * `PrismaStore` built on your client, that client's interactive transaction client. `unknown` for a
 * store without transactions.
 */
export type TransactionOf<TStore> = TStore extends TransactionalStore<infer Tx> ? Tx : unknown;

/**
 * The store bound to one transaction. `markWork()` is called right after the claim, before the work
 * runs; `undoWork()` rolls the transaction back to that point (the work's writes are gone, the
 * claim stays), so that a failed outcome can still be stored in the same transaction. A store
 * without them rolls back the whole transaction for failed outcomes and stores nothing.
 * `loadSteps` / `recordStep` (inherited) work inside the transaction: a database step records
 * itself with `recordStep` in the same transaction as its writes.
 */
export interface TransactionScope extends IdempotencyStore {
  markWork?(): Promise<void>;
  undoWork?(): Promise<void>;
}

export function isTransactionalStore(store: IdempotencyStore): store is TransactionalStore {
  return typeof (store as Partial<TransactionalStore>).transaction === 'function';
}
