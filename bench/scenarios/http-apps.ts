import { randomUUID } from 'node:crypto';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { initTRPC } from '@trpc/server';
import { createHTTPHandler } from '@trpc/server/adapters/standalone';
import { createSchema, createYoga } from 'graphql-yoga';
import type { Idempotency } from 'oncely';
import { useIdempotency } from 'oncely/envelop';
import { createIdempotencyMiddleware } from 'oncely/trpc';
import type { Prisma } from '../lib/backends.js';

export type Framework = 'Yoga' | 'tRPC';

/** Executions of the mutation per tag: the storm must run it once. */
export type Executions = Map<string, number>;

export interface Answer {
  status: number;
  body: string;
  replayed: boolean;
}

export interface App {
  /** Sends one mutation, with the key in the Idempotency-Key header (none: no header). */
  send(key: string | undefined, tag: string): Promise<Answer>;
  close(): Promise<void>;
}

/** How the server is built: bare (no oncely at all), or with oncely in lease or transactional mode. */
export type Protection =
  | { kind: 'bare' }
  | { kind: 'oncely'; engine: Idempotency; transactional: boolean }
  // The bare server whose mutation runs the hand-written minimum protocol around the create (floor.ts).
  | { kind: 'floor'; around: <T>(work: (db: Prisma) => Promise<T>) => Promise<T> };

/** The create as each server runs it: directly, or inside the floor protocol. */
function mutation(prisma: Prisma, protection: Protection, executions: Executions, tag: string, tx: Prisma | undefined) {
  if (protection.kind === 'floor') return protection.around((db) => placeOrder(db, executions, tag));
  return placeOrder(tx ?? prisma, executions, tag);
}

/** The mutation: one Prisma create, like placing an order; through `tx` in transactional mode. */
function placeOrder(db: Prisma, executions: Executions, tag: string) {
  executions.set(tag, (executions.get(tag) ?? 0) + 1);
  return db.order.create({
    data: { id: `ord_${randomUUID()}`, customer: tag, item: 'coffee', quantity: 1, amount: 450, status: 'placed' },
    select: { id: true, amount: true, status: true },
  });
}

/** POSTs JSON over fetch (undici: keep-alive connections) and reads the replay marker. */
export async function postJson(url: string, key: string | undefined, body: unknown): Promise<Answer> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key ? { 'idempotency-key': key } : {}) },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: await response.text(), replayed: response.headers.get('idempotent-replayed') === 'true' };
}

export async function serve(server: Server): Promise<{ base: string; close(): Promise<void> }> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

interface TxContext {
  idempotency?: { tx?: unknown };
}

async function yogaApp(prisma: Prisma, protection: Protection, executions: Executions): Promise<App> {
  const plugins =
    protection.kind === 'oncely'
      ? [useIdempotency({ engine: protection.engine, getTenant: () => 'bench', required: false, inProgress: 'wait', transactional: protection.transactional })]
      : [];
  const yoga = createYoga({
    logging: false,
    schema: createSchema<TxContext>({
      typeDefs: 'type Order { id: ID!, amount: Int!, status: String! } type Query { ok: Boolean } type Mutation { placeOrder(tag: String!): Order! }',
      resolvers: {
        Mutation: {
          placeOrder: (_: unknown, args: { tag: string }, context: TxContext) =>
            mutation(prisma, protection, executions, args.tag, context.idempotency?.tx as Prisma | undefined),
        },
      },
    }),
    plugins,
  });
  const { base, close } = await serve(createServer(yoga));
  const url = `${base}/graphql`;
  const query = 'mutation($tag: String!) { placeOrder(tag: $tag) { id amount status } }';
  return { send: (key, tag) => postJson(url, key, { query, variables: { tag } }), close };
}

async function trpcApp(prisma: Prisma, protection: Protection, executions: Executions): Promise<App> {
  const t = initTRPC.context<{ req: unknown; res: unknown; info: unknown }>().create();
  const procedure =
    protection.kind === 'oncely'
      ? t.procedure.use(
          createIdempotencyMiddleware({ engine: protection.engine, getTenant: () => 'bench', required: false, inProgress: 'wait', transactional: protection.transactional }),
        )
      : t.procedure;
  const router = t.router({
    placeOrder: procedure.input((raw) => raw as { tag: string }).mutation(({ input, ctx }) => {
      return mutation(prisma, protection, executions, input.tag, (ctx as TxContext).idempotency?.tx as Prisma | undefined);
    }),
  });
  const handler = createHTTPHandler({ router, basePath: '/trpc/', createContext: ({ req, res, info }) => ({ req, res, info }) });
  const { base, close } = await serve(createServer(handler));
  const url = `${base}/trpc/placeOrder`;
  return { send: (key, tag) => postJson(url, key, { tag }), close };
}

export function startApp(framework: Framework, prisma: Prisma, protection: Protection, executions: Executions): Promise<App> {
  return framework === 'Yoga' ? yogaApp(prisma, protection, executions) : trpcApp(prisma, protection, executions);
}

const DEMO_TABLES: Record<string, string> = {
  postgresql: 'CREATE TABLE IF NOT EXISTS "demo_orders" ("id" TEXT PRIMARY KEY, "customer" TEXT NOT NULL, "item" TEXT NOT NULL, "quantity" INTEGER NOT NULL, "amount" INTEGER NOT NULL, "status" TEXT NOT NULL, "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP)',
  mysql: 'CREATE TABLE IF NOT EXISTS `demo_orders` (`id` VARCHAR(191) PRIMARY KEY, `customer` VARCHAR(191) NOT NULL, `item` VARCHAR(191) NOT NULL, `quantity` INTEGER NOT NULL, `amount` INTEGER NOT NULL, `status` VARCHAR(191) NOT NULL, `created_at` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3))',
  sqlite: 'CREATE TABLE IF NOT EXISTS "demo_orders" ("id" TEXT PRIMARY KEY, "customer" TEXT NOT NULL, "item" TEXT NOT NULL, "quantity" INTEGER NOT NULL, "amount" INTEGER NOT NULL, "status" TEXT NOT NULL, "created_at" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP)',
};

/** The mutation's table, in the same database as the idempotency table (transactional mode needs that). */
export async function createOrdersTable(prisma: Prisma, provider: string): Promise<void> {
  try {
    await prisma.$executeRawUnsafe(DEMO_TABLES[provider]!);
  } catch (error) {
    // Tests create the same table at the same moment.
    if (!/already exists|duplicate/i.test(String(error))) throw error;
  }
}
