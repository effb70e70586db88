export { createIdempotency, deriveDownstreamKey, GLOBAL_TENANT, Idempotency } from './core/engine.js';
export type {
  Begun,
  ClaimContext,
  Execution,
  HeldClaim,
  Replay,
  IdempotencyOptions,
  IdempotentCall,
  InProgressMode,
  ResponseCodec,
  Tenant,
} from './core/engine.js';
export {
  ConfigurationError,
  httpStatusOf,
  IdempotencyError,
  isIdempotencyError,
  KeyInUseError,
  PayloadInvalidError,
  KeyInvalidError,
  KeyMissingError,
  KeyReusedError,
  ResponseNotStorableError,
  StepMismatchError,
  StoreUnavailableError,
} from './core/errors.js';
export type { IdempotencyErrorCode } from './core/errors.js';
export type { EventHandler, IdempotencyEvent, IdempotencyEventType } from './core/events.js';
export type { CallTrace, IdempotencyTelemetry, StepDetails, StepSpan, StoreMethod, TracedCall, TracedStep } from './core/telemetry.js';
export { fingerprint } from './core/fingerprint.js';
export type { PurgeOptions } from './core/purge.js';
export { ReleaseRefusedError, revisionOf } from './core/inspect.js';
export type { InspectedState, InspectOptions, Instant, RecordInspection, ReleasedClaim, ReleaseRefusal, StoredOutcomeSummary } from './core/inspect.js';
export { validateKey } from './core/key.js';
export type { KeyRules } from './core/key.js';
export { defaultStorePolicy, isDeterministicClientError } from './core/outcome.js';
export type { Outcome, StorePolicy } from './core/outcome.js';
export { isExpired, isReclaimable } from './core/record.js';
export type { IdempotencyRecord, RecordScope, RecordStatus } from './core/record.js';
export { defaultSerializer } from './core/serializer.js';
export type { Serializer } from './core/serializer.js';
export { isTransactionalStore } from './core/store.js';
export type { Completion, CreateOrGet, IdempotencyStore, StepRecord, TransactionalStore, TransactionOf } from './core/store.js';
export { MemoryStore } from './core/memory-store.js';
export { ManualClock, systemClock } from './core/clock.js';
export type { Clock } from './core/clock.js';
export type { Duration } from './core/duration.js';
export type { LocalCacheOptions } from './core/local-cache.js';
export { startSweeper } from './core/sweeper.js';
export type { Sweeper, SweeperOptions } from './core/sweeper.js';
