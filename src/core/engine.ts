import type { Begun, ClaimContext, Execution, IdempotentCall, Replay } from './call.js';
import { type ClaimRequest, type ClaimResult, claimRecord } from './claim.js';
import { deriveDownstreamKey } from './derive-key.js';
import { UnsupportedValueError } from './encoding.js';
import { ConfigurationError, KeyInUseError, KeyReusedError, PayloadInvalidError } from './errors.js';
import type { IdempotencyEvent } from './events.js';
import { fingerprint as fingerprintOf } from './fingerprint.js';
import { type ClaimKit, type Emit, ignoreEvents as ignore, leaseClaim, transactionClaim } from './held-claim.js';
import { type InspectContext, type InspectOptions, type RecordInspection, type ReleasedClaim, inspectRecord, releaseRecord, scopeOf } from './inspect.js';
import { validateKey } from './key.js';
import { LocalCache } from './local-cache.js';
import { type IdempotencyOptions, type ResolvedOptions, resolveOptions } from './options.js';
import { type Outcome, defaultStorePolicy } from './outcome.js';
import { type PurgeOptions, purgeInBatches } from './purge.js';
import type { IdempotencyRecord, RecordScope } from './record.js';
import { type Tenant, toRecordScope } from './scope.js';
import { defaultSerializer } from './serializer.js';
import { observeStore } from './observed-store.js';
import { type IdempotencyStore, isTransactionalStore } from './store.js';
import { StoredOutcomes } from './stored-outcome.js';
import { type CallTrace, type IdempotencyTelemetry, type StepSpan, storeKind } from './telemetry.js';
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
  private readonly telemetry: IdempotencyTelemetry | undefined;
  /** Whether anything observes this engine (onEvent or telemetry): only then are events built and store calls timed. */
  private readonly observed: boolean;
  /** The store the engine calls: `store` itself, or a timed view of it when observed. */
  private readonly calls: IdempotencyStore;
  private readonly storeName: string;
  private unobservedKit: ClaimKit | undefined;

  constructor(private readonly options: IdempotencyOptions<Tx>) {
    this.config = resolveOptions(options);
    this.store = options.store;
    this.outcomes = new StoredOutcomes(options.serializer ?? defaultSerializer, options.codec, this.config.maxResponseBytes);
    this.cache = options.localCache ? new LocalCache(options.localCache === true ? {} : options.localCache) : undefined;
    this.telemetry = options.telemetry;
    this.observed = Boolean(options.onEvent || options.telemetry);
    this.storeName = storeKind(options.store);
    this.calls = this.observed
      ? observeStore(options.store, (method, durationMs, failure, scope) => {
          if (this.telemetry) guarded(() => this.telemetry!.storeCall(method, durationMs, failure !== undefined, this.storeName));
          if (failure) this.emit({ type: 'store_failed', method, error: failure.error, ...scope, durationMs });
        }, options)
      : options.store;
  }

  /** Runs `work` once per (tenant, operation, key) and returns its outcome, or the stored one. */
  async execute<T>(call: IdempotentCall, work: (claim: ClaimContext<Tx>) => T | Promise<T>): Promise<Execution<T>> {
    const { begun, within } = await this.open<T>(call);
    if (begun.replayed) return begun.execution;
    let outcome: Outcome<T>;
    try {
      outcome = { ok: true, value: await (within ? within(() => work(begun.context)) : work(begun.context)) };
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
    return (await this.open<T>(call)).begun;
  }

  /**
   * begin(), and how to run the work inside its span (telemetry on). A promise chain rather than an
   * async method: this runs for every call, and lease mode needs no suspended frame of its own.
   */
  private open<T>(call: IdempotentCall): Promise<Opened<T, Tx>> {
    try {
      return this.openNow<T>(call);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  private openNow<T>(call: IdempotentCall): Promise<Opened<T, Tx>> {
    const started = performance.now();
    const key = validateKey(call.key, this.options.keyRules);
    const scope = toRecordScope(call.tenant, call.operation, key);
    // Before the first await: the trace's parent is the caller's context.
    const trace = this.telemetry?.call({ tenant: scope.tenant, operation: scope.operation, key, store: this.storeName });
    const fingerprint = call.fingerprint ?? fingerprintInput(call.input);
    // Unobserved, events are not even built: this is the hot path of every call.
    const emit: Emit = this.options.onEvent || trace
      ? (event) => this.emit({ ...event, tenant: scope.tenant, operation: scope.operation, key, durationMs: performance.now() - started })
      : ignore;

    const cached = this.cache?.get(scope, this.config.clock.now());
    if (cached) {
      if (cached.fingerprint !== fingerprint) {
        // Refused from the cache: a claim span that records the 422 all the same.
        const span = trace?.start('claim');
        try {
          this.refuseMismatch(scope, cached);
        } catch (error) {
          span?.fail(error);
          span?.end();
          throw error;
        }
      }
      return this.replay<T>(cached, emit, true, trace).then(openedWith<T, Tx>);
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

    if (call.transactional ?? this.options.transactional) return this.openTransactional<T>(call, request, deriveKey, emit, trace);
    return traceClaim(trace, (waiting) => claimRecord(this.calls, request, this.config, this.store, waiting), (result) => result, this.config.retryAfterSeconds).then(
      (result): Opened<T, Tx> | Promise<Opened<T, Tx>> => {
        if (result.kind !== 'claimed') return this.answerExisting<T>(result, emit, trace).then(openedWith<T, Tx>);
        this.emitClaimed(emit, result, call);
        const span = this.startWork(trace, result.record.fence);
        const begun = leaseClaim<T, Tx>(this.kit(emit, trace), { call, scope, record: result.record, reclaimed: result.reclaimed, deriveKey, span });
        return { begun, ...within(trace, span) };
      },
    );
  }

  private async openTransactional<T>(call: IdempotentCall, request: ClaimRequest, deriveKey: (purpose?: string) => string, emit: Emit, trace: CallTrace | undefined): Promise<Opened<T, Tx>> {
    const scope = request.scope;
    const store = this.store;
    if (!isTransactionalStore(store) || !isTransactionalStore(this.calls)) {
      throw new ConfigurationError('oncely: transactional mode needs a store with transaction support, such as PrismaStore.');
    }
    const calls = this.calls;
    const open = await traceClaim(
      trace,
      (waiting) =>
        openTransaction(calls, async (txStore, tx) => {
          // Waiters are grouped by the engine's store: the holder announces on it, not on this transaction's view.
          const result = await claimRecord(txStore, request, this.config, store, waiting);
          // The point a failed outcome's writes are undone to, keeping the claim.
          if (result.kind === 'claimed') await txStore.markWork?.();
          return { begun: { result, tx, undoable: typeof txStore.undoWork === 'function' }, holds: result.kind === 'claimed' };
        }),
      (opened) => opened.begun.result,
      this.config.retryAfterSeconds,
    );
    const { result, tx, undoable } = open.begun;
    if (result.kind !== 'claimed') {
      await open.finish(null);
      return { begun: await this.answerExisting<T>(result, emit, trace) };
    }
    this.emitClaimed(emit, result, call);
    const span = this.startWork(trace, result.record.fence);
    // The store's own handle: IdempotencyOptions<Tx> typed it from the store this engine was given.
    const begun = transactionClaim<T, Tx>(this.kit(emit, trace), { call, scope, record: result.record, reclaimed: result.reclaimed, deriveKey, span }, open, tx as Tx, undoable);
    return { begun, ...within(trace, span) };
  }

  /** The span of the work, from the claim to commit or release. */
  private startWork(trace: CallTrace | undefined, fence: number): StepSpan | undefined {
    const span = trace?.start('execute');
    span?.set({ fence, replayed: false });
    return span;
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
    const { deleted } = await purgeInBatches(this.calls, () => this.config.clock.now(), options);
    this.emit({ type: 'purged', count: deleted, durationMs: performance.now() - started });
    return deleted;
  }

  private answerExisting<T>(result: Exclude<ClaimResult, { kind: 'claimed' }>, emit: Emit, trace: CallTrace | undefined): Promise<Replay<T>> {
    if (result.kind === 'completed') {
      this.cache?.set(result.record, this.config.clock.now());
      return this.replay<T>(result.record, emit, false, trace);
    }
    emit({ type: 'conflict', fence: result.record.fence, code: 'IDEMPOTENCY_KEY_IN_USE' });
    throw new KeyInUseError(this.config.retryAfterSeconds);
  }

  private async replay<T>(record: IdempotencyRecord, emit: Emit, fromCache: boolean, trace: CallTrace | undefined): Promise<Replay<T>> {
    const outcome = (await (trace ? this.tracedDecode(record, trace) : this.outcomes.decode(record))) as Outcome<T>;
    if (emit !== ignore) emit({ type: 'replayed', fence: record.fence, outcome: outcome.ok ? 'success' : 'error', cached: fromCache, ...this.payload(outcome) });
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

  /** Decodes in a replay span linked to the execution that stored the outcome (when it kept its trace context). */
  private async tracedDecode(record: IdempotencyRecord, trace: CallTrace): Promise<Outcome> {
    const span = trace.start('replay');
    span.set({ fence: record.fence, replayed: true });
    try {
      const { outcome, traceContext } = await this.outcomes.decodeStored(record);
      if (traceContext !== undefined) span.link(traceContext);
      // A replayed error is the original's answer, not a failure of the replay: an attribute only.
      span.set({ outcome: outcome.ok ? 'success' : 'error' });
      return outcome;
    } catch (error) {
      span.fail(error);
      throw error;
    } finally {
      span.end();
    }
  }

  private refuseMismatch(scope: RecordScope, existing: IdempotencyRecord): never {
    this.emit({ type: 'mismatch', tenant: scope.tenant, operation: scope.operation, key: scope.key, fence: existing.fence, code: 'IDEMPOTENCY_KEY_REUSED', durationMs: 0 });
    throw new KeyReusedError();
  }

  private emitClaimed(emit: Emit, result: { record: IdempotencyRecord; reclaimed: boolean }, call: IdempotentCall): void {
    if (emit !== ignore) emit({ type: 'claimed', fence: result.record.fence, reclaimed: result.reclaimed, ...this.payload(call.input) });
  }

  private kit(emit: Emit, trace: CallTrace | undefined): ClaimKit {
    // Unobserved, every call's kit is the same: built once.
    if (emit === ignore && !trace) return (this.unobservedKit ??= this.buildKit(emit, undefined));
    return this.buildKit(emit, trace);
  }

  private buildKit(emit: Emit, trace: CallTrace | undefined): ClaimKit {
    return {
      store: this.calls,
      steps: this.calls,
      waiters: this.store,
      trace,
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
    // Observability must never break the request.
    if (this.options.onEvent) guarded(() => this.options.onEvent!(event));
    if (this.telemetry) guarded(() => this.telemetry!.event(event));
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
    return { store: this.calls, outcomes: this.outcomes, keyRules: this.options.keyRules, now: () => this.config.clock.now() };
  }
}

function guarded(observe: () => void): void {
  try {
    observe();
  } catch {
    // Swallowed: a failing observer must not fail the call it observes.
  }
}

/**
 * Runs the claim decision in a `claim` span (telemetry on), with `wait` spans inside it. The
 * refusals are recorded on it: reuse with another input (422), store down (503), and another
 * holder (409, thrown right after by the engine).
 */
function traceClaim<R>(
  trace: CallTrace | undefined,
  claim: (waiting: { call: CallTrace; parent: StepSpan } | undefined) => Promise<R>,
  resultOf: (answer: R) => ClaimResult,
  retryAfterSeconds: number,
): Promise<R> {
  // Untraced: the claim's own promise, without one more async layer.
  return trace ? tracedClaim(trace, claim, resultOf, retryAfterSeconds) : claim(undefined);
}

async function tracedClaim<R>(
  trace: CallTrace,
  claim: (waiting: { call: CallTrace; parent: StepSpan } | undefined) => Promise<R>,
  resultOf: (answer: R) => ClaimResult,
  retryAfterSeconds: number,
): Promise<R> {
  const span = trace.start('claim');
  try {
    const answer = await claim({ call: trace, parent: span });
    const result = resultOf(answer);
    span.set({ fence: result.record.fence, claim: result.kind === 'claimed' ? (result.reclaimed ? 'reclaimed' : 'claimed') : result.kind });
    if (result.kind === 'in_progress') span.fail(new KeyInUseError(retryAfterSeconds));
    return answer;
  } catch (error) {
    span.fail(error);
    throw error;
  } finally {
    span.end();
  }
}

/** What open() hands execute() and begin(): the begun call, and how to run the work inside its span. */
interface Opened<T, Tx> {
  begun: Begun<T, Tx>;
  within?: <R>(work: () => R) => R;
}

function openedWith<T, Tx>(begun: Replay<T>): Opened<T, Tx> {
  return { begun };
}

/** How execute() runs the work inside its span. */
function within(trace: CallTrace | undefined, span: StepSpan | undefined): { within?: <R>(work: () => R) => R } {
  return trace && span ? { within: (work) => trace.within(span, work) } : {};
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
