import { type FailedAnswer, hasStoredMark, isRetryableAnswer } from '../protocol/answers.js';

/**
 * Whether a failed attempt may be retried with the same key (the operation has no definitive
 * answer yet) or the key is spent (the server answered for good). The rule is the protocol's
 * (src/protocol/answers.ts), the same one the servers store by: retryable are no response at all
 * (network error, timeout, abort), 408, 409 (the same key is still running), 425, 429, 499 and
 * 5xx, and errors whose code stands for one of those, unless the server marked them stored.
 * Definitive: every other status, and GraphQL errors of any other code (they are the stored,
 * replayable outcome).
 */
export type FailureKind = 'retryable' | 'definitive';

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

/** What the error says about the answer: its status, codes and GraphQL errors (Apollo, urql, graphql-request). */
function answerOf(error: Loose): FailedAnswer {
  if (!error) return {};
  const codes = [error.code, (error.data as Loose)?.code].filter((c): c is string => typeof c === 'string');
  const errors: NonNullable<FailedAnswer['errors']>[number][] = [];
  for (const list of [error.graphQLErrors, error.errors]) {
    if (!Array.isArray(list)) continue;
    for (const item of list) {
      const extensions = (item as Loose)?.extensions as Loose;
      errors.push({ code: extensions?.code, status: (extensions?.http as Loose)?.status, stored: hasStoredMark(extensions) });
    }
  }
  const status = statusOf(error);
  return {
    ...(status === undefined ? {} : { status }),
    codes,
    errors,
    // urql puts a failed fetch into networkError; Apollo 4 throws it as is.
    network: 'networkError' in error && Boolean(error.networkError),
  };
}

/** Classifies a failure thrown by fetch, @trpc/client, Apollo or urql. */
export function classifyFailure(error: unknown): FailureKind {
  const e = (typeof error === 'object' && error !== null ? error : undefined) as Loose;
  return isRetryableAnswer(answerOf(e)) ? 'retryable' : 'definitive';
}
