import { createHash, randomUUID } from 'node:crypto';
import { type Clock, systemClock } from './clock.js';
import { type Duration, toMs } from './duration.js';
import {
  ConfigurationError,
  IdempotencyError,
  KeyInUseError,
  KeyReusedError,
  PayloadInvalidError,
  ResponseNotStorableError,
  StoreUnavailableError,
} from './errors.js';
import { UnsupportedValueError, decode, encode } from './encoding.js';
import type { EventHandler, IdempotencyEvent } from './events.js';
import { fingerprint as fingerprintOf } from './fingerprint.js';
import { type KeyRules, MAX_KEY_LENGTH, validateKey } from './key.js';
import { LocalCache, type LocalCacheOptions } from './local-cache.js';
import { type PurgeOptions, purgeInBatches } from './purge.js';
import { type Outcome, type StorePolicy, defaultStorePolicy } from './outcome.js';
import { type IdempotencyRecord, type RecordScope, isExpired, isReclaimable } from './record.js';
import { type Tenant, toRecordScope } from './scope.js';
import { type Serializer, defaultSerializer } from './serializer.js';
import { type IdempotencyStore, isTransactionalStore } from './store.js';

export { GLOBAL_TENANT } from './scope.js';
export type { Tenant } from './scope.js';

export type InProgressMode = 'reject' | 'wait';

/** Encrypts or redacts stored outcomes at rest. Applied after serialization, undone before replay. */
export interface ResponseCodec {
  encode(text: string, scope: RecordScope): string | Promise<string>;
  decode(text: string, scope: RecordScope): string | Promise<string>;
}

export interface IdempotencyOptions {
  store: IdempotencyStore;
  /** How long a completed record is replayed. Default "24h". */
  retention?: Duration;
  /** How long a claim is protected without a heartbeat. Default "60s". */
  lease?: Duration;
  /** How often a running claim renews its lease; false turns renewal off. Default lease / 3. */
  heartbeat?: Duration | false;
  /** What a duplicate gets while the first request still runs. Default "reject" (409). */
  inProgress?: InProgressMode;
  /** With inProgress "wait": how long to wait for the holder before giving up with 409. Default "10s". */
  waitTimeout?: Duration;
  /** Seconds suggested to clients in Retry-After on 409. Default 1. */
  retryAfterSeconds?: number;
  /** Key length and character rules. Default 1-255 printable ASCII. */
  keyRules?: KeyRules;
  /**
   * How successful values are stored. Default: tagged JSON keeping Date, BigInt, Map, Set,
   * undefined. Errors are always stored by oncely's own encoding (name, message, own properties, cause).
   */
  serializer?: Serializer;
  /** Which outcomes are stored; the rest release the claim. Default: successes and deterministic 4xx. */
  shouldStore?: StorePolicy;
  /** Largest stored outcome in bytes (after codec). Default 1 MiB. */
  maxResponseBytes?: number;
  /** Optional encryption or redaction of stored outcomes. */
  codec?: ResponseCodec;
  /** Receives every event. Exceptions thrown by it are swallowed. */
  onEvent?: EventHandler;
  /** Put inputs and outcomes into events. Default false. */
  eventPayloads?: boolean;
  /** Time source. Default the system clock. */
  clock?: Clock;
  /**
   * Run claim, work and completion in one database transaction (see IdempotentCall.transactional).
   * Default false. Needs a store with transaction support (the Prisma store has it).
   */
  transactional?: boolean;
  /**
   * Keep completed records in this process so that hot replays skip the store: true, or
   * `{ maxEntries: 1000, maxAgeMs: 300000 }`. Default off. Safe across tenants and expiry; each
   * process has its own.
   */
  localCache?: boolean | LocalCacheOptions;
}

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
   * process dies. Duplicates wait for the transaction and then replay. Failures roll everything
   * back (the claim too), so only successes are stored. Default: the engine's `transactional`.
   */
  transactional?: boolean;
}

/** What the work function is given while it holds the claim. */
export interface ClaimContext {
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
  /** Transactional mode only: the transaction handle (Prisma: the interactive transaction client). */
  tx?: unknown;
}

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

interface Resolved {
  retention: number;
  lease: number;
  heartbeat: number | false;
  inProgress: InProgressMode;
  waitTimeout: number;
  retryAfterSeconds: number;
  maxResponseBytes: number;
}

