import { type TRPC_ERROR_CODE_KEY, TRPCError, getTRPCErrorFromUnknown } from '@trpc/server';
import { type IdempotencyErrorCode, IdempotencyError } from '../core/errors.js';
import type { StorePolicy } from '../core/outcome.js';

/** How each core error reaches the client. Keyed by the core's stable code, never by class. */
export const TRPC_CODE_OF: Record<IdempotencyErrorCode, TRPC_ERROR_CODE_KEY> = {
  IDEMPOTENCY_KEY_MISSING: 'BAD_REQUEST',
  IDEMPOTENCY_KEY_INVALID: 'BAD_REQUEST',
  IDEMPOTENCY_KEY_REUSED: 'UNPROCESSABLE_CONTENT',
  IDEMPOTENCY_KEY_IN_USE: 'CONFLICT',
  IDEMPOTENCY_PAYLOAD_INVALID: 'BAD_REQUEST',
  IDEMPOTENCY_RESPONSE_NOT_STORABLE: 'INTERNAL_SERVER_ERROR',
  IDEMPOTENCY_CONFIGURATION: 'INTERNAL_SERVER_ERROR',
  IDEMPOTENCY_STORE_UNAVAILABLE: 'SERVICE_UNAVAILABLE',
};

/**
 * TRPCError codes stored and replayed by default: the same request gets the same answer on every
 * retry. Everything else (INTERNAL_SERVER_ERROR, TIMEOUT, TOO_MANY_REQUESTS, CONFLICT,
 * UNAUTHORIZED, FORBIDDEN, CLIENT_CLOSED_REQUEST, 5xx, unknown) releases the key so that a retry
 * runs the procedure again.
 */
export const STORED_ERROR_CODES: ReadonlySet<TRPC_ERROR_CODE_KEY> = new Set<TRPC_ERROR_CODE_KEY>([
  'PARSE_ERROR',
  'BAD_REQUEST',
  'PAYMENT_REQUIRED',
  'NOT_FOUND',
  'METHOD_NOT_SUPPORTED',
  'PRECONDITION_FAILED',
  'PAYLOAD_TOO_LARGE',
  'UNSUPPORTED_MEDIA_TYPE',
  'UNPROCESSABLE_CONTENT',
  'PRECONDITION_REQUIRED',
]);

/** The default store policy of the tRPC middleware: successes and deterministic TRPCErrors. */
export const storeTrpcOutcome: StorePolicy = (outcome) =>
  outcome.ok || (outcome.error instanceof TRPCError && STORED_ERROR_CODES.has(outcome.error.code));

/**
 * A core error as a TRPCError. The core error is the `cause`, so an errorFormatter can surface
 * `cause.code` (e.g. IDEMPOTENCY_KEY_IN_USE) and `cause.retryAfter`.
 */
export function toTRPCError(error: unknown): TRPCError {
  if (error instanceof IdempotencyError) {
    return new TRPCError({ code: TRPC_CODE_OF[error.code] ?? 'INTERNAL_SERVER_ERROR', message: error.message, cause: error });
  }
  return getTRPCErrorFromUnknown(error);
}

/**
 * A stored error back as a TRPCError with the same code, message and cause (the serializer keeps
 * the cause's own properties, so an errorFormatter computes the same `data`).
 */
export function replayedError(stored: unknown): TRPCError {
  if (stored instanceof IdempotencyError) return toTRPCError(stored);
  const candidate = stored as { name?: unknown; code?: unknown; message?: unknown; cause?: unknown } | null;
  if (stored instanceof Error && candidate?.name === 'TRPCError' && typeof candidate.code === 'string') {
    return new TRPCError({
      code: candidate.code as TRPC_ERROR_CODE_KEY,
      message: String(candidate.message),
      ...(candidate.cause !== undefined ? { cause: candidate.cause } : {}),
    });
  }
  return getTRPCErrorFromUnknown(stored);
}
