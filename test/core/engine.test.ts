import { randomUUID } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import {
  ConfigurationError,
  GLOBAL_TENANT,
  type IdempotencyEvent,
  type IdempotencyStore,
  Idempotency,
  KeyInUseError,
  KeyInvalidError,
  KeyReusedError,
  ManualClock,
  MemoryStore,
  ResponseNotStorableError,
  StoreUnavailableError,
} from '../../src/index.js';

const HOUR = 3_600_000;

/**
 * Runs a test on virtual time (vi.useFakeTimers: setTimeout, setInterval, Date and performance):
 * the work's sleeps, the lease heartbeat, wait deadlines and the sweeper's interval advance with
 * vi.advanceTimersByTimeAsync instead of real sleeps.
 */
async function onVirtualTime(body: () => Promise<void>): Promise<void> {
  vi.useFakeTimers();
  try {
    await body();
  } finally {
    vi.useRealTimers();
  }
}

function setup(options: Partial<ConstructorParameters<typeof Idempotency>[0]> = {}) {
  const store = new MemoryStore();
  const clock = new ManualClock();
  const events: IdempotencyEvent[] = [];
  const engine = new Idempotency({ store, clock, onEvent: (e) => events.push(e), heartbeat: false, ...options });
  return { store, clock, events, engine };
}

const call = (overrides: Record<string, unknown> = {}) => ({
  tenant: 'acct_1',
  operation: 'createCharge',
  key: randomUUID(),
  input: { amount: 500, currency: 'eur' },
  ...overrides,
});

