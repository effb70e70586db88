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
  const v = values.slice(from).map((x: unknown) => (x === null || x === undefined ? null : String(x)));
  const [tenant, operation, key, status, fingerprint, token, fence, lease, response, created, updated, expires] = v;
  if (status === null || status === undefined) return null;
  return {
    tenant: tenant ?? '',
    operation: operation ?? '',
    key: key ?? '',
    status: status as RecordStatus,
    fingerprint: fingerprint ?? '',
    token: token ?? '',
    fence: Number(fence),
    leaseExpiresAt: lease === null || lease === undefined ? null : Number(lease),
    response: response ?? null,
    createdAt: Number(created),
    updatedAt: Number(updated),
    expiresAt: Number(expires),
  };
}
