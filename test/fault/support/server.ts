/**
 * A real server for the fault tests, run as a child process (`tsx test/fault/support/server.ts`).
 * It is built on the published package (`oncely/envelop`, `oncely/trpc`, `oncely/prisma`: run
 * `npm run build` first) exactly as an application would use it, with its own tables so that test
 * files never share state, and with test hooks driven by the environment:
 *
 *   DATABASE_URL     file:..., postgresql://..., mysql:// or mariadb://...
 *   ONCELY_TABLE     the idempotency table (created by the test)
 *   BIZ_TABLE        the business table (created by the test, see bizTableSql in harness.ts)
 *   ADAPTER          "yoga" (default, at /graphql), "trpc" (at /trpc/) or "both"
 *   TRANSACTIONAL    "1": claim, business writes and stored result in one transaction
 *   TRPC_TRANSACTIONAL  the same for tRPC (default: TRANSACTIONAL)
 *   LEASE_MS         lease of a claim (lease mode); heartbeat is off so a frozen holder loses it
 *   RETENTION_MS     retention of completed records (default 24 h)
 *   HOOK             where to stop: "after-claim" | "during" | "after-write"
 *   HOOK_KEY         only requests with this key stop there (default: every key)
 *   HOOK_MS          how long to stop; default forever (the test kills the process)
 *   ACQUIRE_TIMEOUT_MS  MariaDB: how long to wait for a pool connection (default the driver's 10 s)
 *   PORT             default 0 (any free port)
 *
 * Stdout protocol, one line each: `LISTENING <port>`, `HOOK <point> <key> <fence>` (the request is
 * now frozen at that point), `ERROR <message>` (unexpected failures, for the test log).
 *
 * The mutation `pay(orderId, amount)` writes one business row in two statements (INSERT with state
 * "half", then UPDATE to "done"), so a crash between them leaves a half-written row unless the
 * writes share the transaction with the claim.
 */
import { randomUUID } from 'node:crypto';
import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PrismaLibSql } from '@prisma/adapter-libsql';
import { PrismaMariaDb } from '@prisma/adapter-mariadb';
import { PrismaPg } from '@prisma/adapter-pg';
import { TRPCError, initTRPC } from '@trpc/server';
import { createHTTPHandler } from '@trpc/server/adapters/standalone';
import { createSchema, createYoga } from 'graphql-yoga';
import { type IdempotencyPluginContext, useIdempotency } from 'oncely/envelop';
import { PrismaStore, type Provider } from 'oncely/prisma';
import { createIdempotentProcedure } from 'oncely/trpc';
import { PrismaClient as MysqlClient } from '../../../generated/mysql/client.js';
import { PrismaClient as PostgresClient } from '../../../generated/postgresql/client.js';
import { PrismaClient as SqliteClient } from '../../../generated/sqlite/client.js';

type Sql = {
  $executeRawUnsafe(query: string, ...values: unknown[]): Promise<number>;
  $queryRawUnsafe<T = unknown>(query: string, ...values: unknown[]): Promise<T>;
};
type Client = Sql & { $transaction: unknown; $disconnect(): Promise<void> };

const env = process.env;
const url = env.DATABASE_URL ?? '';
const table = env.ONCELY_TABLE ?? 'oncely_idempotency';
const biz = env.BIZ_TABLE ?? 'fault_biz';
const transactional = env.TRANSACTIONAL === '1';
const trpcTransactional = (env.TRPC_TRANSACTIONAL ?? env.TRANSACTIONAL) === '1';
const hook = env.HOOK ?? '';
const hookKey = env.HOOK_KEY ?? '';
const hookMs = env.HOOK_MS ? Number(env.HOOK_MS) : undefined;

function open(): { client: Client; provider: Provider } {
  if (url.startsWith('file:')) {
    return { client: new SqliteClient({ adapter: new PrismaLibSql({ url }) }) as unknown as Client, provider: 'sqlite' };
  }
  if (url.startsWith('postgres')) {
    return {
      client: new PostgresClient({ adapter: new PrismaPg({ connectionString: url, max: 20 }) }) as unknown as Client,
      provider: 'postgresql',
    };
  }
  if (url.startsWith('mysql') || url.startsWith('mariadb')) {
    const u = new URL(url);
    const adapter = new PrismaMariaDb({
      host: u.hostname,
      port: Number(u.port || 3306),
      user: decodeURIComponent(u.username),
      password: decodeURIComponent(u.password),
      database: u.pathname.slice(1),
      connectionLimit: 20,
      // How long a request waits for a pool connection (e.g. while the database is down).
      ...(env.ACQUIRE_TIMEOUT_MS ? { acquireTimeout: Number(env.ACQUIRE_TIMEOUT_MS) } : {}),
    });
    return { client: new MysqlClient({ adapter }) as unknown as Client, provider: 'mysql' };
  }
  throw new Error(`DATABASE_URL must be file:, postgresql:// or mysql:// (got "${url}")`);
}

