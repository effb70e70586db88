// The wire contract (names and the stored-versus-retryable rule) lives in src/protocol.
export {
  IDEMPOTENCY_KEY_CONTEXT,
  IDEMPOTENCY_KEY_EXTENSION,
  IDEMPOTENCY_KEY_HEADER,
  REPLAYED_HEADER,
} from '../protocol/names.js';
export { createIdempotencyKey } from './key.js';
export type { KeyGenerator } from './key.js';
export { classifyFailure } from './failure.js';
export { isRetryableStatus } from '../protocol/answers.js';
export type { FailureKind } from './failure.js';
export { createKeyLifecycle, KeyLifecycle } from './lifecycle.js';
export type { KeyLifecycleOptions } from './lifecycle.js';
export { idempotentFetch } from './fetch.js';
export type { IdempotentFetchOptions, IdempotentResponse } from './fetch.js';
