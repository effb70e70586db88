import type { ShopServices } from './providers.js';
import { type PlaceOrderInput, type ShopDb, payOrder, placeOrder } from './shop.js';

/** The step calls of oncely's `ctx.idempotency` (lease mode, PrismaStore), as the checkout uses them. */
export interface CheckoutSteps {
  step<T>(name: string, fn: (step: { key: string }) => Promise<T>): Promise<T>;
  databaseStep<T>(name: string, fn: (tx: ShopDb) => Promise<T>): Promise<T>;
}

/**
 * Order, charge, mark paid, receipt: four side effects, each a step. A retry after a crash (or a
 * failure) between any two of them gets the recorded result of every finished step without running
 * it again and goes on with the first unfinished one. See docs/steps.md.
 */
export async function checkout(steps: CheckoutSteps, services: ShopServices, input: PlaceOrderInput) {
  // Exactly once: the order row and the step's record commit in one transaction.
  const order = await steps.databaseStep('create order', (tx) => placeOrder(tx, input));
  // At least once, made harmless by the provider: `key` is the same on every retry, so it charges once.
  const charge = await steps.step('charge', ({ key }) =>
    services.payments.charge({ customer: order.customer, amount: order.amount, reference: order.id }, key),
  );
  const payment = await steps.databaseStep('mark paid', (tx) => payOrder(tx, order.id, charge.idempotencyKey));
  // At least once: a crash between the send and its record sends the receipt again.
  const receipt = await steps.step('send receipt', ({ key }) =>
    services.mailer.sendReceipt({ to: order.customer, orderId: order.id, amount: order.amount }, key),
  );
  return { order: { ...order, status: 'paid' }, payment, chargeId: charge.id, receiptId: receipt.id };
}
