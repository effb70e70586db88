import { createServer } from 'node:http';
import { randomUUID } from 'node:crypto';
import { initTRPC } from '@trpc/server';
import { createHTTPHandler } from '@trpc/server/adapters/standalone';
import { createSchema, createYoga } from 'graphql-yoga';
import type { Idempotency } from 'oncely';
import { useIdempotency } from 'oncely/envelop';
import { createIdempotencyMiddleware } from 'oncely/trpc';
import type { Prisma } from '../lib/backends.js';
import { type App, type Framework, postJson, serve } from './http-apps.js';

/** The step calls of `ctx.idempotency` in lease mode, as the checkout below uses them. */
interface Steps {
  step<T>(name: string, fn: (step: { key: string }) => Promise<T> | T): Promise<T>;
  databaseStep<T>(name: string, fn: (tx: Prisma) => Promise<T>): Promise<T>;
}

interface StepsContext {
  idempotency?: Steps;
}

/** The checkout's shape: database, external, database, external (see examples/shared/checkout.ts). */
export const CHECKOUT_STEPS = { total: 4, database: 2, beforeFailure: 2 } as const;

/**
 * Tags whose next run fails right after step 2 (once): the retry with the same key and input
 * then resumes at step 3. Server state, not input, so that the retry's fingerprint matches.
 */
export type FailOnce = Set<string>;

function order(tx: Prisma, tag: string, status: string) {
  return tx.order.create({
    data: { id: `ord_${randomUUID()}`, customer: tag, item: 'coffee', quantity: 1, amount: 450, status },
    select: { id: true },
  });
}

/** Four steps, each database step writing one row; nothing outside the steps touches the database. */
async function checkout(steps: Steps | undefined, tag: string, failOnce: FailOnce): Promise<{ id: string; charge: string; receipt: string }> {
  if (!steps) throw new Error('bench: the steps mutation needs an Idempotency-Key (lease mode)');
  const placed = await steps.databaseStep('create order', (tx) => order(tx, tag, 'placed'));
  const charge = await steps.step('charge', ({ key }) => `ch_${key.slice(0, 12)}`);
  if (failOnce.delete(tag)) throw new Error('bench: planned failure after step 2');
  await steps.databaseStep('mark paid', (tx) => order(tx, tag, 'paid'));
  const receipt = await steps.step('send receipt', ({ key }) => `rc_${key.slice(0, 12)}`);
  return { id: placed.id, charge, receipt };
}

async function yogaStepsApp(engine: Idempotency, failOnce: FailOnce): Promise<App> {
  const yoga = createYoga({
    logging: false,
    maskedErrors: false,
    schema: createSchema<StepsContext>({
      typeDefs: 'type Checkout { id: ID!, charge: String!, receipt: String! } type Query { ok: Boolean } type Mutation { checkout(tag: String!): Checkout! }',
      resolvers: {
        Mutation: { checkout: (_: unknown, args: { tag: string }, context: StepsContext) => checkout(context.idempotency, args.tag, failOnce) },
      },
    }),
    plugins: [useIdempotency({ engine, getTenant: () => 'bench', required: false, inProgress: 'wait', transactional: false })],
  });
  const { base, close } = await serve(createServer(yoga));
  const url = `${base}/graphql`;
  const query = 'mutation($tag: String!) { checkout(tag: $tag) { id charge receipt } }';
  return { send: (key, tag) => postJson(url, key, { query, variables: { tag } }), close };
}

async function trpcStepsApp(engine: Idempotency, failOnce: FailOnce): Promise<App> {
  const t = initTRPC.context<{ req: unknown; res: unknown; info: unknown }>().create();
  const procedure = t.procedure.use(createIdempotencyMiddleware({ engine, getTenant: () => 'bench', required: false, inProgress: 'wait', transactional: false }));
  const router = t.router({
    checkout: procedure
      .input((raw) => raw as { tag: string })
      .mutation(({ input, ctx }) => checkout((ctx as StepsContext).idempotency, input.tag, failOnce)),
  });
  const handler = createHTTPHandler({ router, basePath: '/trpc/', createContext: ({ req, res, info }) => ({ req, res, info }) });
  const { base, close } = await serve(createServer(handler));
  const url = `${base}/trpc/checkout`;
  return { send: (key, tag) => postJson(url, key, { tag }), close };
}

/** A server whose one mutation is the four-step checkout, in lease mode (steps need it). */
export function startStepsApp(framework: Framework, engine: Idempotency, failOnce: FailOnce): Promise<App> {
  return framework === 'Yoga' ? yogaStepsApp(engine, failOnce) : trpcStepsApp(engine, failOnce);
}
