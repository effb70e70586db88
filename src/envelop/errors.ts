import { GraphQLError, type ExecutionResult } from 'graphql';
import { IdempotencyError, isIdempotencyError } from '../core/errors.js';
import { type Outcome, isDeterministicClientError } from '../core/outcome.js';
import { isRetryableCode } from '../protocol/answers.js';

/**
 * A core error as the GraphQLError clients see: `extensions.code` is the core's code, and Yoga reads
 * the HTTP status and Retry-After from `extensions.http` (and strips `http` from the body).
 * No originalError on purpose: Yoga masks GraphQLErrors that wrap a non-GraphQL error.
 */
export function toGraphQLError(error: IdempotencyError): GraphQLError {
  const headers = error.retryAfter === undefined ? undefined : { 'Retry-After': String(error.retryAfter) };
  return new GraphQLError(error.message, {
    extensions: { code: error.code, http: { status: error.status, ...(headers ? { headers } : {}) } },
  });
}

/** Converts core errors, passes everything else through. */
export function asGraphQLError(error: unknown): unknown {
  return isIdempotencyError(error) ? toGraphQLError(error) : error;
}

/** The result Yoga turns into a 4xx/5xx when an operation is refused before it runs. */
export function errorResult(error: IdempotencyError): ExecutionResult {
  return { errors: [toGraphQLError(error)] };
}

function isOriginalGraphQLError(error: unknown): boolean {
  // By name, not instanceof: two copies of graphql (or a serialized one) must still count.
  if (!(error instanceof Error) || error.name !== 'GraphQLError') return false;
  const original = (error as GraphQLError).originalError;
  return original == null || isOriginalGraphQLError(original);
}

/**
 * An error the resolver meant to return, and that would come out the same on a retry: a
 * GraphQLError it threw itself (not one wrapping an unexpected exception, not one Yoga masked),
 * whose code is not one clients retry (CONFLICT, INTERNAL_SERVER_ERROR, IDEMPOTENCY_KEY_IN_USE...)
 * and whose HTTP status, if any, is a deterministic client error: the protocol's rule
 * (src/protocol/answers.ts), so that the default policies never store what a client retries.
 */
export function isExpectedError(error: unknown): boolean {
  if (!isOriginalGraphQLError(error)) return false;
  const extensions = (error as GraphQLError).extensions ?? {};
  if (extensions.unexpected) return false;
  if (typeof extensions.code === 'string' && isRetryableCode(extensions.code)) return false;
  const status = (extensions.http as { status?: unknown } | undefined)?.status;
  if (typeof status === 'number' && status >= 400) return isDeterministicClientError({ status });
  return true;
}

/** Field-level default: successes and expected errors are stored; anything else releases the claim. */
export function defaultFieldPolicy(outcome: Outcome): boolean {
  return outcome.ok || isExpectedError(outcome.error);
}

/**
 * Operation-level default. Stored: results without errors, and results whose errors are all
 * expected. Also stored: results where some root field's resolver completed although another
 * failed unexpectedly, because releasing would run the completed mutation again on the retry
 * (exactly-once wins over retrying the failed field; use field-level keys to retry fields one by
 * one); such an answer's unexpected errors carry the stored mark (markStored), so clients do not
 * retry it. Released: results where every root field failed with an unexpected error.
 */
export function defaultResultPolicy(result: ExecutionResult): boolean {
  const errors = result.errors ?? [];
  if (errors.every(isExpectedError)) return true;
  const data = result.data;
  if (!data || typeof data !== 'object') return false;
  const failedRoots = new Set(errors.filter((e) => e.path?.length === 1).map((e) => e.path?.[0]));
  return Object.keys(data).some((responseKey) => !failedRoots.has(responseKey));
}
