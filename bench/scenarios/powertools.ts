import { randomUUID } from 'node:crypto';
import { IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import { CachePersistenceLayer } from '@aws-lambda-powertools/idempotency/cache';
import { createClient } from '@redis/client';
import { Idempotency } from 'oncely';
import { openBackend, REDIS_URL } from '../lib/backends.js';
import type { Report } from '../lib/report.js';
import { measure, ms, ratio } from '../lib/stats.js';

/**
 * The same function made idempotent by AWS Powertools (its Redis persistence layer, node-redis
 * client) and by oncely (Redis store and PostgreSQL store), first executions and replays.
 */
export async function versusPowertools(report: Report, ops: number) {
  const handler = async (event: { key: string; amount: number }) => ({ id: `ch_${event.key.slice(0, 6)}`, amount: event.amount });
  const redis = await createClient({ url: REDIS_URL }).connect();
  const lambdaContext = { getRemainingTimeInMillis: () => 60_000 } as never;
  const powertools = (useLocalCache: boolean) => {
    // Both local caches get room for the whole working set (defaults: 1000 entries each).
    const config = new IdempotencyConfig({ eventKeyJmesPath: 'key', expiresAfterSeconds: 3600, useLocalCache, maxLocalCacheSize: ops * 2 });
    config.registerLambdaContext(lambdaContext);
    return makeIdempotent(handler, {
      persistenceStore: new CachePersistenceLayer({ client: redis as never }),
      keyPrefix: `ptbench${randomUUID().slice(0, 8)}`,
      config,
    });
  };
  const candidates: { name: string; run: (event: { key: string; amount: number }) => Promise<unknown>; close?: () => Promise<void> }[] = [
    { name: 'Powertools, Redis', run: powertools(false) },
    { name: 'Powertools, Redis + local cache', run: powertools(true) },
  ];
  for (const [label, backendName, localCache] of [
    ['oncely, Redis store', 'redis', false],
    ['oncely, Redis store + local cache', 'redis', true],
    ['oncely, PostgreSQL store', 'postgresql', false],
  ] as const) {
    const backend = await openBackend(backendName);
    const engine = new Idempotency({ store: backend.store, localCache: localCache ? { maxEntries: ops * 2 } : false });
    candidates.push({
      name: label,
      run: (event) => engine.run({ tenant: 'bench', operation: 'handler', key: event.key, input: event }, () => handler(event)),
      close: () => backend.close(),
    });
  }
  const rows: (string | number)[][] = [];
  const baseline: number[] = [];
  try {
    for (const candidate of candidates) {
      const keys = Array.from({ length: ops }, () => randomUUID());
      await measure(20, 1, () => candidate.run({ key: randomUUID(), amount: 1 }));
      const first = await measure(ops, 1, (i) => candidate.run({ key: keys[i]!, amount: 1 }));
      const replay = await measure(ops, 1, (i) => candidate.run({ key: keys[i]!, amount: 1 }));
      const parallel = await measure(ops, 32, () => candidate.run({ key: randomUUID(), amount: 1 }));
      if (baseline.length === 0) baseline.push(first.p50, replay.p50);
      rows.push([candidate.name, ms(first.p50), ms(first.p99), ms(replay.p50), ms(replay.p99), Math.round(parallel.throughput), ratio(baseline[0]!, first.p50), ratio(baseline[1]!, replay.p50)]);
      report.raw[`powertools.${candidate.name}`] = { first, replay, parallel };
    }
  } finally {
    for (const c of candidates) await c.close?.();
    await redis.quit();
  }
  report.add({
    title: 'Against AWS Powertools idempotency (same function, same machine, local Redis)',
    notes: [
      'Powertools `makeIdempotent` with `CachePersistenceLayer` on node-redis; oncely `Idempotency.run` on its stores. Sequential unique keys, then replays of the same keys; throughput with unique keys at concurrency 32. Speed-up columns: Powertools (Redis) p50 divided by the row\'s p50.',
    ],
    header: ['implementation', 'first p50 ms', 'first p99 ms', 'replay p50 ms', 'replay p99 ms', 'ops/s (c=32)', 'first: speed-up', 'replay: speed-up'],
    rows,
  });
}
