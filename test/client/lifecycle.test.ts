import { describe, expect, it } from 'vitest';
import { classifyFailure, createIdempotencyKey, KeyLifecycle } from '../../src/client/index.js';

describe('createIdempotencyKey', () => {
  it('makes distinct UUID v4 keys', () => {
    const keys = new Set(Array.from({ length: 1000 }, createIdempotencyKey));
    expect(keys.size).toBe(1000);
    for (const k of keys) expect(k).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});

describe('KeyLifecycle', () => {
  it('keeps the key while the same input is retried, and rotates it after success', () => {
    const keys = new KeyLifecycle();
    const first = keys.keyFor({ amount: 5, to: 'x' });
    expect(keys.keyFor({ to: 'x', amount: 5 })).toBe(first);
    expect(keys.failed(new TypeError('fetch failed'))).toBe('retryable');
    expect(keys.keyFor({ amount: 5, to: 'x' })).toBe(first);
    keys.succeeded();
    expect(keys.keyFor({ amount: 5, to: 'x' })).not.toBe(first);
  });

  it('rotates the key when the input changes or the failure is definitive', () => {
    const keys = new KeyLifecycle();
    const a = keys.keyFor({ amount: 5 });
    const b = keys.keyFor({ amount: 6 });
    expect(b).not.toBe(a);
    expect(keys.failed({ status: 422 })).toBe('definitive');
    expect(keys.keyFor({ amount: 6 })).not.toBe(b);
  });

  it('run() settles by the outcome', async () => {
    const keys = new KeyLifecycle({ generateKey: (() => { let n = 0; return () => `k${++n}`; })() });
    const seen: string[] = [];
    await expect(keys.run({ a: 1 }, async (k) => { seen.push(k); throw Object.assign(new Error('busy'), { status: 409 }); })).rejects.toThrow();
    await keys.run({ a: 1 }, async (k) => { seen.push(k); return 'ok'; });
    await keys.run({ a: 1 }, async (k) => { seen.push(k); return 'ok'; });
    expect(seen).toEqual(['k1', 'k1', 'k2']);
  });
});

describe('classifyFailure', () => {
  it.each([
    [new TypeError('fetch failed'), 'retryable'],
    [{ name: 'AbortError' }, 'retryable'],
    [{ status: 409 }, 'retryable'],
    [{ status: 429 }, 'retryable'],
    [{ status: 503 }, 'retryable'],
    [{ status: 400 }, 'definitive'],
    [{ status: 422 }, 'definitive'],
    [{ data: { httpStatus: 409, code: 'CONFLICT' } }, 'retryable'],
    [{ data: { httpStatus: 422, code: 'UNPROCESSABLE_CONTENT' } }, 'definitive'],
    [{ graphQLErrors: [{ extensions: { code: 'IDEMPOTENCY_KEY_IN_USE' } }] }, 'retryable'],
    [{ graphQLErrors: [{ extensions: { code: 'IDEMPOTENCY_KEY_REUSED' } }] }, 'definitive'],
    [{ errors: [{ extensions: { code: 'BAD_USER_INPUT' } }] }, 'definitive'],
    [{ networkError: new TypeError('Failed to fetch'), graphQLErrors: [] }, 'retryable'],
  ])('%j is %s', (error, kind) => {
    expect(classifyFailure(error)).toBe(kind);
  });
});
