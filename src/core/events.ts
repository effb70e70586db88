import type { IdempotencyErrorCode } from './errors.js';
import type { StoreMethod } from './telemetry.js';

/** Where an event happened: the record's stored scope. */
interface CallEvent {
  tenant: string;
  operation: string;
  key: string;
  /** Claim number of the record (see IdempotencyRecord.fence). */
  fence: number;
  /** Milliseconds from the start of the call to this event. */
  durationMs: number;
}

/**
 * One observation, discriminated by `type`. Carries no request or response payloads unless
 * `eventPayloads` is on.
 */
export type IdempotencyEvent =
  /** This call claimed the key; `reclaimed` when it took over an abandoned or expired record. With eventPayloads: the input. */
  | (CallEvent & { type: 'claimed'; reclaimed: boolean; payload?: unknown })
  /** A stored outcome was returned; `cached` when served by the local cache. With eventPayloads: the outcome. */
  | (CallEvent & { type: 'replayed'; outcome: 'success' | 'error'; cached: boolean; payload?: unknown })
  /** Refused: another request holds the key (409). */
  | (CallEvent & { type: 'conflict'; code: Extract<IdempotencyErrorCode, 'IDEMPOTENCY_KEY_IN_USE'> })
  /** Refused: the key was used with another input (422). */
  | (CallEvent & { type: 'mismatch'; code: Extract<IdempotencyErrorCode, 'IDEMPOTENCY_KEY_REUSED'> })
  /** The outcome was stored. With eventPayloads: the outcome. */
  | (CallEvent & { type: 'completed'; outcome: 'success' | 'error'; payload?: unknown })
  /** The claim was given back without storing (policy, release(), rollback). */
  | (CallEvent & { type: 'released'; outcome?: 'success' | 'error' })
  /** The claim was taken over, purged or could not be finished: another request may run the work. */
  | (CallEvent & { type: 'lease_lost' })
  /** A step of the work ran and was recorded (ClaimContext.step / databaseStep). */
  | (CallEvent & { type: 'step_recorded'; name: string; index: number; kind: 'database' | 'external' })
  /** A step recorded by an earlier run of this operation was returned without running it. */
  | (CallEvent & { type: 'step_replayed'; name: string; index: number; kind: 'database' | 'external' })
  /** purgeExpired() finished. */
  | { type: 'purged'; count: number; durationMs: number }
  /**
   * A store call threw (the request answers 503, or, after the work ran, its outcome is not stored).
   * The scope when the call was about one record (not for purgeExpired or a transaction's own
   * failure); `durationMs` is how long the failed store call took.
   */
  | { type: 'store_failed'; method: StoreMethod; error: unknown; tenant?: string; operation?: string; key?: string; durationMs: number };

export type IdempotencyEventType = IdempotencyEvent['type'];

export type EventHandler = (event: IdempotencyEvent) => void;

/** An event of a call before the engine adds where and when (Omit spread over the union). */
export type CallEventBody = IdempotencyEvent extends infer E
  ? E extends { type: 'purged' | 'store_failed' }
    ? never
    : E extends CallEvent
      ? Omit<E, 'tenant' | 'operation' | 'key' | 'durationMs'>
      : never
  : never;
