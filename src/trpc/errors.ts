import { type TRPC_ERROR_CODE_KEY, TRPCError, getTRPCErrorFromUnknown } from '@trpc/server';
import { getHTTPStatusCodeFromError } from '@trpc/server/http';
import { isDeterministicClientStatus } from '../protocol/answers.js';
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
  IDEMPOTENCY_STEP_MISMATCH: 'INTERNAL_SERVER_ERROR',
};

// Every TRPC_ERROR_CODE_KEY: the Record type makes a code tRPC adds a compile error here.
const TRPC_CODES: Record<TRPC_ERROR_CODE_KEY, true> = {
  PARSE_ERROR: true,
  BAD_REQUEST: true,
  INTERNAL_SERVER_ERROR: true,
  NOT_IMPLEMENTED: true,
  BAD_GATEWAY: true,
  SERVICE_UNAVAILABLE: true,
  GATEWAY_TIMEOUT: true,
  UNAUTHORIZED: true,
  PAYMENT_REQUIRED: true,
  FORBIDDEN: true,
  NOT_FOUND: true,
  METHOD_NOT_SUPPORTED: true,
  TIMEOUT: true,
  CONFLICT: true,
  PRECONDITION_FAILED: true,
  PAYLOAD_TOO_LARGE: true,
  UNSUPPORTED_MEDIA_TYPE: true,
  UNPROCESSABLE_CONTENT: true,
  PRECONDITION_REQUIRED: true,
  TOO_MANY_REQUESTS: true,
  CLIENT_CLOSED_REQUEST: true,
};

/**
 * TRPCError codes stored and replayed by default: those whose HTTP status (tRPC's own mapping) is a
 * deterministic client error by the protocol's rule (src/protocol/answers.ts), so the same request
 * gets the same answer on every retry. Everything else (INTERNAL_SERVER_ERROR, TIMEOUT,
 * TOO_MANY_REQUESTS, CONFLICT, UNAUTHORIZED, FORBIDDEN, CLIENT_CLOSED_REQUEST, 5xx, unknown)
 * releases the key so that a retry runs the procedure again.
 */
export const STORED_ERROR_CODES: ReadonlySet<TRPC_ERROR_CODE_KEY> = new Set(
  (Object.keys(TRPC_CODES) as TRPC_ERROR_CODE_KEY[]).filter((code) =>
    isDeterministicClientStatus(getHTTPStatusCodeFromError(new TRPCError({ code }))),
  ),
);

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
