/**
 * What a batch of checkouts left behind, counted from the demo tables (orders, payments), the fake
 * provider and the fake mailer of the test process, and the answers the clients got.
 */
import type { DemoPrisma } from '../../../examples/shared/db.js';
import type { CheckoutLog } from './checkout-client.js';
import type { FakeServices } from './fake-services.js';

export interface CheckoutFigures {
  keys: number;
  /** Keys that got at least one answer with a result. */
  answered: number;
  /** Keys with more than one order row. */
  ordersWrittenTwice: number;
  /** Keys with an order that is not paid, or paid without exactly one payment row. */
  halfFinished: number;
  /** Keys with more than one payment row in all. */
  paymentsWrittenTwice: number;
  /** Histogram: charges the provider made per key -> how many keys. */
  chargesPerKey: Record<string, number>;
  /** Histogram: requests the provider got per key (repeats of the same idempotency key included). */
  chargeRequestsPerKey: Record<string, number>;
  /** Histogram: receipts the mailer sent per key. */
  receiptsPerKey: Record<string, number>;
  /** Keys whose answers were not all the same body. */
  differentAnswers: number;
  /** Answered keys whose answer does not match the effects: its order paid in the database, its charge at the provider for that order. */
  answersNotMatchingEffects: number;
}

export interface KeyEffects {
  orders: { id: string; status: string; payments: number }[];
  charges: number;
  chargeRequests: number;
  receipts: number;
}

const bump = (histogram: Record<string, number>, value: number) => {
  histogram[value] = (histogram[value] ?? 0) + 1;
};

/** Effects per key (customer) of every checkout whose customer starts with `prefix`. */
export async function effectsByCustomer(prisma: DemoPrisma, services: FakeServices, prefix: string): Promise<Map<string, KeyEffects>> {
  const byCustomer = new Map<string, KeyEffects>();
  const of = (customer: string) => {
    let effects = byCustomer.get(customer);
    if (!effects) byCustomer.set(customer, (effects = { orders: [], charges: 0, chargeRequests: 0, receipts: 0 }));
    return effects;
  };
  const orders = await prisma.order.findMany({ where: { customer: { startsWith: prefix } }, include: { payments: true } });
  for (const order of orders) of(order.customer).orders.push({ id: order.id, status: order.status, payments: order.payments.length });
  for (const charge of services.payments.charges.values()) {
    if (!charge.customer.startsWith(prefix)) continue;
    of(charge.customer).charges++;
    of(charge.customer).chargeRequests += services.payments.requests.get(charge.idempotencyKey) ?? 0;
  }
  for (const receipt of services.mailer.sent) if (receipt.to.startsWith(prefix)) of(receipt.to).receipts++;
  return byCustomer;
}

export async function countCheckouts(prisma: DemoPrisma, services: FakeServices, prefix: string, logs: CheckoutLog[]): Promise<CheckoutFigures> {
  const effects = await effectsByCustomer(prisma, services, prefix);
  const charges = [...services.payments.charges.values()];
  const figures: CheckoutFigures = {
    keys: logs.length,
    answered: 0,
    ordersWrittenTwice: 0,
    halfFinished: 0,
    paymentsWrittenTwice: 0,
    chargesPerKey: {},
    chargeRequestsPerKey: {},
    receiptsPerKey: {},
    differentAnswers: 0,
    answersNotMatchingEffects: 0,
  };
  for (const log of logs) {
    const e = effects.get(log.request.customer) ?? { orders: [], charges: 0, chargeRequests: 0, receipts: 0 };
    if (log.bodies.length > 0) figures.answered++;
    if (e.orders.length > 1) figures.ordersWrittenTwice++;
    if (e.orders.some((o) => o.status !== 'paid' || o.payments !== 1)) figures.halfFinished++;
    if (e.orders.reduce((n, o) => n + o.payments, 0) > 1) figures.paymentsWrittenTwice++;
    bump(figures.chargesPerKey, e.charges);
    bump(figures.chargeRequestsPerKey, e.chargeRequests);
    bump(figures.receiptsPerKey, e.receipts);
    if (new Set(log.bodies).size > 1) figures.differentAnswers++;
    if (log.bodies[0] !== undefined) {
      const result = JSON.parse(log.bodies[0]) as { order: { id: string }; chargeId: string; payment: { chargeKey: string } };
      const charge = charges.find((c) => c.id === result.chargeId);
      const matches = charge?.idempotencyKey === result.payment.chargeKey && charge.reference === result.order.id && e.orders.some((o) => o.id === result.order.id && o.status === 'paid');
      if (!matches) figures.answersNotMatchingEffects++;
    }
  }
  return figures;
}
