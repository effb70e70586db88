import { IDEMPOTENCY_EXTENSION } from './names.js';

/**
 * Which answers the server stores, and which ones a client retries with the same key. One rule
 * for both sides, so that whatever a client retries the server never stored (a retry of a stored
 * answer only replays it, and the client's key would never settle):
 *
 * - Stored: successes, and deterministic client errors: 4xx except 401, 403, 408, 409, 423, 425,
 *   429 and 499 (wrong credentials, "try again later", "the client went away").
 * - Retried: no answer at all (network error, timeout, abort); 408, 409, 425, 429, 499 and 5xx;
 *   the error codes whose status is one of those (IDEMPOTENCY_KEY_IN_USE, CONFLICT,
 *   INTERNAL_SERVER_ERROR...) - unless the error carries the stored mark.
 * - The stored mark: when a server stores a GraphQL answer holding an error a client would retry
 *   (Yoga's operation-level default stores a result where one root field completed and another
 *   failed unexpectedly: running the completed mutation again is worse), each such error carries
 *   `extensions.idempotency.stored: true`, and the client takes the answer as definitive.
 * - Neither: 401, 403 and 423 are not stored and not retried with the same key (the client must
 *   change something first; a new submission gets a new key).
 */

/** 4xx statuses that are not stored: a retry may get another answer. */
export const NOT_STORED_CLIENT_STATUSES: ReadonlySet<number> = new Set([401, 403, 408, 409, 423, 425, 429, 499]);

/** Statuses below 500 after which a client retries with the same key. */
export const RETRYABLE_CLIENT_STATUSES: ReadonlySet<number> = new Set([408, 409, 425, 429, 499]);

/** A 4xx that comes out the same on every retry: stored and replayed. */
export function isDeterministicClientStatus(status: number): boolean {
  return status >= 400 && status < 500 && !NOT_STORED_CLIENT_STATUSES.has(status);
}

/** Whether a client retries an answer with this status, with the same key. */
export function isRetryableStatus(status: number): boolean {
  return status >= 500 || RETRYABLE_CLIENT_STATUSES.has(status);
}

/** The HTTP status of each of oncely's own error codes (GraphQL `extensions.code`, tRPC `cause.code`). */
export const IDEMPOTENCY_ERROR_STATUS = {
  IDEMPOTENCY_KEY_MISSING: 400,
  IDEMPOTENCY_KEY_INVALID: 400,
  IDEMPOTENCY_KEY_REUSED: 422,
  IDEMPOTENCY_KEY_IN_USE: 409,
  IDEMPOTENCY_PAYLOAD_INVALID: 400,
  IDEMPOTENCY_RESPONSE_NOT_STORABLE: 500,
  IDEMPOTENCY_CONFIGURATION: 500,
  IDEMPOTENCY_STORE_UNAVAILABLE: 503,
  /** A retry reached its steps in another order than the recorded run: a server bug, never stored. */
  IDEMPOTENCY_STEP_MISMATCH: 500,
} as const;

export type IdempotencyErrorCode = keyof typeof IDEMPOTENCY_ERROR_STATUS;

/**
 * The HTTP status of the RPC error codes tRPC v11 sends (`error.data.code`) and GraphQL servers
 * reuse in `extensions.code` (Yoga masks unexpected errors as INTERNAL_SERVER_ERROR). A copy,
 * because clients must not load @trpc/server; test/protocol checks it against tRPC's own table.
 */
export const RPC_ERROR_STATUS = {
  PARSE_ERROR: 400,
  BAD_REQUEST: 400,
  UNAUTHORIZED: 401,
  PAYMENT_REQUIRED: 402,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  METHOD_NOT_SUPPORTED: 405,
  TIMEOUT: 408,
  CONFLICT: 409,
  PRECONDITION_FAILED: 412,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  UNPROCESSABLE_CONTENT: 422,
  PRECONDITION_REQUIRED: 428,
  TOO_MANY_REQUESTS: 429,
  CLIENT_CLOSED_REQUEST: 499,
  INTERNAL_SERVER_ERROR: 500,
  NOT_IMPLEMENTED: 501,
  BAD_GATEWAY: 502,
  SERVICE_UNAVAILABLE: 503,
  GATEWAY_TIMEOUT: 504,
} as const;

const own = (table: object, code: string) => Object.prototype.hasOwnProperty.call(table, code);

/** The HTTP status an error code stands for; undefined for codes the protocol does not know. */
export function statusOfCode(code: string): number | undefined {
  if (own(IDEMPOTENCY_ERROR_STATUS, code)) return IDEMPOTENCY_ERROR_STATUS[code as IdempotencyErrorCode];
  if (own(RPC_ERROR_STATUS, code)) return RPC_ERROR_STATUS[code as keyof typeof RPC_ERROR_STATUS];
  return undefined;
}

/** Whether a client retries an error with this code (the code's status is retryable). */
export function isRetryableCode(code: string): boolean {
  const status = statusOfCode(code);
  return status !== undefined && isRetryableStatus(status);
}

/** One error as the wire shows it: its code and, where a server put one there, its HTTP status. */
export interface WireError {
  code?: unknown;
  status?: unknown;
}

/** Whether an error, unless marked stored, makes a client retry: a retryable code or status. */
export function isRetryableError(error: WireError): boolean {
  return (typeof error.code === 'string' && isRetryableCode(error.code)) || (typeof error.status === 'number' && isRetryableStatus(error.status));
}

/** Whether a GraphQL error's `extensions` carry the stored mark. */
export function hasStoredMark(extensions: unknown): boolean {
  if (typeof extensions !== 'object' || extensions === null) return false;
  const mark = (extensions as Record<string, unknown>)[IDEMPOTENCY_EXTENSION];
  return typeof mark === 'object' && mark !== null && (mark as { stored?: unknown }).stored === true;
}

/** The `extensions` of an error of a stored answer, with the stored mark added. */
export function withStoredMark(extensions: Readonly<Record<string, unknown>> | undefined): Record<string, unknown> {
  const current = extensions?.[IDEMPOTENCY_EXTENSION];
  const namespace = typeof current === 'object' && current !== null ? current : {};
  return { ...extensions, [IDEMPOTENCY_EXTENSION]: { ...namespace, stored: true } };
}

/** What a client learned from one failed attempt (see classifyFailure in oncely/client). */
export interface FailedAnswer {
  /** The HTTP status, when the client saw one. */
  status?: number;
  /** Codes of the failure as a whole (tRPC's `error.data.code`, an error's own `code`). */
  codes?: readonly string[];
  /** The GraphQL errors of the answer, each with its code, status and stored mark. */
  errors?: ReadonlyArray<WireError & { stored?: boolean }>;
  /** The client library says the request failed on the network (urql's `networkError`). */
  network?: boolean;
}

/**
 * Whether a client retries a failed attempt with the same key. Retryable: an error (not marked
 * stored) or a code with a retryable code or status; else, unless an error is marked stored, a
 * retryable status; else a network failure, or nothing at all came back. Definitive otherwise:
 * an answer with a final status, codes or GraphQL errors.
 */
export function isRetryableAnswer(answer: FailedAnswer): boolean {
  const errors = answer.errors ?? [];
  const codes = answer.codes ?? [];
  if (errors.some((error) => !error.stored && isRetryableError(error))) return true;
  if (codes.some(isRetryableCode)) return true;
  if (errors.some((error) => error.stored)) return false;
  if (answer.status !== undefined) return isRetryableStatus(answer.status);
  if (answer.network) return true;
  return errors.length === 0 && codes.length === 0;
}
