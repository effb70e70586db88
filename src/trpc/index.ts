export { createIdempotencyMiddleware, createIdempotentProcedure } from './middleware.js';
export type { IdempotencyContext, IdempotencyCtx, IdempotencyMiddleware } from './middleware.js';
export type { CallOptions, EngineOptions, StoreOptions, TrpcIdempotencyOptions } from './options.js';
export { STORED_ERROR_CODES, TRPC_CODE_OF, replayedError, storeTrpcOutcome, toTRPCError } from './errors.js';
export { serializerFromTransformer } from './serializer.js';
export { defaultRequestHeader, defaultResponseHeaders } from './http.js';
export type { ResponseHeaders } from './http.js';
export {
  BATCH_KEYS_HEADER,
  BatchHeaderError,
  KEY_HEADER,
  REPLAYED_CALLS_HEADER,
  REPLAYED_HEADER,
  formatBatchKeysHeader,
  formatReplayedCallsHeader,
  parseBatchKeysHeader,
  parseReplayedCallsHeader,
} from './batch-header.js';
export { GLOBAL_TENANT } from '../core/engine.js';
