import type { IdempotencyErrorCode } from './errors.js';

export type IdempotencyEventType =
  | 'claimed'
  | 'replayed'
  | 'conflict'
  | 'mismatch'
  | 'completed'
  | 'released'
  | 'lease_lost'
  | 'purged';

/** One observation. Carries no request or response payloads unless `eventPayloads` is on. */
export interface IdempotencyEvent {
  type: IdempotencyEventType;
  tenant?: string;
  operation?: string;
  key?: string;
  /** Claim number of the record (see IdempotencyRecord.fence). */
  fence?: number;
  /** claimed: true when an abandoned or expired record was taken over. */
  reclaimed?: boolean;
  /** Milliseconds from the start of the call (or of the purge) to this event. */
  durationMs: number;
  /** replayed: whether the replayed outcome is an error. completed/released: the outcome's kind. */
  outcome?: 'success' | 'error';
  /** replayed: true when served from the local cache without asking the store. */
  cached?: boolean;
  /** conflict / mismatch: the error code given to the caller. */
  code?: IdempotencyErrorCode;
  /** purged: records deleted. */
  count?: number;
  /** With eventPayloads: the input (claimed) or the outcome (completed, replayed). */
  payload?: unknown;
}

export type EventHandler = (event: IdempotencyEvent) => void;
