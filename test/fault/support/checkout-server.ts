/**
 * A real server running the examples' checkout (examples/shared/checkout.ts: create order, charge,
 * mark paid, send receipt) for the steps fault tests, as a child process that the tests SIGKILL.
 * Built on the published package (run `npm run build` first). GraphQL Yoga at /graphql and tRPC at
 * /trpc/checkout, both in lease mode over one PrismaStore on the demo database.
 *
 *   DATABASE_URL   file:..., postgresql:// or mariadb:// (a throwaway server or a temp file)
 *   SERVICES_URL   the test process's fake provider and mailer (fake-services.ts)
 *   STEPS          "1" (default): the checkout's steps are oncely steps; "0": plain calls and
 *                  writes (the same code without steps, for the comparison)
 *   LEASE_MS       lease of a claim; no heartbeat, so a slow or dead holder loses it
 *   PORT           default 0 (any free port)
 *
 * Kill points: a request with the header `x-fault-kill-at: <when>:<step>` (when: before, inside,
 * after; step: a checkout step's name) SIGKILLs this process at that point of its run, after
 * printing `KILL <when>:<step> <key>`. "inside" a database step is after its writes, before the
 * step's record and the commit; "inside" an external step is after the provider answered, before
 * the step's record. Stdout also has `LISTENING <port>` and `ERROR <message>`.
 */
import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PrismaLibSql } from '@prisma/adapter-libsql';
import { PrismaMariaDb } from '@prisma/adapter-mariadb';
import { PrismaPg } from '@prisma/adapter-pg';
import { TRPCError, initTRPC } from '@trpc/server';
import { createHTTPHandler } from '@trpc/server/adapters/standalone';
import { GraphQLError } from 'graphql';
import { createSchema, createYoga } from 'graphql-yoga';
import { type IdempotencyContext, type IdempotencyPluginContext, useIdempotency } from 'oncely/envelop';
import { PrismaStore, type Provider } from 'oncely/prisma';
import { createIdempotentProcedure } from 'oncely/trpc';
import { type CheckoutSteps, checkout } from '../../../examples/shared/checkout.js';
import type { DemoPrisma } from '../../../examples/shared/db.js';
import { mariadbOptions } from '../../../examples/shared/mariadb.js';
import { ShopError } from '../../../examples/shared/shop.js';
import { PrismaClient as MysqlClient } from '../../../generated/mysql/client.js';
import { PrismaClient as PostgresClient } from '../../../generated/postgresql/client.js';
import { PrismaClient as SqliteClient } from '../../../generated/sqlite/client.js';
import { remoteServices } from './fake-services.js';

const env = process.env;
const useSteps = env.STEPS !== '0';
const services = remoteServices(env.SERVICES_URL ?? '');

/** The demo database the test created (oncely's table and the demo tables are there already). */
function open(url: string): { prisma: DemoPrisma; provider: Provider } {
  if (url.startsWith('file:')) return { prisma: new SqliteClient({ adapter: new PrismaLibSql({ url }) }), provider: 'sqlite' };
  if (url.startsWith('postgres')) {
    return { prisma: new PostgresClient({ adapter: new PrismaPg({ connectionString: url, max: 20 }) }) as unknown as DemoPrisma, provider: 'postgresql' };
  }
  return { prisma: new MysqlClient({ adapter: new PrismaMariaDb(mariadbOptions(url, 20)) }) as unknown as DemoPrisma, provider: 'mysql' };
}

const { prisma, provider } = open(env.DATABASE_URL ?? '');
// SQLite: the server processes share the file, one writer at a time: wait for the lock, don't fail.
if (provider === 'sqlite') await prisma.$queryRawUnsafe('PRAGMA busy_timeout = 10000');
const store = new PrismaStore({ client: prisma, provider, transaction: { timeout: 30_000, maxWait: 15_000 } });
const engine = { store, lease: Number(env.LEASE_MS ?? 2000), heartbeat: false as const };

type Idem = IdempotencyContext<unknown>;

/** The checkout's steps: oncely's, or (STEPS=0) plain calls with the same derived keys. */
function stepsOf(idem: Idem): CheckoutSteps {
  if (useSteps) return idem as unknown as CheckoutSteps;
  return {
    step: (name, fn) => fn({ key: idem.deriveKey(name) }),
    databaseStep: (_name, fn) => fn(prisma),
  };
}

