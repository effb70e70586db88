import { randomUUID } from 'node:crypto';
import type { DemoPrisma } from './db.js';

/** Anything with the demo models: the PrismaClient or an interactive transaction client. */
export type ShopDb = Pick<DemoPrisma, 'order' | 'payment'>;

export const PRICES: Record<string, number> = { coffee: 450, bagel: 300, 'gift-card': 2500 };

export class ShopError extends Error {
  constructor(
    readonly code: 'UNKNOWN_ITEM' | 'BAD_QUANTITY' | 'ORDER_NOT_FOUND' | 'ALREADY_PAID',
    message: string,
  ) {
    super(message);
    this.name = 'ShopError';
  }
}

export interface PlaceOrderInput {
  customer: string;
  item: string;
  quantity: number;
}

export async function placeOrder(db: ShopDb, input: PlaceOrderInput) {
  const price = PRICES[input.item];
  if (price === undefined) throw new ShopError('UNKNOWN_ITEM', `No such item: ${input.item}`);
  if (!Number.isInteger(input.quantity) || input.quantity < 1 || input.quantity > 100) {
    throw new ShopError('BAD_QUANTITY', 'Quantity must be a whole number from 1 to 100');
  }
  return db.order.create({
    data: {
      id: `ord_${randomUUID().slice(0, 8)}`,
      customer: input.customer,
      item: input.item,
      quantity: input.quantity,
      amount: price * input.quantity,
      status: 'placed',
    },
  });
}

/**
 * Takes the payment for an order. `chargeKey` is what a real payment provider would receive as
 * its own idempotency key (oncely derives it from the request's key: stable across retries).
 */
export async function payOrder(db: ShopDb, orderId: string, chargeKey: string) {
  const order = await db.order.findUnique({ where: { id: orderId } });
  if (!order) throw new ShopError('ORDER_NOT_FOUND', `No such order: ${orderId}`);
  if (order.status === 'paid') throw new ShopError('ALREADY_PAID', `Order ${orderId} is already paid`);
  const payment = await db.payment.create({
    data: { id: `pay_${randomUUID().slice(0, 8)}`, orderId, amount: order.amount, chargeKey },
  });
  await db.order.update({ where: { id: orderId }, data: { status: 'paid' } });
  return payment;
}

export async function ledger(db: ShopDb) {
  return db.payment.findMany({ orderBy: { createdAt: 'asc' }, include: { order: true } });
}
