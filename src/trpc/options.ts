import type { TRPCProcedureType } from '@trpc/server';
import type { Duration } from '../core/duration.js';
import { type IdempotencyOptions, type InProgressMode, type Tenant, Idempotency } from '../core/engine.js';
import { engineFromOptions } from '../adapter/engine.js';
import { ANY_NAME, HEADER_NAME, describeValue, sourceName } from '../adapter/source-name.js';
import { ConfigurationError } from '../core/errors.js';
import type { IdempotencyStore, TransactionalStore } from '../core/store.js';
import type { StorePolicy } from '../core/outcome.js';
import { IDEMPOTENCY_KEYS_HEADER, IDEMPOTENCY_KEY_FIELD, IDEMPOTENCY_KEY_HEADER } from '../protocol/names.js';
import { storeTrpcOutcome } from './errors.js';
import { type ResponseHeaders, defaultRequestHeader, defaultResponseHeaders } from './http.js';

/**
 * What the middleware's option callbacks receive: the tRPC middleware options. `TCtx` is the
 * procedure's context and `TMeta` its meta; both are inferred when the middleware is passed to
 * `t.procedure.use(...)`, and default to `unknown` elsewhere (annotate the callback's parameter:
 * `getTenant: ({ ctx }: CallOptions<Context>) => ctx.user.accountId`).
 */
export interface CallOptions<TCtx = unknown, TMeta = unknown> {
  ctx: TCtx;
  type: TRPCProcedureType;
  path: string;
  input: unknown;
  getRawInput: () => Promise<unknown>;
  meta: TMeta | undefined;
  signal: AbortSignal | undefined;
  /** Index of the call in an HTTP batch; 0 outside batches. */
  batchIndex: number;
}

type Awaitable<T> = T | Promise<T>;

interface CommonOptions<TCtx = unknown, TMeta = unknown> {
  /**
   * Required. The tenant the key belongs to (account, user): keys of different tenants never meet.
   * Return GLOBAL_TENANT (from 'oncely') to share keys between all callers, explicitly.
   */
  getTenant: (opts: CallOptions<TCtx, TMeta>) => Awaitable<Tenant>;
  /** The record's operation name. Default: the procedure path. */
  getOperation?: (opts: CallOptions<TCtx, TMeta>) => string;
  /** Procedure types the middleware guards; others pass through untouched. Default ["mutation"]. */
  types?: readonly TRPCProcedureType[];
  // Key sources, in their fixed order: getKey, inputField, batchHeader, header (see key-sources.ts).
  /** Custom key source, asked first; return undefined or null to fall back to the other sources. */
  getKey?: (opts: CallOptions<TCtx, TMeta>) => Awaitable<unknown>;
  /** Input field holding the key; left out of the fingerprint. Default "idempotencyKey"; false to ignore. */
  inputField?: string | false;
  /** Header with the keys of a batch (see src/protocol/batch-header.ts), any case. Default "Idempotency-Keys"; false to ignore. */
  batchHeader?: string | false;
  /** Header with the key of a single call, any case. Default "Idempotency-Key"; false to ignore. */
  header?: string | false;
  /** Reads a request header. Default: from `ctx.req` (fetch Request or Node IncomingMessage) or `ctx.headers`. */
  getHeader?: (opts: CallOptions<TCtx, TMeta>, name: string) => string | null | undefined;
  /** Where the replay marker and Retry-After go. Default: `ctx.resHeaders` (fetch) or `ctx.res` (Node). */
  responseHeaders?: (opts: CallOptions<TCtx, TMeta>) => ResponseHeaders | undefined;
  /** Per-call override of the engine's in-progress mode ("reject" = CONFLICT, "wait" = wait, then replay). */
  inProgress?: InProgressMode;
  /** Per-call override of how long "wait" waits. */
  waitTimeout?: Duration;
  /**
   * Which outcomes are stored. Default: successes, and TRPCErrors whose code is deterministic
   * (see STORED_ERROR_CODES); everything else releases the key so a retry runs again.
   */
  shouldStore?: StorePolicy;
  /** Claim, procedure writes (through ctx.idempotency.tx) and stored result in one transaction. */
  transactional?: boolean;
}

/**
 * Options with an engine built from `store` and the engine's options. A transactional store
 * (PrismaStore) types `ctx.idempotency.tx`: `TTx` is inferred from it.
 */
export interface StoreOptions<TCtx = unknown, TMeta = unknown, TTx = unknown>
  extends CommonOptions<TCtx, TMeta>,
    Omit<IdempotencyOptions, 'store' | 'shouldStore' | 'inProgress' | 'waitTimeout' | 'transactional'> {
  store: IdempotencyStore | TransactionalStore<TTx>;
  engine?: undefined;
}

