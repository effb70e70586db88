import { IdempotencyError } from '../core/errors.js';
import type { HttpAnswer } from './answer.js';

/** The media type of RFC 9457 problem details. */
export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

const TITLES: Record<string, string> = {
  IDEMPOTENCY_KEY_MISSING: 'Idempotency key missing',
  IDEMPOTENCY_KEY_INVALID: 'Idempotency key invalid',
  IDEMPOTENCY_KEY_REUSED: 'Idempotency key reused',
  IDEMPOTENCY_KEY_IN_USE: 'Request in progress',
  IDEMPOTENCY_PAYLOAD_INVALID: 'Request payload not usable with an idempotency key',
  IDEMPOTENCY_RESPONSE_NOT_STORABLE: 'Response not storable',
  IDEMPOTENCY_CONFIGURATION: 'Idempotency misconfigured',
  IDEMPOTENCY_STORE_UNAVAILABLE: 'Idempotency store unavailable',
  IDEMPOTENCY_STEP_MISMATCH: 'Idempotent steps out of order',
};

/** RFC 9457 body of one of oncely's errors: `{ type, title, status, detail, code }`. */
export interface IdempotencyProblem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
}

/**
 * The problem type URI of a code: a tag URI (RFC 4151), which RFC 9457 suggests for types that are
 * not meant to be dereferenced; clients compare it, or `code`, as a string.
 */
export function problemType(code: string): string {
  return `tag:oncely,2026:${code.toLowerCase().replaceAll('_', '-')}`;
}

export function problemOf(error: IdempotencyError): IdempotencyProblem {
  // Server-side failures keep their detail out of the answer: it may name internals.
  const detail = error.status >= 500 && error.code !== 'IDEMPOTENCY_STORE_UNAVAILABLE' ? 'The server could not handle the idempotency key.' : error.message;
  return { type: problemType(error.code), title: TITLES[error.code] ?? 'Idempotency error', status: error.status, detail, code: error.code };
}

const encoder = new TextEncoder();

/** The problem answer of an IdempotencyError, with `Retry-After` on 409 and 503. */
export function problemAnswer(error: IdempotencyError): HttpAnswer {
  const headers: Array<[string, string]> = [['content-type', PROBLEM_CONTENT_TYPE]];
  if (error.retryAfter !== undefined) headers.push(['retry-after', String(error.retryAfter)]);
  return { status: error.status, headers, body: encoder.encode(JSON.stringify(problemOf(error))) };
}

/** Whether an error is one of oncely's refusals to answer as a problem (anything else is the app's). */
export function isProblem(error: unknown): error is IdempotencyError {
  return error instanceof IdempotencyError;
}
