// What the snippets of README.md and docs/*.md take from "your app", declared once for all of them.
// Library symbols are not declared here: a snippet imports what it uses from a library (except the
// few excerpts that continue an earlier block of the same page, listed below).
// This file has no top-level import, so its declarations are global.

/** Your Prisma client, generated from a schema that includes oncely's model. */
declare const prisma: import('./generated/sqlite/client.js').PrismaClient;
type Prisma = import('./generated/sqlite/client.js').PrismaClient;
/** Your PrismaClient class (docs/workers.md builds one over D1; there it is the client generated for workerd). */
declare const PrismaClient: typeof import('./generated/sqlite/client.js').PrismaClient;

// GraphQL Yoga: your schema.
declare const typeDefs: string;
declare const resolvers: NonNullable<Parameters<typeof import('graphql-yoga').createSchema>[0]['resolvers']>;

// tRPC: your context, `t` (created with the superjson transformer), input schema and router type.
type Context = import('./app.js').Context;
type AppRouter = import('./app.js').AppRouter;
declare const t: typeof import('./app.js').t;
declare const PaySchema: typeof import('./app.js').PaySchema;
declare const auth: typeof import('./app.js').auth;
/** Your tRPC client (docs/client.md builds it in its tRPC section). */
declare const trpc: import('@trpc/client').TRPCClient<AppRouter>;

// Your business code.
declare function charge(input: { orderId: string }, options: { idempotencyKey: string }): Promise<{ id: string }>;
declare const payments: { charge(input: unknown, options: { idempotencyKey: string }): Promise<{ id: string }> };
declare function applyEvent(event: { id: string; type: string; data: unknown }, options: { downstreamKey: string }): Promise<{ applied: boolean }>;
declare const myStore: import('oncely').IdempotencyStore;

// Client-side values.
declare const orderId: string;
declare const key: string;
declare const formValues: { orderId: string; amount: number };
declare const api: { placeOrder(values: { orderId: string; amount: number }, key: string): Promise<{ id: string }> };
declare const PAY: import('@apollo/client').TypedDocumentNode<{ payOrder: { id: string } }, { orderId: string }>;
declare const variables: { orderId: string };