/** Options with an existing engine (its serializer, policy, lease and retention apply). */
export interface EngineOptions<TCtx = unknown, TMeta = unknown, TTx = unknown> extends CommonOptions<TCtx, TMeta> {
  engine: Idempotency<TTx>;
}

/** Whether a call without any key runs unprotected (false) or fails with BAD_REQUEST (true, default). */
export type TrpcIdempotencyOptions<TRequired extends boolean = true, TCtx = unknown, TMeta = unknown, TTx = unknown> = (
  | StoreOptions<TCtx, TMeta, TTx>
  | EngineOptions<TCtx, TMeta, TTx>
) & {
  required?: TRequired;
};

export interface Resolved {
  engine: Idempotency;
  getTenant: CommonOptions['getTenant'];
  getOperation: (opts: CallOptions) => string;
  types: ReadonlySet<TRPCProcedureType>;
  header: string | false;
  batchHeader: string | false;
  inputField: string | false;
  getKey?: CommonOptions['getKey'];
  getHeader: (opts: CallOptions, name: string) => string | null | undefined;
  /** True when `getHeader` is the default reader (ctx.req.headers / ctx.headers). */
  defaultHeaderReader: boolean;
  responseHeaders: (opts: CallOptions) => ResponseHeaders | undefined;
  required: boolean;
  inProgress?: InProgressMode;
  waitTimeout?: Duration;
  shouldStore: StorePolicy;
  transactional?: boolean;
}

/** Checks the options once, at creation, so that mistakes fail at startup and not per request. */
export function resolveOptions(options: TrpcIdempotencyOptions<boolean>): Resolved {
  if (!options || typeof options !== 'object') throw new ConfigurationError('oncely/trpc: options are required.');
  if (typeof options.getTenant !== 'function') {
    throw new ConfigurationError(
      "oncely/trpc: `getTenant` is required. Return the caller's account or user id, or `() => GLOBAL_TENANT` (from 'oncely') to share keys between all callers.",
    );
  }
  for (const name of ['getKey', 'getHeader', 'responseHeaders', 'getOperation'] as const) {
    if (options[name] !== undefined && typeof options[name] !== 'function') {
      throw new ConfigurationError(`oncely/trpc: \`${name}\` must be a function; got ${describeValue(options[name])}.`);
    }
  }
  const raw = options as unknown as Record<string, unknown>;
  // Header names are compared case-insensitively: kept lower-cased, as Node's req.headers has them.
  const header = lowerCased(sourceName('oncely/trpc', raw, 'header', IDEMPOTENCY_KEY_HEADER, HEADER_NAME, 'an HTTP header name'));
  const batchHeader = lowerCased(sourceName('oncely/trpc', raw, 'batchHeader', IDEMPOTENCY_KEYS_HEADER, HEADER_NAME, 'an HTTP header name'));
  const inputField = sourceName('oncely/trpc', raw, 'inputField', IDEMPOTENCY_KEY_FIELD, ANY_NAME, 'a non-empty property name');
  if (!options.getKey && header === false && batchHeader === false && inputField === false) {
    throw new ConfigurationError('oncely/trpc: every key source is turned off (header, batchHeader and inputField are false, and there is no getKey).');
  }
  const engine = engineFromOptions('oncely/trpc', raw, MIDDLEWARE_ONLY);
  const types = new Set<TRPCProcedureType>(options.types ?? ['mutation']);
  return {
    engine,
    getTenant: options.getTenant,
    getOperation: options.getOperation ?? ((opts) => opts.path),
    types,
    header,
    batchHeader,
    inputField,
    getKey: options.getKey,
    getHeader: options.getHeader ?? defaultRequestHeader,
    defaultHeaderReader: options.getHeader === undefined,
    responseHeaders: options.responseHeaders ?? defaultResponseHeaders,
    required: options.required ?? true,
    inProgress: options.inProgress,
    waitTimeout: options.waitTimeout,
    shouldStore: options.shouldStore ?? storeTrpcOutcome,
    transactional: options.transactional,
  };
}

function lowerCased(name: string | false): string | false {
  return name === false ? false : name.toLowerCase();
}


// The middleware's own options; everything else is handed to the engine it builds. inProgress,
// waitTimeout, shouldStore and transactional travel with each call, so they work with a shared
// engine too.
const MIDDLEWARE_ONLY: ReadonlySet<string> = new Set([
  'getTenant',
  'getOperation',
  'types',
  'header',
  'batchHeader',
  'inputField',
  'getKey',
  'getHeader',
  'responseHeaders',
  'inProgress',
  'waitTimeout',
  'shouldStore',
  'transactional',
  'required',
]);
