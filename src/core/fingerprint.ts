import { canonicalJson } from './encoding.js';
import { sha256 } from './sha256.js';

/**
 * SHA-256 (hex) of the canonical form of an operation's input: object key order, Map entry order
 * and Set element order do not matter; Dates hash as their ISO instant, BigInts as their digits
 * (never equal to the number or the string of the same value); properties set to undefined hash
 * as if absent, since JSON transports drop them.
 */
export function fingerprint(input: unknown): string {
  return sha256(canonicalJson(input), 'hex');
}
