import { describe, expect, it } from 'vitest';
import { fingerprint } from '../../src/index.js';

describe('fingerprint', () => {
  it('is a SHA-256 hex digest', () => {
    expect(fingerprint({ a: 1 })).toMatch(/^[0-9a-f]{64}$/);
  });

  it('ignores object key order at every depth', () => {
    expect(fingerprint({ a: 1, b: { c: 2, d: [1, { e: 3, f: 4 }] } })).toBe(
      fingerprint({ b: { d: [1, { f: 4, e: 3 }], c: 2 }, a: 1 }),
    );
  });

  it('keeps array order', () => {
    expect(fingerprint([1, 2])).not.toBe(fingerprint([2, 1]));
  });

  it('ignores Map entry and Set element order', () => {
    expect(fingerprint(new Map([['a', 1], ['b', 2]]))).toBe(fingerprint(new Map([['b', 2], ['a', 1]])));
    expect(fingerprint(new Set([1, 'x', { y: 1 }]))).toBe(fingerprint(new Set([{ y: 1 }, 'x', 1])));
  });

  it('treats properties set to undefined as absent, but not null', () => {
    expect(fingerprint({ a: 1, b: undefined })).toBe(fingerprint({ a: 1 }));
    expect(fingerprint({ a: 1, b: null })).not.toBe(fingerprint({ a: 1 }));
  });

  it('tells apart values that JSON would confuse', () => {
    const distinct = [
      1n,
      1,
      '1',
      new Date('2026-01-01T00:00:00Z'),
      '2026-01-01T00:00:00.000Z',
      null,
      undefined,
      [undefined],
      [null],
      Number.NaN,
      { $oncely: 'date', v: '2026-01-01T00:00:00.000Z' },
      new Map([['a', 1]]),
      { a: 1 },
    ];
    const prints = distinct.map((v) => fingerprint(v));
    expect(new Set(prints).size).toBe(distinct.length);
  });

  it('hashes equal Dates equally', () => {
    expect(fingerprint({ at: new Date(5) })).toBe(fingerprint({ at: new Date(5) }));
  });

  it('refuses circular and over-deep inputs with a TypeError instead of hanging', () => {
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    expect(() => fingerprint(circular)).toThrow(/circular/);
    let deep: unknown = 'leaf';
    for (let i = 0; i < 10_000; i++) deep = [deep];
    expect(() => fingerprint(deep)).toThrow(/nested deeper/);
  });
});
