import { IdempotencyError, StoreUnavailableError } from './errors.js';
import type { InProgressMode } from './call.js';
import type { ResolvedOptions } from './options.js';
import { type IdempotencyRecord, type RecordScope, isExpired, isReclaimable } from './record.js';
import type { CreateOrGet, IdempotencyStore } from './store.js';
import { subscribeLocal } from './local-waiters.js';
import type { CallTrace, StepSpan } from './telemetry.js';

export type ClaimResult =
  | { kind: 'claimed'; record: IdempotencyRecord; reclaimed: boolean }
  | { kind: 'completed'; record: IdempotencyRecord }
  | { kind: 'in_progress'; record: IdempotencyRecord };

export interface ClaimRequest {
  scope: RecordScope;
  fingerprint: string;
  mode: InProgressMode;
  /** performance.now() deadline for waiting on an in-progress holder (wait mode). */
  waitUntil: number;
  /** Called with a live record of another fingerprint; must throw (422). */
  refuseMismatch(existing: IdempotencyRecord): never;
}

/**
 * The claim decision: create the record, or find the existing one and decide: replay it, take it
 * over (expired, or its holder's lease ran out), refuse it (another fingerprint), or, while another
 * request holds it, answer in progress or wait for it (woken at once by a holder in this process
 * sharing `waitersOf`, by the store where it can tell, polling with backoff otherwise).
 * `waitersOf` is the engine's store: in transactional mode `store` is a per-transaction view of it.
 */
export async function claimRecord(
  store: IdempotencyStore,
  request: ClaimRequest,
  config: ResolvedOptions,
  waitersOf: object = store,
  trace?: { call: CallTrace; parent: StepSpan },
): Promise<ClaimResult> {
  // Reject mode never waits: the one attempt's promise, without the wait loop's async frame.
  if (request.mode !== 'wait') {
    try {
      return tryClaim(store, request, config);
    } catch (error) {
      return Promise.reject(error);
    }
  }
  return claimOrWait(store, request, config, waitersOf, trace);
}

async function claimOrWait(
  store: IdempotencyStore,
  request: ClaimRequest,
  config: ResolvedOptions,
  waitersOf: object,
  trace: { call: CallTrace; parent: StepSpan } | undefined,
): Promise<ClaimResult> {
  let delay = 10;
  // One span for the whole wait, from the first in-progress answer to the decision.
  let waiting: StepSpan | undefined;
  try {
    for (;;) {
      // Subscribed before the read, so a completion landing between the read and the wait still wakes us.
      const local = request.mode === 'wait' ? subscribeLocal(waitersOf, request.scope) : undefined;
      try {
        const result = await tryClaim(store, request, config);
        if (result.kind !== 'in_progress' || !local) return result;
        const remaining = request.waitUntil - performance.now();
        if (remaining <= 0) return result;
        if (trace && !waiting) waiting = trace.call.start('wait', trace.parent);
        const completed = await nextChange(store, request.scope, local.changed, remaining, delay);
        // Completed in this process: the record its holder committed, decided on without a read.
        const decided = completed && decideCompleted(request, completed, config.clock.now());
        if (decided) return decided;
      } finally {
        local?.cancel();
      }
      delay = Math.min(delay * 2, 250);
    }
  } finally {
    waiting?.end();
  }
}

/**
 * Whichever comes first: a holder in this process finished, the store announced a change, or the
 * poll interval passed. Still capped with notifications: a holder's lease running out, or a
 * holder in another process on a store without notifications, is not announced.
 */
async function nextChange(
  store: IdempotencyStore,
  scope: RecordScope,
  local: Promise<IdempotencyRecord | undefined>,
  remaining: number,
  delay: number,
): Promise<IdempotencyRecord | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const elsewhere = store.waitForChange
    ? store.waitForChange(scope, Math.min(remaining, 1000))
    : new Promise<void>((resolve) => {
        timer = setTimeout(resolve, Math.min(delay, remaining));
      });
  try {
    return await Promise.race([local, elsewhere.then(() => undefined)]);
  } finally {
    clearTimeout(timer);
  }
}

/** The decision on a record a holder in this process just completed: replay, or 422; undefined to read again. */
function decideCompleted({ scope, fingerprint, refuseMismatch }: ClaimRequest, completed: IdempotencyRecord, now: number): ClaimResult | undefined {
  if (completed.tenant !== scope.tenant || completed.operation !== scope.operation || completed.key !== scope.key) return undefined;
  if (completed.status !== 'completed' || isExpired(completed, now)) return undefined;
  if (completed.fingerprint !== fingerprint) refuseMismatch(completed);
  return { kind: 'completed', record: completed };
}

