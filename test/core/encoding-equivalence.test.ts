/**
 * The canonical form is what every stored fingerprint was computed from, and the tagged JSON is how
 * every stored outcome was written: the faster sort and base64 must produce them byte for byte as
 * before. The oracle is a frozen copy of the previous encoding.ts (support/encoding-oracle.ts).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bytesToBase64Web, canonicalJson, decode, encode } from '../../src/core/encoding.js';
import * as oracle from './support/encoding-oracle.js';

/** Defined, not assigned: `__proto__` stays an own key instead of setting the prototype. */
function objectOf(entries: [string, unknown][]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of entries) Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
  return out;
}

// Lone surrogates and NUL included: JSON escapes them, and they sort by UTF-16 code unit.
const codeUnitString = fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)), maxLength: 12 });
const text = fc.oneof(
  { weight: 4, arbitrary: fc.string({ maxLength: 8 }) },
  { weight: 3, arbitrary: codeUnitString },
  { weight: 2, arbitrary: fc.constantFrom('', '\u0000', 'a\u0000', 'a', 'ab', '"', '\\', '$oncely', '\ud800', '\udfff', '\u{1f600}', 'é', 'é') },
  { weight: 1, arbitrary: fc.string({ minLength: 500, maxLength: 3_000 }) },
);
const key = fc.oneof(text, fc.constantFrom('__proto__', 'constructor', 'prototype', '$oncely', 'v', 'toJSON', 'hasOwnProperty'));
const scalar = fc.oneof(
  fc.constantFrom(-0, 0, Number.NaN, Infinity, -Infinity, null, undefined, true, false, Number.MAX_VALUE, Number.MIN_VALUE),
  fc.double(),
  fc.integer(),
  fc.bigInt(),
  text,
  fc.date({ noInvalidDate: false }),
  fc.uint8Array({ maxLength: 40 }),
);

const { value } = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    scalar,
    fc.array(tie('value'), { maxLength: 5 }),
    fc.array(fc.tuple(key, tie('value')), { maxLength: 5 }).map(objectOf),
    fc.array(tie('value'), { maxLength: 6 }).map((items) => new Set(items)),
    fc.array(fc.tuple(tie('value'), tie('value')), { maxLength: 5 }).map((entries) => new Map(entries)),
    // Elements whose JSON texts are equal or prefixes of each other.
    fc.array(fc.constantFrom<unknown>('a', 'ab', 'a"', 'a\u0000', 1, 10, -0, 0, '1', [1], [1, 2], { a: 1 }, { a: 1 }, new Set([1])), { maxLength: 8 }).map((items) => new Set(items)),
    fc.tuple(text, fc.array(fc.tuple(key, tie('value')), { maxLength: 3 })).map(([message, props]) => {
      const error = new Error(message);
      for (const [k, v] of props) Object.defineProperty(error, k, { value: v, enumerable: true, writable: true, configurable: true });
      return error;
    }),
    // Objects whose prototype was replaced through a `__proto__` assignment (Object.assign):
    // instanceof and toJSON checks then see the other value's class.
    fc.tuple(fc.array(fc.tuple(key, tie('value')), { maxLength: 3 })).map(([entries]) => Object.assign({}, objectOf(entries))),
  ),
}));

/**
 * The outcome of a call, thrown errors included, so both sides must also fail alike: the same
 * message for our own refusals; for values that break the built-ins they touch (an object whose
 * prototype became a Uint8Array), the same class of error, whose wording names the built-in.
 */
function outcome(fn: () => string): string {
  try {
    return `ok:${fn()}`;
  } catch (error) {
    const { name, message } = error as Error;
    return name === 'UnsupportedValueError' ? `threw:${name}:${message}` : `threw:${name}`;
  }
}

describe('encoding: byte-identical to the previous implementation', () => {
  it('canonical JSON (fingerprints) and tagged JSON (stored outcomes) of adversarial values', () => {
    fc.assert(
      fc.property(value, (v) => {
        expect(outcome(() => canonicalJson(v))).toBe(outcome(() => oracle.canonicalJson(v)));
        expect(outcome(() => JSON.stringify(encode(v)))).toBe(outcome(() => JSON.stringify(oracle.encode(v))));
      }),
      { numRuns: 500 },
    );
  });

  it('large Sets and Maps of nested values', () => {
    fc.assert(
      fc.property(fc.array(value, { minLength: 50, maxLength: 300 }), (items) => {
        const set = new Set(items);
        const map = new Map(items.map((item, i) => [item, i % 3 === 0 ? new Set([item, i]) : i]));
        for (const v of [set, map, { set, map }]) expect(outcome(() => canonicalJson(v))).toBe(outcome(() => oracle.canonicalJson(v)));
      }),
      { numRuns: 30 },
    );
  });

  it('bytes: the same base64 on the Node and the Web path, for any length and offset, and decoding restores them', () => {
    const bytes = fc.tuple(fc.uint8Array({ maxLength: 3_000 }), fc.nat(), fc.nat()).map(([all, a, b]) => {
      const start = all.length === 0 ? 0 : a % all.length;
      return all.subarray(start, start + (b % (all.length - start + 1)));
    });
    fc.assert(
      fc.property(bytes, (view) => {
        const expected = JSON.stringify(oracle.encode(view));
        expect(JSON.stringify(encode(view))).toBe(expected);
        expect(JSON.stringify({ $oncely: 'bytes', v: bytesToBase64Web(view) })).toBe(expected);
        expect(decode(encode(view))).toEqual(new Uint8Array(view));
      }),
      { numRuns: 300 },
    );
  });

  it('bytes around the Web path’s chunk size, and a Buffer view into a larger allocation', () => {
    for (const length of [0, 1, 2, 3, 0x7fff, 0x8000, 0x8001, 3 * 0x8000 + 2, 1 << 20]) {
      const all = new Uint8Array(length + 7).map((_, i) => (i * 131 + 17) & 0xff);
      const view = all.subarray(5, 5 + length);
      const expected = JSON.stringify(oracle.encode(view));
      expect(JSON.stringify(encode(view))).toBe(expected);
      expect(JSON.stringify({ $oncely: 'bytes', v: bytesToBase64Web(view) })).toBe(expected);
    }
    const pooled = Buffer.from('hello, bytes');
    expect(JSON.stringify(encode(pooled))).toBe(JSON.stringify(oracle.encode(pooled)));
  });
});
