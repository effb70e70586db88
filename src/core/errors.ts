import { IDEMPOTENCY_ERROR_STATUS, type IdempotencyErrorCode } from '../protocol/answers.js';

/**
 * One small hierarchy with stable string codes. Adapters map `code` (never the class or the
 * message) to HTTP statuses, GraphQL `extensions.code` and tRPC error codes. The codes and their statuses are part of the wire contract (src/protocol).
 */
export type { IdempotencyErrorCode };

/** The HTTP status each code stands for (the wire contract, src/protocol); adapters use this table. */
export const httpStatusOf: Readonly<Record<IdempotencyErrorCode, number>> = IDEMPOTENCY_ERROR_STATUS;

export class IdempotencyError extends Error {
  readonly code: IdempotencyErrorCode;
  /** HTTP status the code maps to. */
  readonly status: number;
  /** Seconds after which a retry may succeed (409 and 503 only). */
  readonly retryAfter?: number;

  constructor(code: IdempotencyErrorCode, message: string, options?: { cause?: unknown; retryAfter?: number }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'IdempotencyError';
    this.code = code;
    this.status = httpStatusOf[code];
    if (options?.retryAfter !== undefined) this.retryAfter = options.retryAfter;
  }
}

export class KeyMissingError extends IdempotencyError {
  constructor(message = 'An idempotency key is required for this operation.') {
    super('IDEMPOTENCY_KEY_MISSING', message);
    this.name = 'KeyMissingError';
  }
}

export class KeyInvalidError extends IdempotencyError {
  constructor(message: string) {
    super('IDEMPOTENCY_KEY_INVALID', message);
    this.name = 'KeyInvalidError';
  }
}

/** Same key, different payload. Never carries the stored response. */
export class KeyReusedError extends IdempotencyError {
  constructor() {
    super(
      'IDEMPOTENCY_KEY_REUSED',
      'This idempotency key was already used with a different request payload. Use a new key for a new operation.',
    );
    this.name = 'KeyReusedError';
  }
}

export class KeyInUseError extends IdempotencyError {
  constructor(retryAfter: number) {
    super(
      'IDEMPOTENCY_KEY_IN_USE',
      'A request with this idempotency key is still being processed. Retry after the indicated delay.',
      { retryAfter },
    );
    this.name = 'KeyInUseError';
  }
}

/**
 * The request's payload cannot be fingerprinted (nested deeper than 256 levels, circular, or holding
 * functions or symbols), so the key cannot be checked against it. Nothing ran and nothing was stored.
 */
export class PayloadInvalidError extends IdempotencyError {
  constructor(message: string) {
    super('IDEMPOTENCY_PAYLOAD_INVALID', `The request payload cannot be used with an idempotency key: ${message}`);
    this.name = 'PayloadInvalidError';
  }
}

/**
 * The outcome could not be stored (over maxResponseBytes, or not serializable). The record is
 * completed with this error, so that retries get it instead of running the work a second time.
 */
export class ResponseNotStorableError extends IdempotencyError {
  readonly reason: string;
  constructor(reason: string) {
    super('IDEMPOTENCY_RESPONSE_NOT_STORABLE', `The operation ran, but its result could not be stored for replay: ${reason}.`);
    this.name = 'ResponseNotStorableError';
    this.reason = reason;
  }
}

export class ConfigurationError extends IdempotencyError {
  constructor(message: string) {
    super('IDEMPOTENCY_CONFIGURATION', message);
    this.name = 'ConfigurationError';
  }
}

/**
 * A run reached its steps in another order than the run it resumes (ClaimContext.step): the code
 * changed between the two runs, or chooses its steps from something other than the input. A server
 * bug: answered 500, never stored; the recorded steps stay for a fixed retry.
 */
export class StepMismatchError extends IdempotencyError {
  /** 0-based position of the step call that did not match. */
  readonly index: number;
  /** The name the code reached there. */
  readonly reached: string;
  /** The name the recorded run had there. */
  readonly recorded: string;
  constructor(index: number, reached: string, recorded: string) {
    super(
      'IDEMPOTENCY_STEP_MISMATCH',
      `oncely: the code reached step '${reached}' at position ${index} but the recorded run had '${recorded}' there; steps must run in the same order on every retry.`,
    );
    this.name = 'StepMismatchError';
    this.index = index;
    this.reached = reached;
    this.recorded = recorded;
  }
}

export class StoreUnavailableError extends IdempotencyError {
  constructor(cause: unknown) {
    super('IDEMPOTENCY_STORE_UNAVAILABLE', 'The idempotency store could not be reached. Retry the request.', {
      cause,
      retryAfter: 1,
    });
    this.name = 'StoreUnavailableError';
  }
}

export function isIdempotencyError(error: unknown): error is IdempotencyError {
  return error instanceof IdempotencyError;
}
