import type { Begun, ClaimContext, Execution, IdempotentCall, Replay } from './call.js';
import { type ClaimRequest, type ClaimResult, claimRecord } from './claim.js';
import { deriveDownstreamKey } from './derive-key.js';
import { UnsupportedValueError } from './encoding.js';
import { ConfigurationError, KeyInUseError, KeyReusedError, PayloadInvalidError } from './errors.js';
import type { IdempotencyEvent } from './events.js';
import { fingerprint as fingerprintOf } from './fingerprint.js';
import { type ClaimKit, type Emit, leaseClaim, transactionClaim } from './held-claim.js';
import { type InspectContext, type InspectOptions, type RecordInspection, type ReleasedClaim, inspectRecord, releaseRecord, scopeOf } from './inspect.js';
import { validateKey } from './key.js';
import { LocalCache } from './local-cache.js';
import { type IdempotencyOptions, type ResolvedOptions, resolveOptions } from './options.js';
import { type Outcome, defaultStorePolicy } from './outcome.js';
import { type PurgeOptions, purgeInBatches } from './purge.js';
import type { IdempotencyRecord, RecordScope } from './record.js';
import { type Tenant, toRecordScope } from './scope.js';
import { defaultSerializer } from './serializer.js';
import { type IdempotencyStore, isTransactionalStore } from './store.js';
import { StoredOutcomes } from './stored-outcome.js';
import { openTransaction } from './transaction.js';
import { toMs } from './duration.js';

export type { Begun, ClaimContext, Execution, HeldClaim, IdempotentCall, InProgressMode, Replay } from './call.js';
export type { IdempotencyOptions } from './options.js';
export type { ResponseCodec } from './stored-outcome.js';
export { GLOBAL_TENANT } from './scope.js';
export type { Tenant } from './scope.js';
export { deriveDownstreamKey } from './derive-key.js';

/**
 * The engine: claims a key, runs the work once, stores its outcome and replays it to retries.
 *
 * A call flows: validate the key and scope, fingerprint the input, answer from the local cache if
 * it can, claim the record (claim.ts) in lease or transactional mode, then either replay the stored
 * outcome or hand out a held claim (held-claim.ts) that the work finishes with commit or release.
 */
export class Idempotency<Tx = unknown> {
  readonly store: IdempotencyStore;
  private readonly config: ResolvedOptions;
  private readonly outcomes: StoredOutcomes;
  private readonly cache: LocalCache | undefined;

  constructor(private readonly options: IdempotencyOptions<Tx>) {
    this.config = resolveOptions(options);
    this.store = options.store;
    this.outcomes = new StoredOutcomes(options.serializer ?? defaultSerializer, options.codec, this.config.maxResponseBytes);
    this.cache = options.localCache ? new LocalCache(options.localCache === true ? {} : options.localCache) : undefined;
  }

  /** Runs `work` once per (tenant, operation, key) and returns its outcome, or the stored one. */
  async execute<T>(call: IdempotentCall, work: (claim: ClaimContext<Tx>) => T | Promise<T>): Promise<Execution<T>> {
    const begun = await this.begin<T>(call);
    if (begun.replayed) return begun.execution;
    let outcome: Outcome<T>;
    try {
      outcome = { ok: true, value: await work(begun.context) };
    } catch (error) {
      outcome = { ok: false, error };
    }
    return begun.commit(outcome);
  }

  /** Like execute(), but returns the value or throws the (possibly replayed) error. */
  async run<T>(call: IdempotentCall, work: (claim: ClaimContext<Tx>) => T | Promise<T>): Promise<T> {
    const { outcome } = await this.execute(call, work);
    if (outcome.ok) return outcome.value;
    throw outcome.error;
  }

  /**
   * The first half of execute(), for adapters whose work runs in a later hook: a replay to answer
   * with, or a held claim to finish with commit(outcome) or release(). Throws the refusals: invalid
   * or missing key (400), reuse with another input (422), in progress (409), store down (503).
   */
  async begin<T>(call: IdempotentCall): Promise<Begun<T, Tx>> {
    const started = performance.now();
    const key = validateKey(call.key, this.options.keyRules);
    const scope = toRecordScope(call.tenant, call.operation, key);
    const fingerprint = call.fingerprint ?? fingerprintInput(call.input);
    // Without a handler, events are not even built: this is the hot path of every call.
    const emit: Emit = this.options.onEvent
      ? (event) => this.emit({ ...event, tenant: scope.tenant, operation: scope.operation, key, durationMs: performance.now() - started })
      : () => {};

    const cached = this.cache?.get(scope, this.config.clock.now());
    if (cached) {
      if (cached.fingerprint !== fingerprint) this.refuseMismatch(scope, cached);
      return this.replay<T>(cached, emit, true);
    }

    const waitTimeout = call.waitTimeout === undefined ? this.config.waitTimeout : toMs(call.waitTimeout, 'waitTimeout');
    const request: ClaimRequest = {
      scope,
      fingerprint,
      mode: call.inProgress ?? this.config.inProgress,
      waitUntil: started + waitTimeout,
      refuseMismatch: (existing) => this.refuseMismatch(scope, existing),
    };
    const deriveKey = (purpose = 'default') => deriveDownstreamKey(scope, purpose);

    if (!(call.transactional ?? this.options.transactional)) {
      const result = await claimRecord(this.store, request, this.config);
      if (result.kind !== 'claimed') return this.answerExisting<T>(result, emit);
      this.emitClaimed(emit, result, call);
      return leaseClaim<T, Tx>(this.kit(emit), { call, scope, record: result.record, reclaimed: result.reclaimed, deriveKey });
    }

    const store = this.store;
    if (!isTransactionalStore(store)) {
      throw new ConfigurationError('oncely: transactional mode needs a store with transaction support, such as PrismaStore.');
    }
    const open = await openTransaction(store, async (txStore, tx) => {
      // Waiters are grouped by the engine's store: the holder announces on it, not on this transaction's view.
      const result = await claimRecord(txStore, request, this.config, store);
      // The point a failed outcome's writes are undone to, keeping the claim.
      if (result.kind === 'claimed') await txStore.markWork?.();
      return { begun: { result, tx, undoable: typeof txStore.undoWork === 'function' }, holds: result.kind === 'claimed' };
    });
    const { result, tx, undoable } = open.begun;
    if (result.kind !== 'claimed') {
      await open.finish(null);
      return this.answerExisting<T>(result, emit);
    }
    this.emitClaimed(emit, result, call);
    // The store's own handle: IdempotencyOptions<Tx> typed it from the store this engine was given.
    return transactionClaim<T, Tx>(this.kit(emit), { call, scope, record: result.record, reclaimed: result.reclaimed, deriveKey }, open, tx as Tx, undoable);
  }