// Stored outcomes start with one of these: a serialized value, or an error in oncely's encoding.
const VALUE_PREFIX = 'v';
const ERROR_PREFIX = 'e';

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

type Emit = (event: Omit<IdempotencyEvent, 'durationMs' | 'tenant' | 'operation' | 'key'>) => void;

interface Attempt {
  call: IdempotentCall;
  scope: RecordScope;
  fp: string;
  started: number;
  emit: Emit;
}

/** Thrown inside a transactional execution to roll it back while carrying the outcome out. */
class RollbackSignal extends Error {
  constructor(readonly execution: Execution<unknown>) {
    super('oncely: rolling back the transaction of a failed operation');
  }
}

type ClaimResult =
  | { kind: 'claimed'; record: IdempotencyRecord; reclaimed: boolean }
  | { kind: 'completed'; record: IdempotencyRecord }
  | { kind: 'in_progress'; record: IdempotencyRecord };

/** The engine: claims a key, runs the work once, stores its outcome and replays it to retries. */
export class Idempotency {
  readonly store: IdempotencyStore;
  private readonly config: Resolved;
  private readonly serializer: Serializer;
  private readonly clock: Clock;
  private readonly cache: LocalCache | undefined;

  constructor(private readonly options: IdempotencyOptions) {
    if (!options?.store) throw new ConfigurationError('oncely: `store` is required.');
    this.store = options.store;
    const lease = toMs(options.lease ?? 60_000, 'lease');
    if (lease <= 0) throw new ConfigurationError('lease must be positive.');
    const heartbeat = options.heartbeat === false ? false : toMs(options.heartbeat ?? lease / 3, 'heartbeat');
    if (heartbeat !== false && (heartbeat <= 0 || heartbeat >= lease)) {
      throw new ConfigurationError('heartbeat must be positive and shorter than the lease.');
    }
    this.config = {
      retention: toMs(options.retention ?? '24h', 'retention'),
      lease,
      heartbeat,
      inProgress: options.inProgress ?? 'reject',
      waitTimeout: toMs(options.waitTimeout ?? '10s', 'waitTimeout'),
      retryAfterSeconds: options.retryAfterSeconds ?? 1,
      maxResponseBytes: options.maxResponseBytes ?? 1024 * 1024,
    };
    if ((options.keyRules?.maxLength ?? 0) > MAX_KEY_LENGTH) {
      // Longer keys would not fit the indexed key column: MySQL would cut them, merging distinct keys.
      throw new ConfigurationError(`keyRules.maxLength may be at most ${MAX_KEY_LENGTH} (the width of the stores' key column).`);
    }
    this.serializer = options.serializer ?? defaultSerializer;
    this.clock = options.clock ?? systemClock;
    this.cache = options.localCache ? new LocalCache(options.localCache === true ? {} : options.localCache) : undefined;
  }

  /** Runs `work` once per (tenant, operation, key) and returns its outcome, or unwraps it: see run(). */
  async execute<T>(call: IdempotentCall, work: (claim: ClaimContext) => T | Promise<T>): Promise<Execution<T>> {
    const started = performance.now();
    const key = validateKey(call.key, this.options.keyRules);
    const scope = toRecordScope(call.tenant, call.operation, key);
    const fp = call.fingerprint ?? fingerprintInput(call.input);
    // Without a handler, events are not even built: this is the hot path of every call.
    const emit: Emit = this.options.onEvent
      ? (event) => this.emit({ ...event, tenant: scope.tenant, operation: scope.operation, key, durationMs: performance.now() - started })
      : () => {};
    const attempt: Attempt = { call, scope, fp, started, emit };

    const cached = this.cache?.get(scope, this.clock.now());
    if (cached) {
      if (cached.fingerprint !== fp) this.refuseMismatch(scope, cached);
      return this.replay<T>(cached, emit, true);
    }

    if (!(call.transactional ?? this.options.transactional)) return this.executeWith(this.store, undefined, attempt, work);
    const store = this.store;
    if (!isTransactionalStore(store)) {
      throw new ConfigurationError('oncely: transactional mode needs a store with transaction support, such as PrismaStore.');
    }
    try {
      return await store.transaction((txStore, tx) => this.executeWith(txStore, tx, attempt, work, true));
    } catch (error) {
      if (error instanceof RollbackSignal) return error.execution as Execution<T>;
      // Opening, completing or committing the transaction failed (the work's own errors arrive as
      // RollbackSignal): nothing was committed, or the commit's answer was lost and a retry
      // replays it. Either way the caller may retry with the same key.
      throw error instanceof IdempotencyError ? error : new StoreUnavailableError(error);
    }
  }

