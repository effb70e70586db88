import { ConfigurationError } from './errors.js';
import type { RecordScope } from './record.js';
import { sha256 } from './sha256.js';

/**
 * Pass as `tenant` to share keys between all callers. Oncely has no default tenant: a key scoped to
 * nobody would let one user replay another user's response, so going global is an explicit choice.
 */
export const GLOBAL_TENANT: unique symbol = Symbol.for('oncely.globalTenant');
export type Tenant = string | typeof GLOBAL_TENANT;

/** Longest tenant or operation stored as written (MySQL's indexed VARCHAR(191) utf8mb4). */
export const MAX_SCOPE_PART = 191;
const DIGEST_HEX = 64;
const READABLE_PREFIX = MAX_SCOPE_PART - DIGEST_HEX - 1;
// The stored form of a value that cannot be stored as written: a readable prefix, '#', SHA-256.
const DIGEST_FORM = new RegExp(`#[0-9a-f]{${DIGEST_HEX}}$`);
// With the u flag a well-formed pair is one code point, so only unpaired halves match.
const UNPAIRED_SURROGATE = /\p{Surrogate}/u;

/**
 * What a tenant or operation name is stored as. Injective: two different names never get the same
 * stored form, on any store, so no caller can reach another's records. Names are stored as written
 * unless a database could confuse them with another name:
 * - longer than 191 characters (they would not fit the indexed column);
 * - ending in a space (MySQL/MariaDB PAD SPACE collations compare "acme" and "acme " equal);
 * - containing NUL (PostgreSQL text cannot hold it) or an unpaired surrogate (UTF-8 drivers turn
 *   it into U+FFFD, which would merge it with a name that has U+FFFD there);
 * - already ending like a stored digest form ("…#<64 hex>"), so a caller cannot name another
 *   name's stored form.
 * Those are stored as a readable prefix, '#' and the SHA-256 of the name's JSON text (JSON escapes
 * unpaired surrogates, so the hash input is injective too).
 */
export function encodeScopePart(value: string): string {
  if (isStorableAsWritten(value)) return value;
  const digest = sha256(JSON.stringify(value), 'hex');
  // The prefix is for people reading the table; only the digest makes the form unique.
  const prefix = value.slice(0, READABLE_PREFIX).replace(/[^\x21-\x7e]/g, '_');
  return `${prefix}#${digest}`;
}

function isStorableAsWritten(value: string): boolean {
  return (
    value.length <= MAX_SCOPE_PART &&
    !value.endsWith(' ') &&
    !value.includes('\0') &&
    !UNPAIRED_SURROGATE.test(value) &&
    !DIGEST_FORM.test(value)
  );
}

/** Validates the tenant and operation of a call and returns the scope its record is stored under. */
export function toRecordScope(tenant: Tenant, operation: string, key: string): RecordScope {
  if (tenant !== GLOBAL_TENANT && (typeof tenant !== 'string' || tenant === '')) {
    throw new ConfigurationError(
      "oncely: a tenant is required. Return the caller's account or user id (a non-empty string), or GLOBAL_TENANT to share keys between all callers.",
    );
  }
  if (typeof operation !== 'string' || operation === '') {
    throw new ConfigurationError('oncely: an operation name is required.');
  }
  // GLOBAL_TENANT is stored as '', which no string tenant can be.
  return { tenant: tenant === GLOBAL_TENANT ? '' : encodeScopePart(tenant), operation: encodeScopePart(operation), key };
}
