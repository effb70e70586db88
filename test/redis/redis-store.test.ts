import { createHash, randomUUID } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import { type RedisClientType, type RedisClusterType, createClient, createCluster } from '@redis/client';
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest';
import type { IdempotencyRecord, RecordScope } from '../../src/index.js';
import { ConfigurationError } from '../../src/index.js';
import { KeyLayout, type NodeRedisClientLike, type NodeRedisClusterLike, type RedisClientLike, RedisStore, type RedisStoreOptions, fromNodeRedis } from '../../src/redis/index.js';
import { services } from '../support/services.js';
import { CLIENT_KINDS, deletePrefix, localNodeRedis, localRedis, localRedisAvailable, localStoreClient, uniquePrefix } from './support/redis.js';

const available = localRedisAvailable();
const prefix = uniquePrefix('store');
const T0 = Date.UTC(2026, 0, 1);

function record(overrides: Partial<IdempotencyRecord> = {}): IdempotencyRecord {
  const now = Date.now();
  return {
    tenant: `t-${randomUUID()}`,
    operation: 'pay',
    key: randomUUID(),
    status: 'in_progress',
    fingerprint: 'f'.repeat(64),
    token: randomUUID(),
    fence: 1,
    leaseExpiresAt: now + 60_000,
    response: null,
    createdAt: now,
    updatedAt: now,
    expiresAt: now + 600_000,
    ...overrides,
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('RedisStore options and types', () => {
  it('accepts ioredis Redis and Cluster instances as the client', () => {
    expectTypeOf<Redis>().toMatchTypeOf<RedisClientLike>();
    expectTypeOf<Cluster>().toMatchTypeOf<RedisClientLike>();
  });

  it('accepts node-redis clients and clusters through fromNodeRedis, and refuses anything else', () => {
    expectTypeOf<RedisClientType>().toMatchTypeOf<NodeRedisClientLike>();
    expectTypeOf<RedisClusterType>().toMatchTypeOf<NodeRedisClusterLike>();
    expectTypeOf<RedisClientType>().toMatchTypeOf<RedisStoreOptions['client']>();
    expectTypeOf<RedisClusterType>().toMatchTypeOf<RedisStoreOptions['client']>();
    expect(() => fromNodeRedis({} as never)).toThrow(ConfigurationError);
    expect(() => new RedisStore({ client: { duplicate: () => null } as never })).toThrow(/an ioredis Redis or Cluster, or a node-redis client or cluster/);
    expect(() => fromNodeRedis(null as never)).toThrow(/node-redis client \(createClient\) or cluster \(createCluster\)/);
  });

  it('refuses a missing client, a prefix with braces and a bucket count out of range', () => {
    const client = { call: async () => null, duplicate: () => { throw new Error('unused'); } } as unknown as RedisClientLike;
    expect(() => new RedisStore({} as never)).toThrow(ConfigurationError);
    expect(() => new RedisStore({ client, prefix: 'app{1}:' })).toThrow(ConfigurationError);
    expect(() => new RedisStore({ client, buckets: 0 })).toThrow(ConfigurationError);
    expect(() => new RedisStore({ client, buckets: 16385 })).toThrow(ConfigurationError);
    expect(() => new RedisStore({ client, expiryGrace: 'soon' as never })).toThrow(ConfigurationError);
  });

  it('keeps user input out of the hash tag, whatever braces a key contains', () => {
    const store = new RedisStore({ client: { call: async () => null, duplicate: () => null } as unknown as RedisClientLike });
    for (const key of ['{', '}', '{}', '}{', '{x}', 'a{b}c', '{{{', '~'.repeat(255)]) {
      const keys = store.layout.of({ tenant: '{t}', operation: 'op}', key });
      expect(keys.record).toMatch(/^oncely:\{b\d{1,3}\}:r:[A-Za-z0-9_-]{43}$/);
      expect(keys.index).toBe(`oncely:{b${keys.bucket}}:expiry`);
    }
    const a = store.layout.of({ tenant: 'a', operation: 'b', key: 'c' });
    const b = store.layout.of({ tenant: 'a', operation: 'bc', key: '' });
    expect(a.record).not.toBe(b.record);
  });

  // The layout decides where existing records are found: it must never change between versions.
  it('keeps the key layout: id = base64url SHA-256 of the scope JSON, bucket = its first 32 bits modulo buckets', () => {
    // Pinned values, taken from the layout as first released (digest read through a Buffer).
    const pinned = new KeyLayout('oncely:', 256).of({ tenant: 'acme', operation: 'charge', key: 'order-42' });
    expect(pinned).toEqual({
      id: 'lAohhSFrPWQLz3qmmwY5V8o39mmN9NEWmomzWAQCeXM',
      bucket: 133,
      record: 'oncely:{b133}:r:lAohhSFrPWQLz3qmmwY5V8o39mmN9NEWmomzWAQCeXM',
      index: 'oncely:{b133}:expiry',
      channel: 'oncely:{b133}:changed:lAohhSFrPWQLz3qmmwY5V8o39mmN9NEWmomzWAQCeXM',
    });
    expect(new KeyLayout('oncely:', 16384).of({ tenant: 'acme', operation: 'charge', key: 'order-42' }).bucket).toBe(8581);
    expect(new KeyLayout('p:', 256).of({ tenant: '{t}', operation: 'op}', key: 'ü€😀' }).record).toBe('p:{b193}:r:k3T2wYlOMd7rDHIsmAJHY0b6lbAsjNopNOUQsdKTyPw');
    // And for many scopes and bucket counts, the same as the digest's bytes say.
    for (const buckets of [1, 7, 256, 1000, 16384]) {
      const layout = new KeyLayout('x:', buckets);
      for (let i = 0; i < 500; i++) {
        const scope = { tenant: randomUUID(), operation: `op${i}`, key: i % 2 ? randomUUID() : `k-${'é'.repeat(i % 7)}-${i}` };
        const digest = createHash('sha256').update(JSON.stringify([scope.tenant, scope.operation, scope.key])).digest();
        const keys = layout.of(scope);
        expect(keys.id).toBe(digest.toString('base64url'));
        expect(keys.bucket).toBe(digest.readUInt32BE(0) % buckets);
      }
    }
  });
});

// The store runs on `storeClient` (ioredis or node-redis); the assertions read Redis through `client` (ioredis).
describe.skipIf(!available)('RedisStore given a node-redis client as it is', () => {
  it('wraps it itself: claims, replays and wakes a waiter', async () => {
    const client = await localNodeRedis();
    const store = new RedisStore({ client, prefix: `${prefix}direct:` });
    try {
      const r = record();
      expect(await store.createOrGet(r)).toEqual({ created: true });
      const waiting = store.waitForChange(r, 5000);
      const started = Date.now();
      await sleep(150);
      const now = Date.now();
      expect(await store.complete(r, r.token, { response: 'x', completedAt: now, expiresAt: now + 60_000 })).toBe(true);
      await waiting;
      expect(Date.now() - started).toBeLessThan(1500);
      const completed = { ...r, status: 'completed', response: 'x', leaseExpiresAt: null, updatedAt: now, expiresAt: now + 60_000 };
      expect(await store.createOrGet({ ...r, token: randomUUID() })).toEqual({ created: false, existing: completed });
    } finally {
      store.close();
      const cleaner = localRedis();
      await deletePrefix(cleaner, `${prefix}direct:`);
      cleaner.disconnect();
      client.destroy();
    }
  });

  // The store bounds every call itself (commandTimeout); node-redis' default per-command timeout
  // (an AbortSignal per command) is left out, one the user set on the client is kept.
  it("sends the store's commands without node-redis' default per-command timeout, and keeps one set on the client", async () => {
    const sent: unknown[] = [];
    const spied = async (commandOptions?: { timeout: number }) => {
      const client = (await createClient({ url: services.redis.url, ...(commandOptions ? { commandOptions } : {}) }).connect()) as RedisClientType;
      const send = client.sendCommand.bind(client);
      client.sendCommand = ((args: string[], options?: unknown) => {
        sent.push(options);
        return send(args, options as never);
      }) as typeof client.sendCommand;
      return client;
    };
    for (const [configured, expected] of [[undefined, { timeout: 0 }], [{ timeout: 2000 }, undefined]] as const) {
      const client = await spied(configured);
      const store = new RedisStore({ client, prefix: `${prefix}timeout:` });
      try {
        sent.length = 0;
        const r = record();
        expect(await store.createOrGet(r)).toEqual({ created: true });
        expect(await store.complete(r, r.token, { response: 'x', completedAt: Date.now(), expiresAt: Date.now() + 60_000 })).toBe(true);
        expect(sent.length).toBeGreaterThanOrEqual(2);
        for (const options of sent) expect(options).toEqual(expected);
      } finally {
        store.close();
        client.destroy();
      }
    }
    const cleaner = localRedis();
    await deletePrefix(cleaner, `${prefix}timeout:`);
    cleaner.disconnect();
  });

  it('routes a cluster command by its first key and reads the timeout a cluster was given', async () => {
    const calls: unknown[][] = [];
    for (const [commandOptions, expected] of [[undefined, { timeout: 0 }], [{ timeout: 300 }, undefined]] as const) {
      const cluster = createCluster({ rootNodes: [{ url: services.redis.url }], ...(commandOptions ? { commandOptions } : {}) });
      cluster.sendCommand = ((...args: unknown[]) => {
        calls.push(args);
        return Promise.resolve(1);
      }) as typeof cluster.sendCommand;
      const wrapped = fromNodeRedis(cluster);
      await wrapped.call('EVALSHA', 'abc', 2, 'k{1}', 'i{1}', 'arg', 7);
      await wrapped.call('TIME');
      expect(calls).toEqual([
        ['k{1}', false, ['EVALSHA', 'abc', '2', 'k{1}', 'i{1}', 'arg', '7'], expected],
        [undefined, false, ['TIME'], expected],
      ]);
      calls.length = 0;
    }
  });
});

describe.skipIf(!available).each(CLIENT_KINDS)('RedisStore on the local Redis through %s: TTL, purge, notifications', (kind) => {
  const client = available ? localRedis() : (undefined as unknown as Redis);
  let opened: Awaited<ReturnType<typeof localStoreClient>>;
  beforeAll(async () => {
    opened = await localStoreClient(kind);
  });
  const stores: RedisStore[] = [];
  const storeWith = (options: Partial<ConstructorParameters<typeof RedisStore>[0]> = {}) => {
    const store = new RedisStore({ client: opened.client, prefix: `${prefix}${randomUUID().slice(0, 6)}:`, ...options });
    stores.push(store);
    return store;
  };

  afterAll(async () => {
    for (const store of stores) store.close();
    await deletePrefix(client, prefix);
    client.disconnect();
    await opened.close();
  });

  it('answers a replay in one round trip: createOrGet returns the existing record from the claim script', async () => {
    const calls: string[] = [];
    const counting: RedisClientLike = {
      call: (command, ...args) => {
        calls.push(command);
        return opened.client.call(command, ...args);
      },
      duplicate: () => opened.client.duplicate(),
    };
    const store = new RedisStore({ client: counting, prefix: `${prefix}${randomUUID().slice(0, 6)}:` });
    stores.push(store);
    const first = record();
    expect(await store.createOrGet(first)).toEqual({ created: true });
    const now = Date.now();
    expect(await store.complete(first, first.token, { response: 'r', completedAt: now, expiresAt: now + 60_000 })).toBe(true);
    calls.length = 0;
    const retry = { ...first, token: randomUUID(), fingerprint: 'e'.repeat(64) };
    const completed = { ...first, status: 'completed', response: 'r', leaseExpiresAt: null, updatedAt: now, expiresAt: now + 60_000 };
    expect(await store.createOrGet(retry)).toEqual({ created: false, existing: completed });
    expect(calls).toEqual(['EVALSHA']);
  });

  it('publishes a change only for a record a waiter watches', async () => {
    const store = storeWith();
    const listener = client.duplicate();
    const heard: string[] = [];
    listener.on('message', (_channel: string, message: string) => heard.push(message));
    const unwatched = record();
    const watched = record();
    await listener.subscribe(store.layout.of(unwatched).channel, store.layout.of(watched).channel);
    try {
      await store.create(unwatched);
      await store.complete(unwatched, unwatched.token, { response: 'x', completedAt: Date.now(), expiresAt: Date.now() + 60_000 });
      await store.create(watched);
      const waiting = store.waitForChange(watched, 5000);
      await sleep(150); // subscribed and marked
      await store.complete(watched, watched.token, { response: 'x', completedAt: Date.now(), expiresAt: Date.now() + 60_000 });
      await waiting;
      await sleep(50);
      expect(heard).toEqual(['completed']);
      // The mark is not part of the record.
      expect(await store.get(watched)).toEqual({ ...watched, status: 'completed', response: 'x', leaseExpiresAt: null, updatedAt: expect.any(Number), expiresAt: expect.any(Number) });
    } finally {
      listener.disconnect();
    }
  });

  it('counts exactly the records purgeExpired would delete, not index entries Redis already expired', async () => {
    const store = storeWith({ buckets: 4, expiryGrace: '200ms' });
    const base = Date.UTC(2400, 0, 1);
    const now = base + 10_000;
    const completed = Array.from({ length: 30 }, (_, i) => record({ createdAt: base, expiresAt: base + i * 1000, leaseExpiresAt: base }));
    for (const r of completed) {
      await store.create(r);
      await store.complete(r, r.token, { response: 'r', completedAt: base, expiresAt: r.expiresAt });
    }
    // In progress: purgeable once both expiry and lease are over.
    await store.create(record({ createdAt: base, expiresAt: base, leaseExpiresAt: base + 5_000 }));
    await store.create(record({ createdAt: base, expiresAt: base, leaseExpiresAt: base + 50_000 }));
    // Expired by the real clock: Redis deletes it after the grace, its index entry dangles.
    const gone = record({ expiresAt: Date.now() + 50, leaseExpiresAt: Date.now() + 50 });
    await store.create(gone);
    await sleep(400);
    expect(await store.get(gone)).toBeNull();
    const index = store.layout.of(gone).index;
    expect(await client.zscore(index, store.layout.of(gone).id)).not.toBeNull(); // the entry dangles
    // Completed with expiry base .. base + 10 s (11), and the in-progress record whose lease ended at + 5 s.
    expect(await store.countExpired(now)).toBe(12);
    expect(await store.countExpired(base - 1)).toBe(0);
    expect(await store.purgeExpired(now, 1000)).toBe(12);
    expect(await store.countExpired(now)).toBe(0);
    expect(await store.countExpired(base + 60_000)).toBe(30 - 11 + 1);
  });

  it('sets the Redis TTL to the expiry plus the grace, and to at least the grace for records already past it', async () => {
    const store = storeWith({ expiryGrace: '1m' });
    const live = record();
    await store.create(live);
    const liveTtl = await client.pttl(store.layout.of(live).record);
    expect(liveTtl).toBeGreaterThan(600_000 + 60_000 - 5_000);
    expect(liveTtl).toBeLessThanOrEqual(600_000 + 60_000);

    // A manual clock in the past (T0 is before the real now): the record must stay readable.
    const past = record({ leaseExpiresAt: T0 + 1000, createdAt: T0, updatedAt: T0, expiresAt: T0 + 2000 });
    await store.create(past);
    const pastTtl = await client.pttl(store.layout.of(past).record);
    expect(pastTtl).toBeGreaterThan(55_000);
    expect(pastTtl).toBeLessThanOrEqual(60_000);
    expect(await store.get(past)).toEqual(past);

    // Completion moves the TTL to the completion's expiry.
    const now = Date.now();
    await store.complete(live, live.token, { response: '1', completedAt: now, expiresAt: now + 3_600_000 });
    expect(await client.pttl(store.layout.of(live).record)).toBeGreaterThan(3_600_000 + 55_000);
  });

  it('lets Redis delete expired records after the grace, and trims their index entries', async () => {
    const store = storeWith({ expiryGrace: '200ms', buckets: 1 });
    const now = Date.now();
    const done = Array.from({ length: 5 }, () => record({ expiresAt: now + 100, leaseExpiresAt: now + 50 }));
    for (const r of done) {
      await store.create(r);
      await store.complete(r, r.token, { response: 'x', completedAt: now, expiresAt: now + 100 });
    }
    const index = store.layout.of(done[0] as RecordScope).index;
    expect(await client.zcard(index)).toBe(5);
    await sleep(600);
    for (const r of done) expect(await store.get(r)).toBeNull();
    // Nothing left to purge: the dangling index entries are dropped, not counted.
    expect(await store.purgeExpired(Date.now(), 10)).toBe(0);
    expect(await client.zcard(index)).toBe(0);

    // Without any purge, the next write trims entries whose records Redis has deleted.
    const more = record({ expiresAt: Date.now() + 100, leaseExpiresAt: Date.now() + 50 });
    await store.create(more);
    await sleep(600);
    const next = record();
    await store.create(next);
    expect(await client.zrange(index, '0', '-1')).toEqual([store.layout.of(next).id]);
  });

  it.each([
    { buckets: 256, count: 40, limit: 7 },
    // Few buckets with many entries each: the picking has to read further pages of some buckets.
    { buckets: 4, count: 120, limit: 45 },
  ])('purges the oldest records across all buckets first, at most `limit` per call ($buckets buckets)', async ({ buckets, count, limit }) => {
    const store = storeWith({ buckets });
    const base = Date.UTC(2400, 0, 1);
    const expiries = Array.from({ length: count }, (_, i) => base + i * 1000).sort(() => Math.random() - 0.5);
    const records = expiries.map((expiresAt) => record({ createdAt: base, expiresAt, leaseExpiresAt: base }));
    await Promise.all(
      records.map(async (r) => {
        await store.create(r);
        await store.complete(r, r.token, { response: 'r', completedAt: base, expiresAt: r.expiresAt });
      }),
    );
    expect(new Set(records.map((r) => store.layout.of(r).bucket)).size).toBeGreaterThanOrEqual(Math.min(buckets, 10));
    expect(await store.purgeExpired(base + 10_000_000, limit)).toBe(limit);
    const left = (await Promise.all(records.map((r) => store.get(r)))).filter((r) => r !== null);
    expect(left.length).toBe(count - limit);
    expect(Math.min(...left.map((r) => r.expiresAt))).toBe(base + limit * 1000);
    // Only what is expired at `now` goes: expiries up to base + (limit + 2) s.
    expect(await store.purgeExpired(base + (limit + 2) * 1000 + 500, 1000)).toBe(3);
    expect(await store.purgeExpired(base + (limit + 2) * 1000 + 500, 1000)).toBe(0);
  });

  it('finds the oldest records when they all sit in one bucket (reads further pages there)', async () => {
    const store = storeWith({ buckets: 4 });
    const base = Date.UTC(2400, 0, 1);
    const inBucket = (wanted: boolean) => {
      for (;;) {
        const r = record({ createdAt: base, leaseExpiresAt: base });
        if ((store.layout.of(r).bucket === 0) === wanted) return r;
      }
    };
    // The 60 oldest all in bucket 0, the 60 newest elsewhere: a first page of 23 per bucket is not enough.
    const records = [
      ...Array.from({ length: 60 }, (_, i) => ({ ...inBucket(true), expiresAt: base + i })),
      ...Array.from({ length: 60 }, (_, i) => ({ ...inBucket(false), expiresAt: base + 1000 + i })),
    ];
    await Promise.all(records.map((r) => store.create(r)));
    await Promise.all(records.map((r) => store.complete(r, r.token, { response: 'r', completedAt: base, expiresAt: r.expiresAt })));
    expect(await store.purgeExpired(base + 1_000_000, 45)).toBe(45);
    const gone = await Promise.all(records.map(async (r) => (await store.get(r)) === null));
    expect(gone.slice(0, 45).every(Boolean)).toBe(true);
    expect(gone.slice(45).some(Boolean)).toBe(false);
  });

  it('wakes a waiter as soon as the holder completes, through pub/sub', async () => {
    const store = storeWith();
    const r = record();
    await store.create(r);
    const started = Date.now();
    const waiting = store.waitForChange(r, 5000);
    await sleep(150);
    await store.complete(r, r.token, { response: 'done', completedAt: Date.now(), expiresAt: Date.now() + 60_000 });
    await waiting;
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it('wakes waiters on release, and many waiters on one key with one subscription', async () => {
    const store = storeWith();
    const r = record();
    await store.create(r);
    const started = Date.now();
    const waits = Array.from({ length: 20 }, () => store.waitForChange(r, 5000));
    await sleep(150);
    expect(await store.release(r, r.token)).toBe(true);
    await Promise.all(waits);
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it('returns at once when the record changed before the subscription was live, and after the timeout otherwise', async () => {
    const store = storeWith();
    const done = record();
    await store.create(done);
    await store.complete(done, done.token, { response: 'x', completedAt: Date.now(), expiresAt: Date.now() + 60_000 });
    let started = Date.now();
    await store.waitForChange(done, 5000);
    expect(Date.now() - started).toBeLessThan(1500);

    const running = record();
    await store.create(running);
    started = Date.now();
    await store.waitForChange(running, 300);
    const waited = Date.now() - started;
    expect(waited).toBeGreaterThanOrEqual(280);
    expect(waited).toBeLessThan(2000);
  });

  it('falls back to sleeping for the timeout with notifications off', async () => {
    const store = storeWith({ notifications: false });
    const r = record();
    await store.create(r);
    const started = Date.now();
    const waiting = store.waitForChange(r, 400);
    await store.complete(r, r.token, { response: 'x', completedAt: Date.now(), expiresAt: Date.now() + 60_000 });
    await waiting;
    expect(Date.now() - started).toBeGreaterThanOrEqual(380);
  });
});

describe.skipIf(!available)('RedisStore steps', () => {
  const client = available ? localRedis() : undefined;
  const stepsPrefix = uniquePrefix('steps');
  const store = available ? new RedisStore({ client: client!, prefix: stepsPrefix }) : undefined;
  afterAll(async () => {
    store?.close();
    await deletePrefix(client!, stepsPrefix);
    client!.disconnect();
  });

  it("live in the record's own hash: a lease takeover keeps them, an expired one drops them with the hash", async () => {
    const r = record({ leaseExpiresAt: T0 + 1_000, expiresAt: T0 + 100_000 });
    const key = store!.layout.of(r).record;
    await store!.create(r);
    const charge = { index: 0, name: 'charge', kind: 'external' as const, result: '"ch_1"', completedAt: T0 };
    expect(await store!.recordStep(r, r.token, charge, T0 + 1_000)).toBe(true);
    expect(await client!.hmget(key, 'step_count', 'step:0')).toEqual(['1', JSON.stringify({ name: 'charge', kind: 'external', result: '"ch_1"', completedAt: T0 })]);
    expect(await client!.pttl(key)).toBeGreaterThan(0);
    // get() reads the record's fields only.
    expect(await store!.get(r)).toEqual({ ...r, leaseExpiresAt: T0 + 1_000, updatedAt: T0 });
    const resumer = { ...r, token: randomUUID(), fence: 2, leaseExpiresAt: T0 + 61_000 };
    expect(await store!.takeOver(resumer, r.token, T0 + 1_000)).toBe(true);
    expect(await store!.loadSteps(resumer, resumer.token)).toEqual([charge]);
    const fresh = { ...r, token: randomUUID(), fence: 3, leaseExpiresAt: T0 + 200_000, expiresAt: T0 + 300_000 };
    expect(await store!.takeOver(fresh, resumer.token, T0 + 100_000)).toBe(true);
    expect(await client!.hexists(key, 'step:0')).toBe(0);
    expect(await client!.hexists(key, 'step_count')).toBe(0);
    expect(await store!.loadSteps(fresh, fresh.token)).toEqual([]);
  });
});
