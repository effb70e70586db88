import { type IdempotencyErrorCode, IdempotencyError } from '../core/errors.js';

/** What `idempotencyErrorFormatter` adds to an error's `data`: oncely's code and retry hint. */
export interface IdempotencyErrorData {
  /** The core's stable code, e.g. IDEMPOTENCY_KEY_IN_USE (see the error table in docs/trpc.md). */
  code: IdempotencyErrorCode;
  /** Seconds after which a retry may succeed (409 in progress, 503 store unavailable); null otherwise. */
  retryAfter: number | null;
}

/**
 * oncely's part of an error's `data`, or null when the error is not oncely's: for an
 * errorFormatter of your own, `data: { ...shape.data, idempotency: idempotencyErrorData(error) }`.
 * The middleware raises its errors as TRPCErrors whose `cause` is the core error.
 */
export function idempotencyErrorData(error: { cause?: unknown } | unknown): IdempotencyErrorData | null {
  const cause = error instanceof IdempotencyError ? error : (error as { cause?: unknown } | null)?.cause;
  if (!(cause instanceof IdempotencyError)) return null;
  return { code: cause.code, retryAfter: cause.retryAfter ?? null };
}

/**
 * An errorFormatter for `initTRPC.create({ errorFormatter: idempotencyErrorFormatter })`: tRPC's
 * default shape plus `data.idempotency` ({ code, retryAfter } or null), so that clients can tell
 * "still running, retry in 1 s" from "this key was used for another request" without parsing
 * messages. Compose it with your own by calling `idempotencyErrorData` instead.
 */
export function idempotencyErrorFormatter<TShape extends { data: object }>(opts: {
  shape: TShape;
  error: unknown;
}): TShape & { data: TShape['data'] & { idempotency: IdempotencyErrorData | null } } {
  return { ...opts.shape, data: { ...opts.shape.data, idempotency: idempotencyErrorData(opts.error) } };
}
