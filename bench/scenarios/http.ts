import { randomUUID } from 'node:crypto';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { initTRPC } from '@trpc/server';
import { createHTTPHandler } from '@trpc/server/adapters/standalone';
import { createSchema, createYoga } from 'graphql-yoga';
import { Idempotency } from 'oncely';
import { useIdempotency } from 'oncely/envelop';
import { createIdempotencyMiddleware } from 'oncely/trpc';
import { type Backend, type BackendName, type Prisma, openBackend, prismaClient } from '../lib/backends.js';
import type { Report } from '../lib/report.js';
import { measure, ms, ratio } from '../lib/stats.js';

interface Sizes {
  ops: number;
  storm: number;
}

/** What every request does: one business INSERT, like placing an order. */
function businessWrite(prisma: Prisma, counter: { executions: Map<string, number> }, tag: string) {
  counter.executions.set(tag, (counter.executions.get(tag) ?? 0) + 1);
  return prisma.order.create({
    data: { id: `ord_${randomUUID()}`, customer: tag, item: 'coffee', quantity: 1, amount: 450, status: 'placed' },
    select: { id: true, amount: true, status: true },
  });
}

interface App {
  url: string;
  /** Sends one mutation; key undefined = the bare (unprotected) path. */
  send(key: string | undefined, tag: string): Promise<{ status: number; body: string; replayed: boolean }>;
  close(): Promise<void>;
}

