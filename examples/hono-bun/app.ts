// The shop: a Hono app whose POST /checkout charges a payment provider once per Idempotency-Key,
// however often the client retries. Retries get the first answer back with
// `Idempotent-Replayed: true`; the same key with another order gets 422.
import { Hono } from 'hono';
import type { Duration, IdempotencyStore } from 'oncely';
import { type IdempotencyVariables, idempotency } from 'oncely/hono';
import { providerCounts, requestCharge } from './provider.ts';

export interface ShopOptions {
  store: IdempotencyStore;
  /** Base URL of the payment provider (provider.ts). */
  providerUrl: string;
  /** How long a claim is protected without a heartbeat; a crashed run's key is taken over after it. Default "60s". */
  lease?: Duration;
}

export interface CheckoutBody {
  order: string;
  /** Cents. */
  amount: number;
}

export function createShop({ store, providerUrl, lease }: ShopOptions): Hono<IdempotencyVariables> {
  const app = new Hono<IdempotencyVariables>();

  // Duplicates arriving while the first runs wait for its answer instead of getting 409.
  const guard = idempotency({ store, operation: 'checkout', methods: ['POST'], inProgress: 'wait', ...(lease ? { lease } : {}) });

  app.post('/checkout', guard, async (c) => {
    const body = await checkoutBody(c.req.raw);
    if (typeof body === 'string') return c.json({ error: body }, 400);
    // An external step: recorded once it returns, so a retry after a crash past this point reuses
    // the charge. step.key is stable across retries and takeovers of this Idempotency-Key: the
    // provider gets it as its own idempotency key (a crash during the call re-sends the same key).
    const charge = await c.get('idempotency')!.step('charge', (step) => requestCharge(providerUrl, step.key, body, testDelay(c.req.raw, 'X-Provider-Delay-Ms')));
    console.log(`order ${body.order}: charge ${charge.id} recorded`);
    await pause(testDelay(c.req.raw, 'X-Work-After-Charge-Ms'));
    const receipt = { receiptId: crypto.randomUUID(), order: body.order, amount: body.amount, chargeId: charge.id, providerKey: charge.providerKey };
    return c.json(receipt, 201, { Location: `/receipts/${receipt.receiptId}` });
  });

  // Control: the same checkout without oncely. Every request charges, under the provider key the
  // client sent (a provider that deduplicates would save you here; ours, like many, does not).
  app.post('/unguarded/checkout', async (c) => {
    const body = await checkoutBody(c.req.raw);
    if (typeof body === 'string') return c.json({ error: body }, 400);
    const providerKey = `unguarded:${c.req.header('Idempotency-Key') ?? crypto.randomUUID()}`;
    const charge = await requestCharge(providerUrl, providerKey, body, testDelay(c.req.raw, 'X-Provider-Delay-Ms'));
    const receipt = { receiptId: crypto.randomUUID(), order: body.order, amount: body.amount, chargeId: charge.id, providerKey: charge.providerKey };
    return c.json(receipt, 201, { Location: `/receipts/${receipt.receiptId}` });
  });

  // What the provider saw: charge requests per provider key and per order.
  app.get('/provider/charges', async (c) => c.json(await providerCounts(providerUrl)));

  return app;
}

async function checkoutBody(request: Request): Promise<CheckoutBody | string> {
  const body = (await request.json().catch(() => null)) as Partial<CheckoutBody> | null;
  if (!body || typeof body.order !== 'string' || body.order === '') return 'order (a non-empty string) is required';
  if (!Number.isInteger(body.amount) || body.amount! <= 0) return 'amount must be a positive integer (cents)';
  return body as CheckoutBody;
}

/** Test hooks (headers are not part of the fingerprint, so a retry without them is the same request). */
function testDelay(request: Request, header: string): number | undefined {
  const value = Number(request.headers.get(header) ?? 0);
  return Number.isFinite(value) && value > 0 ? value : undefined;
}

function pause(ms: number | undefined): Promise<void> {
  return ms ? new Promise((done) => setTimeout(done, ms)) : Promise.resolve();
}
