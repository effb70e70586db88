export {
  IDEMPOTENCY_KEY_CONTEXT,
  IDEMPOTENCY_KEY_EXTENSION,
  IDEMPOTENCY_KEY_HEADER,
  REPLAYED_HEADER,
} from './constants.js';
export { createIdempotencyKey } from './key.js';
export type { KeyGenerator } from './key.js';
export { classifyFailure, isRetryableStatus } from './failure.js';
export type { FailureKind } from './failure.js';
export { createKeyLifecycle, KeyLifecycle } from './lifecycle.js';
export type { KeyLifecycleOptions } from './lifecycle.js';
export { idempotentFetch } from './fetch.js';
export type { IdempotentFetchOptions, IdempotentResponse } from './fetch.js';
