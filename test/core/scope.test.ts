import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigurationError, GLOBAL_TENANT, Idempotency, MemoryStore } from '../../src/index.js';
import { MAX_SCOPE_PART, encodeScopePart } from '../../src/core/scope.js';

/** Tenant/operation names that go looking for trouble: padded, case variants, long with '#', NUL, surrogates. */
export const hostileName = fc.oneof(
  fc.string({ minLength: 1, maxLength: 12 }),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 12 }),
  fc.constantFrom('acme', 'acme ', ' acme', 'ACME', 'Acme', 'acme\0', 'acme\t', 'é', 'e\u0301', '\uD800', '\uFFFD', '\uDC00x', '😀', '#', ' '),
  fc.tuple(fc.string({ maxLength: 8 }), fc.nat({ max: 400 })).map(([s, n]) => `${s}#${'a'.repeat(n)}`),
  fc.tuple(fc.constantFrom('a', 'A', '#', ' ', 'x#'), fc.integer({ min: 185, max: 400 })).map(([c, n]) => c.repeat(n)),
);

const storableAsWritten = (s: string) => s.length <= MAX_SCOPE_PART && !s.endsWith(' ') && !s.includes('\0') && !/\p{Surrogate}/u.test(s);

describe('encodeScopePart', () => {
  it('keeps ordinary names as written', () => {
    for (const name of ['acme', 'org_42', 'Mutation.placeOrder', 'CreateOrder', 'a'.repeat(MAX_SCOPE_PART), ' leading', 'ünïcödé ☕']) {
      expect(encodeScopePart(name)).toBe(name);
    }
  });

  it('stores the names a database could confuse as a digest form', () => {
    for (const name of ['acme ', 'acme\0', '\uD800', 'a'.repeat(MAX_SCOPE_PART + 1)]) {
      expect(encodeScopePart(name)).toMatch(/#[0-9a-f]{64}$/);
    }
  });

  it('a caller cannot name another name\'s stored form', () => {
    const long = `tenant-${'x'.repeat(300)}`;
    const stored = encodeScopePart(long);
    expect(stored).not.toBe(long);
    expect(encodeScopePart(stored)).not.toBe(stored);
  });

  it('property: injective, and every stored form fits the column and survives UTF-8', () => {
    fc.assert(
      fc.property(hostileName, hostileName, (a, b) => {
        const ea = encodeScopePart(a);
        const eb = encodeScopePart(b);
        expect(ea === eb).toBe(a === b);
        for (const e of [ea, eb]) {
          expect(storableAsWritten(e)).toBe(true);
          expect(Buffer.from(e, 'utf8').toString('utf8')).toBe(e);
        }
        // Trailing-space-insensitive comparison (PAD SPACE) cannot merge two stored forms either.
        if (a !== b) expect(ea.replace(/ +$/, '')).not.toBe(eb.replace(/ +$/, ''));
      }),
      { numRuns: 2000 },
    );
  });
});

describe('tenants over the engine', () => {
  it('a long tenant and a tenant equal to its old stored form do not share records', async () => {
    const engine = new Idempotency({ store: new MemoryStore(), heartbeat: false });
    const long = `acme-${'#'.repeat(250)}`;
    const lookalike = `${long.slice(0, 126)}#${'0'.repeat(64)}`;
    const hashed = encodeScopePart(long);
    // The stored form 0.1 gave long names: a caller could send it as its tenant.
    const oldForm = `${long.slice(0, 126)}#${createHash('sha256').update(long).digest('hex')}`;
    let runs = 0;
    for (const tenant of [long, oldForm, lookalike, hashed, 'acme', 'acme ', 'acme\0', '\uD800', '\uFFFD']) {
      const value = await engine.run({ tenant, operation: 'op', key: 'same-key', input: 1 }, () => `${tenant}:${++runs}`);
      expect(value).toBe(`${tenant}:${runs}`);
    }
    expect(runs).toBe(9);
  });

  it('refuses an empty or non-string tenant, accepts GLOBAL_TENANT', async () => {
    const engine = new Idempotency({ store: new MemoryStore(), heartbeat: false });
    for (const tenant of ['', undefined, null, 42]) {
      await expect(engine.run({ tenant: tenant as never, operation: 'op', key: 'k' }, () => 1)).rejects.toBeInstanceOf(ConfigurationError);
    }
    expect(await engine.run({ tenant: GLOBAL_TENANT, operation: 'op', key: 'k' }, () => 2)).toBe(2);
  });
});