/** One pass of the decision; loops only while records change under it. */
function tryClaim(store: IdempotencyStore, request: ClaimRequest, config: ResolvedOptions): Promise<ClaimResult> {
  // The first attempt without an async frame: most claims end with it (created, or found).
  const now = config.clock.now();
  const fresh = newRecord(request.scope, request.fingerprint, now, 1, config);
  return storeCall(() => createOrGet(store, fresh)).then((inserted) =>
    inserted.created ? { kind: 'claimed', record: fresh, reclaimed: false } : decideFrom(store, request, config, inserted.existing, now),
  );
}

/** The rest of the claim once the first insert found `found`: decide, or insert again (up to 10 attempts in all). */
async function decideFrom(
  store: IdempotencyStore,
  { scope, fingerprint, refuseMismatch }: ClaimRequest,
  config: ResolvedOptions,
  found: IdempotencyRecord | null,
  firstNow: number,
): Promise<ClaimResult> {
  for (let attempt = 0; attempt < 10; attempt++) {
    let now = firstNow;
    let existing = found;
    if (attempt > 0) {
      now = config.clock.now();
      const fresh = newRecord(scope, fingerprint, now, 1, config);
      const inserted = await storeCall(() => createOrGet(store, fresh));
      if (inserted.created) return { kind: 'claimed', record: fresh, reclaimed: false };
      existing = inserted.existing;
    }
    if (!existing) continue; // purged or released between the insert and the read
    if (!isExpired(existing, now) && existing.fingerprint !== fingerprint) refuseMismatch(existing);
    if (isReclaimable(existing, now)) {
      const next = newRecord(scope, fingerprint, now, existing.fence + 1, config);
      next.createdAt = isExpired(existing, now) ? now : existing.createdAt;
      const expectedToken = existing.token;
      if (await storeCall(() => store.takeOver(next, expectedToken, now))) return { kind: 'claimed', record: next, reclaimed: true };
      continue;
    }
    return existing.status === 'completed' ? { kind: 'completed', record: existing } : { kind: 'in_progress', record: existing };
  }
  throw new StoreUnavailableError(new Error('The record kept changing during the claim; giving up after 10 attempts.'));
}

/** The claim's first step: the store's one-round-trip createOrGet where it has one, else create, then get. */
function createOrGet(store: IdempotencyStore, record: IdempotencyRecord): Promise<CreateOrGet> {
  // The store's own promise where it has createOrGet: no async layer of ours around it.
  return store.createOrGet ? store.createOrGet(record) : createThenGet(store, record);
}

async function createThenGet(store: IdempotencyStore, record: IdempotencyRecord): Promise<CreateOrGet> {
  if (await store.create(record)) return { created: true };
  return { created: false, existing: await store.get({ tenant: record.tenant, operation: record.operation, key: record.key }) };
}

function newRecord(scope: RecordScope, fingerprint: string, now: number, fence: number, config: ResolvedOptions): IdempotencyRecord {
  // Every property written out: a spread followed by more properties built a slow object (V8),
  // which cost more than everything else in the claim.
  return {
    tenant: scope.tenant,
    operation: scope.operation,
    key: scope.key,
    status: 'in_progress',
    fingerprint,
    // The Web Crypto global (Node 20+, Bun, Deno, workerd): as fast as node:crypto's (bench/web-apis.ts).
    token: crypto.randomUUID(),
    fence,
    leaseExpiresAt: now + config.lease,
    response: null,
    createdAt: now,
    updatedAt: now,
    expiresAt: now + Math.max(config.retention, config.lease),
  };
}

/** A store failure is the store's unavailability (503), unless it already is one of ours. */
export function storeCall<R>(fn: () => Promise<R>): Promise<R> {
  // Promise chaining, not async/await: one promise and tick less per store call on the hot path.
  try {
    return Promise.resolve(fn()).then(undefined, rethrowAsStoreError);
  } catch (error) {
    return Promise.reject(asStoreError(error));
  }
}

function asStoreError(error: unknown): unknown {
  return error instanceof IdempotencyError ? error : new StoreUnavailableError(error);
}

function rethrowAsStoreError(error: unknown): never {
  throw asStoreError(error);
}
