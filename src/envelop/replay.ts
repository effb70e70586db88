import { GraphQLError, type ExecutionResult, Source, type SourceLocation } from 'graphql';
import { isRetryableError, isRetryableStatus, withStoredMark } from '../protocol/answers.js';
import { REPLAYED_HEADER } from '../protocol/names.js';

/** An execution result as stored: plain data, errors as their JSON form (internal extensions kept). */
export interface StoredResult {
  data?: unknown;
  errors?: StoredError[];
  extensions?: Record<string, unknown>;
}

export interface StoredError {
  message: string;
  path?: ReadonlyArray<string | number>;
  locations?: readonly SourceLocation[];
  extensions?: Record<string, unknown>;
}

/** The replay marker header (the protocol's REPLAYED_HEADER, under this subpath's name). */
export const REPLAY_HEADER = REPLAYED_HEADER;

/** An error a client would retry by the protocol's rule: a retryable code or HTTP status. */
function looksRetryable(error: GraphQLError): boolean {
  const extensions = error.extensions ?? {};
  return isRetryableError({ code: extensions.code, status: (extensions.http as { status?: unknown } | undefined)?.status });
}

/**
 * The answer of a result that is about to be stored: every error a client would otherwise retry
 * (a masked INTERNAL_SERVER_ERROR beside a completed root field) gets the stored mark
 * `extensions.idempotency.stored: true`, so clients take the answer as definitive instead of
 * retrying into its replay forever (src/protocol/answers.ts). A retryable HTTP status such an
 * error asked for (`extensions.http.status`, 5xx, 409...) is dropped: a stored answer is not sent
 * as "try again". The same object when nothing needs it.
 */
export function markStored(result: ExecutionResult): ExecutionResult {
  if (!result.errors?.some(looksRetryable)) return result;
  const errors = result.errors.map((error) =>
    looksRetryable(error)
      ? new GraphQLError(error.message, {
          ...(error.nodes ? { nodes: error.nodes } : {}),
          ...(error.source ? { source: error.source } : {}),
          ...(error.positions ? { positions: error.positions } : {}),
          ...(error.path ? { path: error.path } : {}),
          ...(error.originalError ? { originalError: error.originalError } : {}),
          extensions: withStoredMark(withoutRetryableStatus(error.extensions)),
        })
      : error,
  );
  return { ...result, errors };
}

function withoutRetryableStatus(extensions: GraphQLError['extensions'] | undefined): Record<string, unknown> | undefined {
  const http = extensions?.http as { status?: unknown } | undefined;
  if (typeof http?.status !== 'number' || !isRetryableStatus(http.status)) return extensions;
  const { status: _dropped, ...rest } = http;
  return { ...extensions, http: rest };
}

/**
 * Taken after masking (Yoga) so that the stored errors are what the client saw. `extensions.http`
 * and `extensions.unexpected` are kept: Yoga derives the status from them, so the replay gets the
 * same status, and strips them from the body again.
 */
export function toStoredResult(result: ExecutionResult): StoredResult {
  // Key order kept (graphql-js puts errors before data), so that the replayed JSON is byte-equal.
  const stored: StoredResult = {};
  for (const name of Object.keys(result)) {
    if (name === 'data') stored.data = result.data;
    else if (name === 'errors' && result.errors) stored.errors = result.errors.map(toStoredError);
    else if (name === 'extensions' && result.extensions) stored.extensions = { ...result.extensions };
  }
  return stored;
}

function toStoredError(error: GraphQLError): StoredError {
  const out: StoredError = { message: error.message };
  if (error.path) out.path = [...error.path];
  if (error.locations) out.locations = error.locations.map(({ line, column }) => ({ line, column }));
  if (error.extensions && Object.keys(error.extensions).length > 0) out.extensions = { ...error.extensions };
  return out;
}

/** The stored result with real GraphQLErrors: anything else would be treated by Yoga as unexpected. */
export function fromStoredResult(stored: StoredResult, headers: Record<string, string> | undefined): ExecutionResult {
  const result: ExecutionResult = {};
  for (const name of Object.keys(stored)) {
    if (name === 'data') result.data = stored.data as ExecutionResult['data'];
    else if (name === 'errors' && stored.errors) result.errors = stored.errors.map(fromStoredError);
  }
  const extensions: Record<string, unknown> = { ...stored.extensions };
  if (headers) {
    const http = (extensions.http ?? {}) as { headers?: Record<string, string> };
    extensions.http = { ...http, headers: { ...http.headers, ...headers } };
  }
  if (Object.keys(extensions).length > 0) result.extensions = extensions;
  return result;
}

export function fromStoredError(stored: StoredError): GraphQLError {
  const located = locate(stored.locations);
  return new GraphQLError(stored.message, {
    ...located,
    path: stored.path,
    extensions: stored.extensions,
  });
}

/**
 * GraphQLError only derives `locations` from a source and positions, and Yoga re-creates every
 * error from those before sending it. To replay the exact locations without the original
 * document, build a blank source in which the stored line/column pairs exist.
 */
function locate(locations: readonly SourceLocation[] | undefined): { source?: Source; positions?: number[] } {
  if (!locations || locations.length === 0) return {};
  const widths: number[] = [];
  for (const { line, column } of locations) widths[line - 1] = Math.max(widths[line - 1] ?? 0, column);
  const lines = Array.from(widths, (width) => ' '.repeat(width ?? 0));
  const starts: number[] = [];
  let offset = 0;
  for (const text of lines) {
    starts.push(offset);
    offset += text.length + 1;
  }
  const positions = locations.map(({ line, column }) => (starts[line - 1] ?? 0) + column - 1);
  return { source: new Source(lines.join('\n')), positions };
}
