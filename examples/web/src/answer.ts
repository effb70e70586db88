import { REPLAYED_HEADER } from 'oncely/client';

/**
 * What an answer that reached the page says, in the attempt log's words:
 * - `ran`: the server ran the mutation now and it succeeded;
 * - `replayed`: oncely answered from its store (`Idempotent-Replayed: true`), nothing ran;
 * - `refused`: oncely refused the request before running anything (IDEMPOTENCY_* codes: a key
 *   reused with another payload, the same key still running, no key...);
 * - `error`: any other failure, such as the shop's own "already paid".
 * An error answer is never `replayed`, even when it is a stored error replayed: the badge says
 * error, and `replay` says that it came from the store.
 */
export type AnswerKind = 'ran' | 'replayed' | 'refused' | 'error';

export interface Answer {
  kind: AnswerKind;
  status: number;
  /** The first error's code: GraphQL `extensions.code`; in a tRPC error, oncely's code, else tRPC's. */
  code?: string;
  /** The answer carried `Idempotent-Replayed: true`. */
  replay: boolean;
}

type Loose = Record<string, unknown> | undefined;
const field = (value: unknown, name: string): unknown => (typeof value === 'object' && value !== null ? (value as Loose)?.[name] : undefined);

/** The error code in a GraphQL body (errors[0].extensions.code) or a tRPC body (with or without a transformer). */
function errorCode(body: unknown): string | undefined {
  const graphqlErrors = field(body, 'errors');
  if (Array.isArray(graphqlErrors) && graphqlErrors.length > 0) {
    const code = field(field(graphqlErrors[0], 'extensions'), 'code');
    return typeof code === 'string' ? code : 'GRAPHQL_ERROR';
  }
  const trpcError = field(body, 'error');
  if (trpcError === undefined) return undefined;
  const shape = field(trpcError, 'json') ?? trpcError;
  const data = field(shape, 'data');
  // oncely's errorFormatter puts its code in data.idempotency (null for the app's own errors).
  const code = field(field(data, 'idempotency'), 'code') ?? field(data, 'code');
  return typeof code === 'string' ? code : 'TRPC_ERROR';
}

export function readAnswer(status: number, headers: Headers, text: string): Answer {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  const replay = headers.get(REPLAYED_HEADER) === 'true';
  const code = errorCode(body);
  const failed = status >= 400 || code !== undefined;
  const kind: AnswerKind = !failed ? (replay ? 'replayed' : 'ran') : code?.startsWith('IDEMPOTENCY_') && !replay ? 'refused' : 'error';
  return { kind, status, replay, ...(code === undefined ? {} : { code }) };
}
