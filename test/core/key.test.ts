import { describe, expect, it } from 'vitest';
import { KeyInvalidError, KeyMissingError, validateKey } from '../../src/index.js';

describe('validateKey', () => {
  it('accepts 1 to 255 printable ASCII characters', () => {
    expect(validateKey('a')).toBe('a');
    expect(validateKey('~'.repeat(255))).toBe('~'.repeat(255));
    expect(validateKey('7d9f4c20-8b2f-4a4e-9d7d-25a7c2a4f7f1')).toBe('7d9f4c20-8b2f-4a4e-9d7d-25a7c2a4f7f1');
    expect(validateKey('order 42: "retry"')).toBe('order 42: "retry"');
  });

  it.each([
    [undefined, KeyMissingError, /required/],
    [null, KeyMissingError, /required/],
    ['', KeyInvalidError, /1 to 255 characters long, got 0/],
    ['x'.repeat(256), KeyInvalidError, /got 256/],
    ['tab\there', KeyInvalidError, /printable ASCII/],
    ['line\nbreak', KeyInvalidError, /printable ASCII/],
    ['nul\u0000', KeyInvalidError, /printable ASCII/],
    ['clé', KeyInvalidError, /printable ASCII/],
    ['emoji🔑', KeyInvalidError, /printable ASCII/],
    [' padded', KeyInvalidError, /start or end with a space/],
    ['padded ', KeyInvalidError, /start or end with a space/],
    [42, KeyInvalidError, /must be a string, got number/],
    [['a', 'b'], KeyInvalidError, /got an array/],
    [{ key: 'a' }, KeyInvalidError, /got object/],
  ])('refuses %j with a typed error', (raw, type, message) => {
    expect(() => validateKey(raw)).toThrow(type);
    expect(() => validateKey(raw)).toThrow(message);
  });

  it('maps to stable codes and HTTP statuses', () => {
    const missing = (() => { try { validateKey(undefined); } catch (e) { return e; } })() as KeyMissingError;
    const invalid = (() => { try { validateKey(''); } catch (e) { return e; } })() as KeyInvalidError;
    expect([missing.code, missing.status]).toEqual(['IDEMPOTENCY_KEY_MISSING', 400]);
    expect([invalid.code, invalid.status]).toEqual(['IDEMPOTENCY_KEY_INVALID', 400]);
  });

  it('applies configured lengths and a custom rule', () => {
    const rules = { minLength: 16, maxLength: 64, validate: (k: string) => (/^[0-9a-f-]+$/.test(k) ? undefined : 'must be a UUID') };
    expect(() => validateKey('short', rules)).toThrow(/16 to 64/);
    expect(() => validateKey('zzzzzzzzzzzzzzzzzzzz', rules)).toThrow(/must be a UUID/);
    expect(validateKey('0123456789abcdef0123', rules)).toBe('0123456789abcdef0123');
  });
});

describe('key length cap', () => {
  it('refuses keyRules.maxLength over the key column width (MySQL would cut longer keys and merge them)', async () => {
    const { Idempotency, MemoryStore, ConfigurationError } = await import('../../src/index.js');
    expect(() => new Idempotency({ store: new MemoryStore(), keyRules: { maxLength: 256 } })).toThrow(ConfigurationError);
    expect(() => new Idempotency({ store: new MemoryStore(), keyRules: { maxLength: 255 } })).not.toThrow();
  });
});
