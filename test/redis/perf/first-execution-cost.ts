// Where a first execution spends its time, per candidate: Redis server time per command (INFO
// commandstats on a throwaway redis-server of its own, so nobody else's commands are counted),
// commands per execution, the client round trip alone, and what is left for JS.
// Run: npx tsx test/redis/perf/first-execution-cost.ts   (N=3000 to change the count)
// Candidates: Powertools (node-redis), oncely on ioredis, oncely on node-redis (fromNodeRedis);
// ARMS=oncely/ioredis,... to run some only (e.g. under node --cpu-prof --import tsx for a CPU profile).
import { randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
import { IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import { CachePersistenceLayer } from '@aws-lambda-powertools/idempotency/cache';
import { createClient } from '@redis/client';
import { Redis } from 'ioredis';
import { Idempotency } from '../../../src/index.js';
import { RedisStore, fromNodeRedis } from '../../../src/redis/index.js';
import { ThrowawayRedis } from '../support/server.js';

const N = Number(process.env.N ?? 3000);
type Event = { key: string; amount: number };
type Run = (event: Event) => Promise<unknown>;

const server = await ThrowawayRedis.start();
const admin = new Redis(server.url);
// The shared Redis runs without persistence; so does this one (ThrowawayRedis starts with AOF always).
await admin.config('SET', 'appendonly', 'no');

const handler = async (event: Event) => ({ id: `ch_${event.key.slice(0, 6)}`, amount: event.amount });
const ptClient = await createClient({ url: server.url }).connect();
const config = new IdempotencyConfig({ eventKeyJmesPath: 'key', expiresAfterSeconds: 3600, useLocalCache: false });
config.registerLambdaContext({ getRemainingTimeInMillis: () => 60_000 } as never);
const powertools: Run = makeIdempotent(handler, { persistenceStore: new CachePersistenceLayer({ client: ptClient as never }), keyPrefix: 'pt', config });
const io = new Redis(server.url);
const nr = await createClient({ url: server.url }).connect();
const oncely = (store: RedisStore): Run => {
  const engine = new Idempotency({ store, localCache: false });
  return (event) => engine.run({ tenant: 'bench', operation: 'handler', key: event.key, input: event }, () => handler(event));
};
const ioStore = new RedisStore({ client: io, prefix: 'io:' });
const nrStore = new RedisStore({ client: nr, prefix: 'nr:' });
const all: Record<string, Run> = { Powertools: powertools, 'oncely/ioredis': oncely(ioStore), 'oncely/node-redis': oncely(nrStore) };
const arms = Object.fromEntries(Object.entries(all).filter(([name]) => !process.env.ARMS || process.env.ARMS.split(',').includes(name)));
// The bare round trip of each client, for "what is left is JS".
const pings: Record<string, () => Promise<unknown>> = { Powertools: () => ptClient.ping(), 'oncely/ioredis': () => io.ping(), 'oncely/node-redis': () => nr.ping() };

async function p50(count: number, op: (i: number) => Promise<unknown>): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < count; i++) {
    const t = performance.now();
    await op(i);
    samples.push(performance.now() - t);
  }
  samples.sort((a, b) => a - b);
  return samples[samples.length >> 1]!;
}

function commandstats(info: string): Map<string, { calls: number; usec: number }> {
  const out = new Map<string, { calls: number; usec: number }>();
  for (const line of info.split('\n')) {
    const m = /^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/.exec(line.trim());
    if (m) out.set(m[1]!, { calls: Number(m[2]), usec: Number(m[3]) });
  }
  return out;
}

