import { describe, expect, it } from 'vitest';
import { defaultSerializer } from '../../src/index.js';

const roundTrip = (value: unknown) => defaultSerializer.deserialize(defaultSerializer.serialize(value));

describe('defaultSerializer', () => {
  it('keeps what JSON loses', () => {
    const value = {
      date: new Date('2026-11-24T10:00:00.123Z'),
      invalidDate: new Date(Number.NaN),
      big: 12345678901234567890n,
      map: new Map<unknown, unknown>([['k', { v: 1 }], [2, new Set([1])]]),
      set: new Set(['a', 'b']),
      undef: undefined,
      nul: null,
      list: [undefined, null, 1],
      nan: Number.NaN,
      inf: Number.POSITIVE_INFINITY,
      negInf: Number.NEGATIVE_INFINITY,
      negZero: -0,
      regexp: /a+b/gi,
      url: new URL('https://example.com/x?y=1'),
      bytes: new Uint8Array([0, 1, 254, 255]),
      unicode: 'naïve ☕ 🧾',
      tagLookalike: { $oncely: 'date', v: 'not a date' },
    };
    const back = roundTrip(value) as typeof value;
    expect(back).toEqual(value);
    expect('undef' in back).toBe(true);
    expect(back.undef).toBeUndefined();
    expect(Object.is(back.negZero, -0)).toBe(true);
    expect(back.date).toBeInstanceOf(Date);
    expect(back.map).toBeInstanceOf(Map);
    expect(back.bytes).toBeInstanceOf(Uint8Array);
    expect(back.tagLookalike).toEqual({ $oncely: 'date', v: 'not a date' });
  });

  it('keeps errors: name, message, own properties and nested causes, never the stack', () => {
    class CardDeclined extends Error {
      code = 'card_declined';
      status = 402;
      details = { declineCode: 'insufficient_funds', at: new Date(0) };
      constructor() {
        super('Your card was declined', { cause: new TypeError('issuer said no') });
        this.name = 'CardDeclined';
      }
    }
    const back = roundTrip({ ok: false, error: new CardDeclined() }) as { error: Error & Record<string, unknown> };
    expect(back.error).toBeInstanceOf(Error);
    expect(back.error.name).toBe('CardDeclined');
    expect(back.error.message).toBe('Your card was declined');
    expect(back.error.code).toBe('card_declined');
    expect(back.error.status).toBe(402);
    expect(back.error.details).toEqual({ declineCode: 'insufficient_funds', at: new Date(0) });
    expect((back.error.cause as Error).message).toBe('issuer said no');
    expect((back.error.cause as Error).name).toBe('TypeError');
    expect(back.error.stack).toBeUndefined();
  });

  it('stores class instances as plain data, and toJSON objects as their JSON form', () => {
    class Money {
      constructor(readonly amount: number, readonly currency: string) {}
    }
    class Decimalish {
      toJSON() {
        return '12.50';
      }
    }
    expect(roundTrip({ m: new Money(5, 'EUR'), d: new Decimalish() })).toEqual({ m: { amount: 5, currency: 'EUR' }, d: '12.50' });
  });

  it('refuses functions and symbols loudly', () => {
    expect(() => defaultSerializer.serialize([() => 1])).toThrow(/function/);
    expect(() => defaultSerializer.serialize([Symbol('x')])).toThrow(/symbol/);
  });

  it('drops function-valued properties like JSON does', () => {
    expect(roundTrip({ a: 1, f: () => 2 })).toEqual({ a: 1 });
  });
});
