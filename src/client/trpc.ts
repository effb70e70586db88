import type { Operation, TRPCLink } from '@trpc/client';
import type { AnyRouter } from '@trpc/server';
import { formatBatchKeysHeader } from '../protocol/batch-header.js';
import { IDEMPOTENCY_KEYS_HEADER, IDEMPOTENCY_KEY_CONTEXT, IDEMPOTENCY_KEY_FIELD, IDEMPOTENCY_KEY_HEADER } from '../protocol/names.js';
import { createIdempotencyKey } from './key.js';

export interface TrpcIdempotencyLinkOptions {
  /**
   * "header" (default): the key travels in headers that `idempotencyHeaders` builds for
   * httpLink / httpBatchLink (one per call, batches included). "input": the key is added to the
   * mutation's input as `inputField`, for setups where you cannot set headers.
   */
  transport?: 'header' | 'input';
  /** Input field name with transport "input". Default "idempotencyKey" (the middleware's default). */
  inputField?: string;
  /** Default: UUID v4 from Web Crypto. */
  generateKey?: () => string;
}

const keyOf = (op: Pick<Operation, 'context'>) => (op.context as Record<string, unknown>)[IDEMPOTENCY_KEY_CONTEXT] as string | undefined;

/**
 * Gives every mutation operation an idempotency key, and queries and subscriptions none. A key
 * passed per call (`client.x.mutate(input, { context: { idempotencyKey } })`) is used as is. The
 * key is written into the operation's own context object, so retryLink, wherever it sits, re-sends
 * it with the same key.
 */
export function idempotencyLink<TRouter extends AnyRouter>(options: TrpcIdempotencyLinkOptions = {}): TRPCLink<TRouter> {
  const generateKey = options.generateKey ?? createIdempotencyKey;
  const field = options.inputField ?? IDEMPOTENCY_KEY_FIELD;
  return () =>
    ({ op, next }) => {
      if (op.type !== 'mutation') return next(op);
      const inputKey = options.transport === 'input' && isObject(op.input) ? (op.input[field] as string | undefined) : undefined;
      const key = keyOf(op) ?? inputKey ?? generateKey();
      (op.context as Record<string, unknown>)[IDEMPOTENCY_KEY_CONTEXT] = key;
      if (options.transport === 'input') {
        if (op.input !== undefined && !isObject(op.input)) {
          throw new Error(`oncely: transport "input" needs an object input on ${op.path}; use the header transport instead.`);
        }
        return next({ ...op, input: { ...(op.input as object | undefined), [field]: key } });
      }
      return next(op);
    };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Headers for httpLink (`{ op }`) and httpBatchLink (`{ opList }`) carrying the keys the link
 * assigned: `Idempotency-Key` for a single call, `Idempotency-Keys` (batch index → key) for a
 * batch. Spread it into your own headers: `headers: (o) => ({ ...auth(), ...idempotencyHeaders(o) })`.
 */
export function idempotencyHeaders(opts: { op: Pick<Operation, 'context'> } | { opList: ReadonlyArray<Pick<Operation, 'context'>> }): Record<string, string> {
  const ops = 'op' in opts ? [opts.op] : [...opts.opList];
  const keys = ops.map(keyOf);
  if (keys.every((k) => k === undefined)) return {};
  if (ops.length === 1) return { [IDEMPOTENCY_KEY_HEADER]: keys[0] as string };
  return { [IDEMPOTENCY_KEYS_HEADER]: formatBatchKeysHeader(keys) };
}
