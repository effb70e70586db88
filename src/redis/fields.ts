import type { IdempotencyRecord, RecordStatus } from '../core/record.js';

/**
 * A record is one Redis hash with the same field names as the SQL columns, so it reads the same in
 * redis-cli as in the database. Absent fields stand for null (a lease after completion, a response
 * while in progress). Numbers travel as decimal strings and the scripts store them as given, so no
 * timestamp ever goes through Lua's number formatting.
 */
export const FIELDS = [
  'tenant',
  'operation',
  'key',
  'status',
  'fingerprint',
  'token',
  'fence',
  'lease_expires_at',
  'response',
  'created_at',
  'updated_at',
  'expires_at',
] as const;

/** Field-value pairs for HSET, nulls left out. */
export function toFieldPairs(r: IdempotencyRecord): string[] {
  const pairs = [
    'tenant', r.tenant,
    'operation', r.operation,
    'key', r.key,
    'status', r.status,
    'fingerprint', r.fingerprint,
    'token', r.token,
    'fence', String(r.fence),
    'created_at', String(r.createdAt),
    'updated_at', String(r.updatedAt),
    'expires_at', String(r.expiresAt),
  ];
  if (r.leaseExpiresAt !== null) pairs.push('lease_expires_at', String(r.leaseExpiresAt));
  if (r.response !== null) pairs.push('response', r.response);
  return pairs;
}

/**
 * When the record may be purged: its expiry, or for an in-progress record the end of its lease if
 * that is later. The expiry index is scored by it.
 */
export function purgeTime(r: IdempotencyRecord): number {
  return r.status === 'in_progress' && r.leaseExpiresAt !== null && r.leaseExpiresAt > r.expiresAt ? r.leaseExpiresAt : r.expiresAt;
}

/**
 * The record from the values of FIELDS (an HMGET, or a claim script's reply from `from` on), or
 * null when the hash does not exist.
 */
export function fromValues(values: unknown, from = 0): IdempotencyRecord | null {
  if (!Array.isArray(values) || values.length !== from + FIELDS.length) throw new Error('RedisStore: unexpected reply for a record.');
  // Read in place (FIELDS order), without copying the reply: this runs on every replay.
  const at = (i: number): string | null => textOf(values[from + i]);
  const status = at(3);
  if (status === null) return null;
  const lease = at(7);
  return {
    tenant: at(0) ?? '',
    operation: at(1) ?? '',
    key: at(2) ?? '',
    status: status as RecordStatus,
    fingerprint: at(4) ?? '',
    token: at(5) ?? '',
    fence: Number(at(6)),
    leaseExpiresAt: lease === null ? null : Number(lease),
    response: at(8),
    createdAt: Number(at(9)),
    updatedAt: Number(at(10)),
    expiresAt: Number(at(11)),
  };
}

function textOf(x: unknown): string | null {
  return x === null || x === undefined ? null : String(x);
}
