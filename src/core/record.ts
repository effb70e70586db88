/** Where a record lives: unique over (tenant, operation, key). */
export interface RecordScope {
  tenant: string;
  operation: string;
  key: string;
}

export type RecordStatus = 'in_progress' | 'completed';

/** One idempotency record as every store keeps it. Times are epoch milliseconds. */
export interface IdempotencyRecord extends RecordScope {
  status: RecordStatus;
  /** SHA-256 of the canonical input; a retry with another fingerprint is refused. */
  fingerprint: string;
  /** Random per claim; only the holder of this token may renew, complete or release. */
  token: string;
  /** 1 for the first claim, +1 each time an abandoned or expired record is claimed again. */
  fence: number;
  /** Until when the holder's claim is protected; null once completed. */
  leaseExpiresAt: number | null;
  /** The serialized outcome; null while in progress. */
  response: string | null;
  createdAt: number;
  updatedAt: number;
  /** After this instant the record counts as absent and may be purged. */
  expiresAt: number;
}

export function isExpired(record: IdempotencyRecord, now: number): boolean {
  return record.expiresAt <= now;
}

/** True when the record may be claimed again: retention over, or an in-progress lease ran out. */
export function isReclaimable(record: IdempotencyRecord, now: number): boolean {
  if (isExpired(record, now)) return true;
  return record.status === 'in_progress' && record.leaseExpiresAt !== null && record.leaseExpiresAt <= now;
}