  private async executeWith<T>(
    store: IdempotencyStore,
    tx: unknown,
    { call, scope, fp, started, emit }: Attempt,
    work: (claim: ClaimContext) => T | Promise<T>,
    transactional = false,
  ): Promise<Execution<T>> {
    const key = scope.key;
    const claim = await this.claim(store, scope, fp, call, started);
    if (claim.kind === 'completed') {
      this.cache?.set(claim.record, this.clock.now());
      return this.replay<T>(claim.record, emit, false);
    }
    if (claim.kind === 'in_progress') {
      emit({ type: 'conflict', fence: claim.record.fence, code: 'IDEMPOTENCY_KEY_IN_USE' });
      throw new KeyInUseError(this.config.retryAfterSeconds);
    }

    const { record } = claim;
    emit({ type: 'claimed', fence: record.fence, reclaimed: claim.reclaimed, ...this.payload(call.input) });
    // In a transaction nobody else sees the claim before it commits, so there is no lease to renew.
    const lease = transactional ? undefined : this.holdLease(store, scope, record, () => emit({ type: 'lease_lost', fence: record.fence }));
    const context: ClaimContext = {
      tenant: call.tenant,
      operation: call.operation,
      key,
      fence: record.fence,
      signal: lease?.signal ?? new AbortController().signal,
      deriveKey: (purpose = 'default') => deriveDownstreamKey(scope, purpose),
      ...(transactional ? { tx } : {}),
    };

    let outcome: Outcome<T>;
    try {
      outcome = { ok: true, value: await work(context) };
    } catch (error) {
      outcome = { ok: false, error };
    } finally {
      lease?.stop();
    }

    const kind = outcome.ok ? 'success' : 'error';
    if (transactional) {
      if (!outcome.ok) {
        emit({ type: 'released', fence: record.fence, outcome: kind });
        throw new RollbackSignal({ replayed: false, outcome, key, fence: record.fence, stored: false, reclaimed: claim.reclaimed, deriveKey: context.deriveKey });
      }
      // Inside the transaction a failure here must roll everything back: let it throw.
      // Not cached here: the transaction may still roll back after this point.
      const stored = await this.completeRecord(store, scope, record, outcome, false);
      if (!stored) throw new StoreUnavailableError(new Error('The claim vanished inside its own transaction.'));
      emit({ type: 'completed', fence: record.fence, outcome: kind, ...this.payload(outcome) });
      return { replayed: false, outcome, key, fence: record.fence, stored, reclaimed: claim.reclaimed, deriveKey: context.deriveKey };
    }

    const shouldStore = call.shouldStore ?? this.options.shouldStore ?? defaultStorePolicy;
    let stored = false;
    try {
      if (shouldStore(outcome)) {
        stored = await this.completeRecord(store, scope, record, outcome);
        emit(stored ? { type: 'completed', fence: record.fence, outcome: kind, ...this.payload(outcome) } : { type: 'lease_lost', fence: record.fence });
      } else {
        const released = await store.release(scope, record.token);
        emit(released ? { type: 'released', fence: record.fence, outcome: kind } : { type: 'lease_lost', fence: record.fence });
      }
    } catch {
      // The work ran and its outcome stands; the record stays in progress until its lease runs out.
      emit({ type: 'lease_lost', fence: record.fence });
    }
    return { replayed: false, outcome, key, fence: record.fence, stored, reclaimed: claim.reclaimed, deriveKey: context.deriveKey };
  }

  private async replay<T>(record: IdempotencyRecord, emit: Emit, fromCache: boolean): Promise<Execution<T>> {
    const outcome = (await this.decodeOutcome(record)) as Outcome<T>;
    emit({ type: 'replayed', fence: record.fence, outcome: outcome.ok ? 'success' : 'error', cached: fromCache, ...this.payload(outcome) });
    return { replayed: true, outcome, key: record.key, fence: record.fence, stored: true, reclaimed: false, deriveKey: (purpose = 'default') => deriveDownstreamKey(record, purpose) };
  }

