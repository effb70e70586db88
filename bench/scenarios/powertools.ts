import { randomUUID } from 'node:crypto';
import { IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import { CachePersistenceLayer } from '@aws-lambda-powertools/idempotency/cache';
import { createClient } from '@redis/client';
import { Idempotency, type IdempotencyStore } from 'oncely';
import { RedisStore } from 'oncely/redis';
import { openBackend, REDIS_URL } from '../lib/backends.js';
import type { Report } from '../lib/report.js';
import { type Arm, type Round, armOverRounds, ratioOverRounds, runRound } from '../lib/rounds.js';
import { type Summary, measure, ms } from '../lib/stats.js';
import { TARGETS } from '../lib/targets.js';

export interface PowertoolsSizes {
  rounds: number;
  /** Sequential calls per arm per round (first executions, then as many replays). */
  requests: number;
  /** Calls per arm per round at `concurrency` in flight. */
  throughputRequests: number;
  concurrency: number;
}

type Event = { key: string; amount: number };
type Run = (event: Event) => Promise<unknown>;

/**
 * The same function made idempotent by AWS Powertools (its Redis persistence layer, node-redis)
 * and by oncely's Redis store, in this process, none with a local cache; interleaved rounds of
 * first executions, replays and throughput. oncely runs twice: on ioredis (the figures and their
 * targets) and on node-redis, the client Powertools uses (a row of the table, so that the client
 * library's share of the difference is visible).
 */
export async function versusPowertools(report: Report, sizes: PowertoolsSizes) {
  const handler = async (event: Event) => ({ id: `ch_${event.key.slice(0, 6)}`, amount: event.amount });
  const redis = await createClient({ url: REDIS_URL }).connect();
  const config = new IdempotencyConfig({ eventKeyJmesPath: 'key', expiresAfterSeconds: 3600, useLocalCache: false });
  config.registerLambdaContext({ getRemainingTimeInMillis: () => 60_000 } as never);
  const powertools: Run = makeIdempotent(handler, {
    persistenceStore: new CachePersistenceLayer({ client: redis as never }),
    keyPrefix: `ptbench${randomUUID().slice(0, 8)}`,
    config,
  });
  const backend = await openBackend('redis');
  const oncelyOn = (store: IdempotencyStore): Run => {
    const engine = new Idempotency({ store, localCache: false });
    return (event) => engine.run({ tenant: 'bench', operation: 'handler', key: event.key, input: event }, () => handler(event));
  };
  // oncely on a node-redis client of its own (as Powertools has one), keys under a prefix of its own.
  const nodeRedis = await createClient({ url: REDIS_URL }).connect();
  const nodeRedisPrefix = `benchnr${randomUUID().slice(0, 8)}:`;
  const nodeRedisStore = new RedisStore({ client: nodeRedis, prefix: nodeRedisPrefix });
  const candidates: Record<string, Run> = { Powertools: powertools, oncely: oncelyOn(backend.store), 'oncely/node-redis': oncelyOn(nodeRedisStore) };
  const labels: Record<string, string> = { Powertools: 'Powertools (node-redis)', oncely: 'oncely (ioredis)', 'oncely/node-redis': 'oncely (node-redis)' };
  try {
    // Keys each candidate completed in its latest first-execution arm: the next replay arm re-sends them.
    const completed: Record<string, string[]> = {};
    for (const [name, run] of Object.entries(candidates)) {
      completed[name] = Array.from({ length: sizes.requests }, () => randomUUID());
      for (const key of completed[name]!) await run({ key, amount: 1 });
      await measure(50, 4, () => run({ key: randomUUID(), amount: 1 }));
    }
    const arms = (kind: 'first' | 'replay' | 'throughput'): Arm<Summary>[] =>
      Object.entries(candidates).map(([name, run]) => ({
        name,
        run: async () => {
          if (kind === 'replay') return measure(sizes.requests, 1, (i) => run({ key: completed[name]![i]!, amount: 1 }));
          if (kind === 'throughput') return measure(sizes.throughputRequests, sizes.concurrency, () => run({ key: randomUUID(), amount: 1 }));
          const keys = Array.from({ length: sizes.requests }, () => randomUUID());
          const s = await measure(sizes.requests, 1, (i) => run({ key: keys[i]!, amount: 1 }));
          completed[name] = keys;
          return s;
        },
      }));
    const rounds: Record<'first' | 'replay' | 'throughput', Round<Summary>[]> = { first: [], replay: [], throughput: [] };
    for (let r = 0; r < sizes.rounds; r++) {
      for (const kind of ['first', 'replay', 'throughput'] as const) rounds[kind].push(await runRound(r, arms(kind)));
    }
    const figures = [
      { measure: 'first p50, oncely / Powertools', kind: 'first', value: (s: Summary) => s.p50, target: TARGETS.powertoolsFirstP50 },
      { measure: 'replay p50, oncely / Powertools', kind: 'replay', value: (s: Summary) => s.p50, target: TARGETS.powertoolsReplayP50 },
      { measure: `throughput@${sizes.concurrency}, oncely / Powertools`, kind: 'throughput', value: (s: Summary) => s.throughput, target: TARGETS.powertoolsThroughput },
    ] as const;
    for (const f of figures) {
      const { ratio, load } = ratioOverRounds(rounds[f.kind], (res) => f.value(res.oncely!) / f.value(res.Powertools!));
      report.figure({ group: 'Redis, in process', measure: f.measure, unit: 'x', value: ratio, load, target: f.target });
    }
    // The same ratios for oncely on node-redis (information, no target: the figures above are the ioredis ones).
    const sameClient = figures.map((f) => {
      const { ratio } = ratioOverRounds(rounds[f.kind], (res) => f.value(res['oncely/node-redis']!) / f.value(res.Powertools!));
      return `${f.measure.replace('oncely', 'oncely on node-redis')} ${ratio.median.toFixed(2)}x (${ratio.min.toFixed(2)}–${ratio.max.toFixed(2)})`;
    });
    report.add({
      title: 'Against AWS Powertools idempotency (same function, same process, local Redis, no local caches)',
      notes: [
        `Powertools \`makeIdempotent\` with \`CachePersistenceLayer\` on node-redis; oncely \`Idempotency.run\` on its Redis store, once on ioredis (the figures and targets above) and once on node-redis (\`@redis/client\`, the client Powertools uses). Each round: ${sizes.requests} sequential first executions per candidate, then ${sizes.requests} replays of keys each completed in its previous first-execution arm, then ${sizes.throughputRequests} fresh keys at ${sizes.concurrency} in flight; the candidates' order rotates per round. Medians over ${sizes.rounds} rounds.`,
        `Same client library as Powertools, ratios per round, median (min–max): ${sameClient.join('; ')}.`,
        'Redis work per first execution: Powertools sends two plain SETs (NX for the in-progress record, then the result); oncely sends two Lua scripts (claim, completion) that also check the deadline and token, keep the expiry index (ZADD, trimmed on claim) and set the TTL from Redis\' clock: about 12 µs of Redis time per script against about 1.3 µs per SET (`npx tsx test/redis/perf/first-execution-cost.ts` measures it on a throwaway redis-server).',
      ],
      header: ['implementation', 'first p50 ms', 'first p99 ms', 'replay p50 ms', 'replay p99 ms', `ops/s at ${sizes.concurrency} in flight`],
      rows: Object.keys(candidates).map((name) => [
        labels[name] ?? name,
        ms(armOverRounds(rounds.first, name, (s) => s.p50).median),
        ms(armOverRounds(rounds.first, name, (s) => s.p99).median),
        ms(armOverRounds(rounds.replay, name, (s) => s.p50).median),
        ms(armOverRounds(rounds.replay, name, (s) => s.p99).median),
        Math.round(armOverRounds(rounds.throughput, name, (s) => s.throughput).median),
      ]),
    });
    report.raw.powertools = rounds;
  } finally {
    nodeRedisStore.close();
    for await (const keys of nodeRedis.scanIterator({ MATCH: `${nodeRedisPrefix}*`, COUNT: 1000 })) if (keys.length) await nodeRedis.del(keys);
    await nodeRedis.quit();
    await backend.close();
    await redis.quit();
  }
}
