import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it, vi } from 'vitest';
import {
  ConfigurationError,
  GLOBAL_TENANT,
  Idempotency,
  type IdempotencyOptions,
  type IdempotencyStore,
  KeyInvalidError,
  ManualClock,
  MemoryStore,
  ReleaseRefusedError,
  defaultSerializer,
  fingerprint,
} from '../../src/index.js';
import { RedisStore } from '../../src/redis/index.js';
import { type PrismaLike, freshStore, testDatabases } from '../support/databases.js';
import { deletePrefix, localRedis, localRedisAvailable, uniquePrefix } from '../redis/support/redis.js';

const HOUR = 3_600_000;
const LEASE = 60_000;

/** The engine API's promises, run on one store. */
function inspectCases(name: string, store: () => Promise<IdempotencyStore>) {
  describe(`inspect and release on ${name}`, () => {
    const engineOn = async (options: Partial<IdempotencyOptions> = {}) => {
      const clock = new ManualClock(Date.now());
      const engine = new Idempotency({ store: await store(), clock, heartbeat: false, lease: LEASE, retention: '24h', ...options });
      return { clock, engine };
    };
    const tenant = () => `t-${randomUUID()}`;

    it('finds nothing for a key never used', async () => {
      const { engine } = await engineOn();
      expect(await engine.inspect(tenant(), 'op', 'k')).toBeNull();
    });

    it('reports a completed record: times, fingerprint, outcome size and kind, the outcome only on request', async () => {
      const { clock, engine } = await engineOn();
      const t = tenant();
      const value = { n: 1, at: new Date(Date.UTC(2026, 1, 2)) };
      const created = clock.now();
      await engine.execute({ tenant: t, operation: 'pay', key: 'k1', input: { amount: 5 } }, () => value);

      const seen = await engine.inspect(t, 'pay', 'k1');
      expect(seen).toEqual({
        scope: { tenant: t, operation: 'pay', key: 'k1' },
        status: 'completed',
        state: 'completed',
        fence: 1,
        revision: expect.stringMatching(/^[0-9a-f]{20}$/),
        fingerprint: fingerprint({ amount: 5 }),
        createdAt: { ms: created, iso: new Date(created).toISOString() },
        updatedAt: { ms: created, iso: new Date(created).toISOString() },
        leaseExpiresAt: null,
        expiresAt: { ms: created + 24 * HOUR, iso: new Date(created + 24 * HOUR).toISOString() },
        storedOutcome: { kind: 'success', bytes: Buffer.byteLength(`v${defaultSerializer.serialize(value)}`) },
      });
      const withOutcome = await engine.inspect(t, 'pay', 'k1', { includeOutcome: true });
      expect(withOutcome?.outcome).toEqual({ ok: true, value });
      expect((withOutcome?.outcome as { value: { at: unknown } }).value.at).toBeInstanceOf(Date);
    });

    it('reports a stored error as kind "error"', async () => {
      const { engine } = await engineOn();
      const t = tenant();
      const refusal = Object.assign(new Error('card declined'), { status: 402 });
      await engine.execute({ tenant: t, operation: 'pay', key: 'k1', input: 1 }, () => {
        throw refusal;
      });
      const seen = await engine.inspect(t, 'pay', 'k1', { includeOutcome: true });
      expect(seen?.storedOutcome?.kind).toBe('error');
      expect(seen?.outcome?.ok).toBe(false);
      expect((seen?.outcome as { error: Error }).error.message).toBe('card declined');
    });

    it('reports an in-progress claim with its lease', async () => {
      const { clock, engine } = await engineOn();
      const t = tenant();
      const held = await engine.begin({ tenant: t, operation: 'pay', key: 'k1', input: 1 });
      expect(held.replayed).toBe(false);
      const seen = await engine.inspect(t, 'pay', 'k1', { includeOutcome: true });
      expect(seen).toMatchObject({ status: 'in_progress', state: 'in_progress', fence: 1, storedOutcome: null });
      expect(seen?.leaseExpiresAt).toEqual({ ms: clock.now() + LEASE, iso: new Date(clock.now() + LEASE).toISOString() });
      expect(seen?.outcome).toBeUndefined();
    });

    it('releases a stuck claim: the next call runs the work, the old holder can no longer store', async () => {
      const { engine } = await engineOn();
      const t = tenant();
      const call = { tenant: t, operation: 'pay', key: 'k1', input: 1 };
      const stuck = await engine.begin<string>(call);
      if (stuck.replayed) throw new Error('expected a claim');
      const { revision, fence } = (await engine.inspect(t, 'pay', 'k1'))!;

      expect(await engine.release(t, 'pay', 'k1', { revision })).toEqual({ scope: { tenant: t, operation: 'pay', key: 'k1' }, fence, revision });
      expect(await engine.inspect(t, 'pay', 'k1')).toBeNull();

      let runs = 0;
      const again = await engine.execute(call, () => `run ${++runs}`);
      expect(again).toMatchObject({ replayed: false, stored: true, outcome: { ok: true, value: 'run 1' } });
      const late = await stuck.commit({ ok: true, value: 'late' });
      expect(late.stored).toBe(false);
      const replay = await engine.execute(call, () => `run ${++runs}`);
      expect(replay).toMatchObject({ replayed: true, outcome: { ok: true, value: 'run 1' } });
      expect(runs).toBe(1);
    });

    it('refuses when the record changed since it was inspected, and changes nothing', async () => {
      const { engine } = await engineOn();
      const t = tenant();
      const call = { tenant: t, operation: 'pay', key: 'k1', input: 1 };
      const first = await engine.begin(call);
      if (first.replayed) throw new Error('expected a claim');
      const { revision } = (await engine.inspect(t, 'pay', 'k1'))!;
      await first.release();
      const second = await engine.begin(call);
      if (second.replayed) throw new Error('expected a claim');
      const current = (await engine.inspect(t, 'pay', 'k1'))!;
      expect(current.revision).not.toBe(revision);

      const refused = await engine.release(t, 'pay', 'k1', { revision }).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(ReleaseRefusedError);
      expect(refused).toMatchObject({ reason: 'changed', message: expect.stringMatching(/changed since it was inspected.*Nothing was released/) });
      expect(await engine.inspect(t, 'pay', 'k1')).toEqual(current);
      expect((await second.commit({ ok: true, value: 'done' })).stored).toBe(true);
    });

    it('refuses a completed record (not stuck) and a key without a record', async () => {
      const { engine } = await engineOn();
      const t = tenant();
      await engine.execute({ tenant: t, operation: 'pay', key: 'k1', input: 1 }, () => 'ok');
      const { revision } = (await engine.inspect(t, 'pay', 'k1'))!;
      await expect(engine.release(t, 'pay', 'k1', { revision })).rejects.toMatchObject({ reason: 'completed', message: expect.stringContaining('completed, not stuck') });
      expect((await engine.inspect(t, 'pay', 'k1'))?.status).toBe('completed');
      await expect(engine.release(t, 'pay', 'none', { revision })).rejects.toMatchObject({ reason: 'not_found' });
    });

    it('lets exactly one of two concurrent releases of the same revision through', async () => {
      const { engine } = await engineOn();
      const t = tenant();
      await engine.begin({ tenant: t, operation: 'pay', key: 'k1', input: 1 });
      const { revision } = (await engine.inspect(t, 'pay', 'k1'))!;
      const results = await Promise.allSettled([1, 2, 3, 4].map(() => engine.release(t, 'pay', 'k1', { revision })));
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(ReleaseRefusedError);
    });

    it('finds records of long and odd tenant and operation names (stored in digest form) and of GLOBAL_TENANT', async () => {
      const { engine } = await engineOn();
      const long = `tenant-${'x'.repeat(300)}-${randomUUID()}`;
      const trailing = `${tenant()} `;
      const operation = `Mutation.${'y'.repeat(250)}`;
      for (const t of [long, trailing]) {
        await engine.execute({ tenant: t, operation, key: 'k1', input: 1 }, () => t.length);
        const seen = await engine.inspect(t, operation, 'k1', { includeOutcome: true });
        expect(seen?.scope.tenant).toMatch(/#[0-9a-f]{64}$/);
        expect(seen?.scope.operation).toMatch(/^Mutation\.y+#[0-9a-f]{64}$/);
        expect(seen?.outcome).toEqual({ ok: true, value: t.length });
      }
      expect(await engine.inspect(trailing.trimEnd(), operation, 'k1')).toBeNull();
      const key = `g-${randomUUID()}`;
      await engine.execute({ tenant: GLOBAL_TENANT, operation: 'op', key, input: 1 }, () => 'shared');
      expect((await engine.inspect(GLOBAL_TENANT, 'op', key))?.scope.tenant).toBe('');
    });

    it('validates keys, tenants and operations as calls do', async () => {
      const { engine } = await engineOn({ keyRules: { minLength: 3 } });
      await expect(engine.inspect('t', 'op', 'ab')).rejects.toBeInstanceOf(KeyInvalidError);
      await expect(engine.inspect('t', 'op', ' abc')).rejects.toBeInstanceOf(KeyInvalidError);
      await expect(engine.release('t', 'op', 'abc\n', { revision: 'x' })).rejects.toBeInstanceOf(KeyInvalidError);
      await expect(engine.inspect('', 'op', 'abc')).rejects.toBeInstanceOf(ConfigurationError);
      await expect(engine.inspect('t', '', 'abc')).rejects.toBeInstanceOf(ConfigurationError);
      await expect(engine.release('t', 'op', 'abc', { revision: '' })).rejects.toThrow(/needs the `revision`/);
    });
  });
}

inspectCases('MemoryStore', async () => new MemoryStore());

for (const db of testDatabases()) {
  let ready: Promise<{ client: PrismaLike; store: IdempotencyStore }> | undefined;
  inspectCases(`PrismaStore on ${db.name}`, async () => {
    ready ??= freshStore(db);
    return (await ready).store;
  });
  afterAll(async () => {
    if (ready) await (await ready).client.$disconnect();
  });
}

describe.skipIf(!localRedisAvailable())('Redis', () => {
  const client = localRedisAvailable() ? localRedis() : undefined;
  const prefix = uniquePrefix('inspect');
  const store = client ? new RedisStore({ client, prefix }) : undefined;
  inspectCases('RedisStore', async () => store!);
  afterAll(async () => {
    store?.close();
    await deletePrefix(client!, prefix);
    client!.disconnect();
  });
});

describe('inspect on MemoryStore over time (fake timers, system clock)', () => {
  it('tells a running lease from a lapsed one and a completed record from an expired one', async () => {
    vi.useFakeTimers({ now: Date.UTC(2026, 2, 1) });
    try {
      const engine = new Idempotency({ store: new MemoryStore(), heartbeat: false, lease: LEASE, retention: '1h' });
      await engine.begin({ tenant: 't', operation: 'op', key: 'held', input: 1 });
      await engine.execute({ tenant: 't', operation: 'op', key: 'done', input: 1 }, () => 1);
      expect((await engine.inspect('t', 'op', 'held'))?.state).toBe('in_progress');
      await vi.advanceTimersByTimeAsync(LEASE);
      const lapsed = await engine.inspect('t', 'op', 'held');
      expect(lapsed?.state).toBe('lease_expired');
      expect(lapsed?.leaseExpiresAt?.iso).toBe('2026-03-01T00:01:00.000Z');
      expect((await engine.inspect('t', 'op', 'done'))?.state).toBe('completed');
      await vi.advanceTimersByTimeAsync(HOUR - LEASE);
      expect((await engine.inspect('t', 'op', 'done'))).toMatchObject({ state: 'expired', expiresAt: { iso: '2026-03-01T01:00:00.000Z' } });
      // A lapsed claim is still in progress: release frees it.
      expect((await engine.release('t', 'op', 'held', { revision: lapsed!.revision })).fence).toBe(1);
    } finally {
      vi.useRealTimers();
    }
  });

  it('decodes through the engine codec; without it the outcome is reported undecodable, not misread', async () => {
    const store = new MemoryStore();
    const codec = {
      encode: (text: string) => Buffer.from(text).toString('base64'),
      decode: (text: string) => Buffer.from(text, 'base64').toString(),
    };
    const withCodec = new Idempotency({ store, codec });
    await withCodec.execute({ tenant: 't', operation: 'op', key: 'k', input: 1 }, () => ({ secret: 42 }));
    const stored = (await store.get({ tenant: 't', operation: 'op', key: 'k' }))!.response!;
    expect(await withCodec.inspect('t', 'op', 'k', { includeOutcome: true })).toMatchObject({
      storedOutcome: { kind: 'success', bytes: Buffer.byteLength(stored) },
      outcome: { ok: true, value: { secret: 42 } },
    });
    const plain = await new Idempotency({ store }).inspect('t', 'op', 'k', { includeOutcome: true });
    expect(plain?.storedOutcome).toEqual({ kind: 'undecodable', bytes: Buffer.byteLength(stored) });
    expect(plain?.outcome).toBeUndefined();
    expect(plain?.decodeError).toMatch(/unknown format/);
  });
});