  private refuseMismatch(scope: RecordScope, existing: IdempotencyRecord): never {
    this.emit({ type: 'mismatch', tenant: scope.tenant, operation: scope.operation, key: scope.key, fence: existing.fence, code: 'IDEMPOTENCY_KEY_REUSED', durationMs: 0 });
    throw new KeyReusedError();
  }

  /** Validates a raw key with this engine's rules (adapters check keys before running anything). */
  validateKey(raw: unknown): string {
    return validateKey(raw, this.options.keyRules);
  }

  /** Like execute(), but returns the value or throws the (possibly replayed) error. */
  async run<T>(call: IdempotentCall, work: (claim: ClaimContext) => T | Promise<T>): Promise<T> {
    const { outcome } = await this.execute(call, work);
    if (outcome.ok) return outcome.value;
    throw outcome.error;
  }

  /**
   * Deletes expired records in batches of `batchSize` (default 1000) until none is left or
   * `maxBatches` (default unlimited) ran, pausing `pauseMs` (default 0) between batches. Each
   * batch is one short statement on the expiry index.
   */
  async purgeExpired(options: PurgeOptions = {}): Promise<number> {
    const started = performance.now();
    const { deleted } = await purgeInBatches(this.store, () => this.clock.now(), options);
    this.emit({ type: 'purged', count: deleted, durationMs: performance.now() - started });
    return deleted;
  }

  private async claim(store: IdempotencyStore, scope: RecordScope, fp: string, call: IdempotentCall, started: number): Promise<ClaimResult> {
    const mode = call.inProgress ?? this.config.inProgress;
    const waitTimeout = call.waitTimeout === undefined ? this.config.waitTimeout : toMs(call.waitTimeout, 'waitTimeout');
    let delay = 10;
    for (;;) {
      const result = await this.tryClaim(store, scope, fp);
      if (result.kind !== 'in_progress' || mode === 'reject') return result;
      const remaining = started + waitTimeout - performance.now();
      if (remaining <= 0) return result;
      // A store with change notifications is woken by the change itself; still capped, since a
      // holder's lease running out is not announced. Others poll with backoff.
      if (store.waitForChange) await store.waitForChange(scope, Math.min(remaining, 1000));
      else await sleep(Math.min(delay, remaining));
      delay = Math.min(delay * 2, 250);
    }
  }

  /** One pass of the claim decision; loops only while records change under it. */
  private async tryClaim(store: IdempotencyStore, scope: RecordScope, fp: string): Promise<ClaimResult> {
    for (let attempt = 0; attempt < 10; attempt++) {
      const now = this.clock.now();
      const fresh = this.newRecord(scope, fp, now, 1);
      if (await this.storeCall(() => store.create(fresh))) return { kind: 'claimed', record: fresh, reclaimed: false };
      const existing = await this.storeCall(() => store.get(scope));
      if (!existing) continue; // purged or released between the two statements
      if (!isExpired(existing, now) && existing.fingerprint !== fp) this.refuseMismatch(scope, existing);
      if (isReclaimable(existing, now)) {
        const next = this.newRecord(scope, fp, now, existing.fence + 1);
        next.createdAt = isExpired(existing, now) ? now : existing.createdAt;
        if (await this.storeCall(() => store.takeOver(next, existing.token, now))) {
          return { kind: 'claimed', record: next, reclaimed: true };
        }
        continue;
      }
      return existing.status === 'completed' ? { kind: 'completed', record: existing } : { kind: 'in_progress', record: existing };
    }
    throw new StoreUnavailableError(new Error('The record kept changing during the claim; giving up after 10 attempts.'));
  }

  private newRecord(scope: RecordScope, fp: string, now: number, fence: number): IdempotencyRecord {
    return {
      ...scope,
      status: 'in_progress',
      fingerprint: fp,
      token: randomUUID(),
      fence,
      leaseExpiresAt: now + this.config.lease,
      response: null,
      createdAt: now,
      updatedAt: now,
      expiresAt: now + Math.max(this.config.retention, this.config.lease),
    };
  }

