/**
 * Whether a failed attempt may be retried with the same key (the operation has no definitive
 * answer yet) or the key is spent (the server answered for good).
 *
 * Retryable: no response at all (network error, timeout, abort), 408, 409 (the same key is still
 * running), 425, 429, and 5xx. Definitive: every other status, and GraphQL errors in a 200 answer
 * (they are the stored, replayable outcome) unless their code says otherwise.
 */
export type FailureKind = 'retryable' | 'definitive';

const RETRYABLE_STATUSES = new Set([408, 409, 425, 429]);
const RETRYABLE_CODES = new Set([
  'IDEMPOTENCY_KEY_IN_USE',
  'IDEMPOTENCY_STORE_UNAVAILABLE',
  'CONFLICT',
  'TIMEOUT',
  'TOO_MANY_REQUESTS',
  'INTERNAL_SERVER_ERROR',
  'SERVICE_UNAVAILABLE',
  'BAD_GATEWAY',
  'GATEWAY_TIMEOUT',
  'CLIENT_CLOSED_REQUEST',
]);

export function isRetryableStatus(status: number): boolean {
  return status >= 500 || RETRYABLE_STATUSES.has(status);
}

type Loose = Record<string, unknown> | undefined;

function statusOf(error: Loose): number | undefined {
  if (!error) return undefined;
  for (const candidate of [
    error.status,
    error.statusCode,
    (error.data as Loose)?.httpStatus, // TRPCClientError
    (error.networkError as Loose)?.statusCode, // urql CombinedError, Apollo 3
    (error.response as Loose)?.status,
  ]) {
    if (typeof candidate === 'number') return candidate;
  }
  return undefined;
}

function codesOf(error: Loose): string[] {
  if (!error) return [];
  const codes: unknown[] = [error.code, (error.data as Loose)?.code];
  for (const list of [error.graphQLErrors, error.errors]) {
    if (Array.isArray(list)) for (const e of list) codes.push((e as Loose)?.extensions && ((e as { extensions: Loose }).extensions?.code));
  }
  return codes.filter((c): c is string => typeof c === 'string');
}

/** Classifies a failure thrown by fetch, @trpc/client, Apollo or urql. */
export function classifyFailure(error: unknown): FailureKind {
  const e = (typeof error === 'object' && error !== null ? error : undefined) as Loose;
  const codes = codesOf(e);
  if (codes.some((c) => RETRYABLE_CODES.has(c))) return 'retryable';
  const status = statusOf(e);
  if (status !== undefined) return isRetryableStatus(status) ? 'retryable' : 'definitive';
  // urql puts a failed fetch into networkError; Apollo 4 throws it as is.
  if (e && 'networkError' in e && e.networkError) return 'retryable';
  if (codes.length > 0) return 'definitive';
  // No status and no code: the request never got an answer (TypeError: fetch failed, AbortError...).
  return 'retryable';
}
