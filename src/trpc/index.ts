export { createIdempotencyMiddleware, createIdempotentProcedure } from './middleware.js';
export type { IdempotencyContext, IdempotencyCtx, IdempotencyMiddleware } from './middleware.js';
export type { CallOptions, EngineOptions, StoreOptions, TrpcIdempotencyOptions } from './options.js';
export { STORED_ERROR_CODES, TRPC_CODE_OF, replayedError, storeTrpcOutcome, toTRPCError } from './errors.js';
export { serializerFromTransformer } from './serializer.js';
export { idempotencyErrorData, idempotencyErrorFormatter } from './error-formatter.js';
export type { IdempotencyErrorData } from './error-formatter.js';
export { defaultRequestHeader, defaultResponseHeaders } from './http.js';
export type { ResponseHeaders } from './http.js';
// The wire contract lives in src/protocol; re-exported here under the names this subpath has always had.
export {
  IDEMPOTENCY_KEYS_HEADER as BATCH_KEYS_HEADER,
  IDEMPOTENCY_KEY_HEADER as KEY_HEADER,
  REPLAYED_CALLS_HEADER,
  REPLAYED_HEADER,
} from '../protocol/names.js';
export {
  BatchHeaderError,
  formatBatchKeysHeader,
  formatReplayedCallsHeader,
  parseBatchKeysHeader,
  parseReplayedCallsHeader,
} from '../protocol/batch-header.js';
export { GLOBAL_TENANT } from '../core/engine.js';
