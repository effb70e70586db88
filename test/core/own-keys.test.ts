import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Idempotency, KeyReusedError, MemoryStore, defaultSerializer, fingerprint } from '../../src/index.js';

// Keys that plain assignment treats specially (or that collide with Object.prototype members).
const SPECIAL_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', '$oncely', 'v'];

/** JSON values whose objects favour the special keys, built through JSON.parse so they are own keys. */
const hostileJson = fc
  .letrec((tie) => ({
    value: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      fc.oneof(fc.string(), fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean(), fc.constant(null)),
      fc.array(tie('value'), { maxLength: 4 }),
      fc.dictionary(fc.oneof(fc.constantFrom(...SPECIAL_KEYS), fc.string({ maxLength: 6 })), tie('value'), { maxKeys: 4 }),
    ),
  }))
  .value.map((value) => JSON.parse(JSON.stringify(value)) as unknown);

const roundTrip = (value: unknown) => defaultSerializer.deserialize(defaultSerializer.serialize(value));
const json = (text: string) => JSON.parse(text) as unknown;

describe('own keys such as __proto__', () => {
  it('fingerprints an own __proto__ key (it is not the empty object)', () => {
    expect(fingerprint(json('{"__proto__":{"p":1}}'))).not.toBe(fingerprint({}));
    expect(fingerprint(json('{"__proto__":{"p":1}}'))).not.toBe(fingerprint(json('{"__proto__":{"p":2}}')));
    expect(fingerprint(json('{"constructor":{"prototype":1}}'))).not.toBe(fingerprint({}));
  });

  it('round-trips an own __proto__ key without touching the prototype', () => {
    const value = json('{"a":{"__proto__":{"polluted":true},"x":1},"__proto__":[1]}');
    const back = roundTrip(value) as Record<string, unknown>;
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
    expect(Object.keys(back)).toEqual(['a', '__proto__']);
    expect(JSON.stringify(back)).toBe(JSON.stringify(value));
    expect(({} as { polluted?: unknown }).polluted).toBeUndefined();
  });

  it('round-trips an error whose own properties are __proto__ and the tag name', () => {
    const error = Object.assign(new Error('boom'), { code: 'E_X' });
    Object.defineProperty(error, '__proto__', { value: { evil: 1 }, enumerable: true, configurable: true, writable: true });
    Object.defineProperty(error, '$oncely', { value: 'date', enumerable: true, configurable: true, writable: true });
    const back = roundTrip(error) as Error & Record<string, unknown>;
    expect(back).toBeInstanceOf(Error);
    expect(back.message).toBe('boom');
    expect(Object.getOwnPropertyDescriptor(back, '__proto__')?.value).toEqual({ evil: 1 });
    expect(back.$oncely).toBe('date');
    expect(back.code).toBe('E_X');
  });

  it('property: every JSON value round-trips exactly and fingerprints like its JSON text', () => {
    fc.assert(
      fc.property(hostileJson, hostileJson, (a, b) => {
        expect(JSON.stringify(roundTrip(a))).toBe(JSON.stringify(a));
        // Two JSON values with the same canonical text fingerprint alike, different ones differently.
        const same = canonical(a) === canonical(b);
        expect(fingerprint(a) === fingerprint(b)).toBe(same);
      }),
      { numRuns: 500 },
    );
  });

  it('over the engine: same key, {"__proto__":{"p":1}} then {} is refused with 422 and replays byte-identically', async () => {
    const engine = new Idempotency({ store: new MemoryStore(), heartbeat: false });
    const call = { tenant: 't', operation: 'op', key: 'k-proto' };
    let runs = 0;
    const payload = json('{"__proto__":{"p":1}}');
    const first = await engine.run({ ...call, input: payload }, () => {
      runs++;
      return payload;
    });
    await expect(engine.run({ ...call, input: {} }, () => ++runs)).rejects.toBeInstanceOf(KeyReusedError);
    const again = await engine.run({ ...call, input: json('{"__proto__":{"p":1}}') }, () => ++runs);
    expect(runs).toBe(1);
    expect(JSON.stringify(again)).toBe(JSON.stringify(first));
    expect(JSON.stringify(again)).toBe('{"__proto__":{"p":1}}');
  });
});

/** Canonical JSON text (sorted keys) of a JSON value, own keys only. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const keys = Object.keys(value).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
