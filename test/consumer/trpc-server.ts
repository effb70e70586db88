// The tRPC quickstart of docs/trpc.md, from the installed package, on the database of --url=
// (SQLite, PostgreSQL or MariaDB), with oncely's table created by `applyMigration` from oncely/prisma.
import type { AddressInfo } from 'node:net';
import { initTRPC } from '@trpc/server';
import { createHTTPServer, type CreateHTTPContextOptions } from '@trpc/server/adapters/standalone';
import superjson from 'superjson';
import { PrismaStore, applyMigration } from 'oncely/prisma';
import { createIdempotencyMiddleware, serializerFromTransformer } from 'oncely/trpc';
import { argument, openDatabase } from './db.js';

const { prisma, provider } = await openDatabase(argument('url'));
const migration = await applyMigration(prisma, provider);
// Printed for scripts/consumer-test.mjs (which checks that the table was created, not found).
console.log(`applyMigration: ${migration.table} ${migration.action}`);

const createContext = ({ req, res, info }: CreateHTTPContextOptions) => ({
  req,
  res,
  info,
  tenant: (req.headers['x-tenant'] as string | undefined) ?? 'acme',
});
const t = initTRPC.context<typeof createContext>().create({ transformer: superjson });

export const idempotentProcedure = t.procedure.use(
  createIdempotencyMiddleware({
    store: new PrismaStore({ client: prisma }),
    getTenant: ({ ctx }) => ctx.tenant,
    serializer: serializerFromTransformer(superjson),
  }),
);

const PaySchema = (raw: unknown): { orderId: string; amount: number } => {
  const input = raw as { orderId?: unknown; amount?: unknown };
  if (typeof input?.orderId !== 'string' || typeof input.amount !== 'number') throw new Error('orderId and amount are required');
  return { orderId: input.orderId, amount: input.amount };
};

export const router = t.router({
  pay: idempotentProcedure.input(PaySchema).mutation(async ({ input }) => {
    const payment = await prisma.payment.create({ data: input });
    // A Date and a BigInt: the replay must give them back through superjson, not as strings.
    return { ...payment, paidAt: new Date(Date.UTC(2026, 0, 2)), cents: BigInt(payment.amount) * 100n };
  }),
  paymentCount: t.procedure.query(() => prisma.payment.count()),
});
export type AppRouter = typeof router;

const server = createHTTPServer({ router, createContext });
server.listen(0, '127.0.0.1', () => {
  console.log(`listening ${(server.address() as AddressInfo).port}`);
});
