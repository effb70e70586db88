// Type-level specification, checked by `npx tsc --noEmit` (vitest does not run *.test-d.ts files).
// The documented usage infers its types: no `any` reaches user code, the tRPC context flows into
// the option callbacks, and the transaction handle `tx` is the client's own transaction client,
// typed through the store. Each `// @ts-expect-error` line proves a type is not `any` (an `any`
// would accept it and the directive itself would then fail).
import * as nodeTest from 'node:test';
import { initTRPC } from '@trpc/server';
import type { YogaInitialContext } from 'graphql-yoga';
import { expectTypeOf } from 'vitest';
import type { PrismaClient } from '../../generated/sqlite/client.js';
import { createIdempotency, type ClaimContext, type TransactionOf } from '../../src/index.js';
import { useIdempotency, type IdempotencyPluginContext, type RequiredTarget } from '../../src/envelop/index.js';
import { PrismaStore, type PrismaClientLike, type TransactionClientOf } from '../../src/prisma/index.js';
import { type CallOptions, createIdempotencyMiddleware, createIdempotentProcedure } from '../../src/trpc/index.js';
import { idempotentMutationOptions } from '../../src/client/tanstack-query.js';
import type { RedisSubscriberLike } from '../../src/redis/index.js';
import type { ContractRunner, HttpConformanceRunner } from '../../src/testing/index.js';

declare const prisma: PrismaClient;
/** The parameter of `prisma.$transaction(async (tx) => ...)`: Prisma.TransactionClient. */
type PrismaTx = Parameters<Extract<Parameters<PrismaClient['$transaction']>[0], (...args: never[]) => unknown>>[0];

type IsAny<T> = 0 extends 1 & T ? true : false;

// --- PrismaStore: the transaction handle is the client's transaction client.
const store = new PrismaStore({ client: prisma });
expectTypeOf(store).toEqualTypeOf<PrismaStore<PrismaClient>>();
expectTypeOf<TransactionClientOf<PrismaClient>>().toEqualTypeOf<PrismaTx>();
expectTypeOf<TransactionOf<typeof store>>().toEqualTypeOf<PrismaTx>();
expectTypeOf<IsAny<TransactionClientOf<PrismaClient>>>().toEqualTypeOf<false>();
// Prisma 7's transaction client keeps the $transaction type: it is its own transaction client.
expectTypeOf<TransactionClientOf<PrismaTx>>().toEqualTypeOf<PrismaTx>();
// The structural default (no interactive $transaction) gives what the store uses.
expectTypeOf<TransactionClientOf<PrismaClientLike>>().toEqualTypeOf<PrismaClientLike>();
expectTypeOf<TransactionOf<PrismaStore>>().toEqualTypeOf<PrismaClientLike>();

// --- The engine: claim.tx is typed from the store.
const engine = createIdempotency({ store });
engine.run({ tenant: 't', operation: 'op', key: 'k' }, async (claim) => {
  expectTypeOf(claim).toEqualTypeOf<ClaimContext<PrismaTx>>();
  const order = await claim.tx?.order.create({ data: { id: 'o', customer: 'c', item: 'i', quantity: 1, amount: 1, status: 's' } });
  // @ts-expect-error tx is the Prisma transaction client, not any
  claim.tx?.noSuchModel;
  return order?.id;
});

// --- tRPC: ctx and meta flow from the procedure into the callbacks; tx from the store.
interface Ctx {
  user: { accountId: string };
  req: Request;
}
const t = initTRPC.context<Ctx>().meta<{ scope: string }>().create();
const idempotentProcedure = t.procedure.use(
  createIdempotencyMiddleware({
    store,
    transactional: true,
    getTenant: ({ ctx, meta }) => {
      expectTypeOf(ctx.user.accountId).toEqualTypeOf<string>();
      expectTypeOf(meta).toEqualTypeOf<{ scope: string } | undefined>();
      // @ts-expect-error ctx is the procedure's context, not any
      ctx.noSuchField;
      return ctx.user.accountId;
    },
  }),
);
t.router({
  pay: idempotentProcedure.mutation(({ ctx }) => {
    expectTypeOf(ctx.idempotency.key).toEqualTypeOf<string>();
    expectTypeOf(ctx.idempotency.tx).toEqualTypeOf<PrismaTx | undefined>();
    expectTypeOf(ctx.user.accountId).toEqualTypeOf<string>();
    return ctx.idempotency.tx?.order.count();
  }),
});
// With `required: false`, ctx.idempotency may be null; with an engine, tx comes from the engine.
t.procedure
  .use(createIdempotencyMiddleware({ engine, required: false, getTenant: ({ ctx }) => ctx.user.accountId }))
  .mutation(({ ctx }) => {
    expectTypeOf(ctx.idempotency).toEqualTypeOf<import('../../src/trpc/index.js').IdempotencyContext<PrismaTx> | null>();
  });
// .concat() cannot pass its context in: an annotated callback names it.
t.procedure.concat(createIdempotentProcedure({ store, getTenant: ({ ctx }: CallOptions<Ctx>) => ctx.user.accountId })).mutation(({ ctx }) => {
  expectTypeOf(ctx.idempotency.tx).toEqualTypeOf<PrismaTx | undefined>();
});
// Without annotation the context is unknown, never any.
createIdempotencyMiddleware({
  store,
  getTenant: ({ ctx }) => {
    expectTypeOf(ctx).toEqualTypeOf<unknown>();
    return 'tenant';
  },
});

// --- Yoga/Envelop: the default context is Yoga's initial context, structurally.
useIdempotency({
  store,
  getTenant: ({ request }) => {
    expectTypeOf(request).toEqualTypeOf<Request>();
    return request.headers.get('x-tenant') ?? 'anonymous';
  },
  required: (target) => {
    expectTypeOf<IsAny<typeof target.context>>().toEqualTypeOf<false>();
    return target.field !== 'Mutation.ping';
  },
});
// @ts-expect-error the default context is not any
useIdempotency({ store, getTenant: (ctx) => ctx.user.accountId });
type YogaContext = YogaInitialContext & { user: { accountId: string } };
useIdempotency<YogaContext>({
  store,
  getTenant: (ctx) => ctx.user.accountId,
  required: (target: RequiredTarget<YogaContext>) => target.context.user.accountId !== 'admin',
});
// Resolvers type tx through their context, with the same helper.
type ResolverContext = YogaContext & IdempotencyPluginContext<TransactionClientOf<PrismaClient>>;
declare const resolverContext: ResolverContext;
expectTypeOf(resolverContext.idempotency?.tx).toEqualTypeOf<PrismaTx | undefined>();

// --- TanStack Query: the mutationFn's context is typed, never any.
idempotentMutationOptions({
  mutationFn: async (vars: { orderId: string }, context) => {
    expectTypeOf(context.idempotencyKey).toEqualTypeOf<string>();
    return vars.orderId;
  },
});
idempotentMutationOptions({
  mutationFn: async (vars: { orderId: string }, context: { idempotencyKey: string }) => `${vars.orderId}:${context.idempotencyKey}`,
});

// --- Redis: the subscriber's listeners are typed per event.
declare const subscriber: RedisSubscriberLike;
subscriber.on('message', (channel, message) => {
  expectTypeOf(channel).toEqualTypeOf<string>();
  expectTypeOf(message).toEqualTypeOf<string>();
});

// --- oncely/testing: node:test's describe and it fit both suites' runner type (as vitest's do).
const nodeRunner: ContractRunner = { describe: nodeTest.describe, it: nodeTest.it };
const nodeHttpRunner: HttpConformanceRunner = nodeRunner;
void nodeHttpRunner;