/** Wraps the steps so that the run dies at `killAt` ("<when>:<step>"). */
function withKillPoint(steps: CheckoutSteps, killAt: string | undefined, key: string): CheckoutSteps {
  if (!killAt) return steps;
  const at = (when: string, name: string) => {
    if (killAt !== `${when}:${name}`) return;
    process.stdout.write(`KILL ${killAt} ${key}\n`); // synchronous on a pipe: the line gets out
    process.kill(process.pid, 'SIGKILL');
  };
  const around = <R>(name: string, run: (inside: <T>(value: T) => T) => Promise<R>) => {
    at('before', name);
    return run((value) => {
      at('inside', name);
      return value;
    }).then((result) => {
      at('after', name);
      return result;
    });
  };
  return {
    step: (name, fn) => around(name, (inside) => steps.step(name, async (s) => inside(await fn(s)))),
    databaseStep: (name, fn) => around(name, (inside) => steps.databaseStep(name, async (tx) => inside(await fn(tx)))),
  };
}

interface CheckoutInput {
  customer: string;
  item: string;
  quantity: number;
}

function run(idem: Idem | undefined, input: CheckoutInput, killAt: string | undefined) {
  if (!idem) throw new Error('no idempotency context');
  return checkout(withKillPoint(stepsOf(idem), killAt, idem.key), services, input);
}

/** Unexpected failures, one line each, for the test log (the answers only say "Unexpected error."). */
function logError(error: unknown): void {
  const e = error as { name?: string; code?: string; message?: string };
  process.stdout.write(`ERROR ${e?.name ?? 'Error'} ${e?.code ?? ''} ${String(e?.message ?? error).split('\n').join(' ').slice(0, 400)}\n`);
}

const header = (req: IncomingMessage, name: string) => {
  const value = req.headers[name];
  return (Array.isArray(value) ? value[0] : value) || undefined;
};

// ---- GraphQL Yoga: checkout returns the result as a JSON string (compared byte for byte) ----

type YogaContext = IdempotencyPluginContext & { request: Request };

const yoga = createYoga<YogaContext>({
  schema: createSchema<YogaContext>({
    typeDefs: /* GraphQL */ `
      type Query { ok: Boolean! }
      type Mutation { checkout(customer: String!, item: String!, quantity: Int!): String! }
    `,
    resolvers: {
      Query: { ok: () => true },
      Mutation: {
        checkout: async (_: unknown, args: CheckoutInput, ctx: YogaContext) => {
          try {
            return JSON.stringify(await run(ctx.idempotency, args, ctx.request.headers.get('x-fault-kill-at') ?? undefined));
          } catch (error) {
            if (error instanceof ShopError) throw new GraphQLError(error.message, { extensions: { code: error.code } });
            logError(error);
            throw error;
          }
        },
      },
    },
  }),
  logging: false,
  maskedErrors: true,
  plugins: [useIdempotency<YogaContext>({ ...engine, getTenant: ({ request }) => request.headers.get('x-customer') ?? 'anonymous', required: true })],
});

// ---- tRPC ----

const t = initTRPC.context<{ req: IncomingMessage; res: ServerResponse; customer: string }>().create();
const idempotent = t.procedure.concat(createIdempotentProcedure({ ...engine, getTenant: ({ ctx }) => (ctx as { customer: string }).customer }));
const router = t.router({
  checkout: idempotent
    .input((raw) => {
      const input = raw as Partial<CheckoutInput> | null;
      if (!input || typeof input.item !== 'string' || typeof input.quantity !== 'number') {
        throw new TRPCError({ code: 'BAD_REQUEST', message: 'expected { item: string, quantity: number }' });
      }
      return { item: input.item, quantity: input.quantity };
    })
    .mutation(({ input, ctx }) => run(ctx.idempotency as Idem, { ...input, customer: ctx.customer }, header(ctx.req, 'x-fault-kill-at'))),
});
const trpc = createHTTPHandler({
  router,
  basePath: '/trpc/',
  createContext: ({ req, res }) => ({ req, res, customer: header(req, 'x-customer') ?? 'anonymous' }),
  onError: ({ error }) => logError(error.cause ?? error),
});

process.on('unhandledRejection', (error) => process.stdout.write(`ERROR ${String(error).split('\n')[0]}\n`));

const server = createServer((req, res) => (req.url?.startsWith('/trpc/') ? trpc(req, res) : yoga(req, res)));
server.listen(Number(env.PORT ?? 0), '127.0.0.1', () => {
  process.stdout.write(`LISTENING ${(server.address() as AddressInfo).port}\n`);
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    server.closeAllConnections();
    server.close();
    void prisma.$disconnect().finally(() => process.exit(0));
  });
}
