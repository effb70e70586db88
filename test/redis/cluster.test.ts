import { randomUUID } from 'node:crypto';
import { type RedisClusterType, createCluster } from '@redis/client';
import type { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Idempotency } from '../../src/index.js';
import { RedisStore, fromNodeRedis } from '../../src/redis/index.js';
import { runStoreContract } from '../../src/testing/index.js';
import { servicesRequired } from '../support/services.js';
import { TestCluster, redisServerInstalled, waitFor } from './support/cluster.js';
import { uniquePrefix } from './support/redis.js';

// redis-server is part of the CI image (.ci/run); on a laptop without it, say so loudly and skip.
const installed = await redisServerInstalled();
if (!installed) {
  if (servicesRequired) throw new Error('redis-server/redis-cli not found: CI needs them to start the test Redis Cluster.');
  console.warn(`\n${'!'.repeat(100)}\nredis-server not installed: THE REDIS CLUSTER TESTS WILL NOT RUN.\n${'!'.repeat(100)}\n`);
}

describe.skipIf(!installed)('RedisStore on a Redis Cluster (3 masters, 3 replicas, AOF on)', () => {
  let cluster: TestCluster;
  let client: Cluster;
  let store: RedisStore;
  // The same Cluster through node-redis (createCluster + fromNodeRedis).
  let nodeRedis: RedisClusterType;
  let nodeRedisStore: RedisStore;
  const prefix = uniquePrefix('cluster');

  beforeAll(async () => {
    cluster = await TestCluster.start(3, 1);
    client = cluster.client();
    store = new RedisStore({ client, prefix });
    nodeRedis = createCluster({ rootNodes: cluster.ports.slice(0, 3).map((port) => ({ url: `redis://127.0.0.1:${port}` })) });
    nodeRedis.on('error', () => undefined); // node errors during the crash and failover cases below
    await nodeRedis.connect();
    nodeRedisStore = new RedisStore({ client: fromNodeRedis(nodeRedis), prefix: `${prefix}nr:` });
  }, 90_000);

  afterAll(async () => {
    store?.close();
    nodeRedisStore?.close();
    nodeRedis?.destroy();
    client?.disconnect();
    await cluster?.stop();
  });

  runStoreContract({ name: 'RedisStore (Cluster)', store: () => store, describe, it });
  runStoreContract({ name: 'RedisStore (Cluster, node-redis)', store: () => nodeRedisStore, describe, it });

  it('counts purgeable records over every bucket of every master (countExpired)', async () => {
    const base = Date.UTC(2500, 0, 1);
    const scopes = Array.from({ length: 60 }, (_, i) => ({ tenant: 'count', operation: 'pay', key: `k-${i}` }));
    // Stores of their own prefix: the contract's records (some expiring by TTL meanwhile) stay out of the count.
    const counted = [new RedisStore({ client, prefix: `${prefix}count-io:` }), new RedisStore({ client: nodeRedis, prefix: `${prefix}count-nr:` })];
    for (const s of counted) {
      await Promise.all(
        scopes.map(async (scope, i) => {
          const r = { ...scope, status: 'in_progress' as const, fingerprint: 'f'.repeat(64), token: randomUUID(), fence: 1, leaseExpiresAt: base, response: null, createdAt: base, updatedAt: base, expiresAt: base + 100_000 };
          await s.create(r);
          await s.complete(r, r.token, { response: 'r', completedAt: base, expiresAt: i < 25 ? base + 1000 : base + 5000 });
        }),
      );
      const buckets = new Set(scopes.map((scope) => s.layout.of(scope).bucket));
      expect(buckets.size).toBeGreaterThan(40);
      expect(await s.countExpired(base + 1000)).toBe(25);
      expect(await s.countExpired(base + 5000)).toBe(60);
      expect(await s.countExpired(base + 999)).toBe(0);
      s.close();
    }
  });

  it('spreads the records of many keys over many slots and every master', async () => {
    const tenant = `spread-${randomUUID()}`;
    const now = Date.now();
    const scopes = Array.from({ length: 600 }, (_, i) => ({ tenant, operation: 'pay', key: `k-${i}-{${randomUUID()}}` }));
    await Promise.all(
      scopes.map((scope) =>
        store.create({
          ...scope,
          status: 'in_progress',
          fingerprint: 'f'.repeat(64),
          token: randomUUID(),
          fence: 1,
          leaseExpiresAt: now + 60_000,
          response: null,
          createdAt: now,
          updatedAt: now,
          expiresAt: now + 600_000,
        }),
      ),
    );
    const slots = new Set<number>();
    for (const scope of scopes) {
      const keys = store.layout.of(scope);
      const recordSlot = Number(await client.call('CLUSTER', 'KEYSLOT', keys.record));
      // A record's hash and its expiry index share one slot: that is what keeps the scripts legal.
      expect(Number(await client.call('CLUSTER', 'KEYSLOT', keys.index))).toBe(recordSlot);
      slots.add(recordSlot);
    }
    expect(slots.size).toBeGreaterThan(150);

    const masters = client.nodes('master');
    expect(masters.length).toBe(3);
    const perMaster = await Promise.all(masters.map(async (node) => ((await node.keys(`${prefix}*:r:*`)) as string[]).length));
    for (const count of perMaster) expect(count).toBeGreaterThan(50);
    expect(perMaster.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(scopes.length);
  });

  it.each(['ioredis', 'node-redis'])('wakes a waiter through pub/sub across the Cluster when the holder completes (%s)', async (kind) => {
    const target = kind === 'ioredis' ? store : nodeRedisStore;
    const now = Date.now();
    const scope = { tenant: `wake-${randomUUID()}`, operation: 'pay', key: randomUUID() };
    const token = randomUUID();
    await target.create({
      ...scope, status: 'in_progress', fingerprint: 'f'.repeat(64), token, fence: 1,
      leaseExpiresAt: now + 60_000, response: null, createdAt: now, updatedAt: now, expiresAt: now + 600_000,
    });
    const started = Date.now();
    const waiting = target.waitForChange(scope, 8000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await target.complete(scope, token, { response: 'ok', completedAt: Date.now(), expiresAt: Date.now() + 60_000 })).toBe(true);
    await waiting;
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('loses no completed record when a master crashes (SIGKILL) and restarts on its AOF', async () => {
    const engine = new Idempotency({ store });
    const tenant = `crash-${randomUUID()}`;
    const calls = Array.from({ length: 120 }, (_, i) => ({ tenant, operation: 'charge', key: `key-${i}`, input: { i } }));
    let runs = 0;
    await Promise.all(calls.map((call) => engine.run(call, () => ++runs && { charged: call.input.i, note: 'é✓🧾' })));
    expect(runs).toBe(calls.length);

    // Crash the master that holds the first record, and wait until the cluster is whole again.
    const slot = Number(await client.call('CLUSTER', 'KEYSLOT', store.layout.of({ tenant, operation: 'charge', key: 'key-0' }).record));
    const port = await masterPortOfSlot(client, slot);
    await cluster.crashAndRestart(port);

    const replays = await Promise.all(calls.map((call) => engine.execute(call, () => ++runs && { charged: -1, note: '' })));
    expect(runs).toBe(calls.length); // nothing ran twice
    for (const [i, r] of replays.entries()) {
      expect(r.replayed).toBe(true);
      expect(r.outcome).toEqual({ ok: true, value: { charged: i, note: 'é✓🧾' } });
    }
  }, 60_000);

  it('keeps every completed record through a manual failover, and keeps working', async () => {
    const engine = new Idempotency({ store });
    const tenant = `failover-${randomUUID()}`;
    const calls = Array.from({ length: 60 }, (_, i) => ({ tenant, operation: 'charge', key: `key-${i}`, input: { i } }));
    let runs = 0;
    await Promise.all(calls.map((call) => engine.run(call, () => ++runs && { charged: call.input.i })));

    const slot = Number(await client.call('CLUSTER', 'KEYSLOT', store.layout.of({ tenant, operation: 'charge', key: 'key-0' }).record));
    const oldMaster = await masterPortOfSlot(client, slot);
    const replicaPort = await replicaPortOf(cluster, oldMaster);
    const replica = cluster.node(replicaPort);
    try {
      await replica.call('CLUSTER', 'FAILOVER');
      await waitFor(async () => String(await replica.call('ROLE')).startsWith('master'), 20_000, 'replica promoted');
    } finally {
      replica.disconnect();
    }
    await cluster.waitUntilHealthy();
    await waitFor(async () => (await masterPortOfSlot(client, slot, true)) === replicaPort, 20_000, 'client sees the new master');

    const replays = await Promise.all(calls.map((call) => engine.execute(call, () => ++runs && { charged: -1 })));
    expect(runs).toBe(calls.length);
    for (const [i, r] of replays.entries()) expect(r.outcome).toEqual({ ok: true, value: { charged: i } });
    // New claims land on the promoted master.
    const fresh = await engine.execute({ tenant, operation: 'charge', key: 'after-failover', input: {} }, () => 'new');
    expect(fresh.replayed).toBe(false);
  }, 60_000);
});

/** The port of the master serving `slot`, from CLUSTER SLOTS (optionally refreshing the client first). */
async function masterPortOfSlot(client: Cluster, slot: number, refresh = false): Promise<number> {
  if (refresh) client.refreshSlotsCache();
  const ranges = (await client.call('CLUSTER', 'SLOTS')) as [number, number, [string, number, ...unknown[]], ...unknown[]][];
  for (const [from, to, master] of ranges) if (slot >= from && slot <= to) return Number(master[1]);
  throw new Error(`slot ${slot} is not served`);
}

async function replicaPortOf(cluster: TestCluster, masterPort: number): Promise<number> {
  const conn = cluster.node(masterPort);
  try {
    const info = String(await conn.call('INFO', 'replication'));
    const match = /slave0:ip=[^,]+,port=(\d+)/.exec(info);
    if (!match) throw new Error(`master ${masterPort} has no replica:\n${info}`);
    return Number(match[1]);
  } finally {
    conn.disconnect();
  }
}
