/**
 * The replay speed-up decodes a parsed tree in place (decodeParsed) instead of copying it (decode):
 * what comes out must be the same value, down to key order, property attributes and prototypes,
 * for whatever a stored outcome can hold.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decode, decodeParsed, encode } from '../../../src/core/encoding.js';

/** Every own key of every object in order, with its attributes and prototype: what a copy could get wrong. */
function shape(value: unknown, seen = new Set<unknown>()): unknown {
  if (value === null || typeof value !== 'object' || seen.has(value)) return typeof value === 'number' && Object.is(value, -0) ? '-0' : String(value);
  seen.add(value);
  const proto = Object.getPrototypeOf(value);
  return {
    proto: proto === null ? null : (proto as { constructor?: { name?: string } }).constructor?.name,
    keys: Reflect.ownKeys(value).map((key) => {
      const d = Object.getOwnPropertyDescriptor(value, key)!;
      return [String(key), d.enumerable, d.writable, d.configurable, 'value' in d ? shape(d.value, seen) : 'accessor'];
    }),
    entries: value instanceof Map ? [...value].map(([k, v]) => [shape(k, seen), shape(v, seen)]) : value instanceof Set ? [...value].map((v) => shape(v, seen)) : undefined,
  };
}

const key = fc.oneof(fc.string({ maxLength: 6 }), fc.constantFrom('__proto__', '$oncely', 'v', 'constructor', '0', '10', '2', 'toString'));
const objectOf = (entries: [string, unknown][]) => {
  const out: Record<string, unknown> = {};
  for (const [k, v] of entries) Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
  return out;
};
const { value } = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.constantFrom(-0, 0, Number.NaN, Infinity, null, undefined, true, 'x', 1n),
    fc.double(),
    fc.string({ maxLength: 8 }),
    fc.date({ noInvalidDate: false }),
    fc.uint8Array({ maxLength: 8 }),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.array(fc.tuple(key, tie('value')), { maxLength: 4 }).map(objectOf),
    fc.array(tie('value'), { maxLength: 4 }).map((items) => new Set(items)),
    fc.array(fc.tuple(tie('value'), tie('value')), { maxLength: 3 }).map((entries) => new Map(entries)),
    fc.tuple(fc.string({ maxLength: 6 }), fc.array(fc.tuple(key, tie('value')), { maxLength: 2 })).map(([message, props]) => {
      const error = new Error(message);
      for (const [k, v] of props) Object.defineProperty(error, k, { value: v, enumerable: true, writable: true, configurable: true });
      return error;
    }),
  ),
}));

describe('decodeParsed', () => {
  it('gives the same value as decode for every tagged JSON text', () => {
    fc.assert(
      fc.property(value, (v) => {
        const text = JSON.stringify(encode(v));
        const copied = decode(JSON.parse(text));
        const inPlace = decodeParsed(JSON.parse(text));
        // The values (an invalid Date included, which deep-equality calls unequal to itself), then their shape.
        expect(JSON.stringify(encode(inPlace))).toBe(JSON.stringify(encode(copied)));
        expect(shape(inPlace)).toEqual(shape(copied));
      }),
      { numRuns: 2000 },
    );
  });

  it('keeps an error whose name and message are not text (CI seed -352149874 found a BigInt there)', () => {
    const error = new Error('x');
    Object.defineProperty(error, 'name', { value: 1n, enumerable: true, writable: true, configurable: true });
    Object.defineProperty(error, 'message', { value: { n: 2n }, enumerable: true, writable: true, configurable: true });
    const text = JSON.stringify(encode(error));
    for (const out of [decode(JSON.parse(text)), decodeParsed(JSON.parse(text))] as Error[]) {
      expect(out).toBeInstanceOf(Error);
      expect(out.name).toBe(1n);
      expect(out.message).toEqual({ n: 2n });
    }
  });

  it('keeps a parsed "__proto__" key an own property and the prototype untouched', () => {
    const out = decodeParsed(JSON.parse('{"__proto__":{"polluted":true},"a":[{"$oncely":"bigint","v":"7"}]}')) as Record<string, unknown>;
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(Object.keys(out)).toEqual(['__proto__', 'a']);
    expect(Object.getOwnPropertyDescriptor(out, '__proto__')?.value).toEqual({ polluted: true });
    expect(out.a).toEqual([7n]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