describe('Idempotency engine', () => {
  it('runs once and replays the same outcome to every retry', async () => {
    const { engine, events } = setup();
    let runs = 0;
    const c = call();
    const work = async () => ({ id: `ch_${++runs}`, at: new Date(0), total: 10n });
    const first = await engine.execute(c, work);
    const second = await engine.execute(c, work);
    const third = await engine.execute({ ...c, input: { currency: 'eur', amount: 500 } }, work);
    expect(runs).toBe(1);
    expect(first).toMatchObject({ replayed: false, stored: true, fence: 1 });
    expect(second.replayed).toBe(true);
    expect(third.replayed).toBe(true);
    expect(second.outcome).toEqual({ ok: true, value: { id: 'ch_1', at: new Date(0), total: 10n } });
    expect(events.map((e) => e.type)).toEqual(['claimed', 'completed', 'replayed', 'replayed']);
    expect(events.every((e) => !('payload' in e) || e.payload === undefined)).toBe(true);
  });

  it('run() unwraps values and throws stored errors', async () => {
    const { engine } = setup();
    const c = call();
    expect(await engine.run(c, () => 'done')).toBe('done');
    expect(await engine.run(c, () => 'again')).toBe('done');
  });

  it('refuses the same key with another payload and never reveals the stored response', async () => {
    const { engine, events } = setup();
    const c = call();
    await engine.execute(c, () => ({ secret: 'card ending 4242' }));
    const error = await engine.execute({ ...c, input: { amount: 999 } }, () => 'never').catch((e) => e);
    expect(error).toBeInstanceOf(KeyReusedError);
    expect(error).toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED', status: 422 });
    expect(JSON.stringify({ ...error, message: error.message })).not.toContain('4242');
    expect(events.at(-1)?.type).toBe('mismatch');
  });

  it('stores nothing for a rejected key', async () => {
    const { engine, store } = setup();
    let runs = 0;
    await expect(engine.execute(call({ key: 'bad\nkey' }), () => ++runs)).rejects.toBeInstanceOf(KeyInvalidError);
    expect(runs).toBe(0);
    expect(store.size).toBe(0);
  });

  it('requires a tenant, and GLOBAL_TENANT is an explicit choice', async () => {
    const { engine } = setup();
    await expect(engine.execute(call({ tenant: undefined }), () => 1)).rejects.toBeInstanceOf(ConfigurationError);
    await expect(engine.execute(call({ tenant: '' }), () => 1)).rejects.toThrow(/GLOBAL_TENANT/);
    const c = call({ tenant: GLOBAL_TENANT });
    await engine.execute(c, () => 1);
    expect((await engine.execute(c, () => 2)).outcome).toEqual({ ok: true, value: 1 });
  });

  it('keeps tenants apart: same key, two tenants, two executions', async () => {
    const { engine } = setup();
    const key = randomUUID();
    const a = await engine.execute(call({ key, tenant: 'alice' }), () => 'alice-result');
    const b = await engine.execute(call({ key, tenant: 'bob' }), () => 'bob-result');
    expect([a.replayed, b.replayed]).toEqual([false, false]);
    expect(b.outcome).toEqual({ ok: true, value: 'bob-result' });
  });

  it('releases the claim on unexpected errors so that a retry runs again', async () => {
    const { engine, store, events } = setup();
    const c = call();
    await expect(engine.run(c, () => { throw new Error('database timeout'); })).rejects.toThrow('database timeout');
    expect(store.size).toBe(0);
    expect(events.map((e) => e.type)).toEqual(['claimed', 'released']);
    expect(await engine.run(c, () => 'second try')).toBe('second try');
  });

  it('stores deterministic client errors and replays them', async () => {
    const { engine } = setup();
    const c = call();
    const declined = Object.assign(new Error('Card declined'), { status: 402, code: 'card_declined' });
    await expect(engine.run(c, () => { throw declined; })).rejects.toBe(declined);
    let runs = 0;
    const replay = await engine.execute(c, () => ++runs);
    expect(runs).toBe(0);
    expect(replay.replayed).toBe(true);
    expect(replay.outcome.ok).toBe(false);
    expect(!replay.outcome.ok && replay.outcome.error).toMatchObject({ message: 'Card declined', status: 402, code: 'card_declined' });
  });

  it('takes a custom policy', async () => {
    const { engine, store } = setup({ shouldStore: () => false });
    await engine.execute(call(), () => 'not kept');
    expect(store.size).toBe(0);
  });

  it('answers a duplicate in progress with 409 and a retry hint by default', async () => {
    const { engine } = setup({ retryAfterSeconds: 3 });
    const c = call();
    let release!: () => void;
    const first = engine.execute(c, () => new Promise<string>((resolve) => { release = () => resolve('first'); }));
    await new Promise((r) => setTimeout(r, 5));
    const error = await engine.execute(c, () => 'dup').catch((e) => e);
    expect(error).toBeInstanceOf(KeyInUseError);
    expect(error).toMatchObject({ code: 'IDEMPOTENCY_KEY_IN_USE', status: 409, retryAfter: 3 });
    release();
    expect((await first).outcome).toEqual({ ok: true, value: 'first' });
  });

  it('waits for the holder and replays when asked to wait', () =>
    onVirtualTime(async () => {
      const { engine } = setup();
      const c = call();
      const first = engine.execute(c, () => new Promise((r) => setTimeout(() => r('first'), 80)));
      await vi.advanceTimersByTimeAsync(5);
      const second = engine.execute({ ...c, inProgress: 'wait' }, () => 'dup');
      await vi.advanceTimersByTimeAsync(500);
      expect(await second).toMatchObject({ replayed: true, outcome: { ok: true, value: 'first' } });
      await first;
    }));

  it('gives up waiting after waitTimeout with 409', () =>
    onVirtualTime(async () => {
      const { engine } = setup({ inProgress: 'wait', waitTimeout: 60 });
      const c = call();
      const first = engine.execute(c, () => new Promise((r) => setTimeout(() => r('slow'), 300)));
      await vi.advanceTimersByTimeAsync(5);
      const started = performance.now();
      let gaveUpAfter = Number.NaN;
      const waiting = engine.execute(c, () => 'dup').catch((error: unknown) => {
        gaveUpAfter = performance.now() - started;
        return error;
      });
      await vi.advanceTimersByTimeAsync(200);
      expect(await waiting).toBeInstanceOf(KeyInUseError);
      // At the deadline, not before and not at the holder's end (300 ms).
      expect(gaveUpAfter).toBeGreaterThanOrEqual(60);
      expect(gaveUpAfter).toBeLessThan(100);
      await vi.advanceTimersByTimeAsync(300);
      expect((await first).outcome).toEqual({ ok: true, value: 'slow' });
    }));

  it('lets a retry re-claim after a crashed holder lease ran out, and fences the old holder', async () => {
    const { engine, clock, events } = setup({ lease: 30_000 });
    const c = call();
    let releaseOld!: (v: string) => void;
    const old = engine.execute(c, () => new Promise<string>((resolve) => { releaseOld = resolve; }));
    await new Promise((r) => setTimeout(r, 5));
    await expect(engine.execute(c, () => 'too early')).rejects.toBeInstanceOf(KeyInUseError);
    clock.advance(30_000);
    const retry = await engine.execute(c, (claim) => `retry with fence ${claim.fence}`);
    expect(retry).toMatchObject({ replayed: false, fence: 2, outcome: { ok: true, value: 'retry with fence 2' } });
    expect(events.find((e) => e.type === 'claimed' && e.reclaimed)).toBeTruthy();
    // The old holder finishes late: its completion is refused and the stored result stays the retry's.
    releaseOld('late');
    expect((await old).stored).toBe(false);
    expect(events.at(-1)?.type).toBe('lease_lost');
    expect((await engine.execute(c, () => 'x')).outcome).toEqual({ ok: true, value: 'retry with fence 2' });
  });

  it('refuses to re-claim an abandoned claim with a different payload', async () => {
    const { engine, clock } = setup({ lease: 1000 });
    const c = call();
    void engine.execute(c, () => new Promise(() => {}));
    await new Promise((r) => setTimeout(r, 5));
    clock.advance(5000);
    await expect(engine.execute({ ...c, input: { other: true } }, () => 1)).rejects.toBeInstanceOf(KeyReusedError);
  });

  it('renews the lease while long work runs (heartbeat)', () =>
    onVirtualTime(async () => {
      const store = new MemoryStore();
      const engine = new Idempotency({ store, lease: 150, heartbeat: 40 });
      const c = call();
      const first = engine.execute(c, () => new Promise((r) => setTimeout(() => r('long'), 500)));
      await vi.advanceTimersByTimeAsync(350);
      // Without renewal the 150 ms lease would have run out and this would re-claim.
      await expect(engine.execute(c, () => 'dup')).rejects.toBeInstanceOf(KeyInUseError);
      await vi.advanceTimersByTimeAsync(200);
      expect((await first).stored).toBe(true);
    }));

  it('aborts the work signal when the lease is lost', () =>
    onVirtualTime(async () => {
      const store = new MemoryStore();
      const engine = new Idempotency({ store, lease: 100, heartbeat: 30 });
      const c = call();
      let signal!: AbortSignal;
      const run = engine.execute(c, (claim) => {
        signal = claim.signal;
        return new Promise((r) => setTimeout(() => r('x'), 300));
      });
      await vi.advanceTimersByTimeAsync(10);
      // Someone else takes the record over (simulated by editing the store directly).
      const record = await store.get({ tenant: 'acct_1', operation: 'createCharge', key: c.key as string });
      await store.takeOver({ ...record!, token: 'thief', fence: 2 }, record!.token, Date.now() + 10_000);
      expect(signal.aborted).toBe(false);
      await vi.advanceTimersByTimeAsync(80);
      expect(signal.aborted).toBe(true);
      await vi.advanceTimersByTimeAsync(300);
      expect((await run).stored).toBe(false);
    }));

  it('forgets a record after its retention: the key runs again, and purge deletes it', async () => {
    const { engine, clock, store } = setup({ retention: '24h' });
    const c = call();
    await engine.execute(c, () => 'day one');
    clock.advance(24 * HOUR - 1);
    expect((await engine.execute(c, () => 'x')).replayed).toBe(true);
    clock.advance(1);
    const again = await engine.execute(c, () => 'day two');
    expect(again).toMatchObject({ replayed: false, fence: 2 });
    await engine.execute(call(), () => 'another');
    clock.advance(25 * HOUR);
    expect(await engine.purgeExpired({ batchSize: 1 })).toBe(2);
    expect(store.size).toBe(0);
  });

  it('stores an outcome over maxResponseBytes as an error instead of running the work twice', async () => {
    const { engine } = setup({ maxResponseBytes: 1000 });
    const c = call();
    let runs = 0;
    const first = await engine.execute(c, () => { runs++; return 'x'.repeat(5000); });
    expect(first.outcome).toEqual({ ok: true, value: 'x'.repeat(5000) });
    const replay = await engine.execute(c, () => { runs++; return 'again'; });
    expect(runs).toBe(1);
    expect(replay.outcome.ok).toBe(false);
    const error = !replay.outcome.ok ? replay.outcome.error : undefined;
    expect(error).toBeInstanceOf(ResponseNotStorableError);
    expect(error).toMatchObject({ code: 'IDEMPOTENCY_RESPONSE_NOT_STORABLE', status: 500 });
    expect((error as Error).message).toMatch(/over the limit of 1000/);
  });

  it('stores an unserializable outcome as an error too', async () => {
    const { engine } = setup();
    const c = call();
    await engine.execute(c, () => ({ callback: [() => 1] }));
    const replay = await engine.execute(c, () => 'again');
    expect(!replay.outcome.ok && replay.outcome.error).toBeInstanceOf(ResponseNotStorableError);
  });

  it('encodes stored outcomes through a codec (encryption at rest)', async () => {
    const { engine, store } = setup({
      codec: {
        encode: (text) => Buffer.from(text).toString('base64'),
        decode: (text) => Buffer.from(text, 'base64').toString(),
      },
    });
    const c = call();
    await engine.execute(c, () => ({ pan: '4242424242424242' }));
    const raw = await store.get({ tenant: 'acct_1', operation: 'createCharge', key: c.key as string });
    expect(raw?.response).not.toContain('4242');
    expect((await engine.execute(c, () => null)).outcome).toEqual({ ok: true, value: { pan: '4242424242424242' } });
  });

  it('puts payloads into events only when asked', async () => {
    const { engine, events } = setup({ eventPayloads: true });
    const c = call();
    await engine.execute(c, () => 'result');
    expect(events[0]).toMatchObject({ type: 'claimed', payload: c.input, tenant: 'acct_1', key: c.key });
    expect(events[1]).toMatchObject({ type: 'completed', payload: { ok: true, value: 'result' } });
    expect(events[1]?.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('derives downstream keys that are stable across retries and re-claims and distinct per purpose and tenant', async () => {
    const { engine, clock } = setup({ lease: 1000 });
    const c = call();
    const seen: string[] = [];
    await engine.execute(c, (claim) => { seen.push(claim.deriveKey('charge')); throw new Error('network'); });
    await engine.execute(c, (claim) => { seen.push(claim.deriveKey('charge'), claim.deriveKey('email')); return 1; });
    clock.advance(25 * HOUR);
    await engine.execute(c, (claim) => { seen.push(claim.deriveKey('charge')); return 2; });
    await engine.execute({ ...c, tenant: 'other' }, (claim) => { seen.push(claim.deriveKey('charge')); return 3; });
    expect(seen[0]).toBe(seen[1]);
    expect(seen[0]).toBe(seen[3]);
    expect(seen[2]).not.toBe(seen[0]);
    expect(seen[4]).not.toBe(seen[0]);
    expect(seen[0]).toMatch(/^oncely_[A-Za-z0-9_-]{40}$/);
  });

  it('fits long tenant and operation names into the columns without collisions', async () => {
    const { engine, store } = setup();
    const long = 'tenant-'.repeat(100);
    const a = call({ tenant: `${long}a` });
    const b = call({ tenant: `${long}b`, key: a.key });
    await engine.execute(a, () => 'a');
    expect((await engine.execute(b, () => 'b')).outcome).toEqual({ ok: true, value: 'b' });
    expect(store.size).toBe(2);
  });

  it('turns store failures into a retryable 503 error', async () => {
    const broken = new MemoryStore();
    broken.create = async () => { throw new Error('ECONNREFUSED'); };
    broken.createOrGet = async () => { throw new Error('ECONNREFUSED'); };
    const engine = new Idempotency({ store: broken as IdempotencyStore });
    const error = await engine.execute(call(), () => 1).catch((e) => e);
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect(error).toMatchObject({ code: 'IDEMPOTENCY_STORE_UNAVAILABLE', status: 503, retryAfter: 1 });
    expect((error.cause as Error).message).toBe('ECONNREFUSED');
  });

  it('refuses transactional mode on a store without transactions, and bad options', async () => {
    const { engine } = setup({ transactional: true });
    await expect(engine.execute(call(), () => 1)).rejects.toBeInstanceOf(ConfigurationError);
    expect(() => new Idempotency({ store: new MemoryStore(), lease: 1000, heartbeat: 2000 })).toThrow(/heartbeat/);
    expect(() => new Idempotency({ store: new MemoryStore(), retention: '1 day' as never })).toThrow(/retention/);
    expect(() => new Idempotency({} as never)).toThrow(/store/);
  });
});

describe('local cache', () => {
  it('replays hot records without asking the store, and never serves an in-progress record', async () => {
    const { engine, store, events } = setup({ localCache: true });
    let reads = 0;
    const get = store.get.bind(store);
    store.get = async (scope) => { reads++; return get(scope); };
    const c = call();
    let release!: () => void;
    const first = engine.execute(c, () => new Promise((r) => { release = () => r('v'); }));
    await new Promise((r) => setTimeout(r, 5));
    await expect(engine.execute(c, () => 'dup')).rejects.toBeInstanceOf(KeyInUseError);
    release();
    await first;
    reads = 0;
    for (let i = 0; i < 5; i++) expect((await engine.execute(c, () => 'x')).outcome).toEqual({ ok: true, value: 'v' });
    expect(reads).toBe(0);
    expect(events.filter((e) => e.type === 'replayed' && e.cached)).toHaveLength(5);
  });

  it('refuses a mismatch from the cache too, keeps tenants apart and honours expiry', async () => {
    const { engine, clock } = setup({ localCache: { maxEntries: 10 }, retention: '1h' });
    const c = call();
    await engine.execute(c, () => 'alice');
    await expect(engine.execute({ ...c, input: { other: 1 } }, () => 'x')).rejects.toBeInstanceOf(KeyReusedError);
    expect((await engine.execute({ ...c, tenant: 'bob' }, () => 'bob')).outcome).toEqual({ ok: true, value: 'bob' });
    clock.advance(HOUR);
    expect((await engine.execute(c, () => 'after expiry')).replayed).toBe(false);
  });

  it('evicts the least recently used records beyond maxEntries', async () => {
    const { LocalCache } = await import('../../src/core/local-cache.js');
    const cache = new LocalCache({ maxEntries: 2 });
    const rec = (key: string) => ({ tenant: 't', operation: 'o', key, status: 'completed' as const, fingerprint: 'f', token: 'x', fence: 1, leaseExpiresAt: null, response: '1', createdAt: 0, updatedAt: 0, expiresAt: 1000 });
    cache.set(rec('a'), 0);
    cache.set(rec('b'), 0);
    cache.get(rec('a'), 1);
    cache.set(rec('c'), 1);
    expect(cache.get(rec('b'), 2)).toBeUndefined();
    expect(cache.get(rec('a'), 2)).toBeDefined();
    cache.set({ ...rec('d'), status: 'in_progress' }, 2);
    expect(cache.get(rec('d'), 2)).toBeUndefined();
  });
});

describe('sweeper', () => {
  it('purges expired records in the background in bounded batches', async () => {
    const { startSweeper } = await import('../../src/index.js');
    const { engine, clock, store } = setup({ retention: '1h' });
    for (let i = 0; i < 25; i++) await engine.execute(call(), () => i);
    clock.advance(2 * HOUR);
    let sweeper!: ReturnType<typeof startSweeper>;
    await onVirtualTime(async () => {
      sweeper = startSweeper(engine, { interval: 10, batchSize: 4, maxBatchesPerSweep: 2 });
      // Bounded and paced: the first sweep (t = 10 ms) deletes one batch of 4, then pauses 10 ms
      // (the default pauseMs) before its second batch.
      await vi.advanceTimersByTimeAsync(15);
      expect(store.size).toBe(21);
      await vi.advanceTimersByTimeAsync(200);
      sweeper.stop();
    });
    expect(store.size).toBe(0);
    expect(await sweeper.sweep()).toBe(0);
  });
});

describe('execution details', () => {
  it('reports takeovers and derives the same downstream key on replays', async () => {
    const { engine, clock } = setup({ lease: 1000 });
    const c = call();
    void engine.execute(c, () => new Promise(() => {}));
    await new Promise((r) => setTimeout(r, 5));
    clock.advance(2000);
    let inside = '';
    const taken = await engine.execute(c, (claim) => { inside = claim.deriveKey('charge'); return 1; });
    expect(taken).toMatchObject({ reclaimed: true, fence: 2 });
    const replay = await engine.execute(c, () => 2);
    expect(replay).toMatchObject({ replayed: true, reclaimed: false });
    expect(replay.deriveKey('charge')).toBe(inside);
    expect(taken.deriveKey('charge')).toBe(inside);
  });

  it('validates keys with its own rules', () => {
    const { engine } = setup({ keyRules: { maxLength: 8 } });
    expect(engine.validateKey('12345678')).toBe('12345678');
    expect(() => engine.validateKey('123456789')).toThrow(KeyInvalidError);
  });

  it('stores errors with oncely\'s encoding even with a custom value serializer', async () => {
    const { engine } = setup({ serializer: { serialize: (v) => JSON.stringify(v), deserialize: (t) => JSON.parse(t) } });
    const c = call();
    const error = Object.assign(new Error('declined'), { status: 402, code: 'card_declined', cause: new Error('issuer') });
    await engine.execute(c, () => { throw error; });
    const replay = await engine.execute(c, () => 1);
    const back = !replay.outcome.ok ? (replay.outcome.error as Error & { code: string }) : undefined;
    expect(back?.code).toBe('card_declined');
    expect((back?.cause as Error).message).toBe('issuer');
  });
});

describe('failures the engine turns into typed errors', () => {
  it('refuses an input it cannot fingerprint with a 400, and stores nothing', async () => {
    const { engine, store } = setup();
    let deep: unknown = 'leaf';
    for (let i = 0; i < 1000; i++) deep = { next: deep };
    const error = await engine.execute(call({ input: deep }), () => 'never').catch((e) => e);
    expect(error).toMatchObject({ code: 'IDEMPOTENCY_PAYLOAD_INVALID', status: 400 });
    expect(store.size).toBe(0);
  });

  it('answers 503 when a transactional store cannot begin or commit', async () => {
    const store = Object.assign(new MemoryStore(), {
      transaction: async () => {
        throw new Error('could not serialize access / connection reset');
      },
    });
    const engine = new Idempotency({ store, transactional: true });
    let runs = 0;
    const error = await engine.execute(call(), () => ++runs).catch((e) => e);
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect(error).toMatchObject({ status: 503, retryAfter: 1 });
    expect(runs).toBe(0);
  });
});