/** POSTs JSON with the key (none = the bare path) and reads the answer and its replay marker. */
async function postJson(url: string, key: string | undefined, body: unknown) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key ? { 'idempotency-key': key } : {}) },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: await response.text(), replayed: response.headers.get('idempotent-replayed') === 'true' };
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function yogaApp(prisma: Prisma, engine: Idempotency, counter: { executions: Map<string, number> }): Promise<App> {
  const yoga = createYoga({
    logging: false,
    schema: createSchema({
      typeDefs: 'type Order { id: ID!, amount: Int!, status: String! } type Query { ok: Boolean } type Mutation { placeOrder(tag: String!): Order! }',
      resolvers: { Mutation: { placeOrder: (_: unknown, args: { tag: string }) => businessWrite(prisma, counter, args.tag) } },
    }),
    plugins: [useIdempotency({ engine, getTenant: () => 'bench', required: false, inProgress: 'wait' })],
  });
  const server = createServer(yoga);
  const url = `${await listen(server)}/graphql`;
  return {
    url,
    send: (key, tag) => postJson(url, key, { query: 'mutation($tag: String!) { placeOrder(tag: $tag) { id amount status } }', variables: { tag } }),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

async function trpcApp(prisma: Prisma, engine: Idempotency, counter: { executions: Map<string, number> }): Promise<App> {
  const t = initTRPC.context<{ req: unknown; res: unknown; info: unknown }>().create();
  const keyed = t.procedure.use(createIdempotencyMiddleware({ engine, getTenant: () => 'bench', required: false, inProgress: 'wait' }));
  const router = t.router({
    placeOrder: keyed.input((raw) => raw as { tag: string }).mutation(({ input }) => businessWrite(prisma, counter, input.tag)),
  });
  const handler = createHTTPHandler({ router, basePath: '/trpc/', createContext: ({ req, res, info }) => ({ req, res, info }) });
  const server = createServer(handler);
  const url = `${await listen(server)}/trpc/placeOrder`;
  return {
    url,
    send: (key, tag) => postJson(url, key, { tag }),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

const DEMO_TABLES: Record<string, string> = {
  postgresql: 'CREATE TABLE IF NOT EXISTS "demo_orders" ("id" TEXT PRIMARY KEY, "customer" TEXT NOT NULL, "item" TEXT NOT NULL, "quantity" INTEGER NOT NULL, "amount" INTEGER NOT NULL, "status" TEXT NOT NULL, "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP)',
  mysql: 'CREATE TABLE IF NOT EXISTS `demo_orders` (`id` VARCHAR(191) PRIMARY KEY, `customer` VARCHAR(191) NOT NULL, `item` VARCHAR(191) NOT NULL, `quantity` INTEGER NOT NULL, `amount` INTEGER NOT NULL, `status` VARCHAR(191) NOT NULL, `created_at` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3))',
  sqlite: 'CREATE TABLE IF NOT EXISTS "demo_orders" ("id" TEXT PRIMARY KEY, "customer" TEXT NOT NULL, "item" TEXT NOT NULL, "quantity" INTEGER NOT NULL, "amount" INTEGER NOT NULL, "status" TEXT NOT NULL, "created_at" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP)',
};

/** The business database of a backend: its own for SQL stores, PostgreSQL for the Redis store. */
async function businessDb(backend: Backend): Promise<{ prisma: Prisma; close(): Promise<void> }> {
  if (backend.prisma) {
    await backend.prisma.client.$executeRawUnsafe(DEMO_TABLES[backend.prisma.provider]!);
    return { prisma: backend.prisma.client, close: async () => {} };
  }
  const prisma = prismaClient('postgresql');
  await prisma.$executeRawUnsafe(DEMO_TABLES.postgresql!);
  return { prisma, close: () => prisma.$disconnect() };
}

/** Bare vs first execution vs replay, throughput, and a duplicate storm, over real HTTP. */
export async function httpScenarios(report: Report, backends: BackendName[], sizes: Sizes) {
  const latency: (string | number)[][] = [];
  const storms: (string | number)[][] = [];
  const bars: { label: string; value: number }[] = [];
  for (const framework of ['Yoga', 'tRPC'] as const) {
    for (const name of backends) {
      const backend = await openBackend(name);
      const business = await businessDb(backend);
      const counter = { executions: new Map<string, number>() };
      const engine = new Idempotency({ store: backend.store, inProgress: 'wait', waitTimeout: '30s' });
      const app = framework === 'Yoga' ? await yogaApp(business.prisma, engine, counter) : await trpcApp(business.prisma, engine, counter);
      try {
        const check = async (p: Promise<{ status: number }>) => {
          const r = await p;
          if (r.status !== 200) throw new Error(`${framework}/${name}: HTTP ${r.status}`);
        };
        await measure(30, 1, (i) => check(app.send(i % 2 ? randomUUID() : undefined, 'warmup')));
        const keys = Array.from({ length: sizes.ops }, () => randomUUID());
        // Interleaved rounds so that drift on a shared machine hits all three alike.
        const bare = await measure(sizes.ops, 1, () => check(app.send(undefined, 'bare')));
        const first = await measure(sizes.ops, 1, (i) => check(app.send(keys[i], 'first')));
        const replay = await measure(sizes.ops, 1, (i) => check(app.send(keys[i], 'first')));
        const c1 = await measure(sizes.ops, 1, () => check(app.send(randomUUID(), 'c1')));
        const c32 = await measure(sizes.ops, 32, () => check(app.send(randomUUID(), 'c32')));
        latency.push([
          framework, name, ms(bare.p50), ms(first.p50), ms(first.p99), ms(replay.p50), ms(replay.p99),
          ratio(first.p50, bare.p50), ratio(replay.p50, bare.p50), Math.round(c1.throughput), Math.round(c32.throughput),
        ]);
        bars.push({ label: `${framework}/${name} first ÷ bare`, value: first.p50 / bare.p50 }, { label: `${framework}/${name} replay ÷ bare`, value: replay.p50 / bare.p50 });

        const stormKey = randomUUID();
        const stormTag = `storm-${stormKey}`;
        const started = performance.now();
        const answers = await Promise.all(Array.from({ length: sizes.storm }, () => app.send(stormKey, stormTag)));
        const allAnswered = performance.now() - started;
        const bodies = new Set(answers.map((a) => a.body));
        storms.push([framework, name, sizes.storm, counter.executions.get(stormTag) ?? 0, answers.filter((a) => a.status === 200).length, bodies.size, answers.filter((a) => a.replayed).length, ms(allAnswered)]);
        report.raw[`http.${framework}.${name}`] = { bare, first, replay, c1, c32, storm: { executions: counter.executions.get(stormTag), allAnswered } };
      } finally {
        await app.close();
        await business.close();
        await backend.close();
      }
    }
  }
  report.add({
    title: 'Over HTTP: the same mutation bare, first execution and replay',
    notes: [
      'One business INSERT per execution. Sequential requests over keep-alive fetch; "bare" sends no key (the plugin/middleware passes it through); "first" sends new keys; "replay" re-sends them. Throughput: unique keys at concurrency 1 and 32. Targets: first within 1.5x of bare on PostgreSQL; replay faster than bare.',
    ],
    header: ['framework', 'store', 'bare p50 ms', 'first p50 ms', 'first p99 ms', 'replay p50 ms', 'replay p99 ms', 'first ÷ bare', 'replay ÷ bare', 'req/s c=1', 'req/s c=32'],
    rows: latency,
  });
  report.add({
    title: `Duplicate storm: ${sizes.storm} identical requests at once`,
    notes: ['Same key, same body, all sent together; `inProgress: "wait"`. Executions must be 1; every client must get the same body.'],
    header: ['framework', 'store', 'requests', 'executions', 'HTTP 200', 'distinct bodies', 'marked replayed', 'all answered after ms'],
    rows: storms,
  });
  report.chart('http-ratios.svg', 'Latency relative to the bare mutation, p50 (1.0 = bare)', 'x', bars);
}
