import { initTRPC } from '@trpc/server';
import type { Tenant } from '../core/engine.js';
import { IdempotencyError } from '../core/errors.js';
import { formatBatchKeysHeader, formatReplayedCallsHeader, parseBatchKeysHeader, parseReplayedCallsHeader } from '../protocol/batch-header.js';
import {
  IDEMPOTENCY_KEYS_HEADER as BATCH_KEYS_HEADER,
  IDEMPOTENCY_KEY_HEADER as KEY_HEADER,
  REPLAYED_CALLS_HEADER,
  REPLAYED_HEADER,
} from '../protocol/names.js';
import { replayedError, toTRPCError } from './errors.js';
import { requestShape } from './http.js';
import { findKey, fingerprintInput, unreadableKeyError } from './key-sources.js';
import { type IdempotencyContext, contextFromClaim } from '../adapter/context.js';
import { type CallOptions, type Resolved, type TrpcIdempotencyOptions, resolveOptions } from './options.js';
import { type MiddlewareResultOf, storedResult } from './result.js';

export type { IdempotencyContext } from '../adapter/context.js';

/** `ctx.idempotency` is null when no key was sent to an optional procedure, or for unguarded types. */
export type IdempotencyCtx<TRequired extends boolean, TTx = unknown> = {
  idempotency: TRequired extends false ? IdempotencyContext<TTx> | null : IdempotencyContext<TTx>;
};

/** tRPC's `next()`, as far as the middleware calls it. */
type Next = (opts?: { ctx?: object }) => Promise<MiddlewareResultOf<object>>;

/** A middleware for `.use()`, for procedures whose context is `TCtx` and meta `TMeta`. */
export type IdempotencyMiddleware<TRequired extends boolean, TTx, TCtx = unknown, TMeta = unknown> = ((
  opts: CallOptions<TCtx, TMeta> & { next: Next },
) => Promise<MiddlewareResultOf<IdempotencyCtx<TRequired, TTx>>>) & { _type?: string };

/**
 * The middleware: finds the key, lets the engine claim it and run the rest of the chain once,
 * and turns stored outcomes back into results and TRPCErrors. All idempotency decisions are the
 * engine's; this file only translates between tRPC and the engine.
 *
 * Types are inferred: `TCtx`/`TMeta` from the procedure in `t.procedure.use(...)` (so `getTenant`
 * sees your context), `TTx` (`ctx.idempotency.tx`) from `store` or `engine` (a PrismaStore: your
 * client's transaction client). `TRequired` follows `required`.
 */
export function createIdempotencyMiddleware<TRequired extends boolean = true, TTx = unknown, TCtx = unknown, TMeta = unknown>(
  options: TrpcIdempotencyOptions<TRequired, TCtx, TMeta, TTx>,
): IdempotencyMiddleware<TRequired, TTx, TCtx, TMeta> {
  // The callbacks are the user's, typed for TCtx/TMeta; tRPC hands them exactly those options.
  const config = resolveOptions(options as unknown as TrpcIdempotencyOptions<boolean>);

  const middleware = async (opts: CallOptions & { next: Next }) => {
    type Result = MiddlewareResultOf<IdempotencyCtx<TRequired, TTx>>;
    if (!config.types.has(opts.type)) return (await opts.next({ ctx: { idempotency: null } })) as Result;

    let rawInput: unknown;
    let key: unknown;
    try {
      rawInput = await opts.getRawInput();
      key = await findKey(opts, rawInput, config);
    } catch (error) {
      throw toTRPCError(error);
    }
    if (key === undefined && !config.required) return (await opts.next({ ctx: { idempotency: null } })) as Result;
    if (key === undefined) {
      const unreadable = unreadableKeyError(opts, config);
      if (unreadable) throw toTRPCError(unreadable);
    }

    const tenant = await config.getTenant(opts);
    const operation = config.getOperation(opts);
    let passed: Result | undefined;
    let execution;
    try {
      execution = await config.engine.execute(
        {
          tenant,
          operation,
          key,
          input: { path: opts.path, input: fingerprintInput(rawInput, config) },
          shouldStore: config.shouldStore,
          ...(config.inProgress ? { inProgress: config.inProgress } : {}),
          ...(config.waitTimeout !== undefined ? { waitTimeout: config.waitTimeout } : {}),
          ...(config.transactional !== undefined ? { transactional: config.transactional } : {}),
        },
        async (claim) => {
          const idempotency = contextFromClaim<TTx>(claim, operation);
          const result = (await opts.next({ ctx: { idempotency } })) as Result;
          passed = result;
          // The engine decides from the outcome whether to store or release: hand it the error.
          if (!result.ok) throw result.error;
          return result.data;
        },
      );
    } catch (error) {
      if (error instanceof IdempotencyError && error.retryAfter !== undefined) {
        setHeader(opts, config, 'retry-after', String(error.retryAfter));
      }
      throw toTRPCError(error);
    }

    if (!execution.replayed) {
      // The chain's own result, untouched (tRPC may carry more than ok/data on it).
      if (passed) return passed;
      if (execution.outcome.ok) return storedResult<IdempotencyCtx<TRequired, TTx>>(execution.outcome.value);
      throw toTRPCError(execution.outcome.error);
    }
    markReplayed(opts, config, execution.key);
    if (execution.outcome.ok) return storedResult<IdempotencyCtx<TRequired, TTx>>(execution.outcome.value);
    throw replayedError(execution.outcome.error);
  };
  return middleware as IdempotencyMiddleware<TRequired, TTx, TCtx, TMeta>;
}