  /** Validates a raw key with this engine's rules (adapters check keys before running anything). */
  validateKey(raw: unknown): string {
    return validateKey(raw, this.options.keyRules);
  }

  /**
   * Deletes expired records in batches of `batchSize` (default 1000) until none is left or
   * `maxBatches` (default unlimited) ran, pausing `pauseMs` (default 0) between batches. Each
   * batch is one short statement on the expiry index.
   */
  async purgeExpired(options: PurgeOptions = {}): Promise<number> {
    const started = performance.now();
    const { deleted } = await purgeInBatches(this.store, () => this.config.clock.now(), options);
    this.emit({ type: 'purged', count: deleted, durationMs: performance.now() - started });
    return deleted;
  }

  private answerExisting<T>(result: Exclude<ClaimResult, { kind: 'claimed' }>, emit: Emit): Promise<Replay<T>> {
    if (result.kind === 'completed') {
      this.cache?.set(result.record, this.config.clock.now());
      return this.replay<T>(result.record, emit, false);
    }
    emit({ type: 'conflict', fence: result.record.fence, code: 'IDEMPOTENCY_KEY_IN_USE' });
    throw new KeyInUseError(this.config.retryAfterSeconds);
  }

  private async replay<T>(record: IdempotencyRecord, emit: Emit, fromCache: boolean): Promise<Replay<T>> {
    const outcome = (await this.outcomes.decode(record)) as Outcome<T>;
    emit({ type: 'replayed', fence: record.fence, outcome: outcome.ok ? 'success' : 'error', cached: fromCache, ...this.payload(outcome) });
    const execution: Execution<T> = {
      replayed: true,
      outcome,
      key: record.key,
      fence: record.fence,
      stored: true,
      reclaimed: false,
      deriveKey: (purpose = 'default') => deriveDownstreamKey(record, purpose),
    };
    return { replayed: true, execution };
  }

  private refuseMismatch(scope: RecordScope, existing: IdempotencyRecord): never {
    this.emit({ type: 'mismatch', tenant: scope.tenant, operation: scope.operation, key: scope.key, fence: existing.fence, code: 'IDEMPOTENCY_KEY_REUSED', durationMs: 0 });
    throw new KeyReusedError();
  }

  private emitClaimed(emit: Emit, result: { record: IdempotencyRecord; reclaimed: boolean }, call: IdempotentCall): void {
    emit({ type: 'claimed', fence: result.record.fence, reclaimed: result.reclaimed, ...this.payload(call.input) });
  }

  private kit(emit: Emit): ClaimKit {
    return {
      store: this.store,
      config: this.config,
      outcomes: this.outcomes,
      cache: this.cache,
      shouldStore: this.options.shouldStore ?? defaultStorePolicy,
      emit,
      payload: (value) => this.payload(value),
    };
  }

  private payload(value: unknown): { payload?: unknown } {
    return this.options.eventPayloads ? { payload: value } : {};
  }

  private emit(event: IdempotencyEvent): void {
    try {
      this.options.onEvent?.(event);
    } catch {
      // Observability must never break the request.
    }
  }

  /**
   * The record a call with (tenant, operation, key) would find, for operators: status, fence,
   * times, fingerprint, stored outcome size and kind, and the `revision` that `release` takes.
   * The outcome itself only with `{ includeOutcome: true }`. Null when there is no record.
   */
  async inspect(tenant: Tenant, operation: string, key: string, options?: InspectOptions): Promise<RecordInspection | null> {
    const context = this.inspectContext();
    return inspectRecord(context, scopeOf(context, tenant, operation, key), options);
  }

  /**
   * Frees a stuck in-progress claim, only if it is still the one `inspect` reported as `revision`;
   * throws ReleaseRefusedError otherwise (changed since, completed, gone).
   */
  async release(tenant: Tenant, operation: string, key: string, options: { revision: string }): Promise<ReleasedClaim> {
    const context = this.inspectContext();
    return releaseRecord(context, scopeOf(context, tenant, operation, key), options?.revision);
  }

  private inspectContext(): InspectContext {
    return { store: this.store, outcomes: this.outcomes, keyRules: this.options.keyRules, now: () => this.config.clock.now() };
  }
}

/** The fingerprint of a request's input; an input that cannot have one is the client's error (400). */
function fingerprintInput(input: unknown): string {
  try {
    return fingerprintOf(input);
  } catch (error) {
    if (error instanceof UnsupportedValueError) throw new PayloadInvalidError(error.message);
    throw error;
  }
}

export function createIdempotency<Tx = unknown>(options: IdempotencyOptions<Tx>): Idempotency<Tx> {
  return new Idempotency(options);
}