const { client, provider } = open();
// SQLite: several processes share the file and SQLite has one writer at a time; without a busy
// timeout a writer that finds the file locked fails at once (SQLITE_BUSY) instead of waiting.
if (provider === 'sqlite') await client.$queryRawUnsafe('PRAGMA busy_timeout = 10000');
const store = new PrismaStore({ client, provider, table, transaction: { timeout: 60_000, maxWait: 20_000 } });
const engineOptions = {
  store,
  lease: Number(env.LEASE_MS ?? 60_000),
  heartbeat: false as const,
  retention: Number(env.RETENTION_MS ?? 86_400_000),
};

const p = (n: number) => (provider === 'postgresql' ? `$${n}` : '?');

async function stopAt(point: string, key: string, fence: number): Promise<void> {
  if (hook !== point || (hookKey && hookKey !== key)) return;
  process.stdout.write(`HOOK ${point} ${key} ${fence}\n`);
  await new Promise((resolve) => (hookMs === undefined ? undefined : setTimeout(resolve, hookMs)));
}

interface PayArgs {
  orderId: string;
  amount: number;
}

/** The business operation: one row in two statements, hooks between them. */
async function pay(
  db: Sql,
  idem: { key: string; fence: number; tenant: unknown; deriveKey(purpose?: string): string },
  args: PayArgs,
) {
  if (!Number.isInteger(args.amount) || args.amount < 1) throw new Error('amount must be a positive integer');
  const tenant = String(idem.tenant);
  await stopAt('after-claim', idem.key, idem.fence);
  const id = `pay_${randomUUID()}`;
  await db.$executeRawUnsafe(
    `INSERT INTO ${biz} (id, tenant, op_key, order_id, amount, state, fence) VALUES (${p(1)}, ${p(2)}, ${p(3)}, ${p(4)}, ${p(5)}, 'half', ${p(6)})`,
    id,
    tenant,
    idem.key,
    args.orderId,
    args.amount,
    idem.fence,
  );
  await stopAt('during', idem.key, idem.fence);
  await db.$executeRawUnsafe(`UPDATE ${biz} SET state = 'done' WHERE id = ${p(1)}`, id);
  await stopAt('after-write', idem.key, idem.fence);
  return { id, orderId: args.orderId, amount: args.amount, fence: idem.fence, pid: process.pid, chargeKey: idem.deriveKey('charge') };
}

// ---- GraphQL Yoga with the Envelop plugin ----

type YogaContext = IdempotencyPluginContext & { request: Request };

function yogaApp() {
  return createYoga<YogaContext>({
    schema: createSchema<YogaContext>({
      typeDefs: /* GraphQL */ `
        type Query { ok: Boolean! }
        type Payment { id: ID!, orderId: String!, amount: Int!, fence: Int!, pid: Int!, chargeKey: String! }
        type Mutation { pay(orderId: String!, amount: Int!): Payment! }
      `,
      resolvers: {
        Query: { ok: () => true },
        Mutation: {
          pay: (_: unknown, args: PayArgs, ctx: YogaContext) => {
            const idem = ctx.idempotency;
            if (!idem) throw new Error('no idempotency context');
            return pay(transactional ? (idem.tx as Sql) : client, idem, args);
          },
        },
      },
    }),
    logging: false,
    maskedErrors: true,
    plugins: [
      useIdempotency<YogaContext>({
        ...engineOptions,
        getTenant: ({ request }) => request.headers.get('x-tenant') ?? 'anonymous',
        required: true,
        transactional,
      }),
    ],
  });
}

// ---- tRPC with the middleware ----

function trpcApp() {
  const t = initTRPC.context<{ tenant: string; req: IncomingMessage; res: ServerResponse }>().create();
  const idempotent = t.procedure.concat(
    createIdempotentProcedure<true, Sql, { tenant: string }>({ ...engineOptions, transactional: trpcTransactional, getTenant: ({ ctx }) => ctx.tenant }),
  );
  const router = t.router({
    pay: idempotent
      .input((raw) => {
        const input = raw as Partial<PayArgs> | null;
        if (!input || typeof input.orderId !== 'string' || typeof input.amount !== 'number') {
          throw new TRPCError({ code: 'BAD_REQUEST', message: 'expected { orderId: string, amount: number }' });
        }
        return input as PayArgs;
      })
      .mutation(({ input, ctx }) => pay(trpcTransactional ? (ctx.idempotency.tx as Sql) : client, ctx.idempotency, input)),
  });
  return createHTTPHandler({
    router,
    basePath: '/trpc/',
    createContext: ({ req, res }) => {
      const header = req.headers['x-tenant'];
      return { req, res, tenant: (Array.isArray(header) ? header[0] : header) || 'anonymous' };
    },
  });
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void;
function both(): Handler {
  const yoga = yogaApp();
  const trpc = trpcApp();
  return (req, res) => (req.url?.startsWith('/trpc/') ? trpc(req, res) : yoga(req, res));
}
const handler: Handler = env.ADAPTER === 'trpc' ? trpcApp() : env.ADAPTER === 'both' ? both() : yogaApp();

process.on('unhandledRejection', (error) => process.stdout.write(`ERROR ${String(error).split('\n')[0]}\n`));

const server = createServer(handler);
server.listen(Number(env.PORT ?? 0), '127.0.0.1', () => {
  process.stdout.write(`LISTENING ${(server.address() as AddressInfo).port}\n`);
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    server.close();
    server.closeAllConnections();
    void client.$disconnect().finally(() => process.exit(0));
  });
}
