/**
 * oncely/http: idempotency for any Web-standard `(Request) => Response` handler (Hono, Next.js
 * route handlers, Remix/React Router, SvelteKit, Bun.serve, Deno.serve, Workers), to
 * draft-ietf-httpapi-idempotency-key-header-07. Web-standard only: no Node APIs.
 */
export { idempotent } from './handler.js';
export type { FetchHandler } from './handler.js';
export { idempotencyOf } from './context.js';
export type { IdempotencyContext } from '../adapter/context.js';
export type { HttpCommonOptions, HttpEngineOptions, HttpIdempotencyOptions, HttpStoreOptions } from './options.js';
export { parseKeyHeader } from './key-header.js';
export { DEFAULT_REPLAY_HEADERS } from './stored-response.js';
export type { StoredHttpResponse } from './stored-response.js';
export { PROBLEM_CONTENT_TYPE, problemType } from './problem.js';
export type { IdempotencyProblem } from './problem.js';
export { storeHttpOutcome } from './lifecycle.js';
