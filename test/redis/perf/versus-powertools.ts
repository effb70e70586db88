// Interleaved A/B of oncely's Redis store against AWS Powertools idempotency on the same local Redis,
// in this process, no local caches: first-execution p50, replay p50, throughput at 32 in flight.
// Run: npx tsx test/redis/perf/versus-powertools.ts   (ROUNDS=5 REQUESTS=500 THROUGHPUT=2000 to change sizes)
// Arms: Powertools (node-redis), oncely on ioredis, oncely on node-redis (fromNodeRedis). Each round
// rotates the arms' order; ratios are per round (oncely / Powertools), reported as median (min–max).
import { randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
import { IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import { CachePersistenceLayer } from '@aws-lambda-powertools/idempotency/cache';
import { createClient } from '@redis/client';
import { Redis } from 'ioredis';
import { Idempotency } from '../../../src/index.js';
import * as oncelyRedis from '../../../src/redis/index.js';

const URL = process.env.ONCELY_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const ROUNDS = Number(process.env.ROUNDS ?? 5);
const REQUESTS = Number(process.env.REQUESTS ?? 400);
const THROUGHPUT = Number(process.env.THROUGHPUT ?? 1600);
const CONCURRENCY = 32;

type Event = { key: string; amount: number };
type Run = (event: Event) => Promise<unknown>;
interface Summary { p50: number; throughput: number }

async function measure(count: number, concurrency: number, op: (i: number) => Promise<unknown>): Promise<Summary> {
  const samples: number[] = [];
  let next = 0;
  const started = performance.now();
  const worker = async () => {
    for (let i = next++; i < count; i = next++) {
      const t = performance.now();
      await op(i);
      samples.push(performance.now() - t);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const wall = performance.now() - started;
  samples.sort((a, b) => a - b);
  return { p50: samples[Math.floor(samples.length / 2)]!, throughput: (count / wall) * 1000 };
}

const median = (v: number[]) => {
  const s = [...v].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const spread = (v: number[], digits = 2) => `${median(v).toFixed(digits)} (${Math.min(...v).toFixed(digits)}–${Math.max(...v).toFixed(digits)})`;

const handler = async (event: Event) => ({ id: `ch_${event.key.slice(0, 6)}`, amount: event.amount });
const prefix = `oncely-perf:${randomUUID().slice(0, 8)}:`;

const ptPrefix = `ptperf${randomUUID().slice(0, 8)}`;
const ptClient = await createClient({ url: URL }).connect();
const config = new IdempotencyConfig({ eventKeyJmesPath: 'key', expiresAfterSeconds: 3600, useLocalCache: false });
config.registerLambdaContext({ getRemainingTimeInMillis: () => 60_000 } as never);
const powertools: Run = makeIdempotent(handler, {
  persistenceStore: new CachePersistenceLayer({ client: ptClient as never }),
  keyPrefix: ptPrefix,
  config,
});

const ioredis = new Redis(URL);
const ioStore = new oncelyRedis.RedisStore({ client: ioredis, prefix: `${prefix}io:` });
const oncelyRun = (store: oncelyRedis.RedisStore): Run => {
  const engine = new Idempotency({ store, localCache: false });
  return (event) => engine.run({ tenant: 'bench', operation: 'handler', key: event.key, input: event }, () => handler(event));
};
// ioredis with its auto-pipelining (commands of one tick in one write), as docs/redis.md suggests for throughput.
const ioredisPiped = new Redis(URL, { enableAutoPipelining: true });
const pipedStore = new oncelyRedis.RedisStore({ client: ioredisPiped, prefix: `${prefix}iop:` });
const arms: Record<string, Run> = { Powertools: powertools, 'oncely/ioredis': oncelyRun(ioStore), 'oncely/ioredis+ap': oncelyRun(pipedStore) };

// The node-redis arm exists once the adapter does (measuring the store before it was added needs no edit).
const fromNodeRedis = (oncelyRedis as Record<string, unknown>).fromNodeRedis as ((c: unknown) => oncelyRedis.RedisClientLike) | undefined;
const nodeRedis = fromNodeRedis ? await createClient({ url: URL }).connect() : undefined;
const nrStore = nodeRedis && fromNodeRedis ? new oncelyRedis.RedisStore({ client: fromNodeRedis(nodeRedis), prefix: `${prefix}nr:` }) : undefined;
if (nrStore) arms['oncely/node-redis'] = oncelyRun(nrStore);

// BASELINE_STORE=<path of an older src/redis/index.ts> adds that store (on ioredis) as one more arm,
// for a before/after in the same interleaved rounds. E.g. for the store before commit 6b7e193:
//   mkdir -p /tmp/base/src/redis && for f in $(git ls-tree --name-only 442d992 src/redis/); do git show 442d992:$f > /tmp/base/$f; done
//   ln -s $PWD/src/core /tmp/base/src/core && BASELINE_STORE=/tmp/base/src/redis/index.ts npx tsx test/redis/perf/versus-powertools.ts
const baseline = process.env.BASELINE_STORE ? ((await import(process.env.BASELINE_STORE)) as typeof oncelyRedis) : undefined;
const baseStore = baseline ? new baseline.RedisStore({ client: ioredis, prefix: `${prefix}base:` }) : undefined;
if (baseStore) arms['baseline/ioredis'] = oncelyRun(baseStore as unknown as oncelyRedis.RedisStore);
// BASELINE_SRC=<an older src/ directory> adds that tree's engine AND store (on ioredis) as one more arm:
// the whole before/after of a change to the engine, e.g. `git archive <commit> src | tar -x -C /tmp/before`
// plus a node_modules symlink in /tmp/before, then BASELINE_SRC=/tmp/before/src.
const baseSrc = process.env.BASELINE_SRC;
const baseTree = baseSrc ? { engine: (await import(`${baseSrc}/index.ts`)) as { Idempotency: typeof Idempotency }, redis: (await import(`${baseSrc}/redis/index.ts`)) as typeof oncelyRedis } : undefined;
const baseTreeStore = baseTree ? new baseTree.redis.RedisStore({ client: ioredis, prefix: `${prefix}tree:` }) : undefined;
if (baseTree && baseTreeStore) {
  const engine = new baseTree.engine.Idempotency({ store: baseTreeStore as unknown as oncelyRedis.RedisStore, localCache: false });
  arms['before/ioredis'] = (event) => engine.run({ tenant: 'bench', operation: 'handler', key: event.key, input: event }, () => handler(event));
}

const names = Object.keys(arms);
const completed: Record<string, string[]> = {};
for (const name of names) {
  completed[name] = Array.from({ length: REQUESTS }, () => randomUUID());
  for (const key of completed[name]!) await arms[name]!({ key, amount: 1 });
  await measure(300, CONCURRENCY, () => arms[name]!({ key: randomUUID(), amount: 1 })); // warm-up
}

type Kind = 'first' | 'replay' | 'throughput';
const results: Record<Kind, Record<string, Summary>[]> = { first: [], replay: [], throughput: [] };
const loads: number[] = [];
for (let round = 0; round < ROUNDS; round++) {
  loads.push(loadavg()[0]!);
  const order = names.map((_, i) => names[(i + round) % names.length]!);
  for (const kind of ['first', 'replay', 'throughput'] as const) {
    const row: Record<string, Summary> = {};
    for (const name of order) {
      const run = arms[name]!;
      if (kind === 'replay') row[name] = await measure(REQUESTS, 1, (i) => run({ key: completed[name]![i]!, amount: 1 }));
      else if (kind === 'throughput') row[name] = await measure(THROUGHPUT, CONCURRENCY, () => run({ key: randomUUID(), amount: 1 }));
      else {
        const keys = Array.from({ length: REQUESTS }, () => randomUUID());
        row[name] = await measure(REQUESTS, 1, (i) => run({ key: keys[i]!, amount: 1 }));
        completed[name] = keys;
      }
    }
    results[kind].push(row);
  }
}
loads.push(loadavg()[0]!);

console.log(`${ROUNDS} interleaved rounds; ${REQUESTS} sequential first executions and replays, ${THROUGHPUT} at ${CONCURRENCY} in flight per arm per round`);
console.log(`load average (1 min) over the rounds: ${spread(loads)} on ${(await import('node:os')).cpus().length} cores`);
for (const name of names) {
  const p50 = (k: Kind) => spread(results[k].map((r) => r[name]!.p50), 3);
  console.log(`${name.padEnd(18)} first p50 ms ${p50('first')}  replay p50 ms ${p50('replay')}  ops/s@32 ${spread(results.throughput.map((r) => r[name]!.throughput))}`);
}
for (const name of names.filter((n) => n !== 'Powertools')) {
  const ratio = (k: Kind, f: (s: Summary) => number) => spread(results[k].map((r) => f(r[name]!) / f(r.Powertools!)));
  console.log(`${name} / Powertools: first p50 ${ratio('first', (s) => s.p50)}x, replay p50 ${ratio('replay', (s) => s.p50)}x, throughput@32 ${ratio('throughput', (s) => s.throughput)}x`);
}

ioStore.close();
baseStore?.close();
baseTreeStore?.close();
pipedStore.close();
ioredisPiped.disconnect();
nrStore?.close();
const keys = [...(await ioredis.keys(`${prefix}*`)), ...(await ioredis.keys(`${ptPrefix}*`))];
for (let i = 0; i < keys.length; i += 500) await ioredis.del(...keys.slice(i, i + 500));
ioredis.disconnect();
await nodeRedis?.quit();
await ptClient.quit();
