import { KeyInvalidError, KeyMissingError } from './errors.js';

export interface KeyRules {
  /** Shortest accepted key. Default 1. */
  minLength?: number;
  /** Longest accepted key. Default 255 (the Prisma column is VARCHAR(255)). */
  maxLength?: number;
  /** Extra check run after the built-in ones; return a message to reject the key. */
  validate?: (key: string) => string | undefined;
}

/** The widest key any store holds (VARCHAR(255) on MySQL/MariaDB). */
export const MAX_KEY_LENGTH = 255;

// Printable ASCII (0x20-0x7E). Leading and trailing spaces are refused because SQL collations with
// PAD SPACE (MySQL, MariaDB) would make "k" and "k " the same key.
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

const DEFAULT_RULES: KeyRules = Object.freeze({});
const SPACE = 0x20;

/** Validates a key taken from a request; throws KeyMissingError / KeyInvalidError. */
export function validateKey(raw: unknown, rules: KeyRules = DEFAULT_RULES): string {
  const minLength = rules.minLength ?? 1;
  const maxLength = rules.maxLength ?? MAX_KEY_LENGTH;
  if (raw === undefined || raw === null) throw new KeyMissingError();
  if (typeof raw !== 'string') {
    throw new KeyInvalidError(`The idempotency key must be a string, got ${Array.isArray(raw) ? 'an array' : typeof raw}.`);
  }
  if (raw.length < minLength || raw.length > maxLength) {
    throw new KeyInvalidError(
      `The idempotency key must be ${minLength} to ${maxLength} characters long, got ${raw.length}.`,
    );
  }
  if (!PRINTABLE_ASCII.test(raw)) {
    throw new KeyInvalidError('The idempotency key may contain printable ASCII characters only (0x20-0x7E).');
  }
  if (raw.charCodeAt(0) === SPACE || raw.charCodeAt(raw.length - 1) === SPACE) {
    throw new KeyInvalidError('The idempotency key may not start or end with a space.');
  }
  const custom = rules.validate?.(raw);
  if (custom) throw new KeyInvalidError(custom);
  return raw;
}