  private holdLease(store: IdempotencyStore, scope: RecordScope, record: IdempotencyRecord, onLost: () => void) {
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    if (this.config.heartbeat !== false) {
      timer = setInterval(() => {
        const now = this.clock.now();
        store.renew(scope, record.token, now + this.config.lease, now).then(
          (renewed) => {
            if (!renewed && !controller.signal.aborted) {
              clearInterval(timer);
              controller.abort(new IdempotencyError('IDEMPOTENCY_KEY_IN_USE', 'The idempotency lease was lost.'));
              onLost();
            }
          },
          () => {
            // A failed renewal is retried on the next beat; the lease still has time left.
          },
        );
      }, this.config.heartbeat);
      timer.unref?.();
    }
    return { signal: controller.signal, stop: () => clearInterval(timer) };
  }

  private async completeRecord(store: IdempotencyStore, scope: RecordScope, record: IdempotencyRecord, outcome: Outcome, cache = true): Promise<boolean> {
    let text: string;
    try {
      text = await this.encodeOutcome(scope, outcome);
    } catch (error) {
      // Never let a retry run the work again because its result could not be stored: store an
      // error outcome that says so instead.
      const reason = error instanceof ResponseNotStorableError ? error : new ResponseNotStorableError(String((error as Error)?.message ?? error));
      text = await this.encodeOutcome(scope, { ok: false, error: reason }, true);
    }
    const now = this.clock.now();
    const completion = { response: text, completedAt: now, expiresAt: now + this.config.retention };
    const completed = await store.complete(scope, record.token, completion);
    if (completed && cache) {
      this.cache?.set({ ...record, status: 'completed', response: text, leaseExpiresAt: null, updatedAt: now, expiresAt: completion.expiresAt }, now);
    }
    return completed;
  }

  private async encodeOutcome(scope: RecordScope, outcome: Outcome, skipLimit = false): Promise<string> {
    // Values go through the (pluggable) serializer; errors always through oncely's own encoding,
    // which keeps their code, own properties and cause whatever serializer is configured.
    const serialized = outcome.ok
      ? `${VALUE_PREFIX}${this.serializer.serialize(outcome.value)}`
      : `${ERROR_PREFIX}${JSON.stringify(encode(outcome.error))}`;
    const text = this.options.codec ? await this.options.codec.encode(serialized, scope) : serialized;
    const size = Buffer.byteLength(text);
    if (!skipLimit && size > this.config.maxResponseBytes) {
      throw new ResponseNotStorableError(`it is ${size} bytes, over the limit of ${this.config.maxResponseBytes}`);
    }
    return text;
  }

  private async decodeOutcome(record: IdempotencyRecord): Promise<Outcome> {
    const text = record.response ?? '';
    const serialized = this.options.codec ? await this.options.codec.decode(text, record) : text;
    const body = serialized.slice(1);
    let outcome: Outcome;
    if (serialized.startsWith(VALUE_PREFIX)) outcome = { ok: true, value: this.serializer.deserialize(body) };
    else if (serialized.startsWith(ERROR_PREFIX)) outcome = { ok: false, error: decode(JSON.parse(body)) };
    else throw new Error('oncely: a stored outcome has an unknown format (written by another version, or corrupted).');
    if (!outcome.ok && isStoredIdempotencyError(outcome.error)) {
      return { ok: false, error: new ResponseNotStorableError((outcome.error as { reason: string }).reason) };
    }
    return outcome;
  }

  private async storeCall<R>(fn: () => Promise<R>): Promise<R> {
    try {
      return await fn();
    } catch (error) {
      throw error instanceof IdempotencyError ? error : new StoreUnavailableError(error);
    }
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
}

function isStoredIdempotencyError(error: unknown): boolean {
  return (error as { code?: unknown })?.code === 'IDEMPOTENCY_RESPONSE_NOT_STORABLE';
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

/** Stable downstream key: same scope and purpose, same key, on every retry and re-claim. */
export function deriveDownstreamKey(scope: RecordScope, purpose: string): string {
  const hash = createHash('sha256').update(JSON.stringify([scope.tenant, scope.operation, scope.key, purpose])).digest('base64url');
  return `oncely_${hash.slice(0, 40)}`;
}

export function createIdempotency(options: IdempotencyOptions): Idempotency {
  return new Idempotency(options);
}
