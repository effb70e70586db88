// Runs the Worker example locally in workerd (Miniflare) with an in-memory D1 database:
//   npm run build && npx tsx examples/worker/dev.ts
import { fileURLToPath } from 'node:url';
import { startWorker } from './miniflare.ts';

const port = Number(process.env.PORT ?? 8787);
const worker = await startWorker({ entry: fileURLToPath(new URL('./src/worker.ts', import.meta.url)), port });
const base = worker.url.href.replace(/\/$/, '');
console.log(`oncely Worker example on ${base} (workerd, D1 in memory)`);
console.log(`  curl -i -X POST ${base}/checkout -H 'Idempotency-Key: order-1' -H 'Content-Type: application/json' -d '{"amount":1250}'`);
console.log('  (run it twice: the second answer is the first one, with Idempotent-Replayed: true)');
console.log(`  curl ${base}/provider/charges   # requests per provider key: 1 each`);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void worker.dispose().then(() => process.exit(0));
  });
}
