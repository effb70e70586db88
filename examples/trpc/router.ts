import { TRPCError, initTRPC } from '@trpc/server';
import { createIdempotencyMiddleware, idempotencyErrorFormatter, serializerFromTransformer } from 'oncely/trpc';
import type { PrismaStore } from 'oncely/prisma';
import superjson from 'superjson';
import { checkout } from '../shared/checkout.js';
import type { DemoPrisma } from '../shared/db.js';
import { type ShopServices, fakeServices } from '../shared/providers.js';
import { ShopError, ledger, payOrder, placeOrder } from '../shared/shop.js';

/** What every request carries: the adapter's request (oncely reads the key header from it) and the customer. */
export interface ShopContext {
  req: unknown;
  res?: unknown;
  resHeaders?: Headers;
  info?: unknown;
  customer: string;
}

// Shop rules are deterministic: the same request fails the same way, so oncely stores these errors.
const SHOP_ERROR_CODES = { UNKNOWN_ITEM: 'BAD_REQUEST', BAD_QUANTITY: 'BAD_REQUEST', ORDER_NOT_FOUND: 'NOT_FOUND', ALREADY_PAID: 'PRECONDITION_FAILED' } as const;

async function shopCall<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (error instanceof ShopError) throw new TRPCError({ code: SHOP_ERROR_CODES[error.code], message: error.message, cause: error });
    throw error;
  }
}

export function createShopRouter(prisma: DemoPrisma, store: PrismaStore<DemoPrisma>, services: ShopServices = fakeServices()) {
  const t = initTRPC.context<ShopContext>().create({
    transformer: superjson,
    // Surfaces oncely's code and retry hint (CONFLICT) to clients as `data.idempotency`.
    errorFormatter: idempotencyErrorFormatter,
  });

  const idempotentProcedure = t.procedure.use(
    createIdempotencyMiddleware({
      store,
      getTenant: ({ ctx }) => (ctx as ShopContext).customer,
      serializer: serializerFromTransformer(superjson),
    }),
  );

  return t.router({
    placeOrder: idempotentProcedure
      .input((raw) => raw as { item: string; quantity: number })
      .mutation(({ input, ctx }) => shopCall(() => placeOrder(prisma, { ...input, customer: ctx.customer }))),
    payOrder: idempotentProcedure
      .input((raw) => raw as { orderId: string })
      // The payment provider gets a key derived from the request's key: stable across retries.
      .mutation(({ input, ctx }) => shopCall(() => payOrder(prisma, input.orderId, ctx.idempotency.deriveKey('charge')))),
    // Lease mode with steps: a retry after a crash resumes where the crashed run stopped.
    checkout: idempotentProcedure
      .input((raw) => raw as { item: string; quantity: number })
      .mutation(({ input, ctx }) => shopCall(() => checkout(ctx.idempotency, services, { ...input, customer: ctx.customer }))),
    ledger: t.procedure.query(() => ledger(prisma)),
  });
}

export type ShopRouter = ReturnType<typeof createShopRouter>;
