// Run: npm run build && npx tsx examples/webhook/main.ts
// The core engine on its own: deduplicating a provider's webhook redeliveries, stored in SQLite.
import { createIdempotency } from 'oncely';
import { openDemoDatabase } from '../shared/db.js';
import { createWebhookHandler, type ProviderEvent } from './handler.js';

const { prisma, store } = await openDemoDatabase(process.env.DATABASE_URL ?? 'file:examples/.data/webhook.db');
const idempotency = createIdempotency({ store, retention: '72h' });
let applied = 0;
const handle = createWebhookHandler(idempotency, async () => {
  applied++;
});

const event: ProviderEvent = { id: `evt_${Date.now()}`, type: 'payment.succeeded', data: { orderId: 'ord_1', amount: 450 } };
for (let delivery = 1; delivery <= 3; delivery++) {
  const result = await handle(event);
  console.log(`delivery ${delivery}: status ${result.status}, replayed ${result.replayed}`);
}
console.log(`the event was applied ${applied} time(s)`);
await prisma.$disconnect();
