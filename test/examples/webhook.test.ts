import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { createIdempotency } from 'oncely';
import { PrismaStore } from 'oncely/prisma';
import { createWebhookHandler, type ProviderEvent } from '../../examples/webhook/handler.js';
import { type PrismaLike, freshStore, testDatabases } from '../support/databases.js';

for (const db of testDatabases()) {
  describe(`webhook example (core on its own) on ${db.name}`, () => {
    const clients: PrismaLike[] = [];
    afterAll(async () => {
      for (const c of clients) await c.$disconnect();
    });

    it('applies each event once across 30 concurrent and sequential redeliveries to two consumers', async () => {
      const { client, table } = await freshStore(db);
      const second = db.client();
      clients.push(client, second);
      const applied = new Map<string, number>();
      const apply = async (e: ProviderEvent) => {
        applied.set(e.id, (applied.get(e.id) ?? 0) + 1);
        await new Promise((r) => setTimeout(r, 20));
      };
      // Two consumer processes (two clients), waiting for each other instead of failing with 409.
      const consumers = [client, second].map((c) =>
        createWebhookHandler(createIdempotency({ store: new PrismaStore({ client: c, table }), inProgress: 'wait' }), apply),
      );
      const events: ProviderEvent[] = Array.from({ length: 3 }, () => ({ id: `evt_${randomUUID()}`, type: 'payment.succeeded', data: { orderId: 'o', amount: 1 } }));
      const deliveries = events.flatMap((e) => Array.from({ length: 10 }, (_, i) => consumers[i % 2]!(e)));
      const results = await Promise.all(deliveries);
      expect(results.every((r) => r.status === 200)).toBe(true);
      expect(results.filter((r) => !r.replayed)).toHaveLength(3);
      for (const e of events) expect(applied.get(e.id)).toBe(1);
      // A later redelivery of the same id with a changed body is refused, not re-applied.
      await expect(consumers[0]!({ ...events[0]!, data: { orderId: 'o', amount: 2 } })).rejects.toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED' });
    });
  });
}