console.log(`${N} sequential first executions per candidate; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
for (const [name, run] of Object.entries(arms)) {
  for (let i = 0; i < 300; i++) await run({ key: randomUUID(), amount: 1 }); // warm-up (scripts loaded, JIT)
  const keys = Array.from({ length: N }, () => randomUUID());
  await admin.config('RESETSTAT');
  const first = await p50(N, (i) => run({ key: keys[i]!, amount: 1 }));
  const stats = commandstats(await admin.info('commandstats'));
  const ping = await p50(N, () => pings[name]!());
  stats.delete('config');
  stats.delete('ping');
  // With scripts, the commands they run are counted inside the script's time and are no round trips.
  const scripts = [...stats].filter(([c]) => c === 'evalsha' || c === 'eval');
  const topLevel = scripts.length > 0 ? scripts : [...stats];
  const total = topLevel.reduce((s, [, v]) => s + v.usec, 0);
  const roundTrips = topLevel.reduce((s, [, v]) => s + v.calls, 0);
  console.log(`\n${name}: first p50 ${(first * 1000).toFixed(0)} µs, PING p50 ${(ping * 1000).toFixed(0)} µs, round trips/exec ${(roundTrips / N).toFixed(2)}`);
  console.log(`  Redis time per execution ${(total / N).toFixed(1)} µs (a script's time includes the commands it runs, listed below it)`);
  for (const [cmd, v] of [...stats].sort((a, b) => b[1].usec - a[1].usec)) {
    console.log(`  ${cmd.padEnd(18)} ${(v.calls / N).toFixed(2)} calls/exec  ${(v.usec / v.calls).toFixed(2)} µs/call  ${(v.usec / N).toFixed(2)} µs/exec`);
  }
}

// The budget, interleaved (the machine's latency regime changes by the second): each candidate's
// first execution against the bare round trips it is built on. "scripts" are the store's own claim
// and completion EVALSHAs with the arguments a first execution sends, without the engine.
const { claimScript, completeScript } = await import('../../../src/redis/lua.js');
const scriptsOn = (client: { call(command: string, ...args: (string | number)[]): Promise<unknown> }, prefix: string) => async () => {
  const id = randomUUID();
  const now = Date.now();
  const keys = [`${prefix}{b1}:r:${id}`, `${prefix}{b1}:expiry`];
  await client.call('EVALSHA', claimScript.sha, 2, ...keys, id, 60000, now + 1000, now + 86_400_000, '1', 'tenant', 'bench', 'operation', 'handler', 'key', id, 'status', 'in_progress', 'fingerprint', 'f'.repeat(43), 'token', 't'.repeat(22), 'fence', '1', 'created_at', now, 'updated_at', now, 'expires_at', now + 86_400_000, 'lease_expires_at', now + 30_000);
  await client.call('EVALSHA', completeScript.sha, 2, ...keys, id, 60000, 'chan', 't'.repeat(22), '{"id":"ch_abc","amount":1}', now, now + 86_400_000);
};
const nrCall = fromNodeRedis(nr);
const budget: Record<string, () => Promise<unknown>> = {
  'Powertools first execution': () => powertools({ key: randomUUID(), amount: 1 }),
  'node-redis 2 x SET': async () => {
    const key = `raw:${randomUUID()}`;
    await nr.set(key, '{"status":"INPROGRESS","expiration":1}', { EX: 3600, NX: true });
    await nr.set(key, '{"status":"COMPLETED","expiration":1,"data":{}}', { EX: 3600 });
  },
  'oncely/ioredis first execution': () => all['oncely/ioredis']!({ key: randomUUID(), amount: 1 }),
  'ioredis 2 scripts': scriptsOn(io, 'rawio:'),
  'ioredis 2 x PING': async () => { await io.ping(); await io.ping(); },
  'oncely/node-redis first execution': () => all['oncely/node-redis']!({ key: randomUUID(), amount: 1 }),
  'node-redis 2 scripts': scriptsOn(nrCall, 'rawnr:'),
  'node-redis 2 x PING': async () => { await nr.ping(); await nr.ping(); },
};
const budgetRounds = Number(process.env.BUDGET_ROUNDS ?? 7);
const got: Record<string, number[]> = {};
for (let round = 0; round < budgetRounds; round++) {
  const names = Object.keys(budget);
  for (let i = 0; i < names.length; i++) {
    const name = names[(i + round) % names.length]!;
    (got[name] ??= []).push(await p50(1000, budget[name]!));
  }
}
console.log(`\nBudget, sequential p50 in µs: median (min–max) over ${budgetRounds} interleaved rounds of 1000; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
const med = (v: number[]) => [...v].sort((a, b) => a - b)[v.length >> 1]!;
for (const [name, v] of Object.entries(got)) console.log(`  ${name.padEnd(36)} ${(med(v) * 1000).toFixed(0).padStart(4)} (${(Math.min(...v) * 1000).toFixed(0)}–${(Math.max(...v) * 1000).toFixed(0)})`);

ioStore.close();
nrStore.close();
io.disconnect();
admin.disconnect();
await nr.quit();
await ptClient.quit();
await server.stop();
