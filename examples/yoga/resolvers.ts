import { GraphQLError } from 'graphql';
import type { IdempotencyPluginContext } from 'oncely/envelop';
import type { TransactionClientOf } from 'oncely/prisma';
import { checkout } from '../shared/checkout.js';
import type { DemoPrisma } from '../shared/db.js';
import type { ShopServices } from '../shared/providers.js';
import { ShopError, type ShopDb, ledger, payOrder, placeOrder } from '../shared/shop.js';

export type Context = IdempotencyPluginContext<TransactionClientOf<DemoPrisma>> & { prisma: DemoPrisma; services: ShopServices };

/**
 * In transactional mode reads and writes go through the transaction that also holds the idempotency
 * record (on SQLite another connection would wait for it to end).
 */
function db(ctx: Context): ShopDb {
  return (ctx.idempotency?.tx as ShopDb | undefined) ?? ctx.prisma;
}

/** Business errors are expected GraphQLErrors: clients see their code, and they are not masked. */
async function shop<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (error instanceof ShopError) throw new GraphQLError(error.message, { extensions: { code: error.code } });
    throw error;
  }
}

const iso = (value: Date | string) => new Date(value).toISOString();

export const resolvers = {
  Query: {
    ledger: (_: unknown, __: unknown, ctx: Context) => ledger(ctx.prisma),
    order: (_: unknown, args: { id: string }, ctx: Context) => ctx.prisma.order.findUnique({ where: { id: args.id } }),
  },
  Mutation: {
    placeOrder: (_: unknown, { input }: { input: { customer: string; item: string; quantity: number } }, ctx: Context) =>
      shop(() => placeOrder(db(ctx), { customer: input.customer, item: input.item, quantity: input.quantity })),
    payOrder: (_: unknown, args: { orderId: string }, ctx: Context) =>
      shop(() => {
        // The key this payment would hand to a payment provider, derived from the request's key.
        const chargeKey = ctx.idempotency?.deriveKey('charge');
        if (!chargeKey) throw new GraphQLError('payOrder needs an idempotency key', { extensions: { code: 'IDEMPOTENCY_KEY_MISSING' } });
        return payOrder(db(ctx), args.orderId, chargeKey);
      }),
    // Lease mode with steps: a retry after a crash resumes where the crashed run stopped.
    checkout: (_: unknown, { input }: { input: { customer: string; item: string; quantity: number } }, ctx: Context) =>
      shop(() => checkout(ctx.idempotency!, ctx.services, { customer: input.customer, item: input.item, quantity: input.quantity })),
  },
  Order: { createdAt: (order: { createdAt: Date | string }) => iso(order.createdAt) },
  Payment: {
    createdAt: (payment: { createdAt: Date | string }) => iso(payment.createdAt),
    order: (payment: { orderId: string }, _: unknown, ctx: Context) => db(ctx).order.findUnique({ where: { id: payment.orderId } }),
  },
};
