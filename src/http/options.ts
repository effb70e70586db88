import { engineFromOptions } from '../adapter/engine.js';
import { HEADER_NAME, describeValue } from '../adapter/source-name.js';
import type { Duration } from '../core/duration.js';
import { GLOBAL_TENANT, type Idempotency, type IdempotencyOptions, type InProgressMode, type Tenant } from '../core/engine.js';
import { ConfigurationError } from '../core/errors.js';
import type { IdempotencyStore, TransactionalStore } from '../core/store.js';
import { IDEMPOTENCY_KEY_HEADER } from '../protocol/names.js';
import { replayAllowlist } from './stored-response.js';

type Awaitable<T> = T | Promise<T>;

/**
 * The options of every HTTP adapter. `R` is what the callbacks receive: the fetch `Request`
 * (oncely/http), Hono's `Context` (oncely/hono) or Express's `Request` (oncely/express).
 */
export interface HttpCommonOptions<R> {
  /** Request header carrying the key, any case. Default "Idempotency-Key". */
  header?: string;
  /** Answer 400 when a guarded method comes without a key (true, default); false runs it unprotected. */
  required?: boolean;
  /** Methods guarded; others pass straight through (no key needed, nothing stored). Default ["POST", "PATCH"]. */
  methods?: readonly string[];
  /** The record's operation (keys of different operations never meet). Default "http". */
  operation?: string | ((request: R) => string);
  /** Who the key belongs to (account, user): keys of different tenants never meet. Default GLOBAL_TENANT. */
  tenant?: (request: R) => Awaitable<Tenant>;
  /** Response headers replayed besides Content-Type, Content-Language, Location, ETag, Last-Modified, Cache-Control. */
  replayHeaders?: readonly string[];
  /** What a duplicate gets while the first runs: 409 with Retry-After ("reject", the engine's default) or its answer ("wait"). */
  inProgress?: InProgressMode;
  /** With "wait": how long to wait before answering 409. Default the engine's (10 s). */
  waitTimeout?: Duration;
  /** Claim, the handler's writes through `tx` and the stored answer in one database transaction. */
  transactional?: boolean;
}

/** Options that build an engine from `store` and the engine's options (lease, retention, ...). */
export interface HttpStoreOptions<R, Tx = unknown>
  extends HttpCommonOptions<R>,
    Omit<IdempotencyOptions, 'store' | 'shouldStore' | 'inProgress' | 'waitTimeout' | 'transactional'> {
  store: IdempotencyStore | TransactionalStore<Tx>;
  engine?: undefined;
}

/** Options with an existing engine (createIdempotency), shared with other adapters. */
export interface HttpEngineOptions<R, Tx = unknown> extends HttpCommonOptions<R> {
  engine: Idempotency<Tx>;
  store?: undefined;
}

export type HttpIdempotencyOptions<R = Request, Tx = unknown> = HttpStoreOptions<R, Tx> | HttpEngineOptions<R, Tx>;

/** The options checked once, at creation. */
export interface HttpConfig<R> {
  adapter: string;
  engine: Idempotency;
  /** Lower-cased, as looked up. */
  header: string;
  /** As configured, for messages. */
  headerLabel: string;
  required: boolean;
  methods: ReadonlySet<string>;
  operation: (request: R) => string;
  tenant: (request: R) => Awaitable<Tenant>;
  allowlist: ReadonlySet<string>;
  inProgress?: InProgressMode;
  waitTimeout?: Duration;
  transactional?: boolean;
}

const ADAPTER_ONLY: ReadonlySet<string> = new Set([
  'header', 'required', 'methods', 'operation', 'tenant', 'replayHeaders', 'inProgress', 'waitTimeout', 'transactional',
]);

export function resolveHttpOptions<R>(adapter: string, options: HttpIdempotencyOptions<R, unknown>): HttpConfig<R> {
  if (!options || typeof options !== 'object') throw new ConfigurationError(`${adapter}: options are required ({ store } or { engine }).`);
  const raw = options as unknown as Record<string, unknown>;
  const header = options.header ?? IDEMPOTENCY_KEY_HEADER;
  if (typeof header !== 'string' || !HEADER_NAME.test(header)) throw new ConfigurationError(`${adapter}: \`header\` must be an HTTP header name; got ${describeValue(header)}.`);
  const methods = options.methods ?? ['POST', 'PATCH'];
  if (!Array.isArray(methods) || methods.some((method) => typeof method !== 'string' || !HEADER_NAME.test(method))) {
    throw new ConfigurationError(`${adapter}: \`methods\` must be an array of HTTP methods, e.g. ["POST", "PATCH"].`);
  }
  const { operation = 'http', tenant } = options;
  if (typeof operation !== 'function' && (typeof operation !== 'string' || operation === '')) {
    throw new ConfigurationError(`${adapter}: \`operation\` must be a non-empty string or a function; got ${describeValue(operation)}.`);
  }
  if (tenant !== undefined && typeof tenant !== 'function') throw new ConfigurationError(`${adapter}: \`tenant\` must be a function; got ${describeValue(tenant)}.`);
  const replayHeaders = options.replayHeaders ?? [];
  if (!Array.isArray(replayHeaders) || replayHeaders.some((name) => typeof name !== 'string' || !HEADER_NAME.test(name))) {
    throw new ConfigurationError(`${adapter}: \`replayHeaders\` must be an array of HTTP header names.`);
  }
  return {
    adapter,
    engine: engineFromOptions(adapter, raw, ADAPTER_ONLY),
    header: header.toLowerCase(),
    headerLabel: header,
    required: options.required ?? true,
    methods: new Set(methods.map((method) => method.toUpperCase())),
    operation: typeof operation === 'function' ? operation : () => operation,
    tenant: tenant ?? (() => GLOBAL_TENANT),
    allowlist: replayAllowlist(replayHeaders),
    ...(options.inProgress !== undefined ? { inProgress: options.inProgress } : {}),
    ...(options.waitTimeout !== undefined ? { waitTimeout: options.waitTimeout } : {}),
    ...(options.transactional !== undefined ? { transactional: options.transactional } : {}),
  };
}
