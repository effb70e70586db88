// A CPU profile of the engine on the Redis store, the hot path where Powertools was compared.
// Run: npm run build && node --cpu-prof --cpu-prof-dir=bench/results/profile --import tsx bench/profile/redis-engine.ts
//      npx tsx bench/profile/summarize.ts bench/results/profile/<file>.cpuprofile
import { randomUUID } from 'node:crypto';
import { Idempotency } from 'oncely';
import { openBackend } from '../lib/backends.js';
import { measure } from '../lib/stats.js';

const ops = Number(process.env.OPS ?? 20_000);
const backend = await openBackend('redis');
const engine = new Idempotency({ store: backend.store });
const handler = async (event: { key: string; amount: number }) => ({ id: `ch_${event.key.slice(0, 6)}`, amount: event.amount });
const s = await measure(ops, 32, async () => {
  const event = { key: randomUUID(), amount: 1 };
  await engine.run({ tenant: 'bench', operation: 'handler', key: event.key, input: event }, () => handler(event));
});
console.log(`oncely Redis first executions at c=32: ${Math.round(s.throughput)} ops/s, p50 ${s.p50.toFixed(2)} ms`);
await backend.close();