/**
 * A procedure builder carrying the middleware, for `.concat()`:
 * `const idempotentProcedure = publicProcedure.concat(createIdempotentProcedure({...}))`.
 * `.concat()` cannot tell it your context: annotate a callback
 * (`getTenant: ({ ctx }: CallOptions<Context>) => ...`) or pass `TCtx`. `TTx` is inferred from
 * `store` or `engine`, as in createIdempotencyMiddleware.
 */
export function createIdempotentProcedure<TRequired extends boolean = true, TTx = unknown, TCtx extends object = object, TMeta extends object = object>(
  options: TrpcIdempotencyOptions<TRequired, TCtx, TMeta, TTx>,
) {
  const t = initTRPC.context<TCtx>().meta<TMeta>().create();
  // tRPC hands the middleware its Simplify<TCtx>, which TypeScript cannot relate to a generic TCtx:
  // the middleware reads `ctx` only through the callbacks typed above.
  const middleware = createIdempotencyMiddleware<TRequired, TTx, TCtx, TMeta>(options) as unknown as IdempotencyMiddleware<TRequired, TTx>;
  return t.procedure.use(middleware);
}

/**
 * The replay headers. One call: `Idempotent-Replayed: true` and its key in `Idempotency-Key` (as
 * Yoga does). A batch has one response for all its calls: every replayed call adds its index to
 * `Idempotent-Replayed-Calls` and its key to `Idempotency-Keys`, in the request header's format.
 * Both are read and written without an await in between, so concurrent calls of a batch add up.
 */
function markReplayed(opts: CallOptions, config: Resolved, key: string): void {
  if (!requestShape(opts).batch) {
    setHeader(opts, config, REPLAYED_HEADER, 'true');
    // The key's own header, as configured (Yoga echoes its configured header name too).
    setHeader(opts, config, config.header === false ? KEY_HEADER : config.header, key);
    return;
  }
  const headers = safeHeaders(opts, config);
  if (!headers) return;
  let indexes: Set<number>;
  try {
    indexes = parseReplayedCallsHeader(headers.get(REPLAYED_CALLS_HEADER));
  } catch {
    indexes = new Set();
  }
  indexes.add(opts.batchIndex);
  headers.set(REPLAYED_CALLS_HEADER, formatReplayedCallsHeader(indexes));
  let keys: Map<number, string>;
  try {
    const current = headers.get(config.batchHeader === false ? BATCH_KEYS_HEADER : config.batchHeader);
    keys = current ? parseBatchKeysHeader(current) : new Map();
  } catch {
    keys = new Map();
  }
  keys.set(opts.batchIndex, key);
  headers.set(config.batchHeader === false ? BATCH_KEYS_HEADER : config.batchHeader, formatBatchKeysHeader(keys));
}

function setHeader(opts: CallOptions, config: Resolved, name: string, value: string): void {
  safeHeaders(opts, config)?.set(name, value);
}

// A failing header hook must not turn a correct result into an error.
function safeHeaders(opts: CallOptions, config: Resolved) {
  try {
    const headers = config.responseHeaders(opts);
    if (!headers) return undefined;
    return {
      get: (name: string) => {
        try {
          return headers.get(name);
        } catch {
          return undefined;
        }
      },
      set: (name: string, value: string) => {
        try {
          headers.set(name, value);
        } catch {
          // ignored: see above
        }
      },
    };
  } catch {
    return undefined;
  }
}
