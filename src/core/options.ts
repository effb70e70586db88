import { type Clock, systemClock } from './clock.js';
import { type Duration, toMs } from './duration.js';
import { ConfigurationError } from './errors.js';
import type { EventHandler } from './events.js';
import type { InProgressMode } from './call.js';
import { type KeyRules, MAX_KEY_LENGTH } from './key.js';
import type { LocalCacheOptions } from './local-cache.js';
import type { StorePolicy } from './outcome.js';
import type { Serializer } from './serializer.js';
import type { ResponseCodec } from './stored-outcome.js';
import type { IdempotencyStore, TransactionalStore } from './store.js';
import type { IdempotencyTelemetry } from './telemetry.js';

/**
 * `Tx` is the transaction handle of a transactional store (for a PrismaStore: your client's
 * interactive transaction client), inferred from `store`; the work receives it as `claim.tx`.
 */
export interface IdempotencyOptions<Tx = unknown> {
  store: IdempotencyStore | TransactionalStore<Tx>;
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
  /**
   * Tracing and metrics hooks, e.g. `openTelemetry()` from 'oncely/otel' (docs/observability.md).
   * Default none: nothing is traced, timed or wrapped.
   */
  telemetry?: IdempotencyTelemetry;
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

/** The options with their defaults applied and checked once, at construction. */
export interface ResolvedOptions {
  retention: number;
  lease: number;
  heartbeat: number | false;
  inProgress: InProgressMode;
  waitTimeout: number;
  retryAfterSeconds: number;
  maxResponseBytes: number;
  clock: Clock;
}

export function resolveOptions(options: IdempotencyOptions): ResolvedOptions {
  if (!options?.store) throw new ConfigurationError('oncely: `store` is required.');
  const lease = toMs(options.lease ?? 60_000, 'lease');
  if (lease <= 0) throw new ConfigurationError('lease must be positive.');
  const heartbeat = options.heartbeat === false ? false : toMs(options.heartbeat ?? lease / 3, 'heartbeat');
  if (heartbeat !== false && (heartbeat <= 0 || heartbeat >= lease)) {
    throw new ConfigurationError('heartbeat must be positive and shorter than the lease.');
  }
  if ((options.keyRules?.maxLength ?? 0) > MAX_KEY_LENGTH) {
    // Longer keys would not fit the indexed key column: MySQL would cut them, merging distinct keys.
    throw new ConfigurationError(`keyRules.maxLength may be at most ${MAX_KEY_LENGTH} (the width of the stores' key column).`);
  }
  return {
    retention: toMs(options.retention ?? '24h', 'retention'),
    lease,
    heartbeat,
    inProgress: options.inProgress ?? 'reject',
    waitTimeout: toMs(options.waitTimeout ?? '10s', 'waitTimeout'),
    retryAfterSeconds: options.retryAfterSeconds ?? 1,
    maxResponseBytes: options.maxResponseBytes ?? 1024 * 1024,
    clock: options.clock ?? systemClock,
  };
}
