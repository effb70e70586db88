import { createSchema, createYoga } from 'graphql-yoga';
import { useIdempotency } from 'oncely/envelop';
import type { DemoDatabase } from '../shared/db.js';
import { type Context, resolvers } from './resolvers.js';
import { typeDefs } from './schema.js';

export interface YogaAppOptions {
  db: DemoDatabase;
  /** Claim, the shop's writes and the stored result in one transaction. Default true. */
  transactional?: boolean;
  /** Yoga's logger. Default true. */
  logging?: boolean;
}

/** The orders/payments API, mountable anywhere Yoga runs (node:http, Express, a test). */
export function createYogaApp({ db, transactional = true, logging = true }: YogaAppOptions) {
  return createYoga({
    schema: createSchema<Context>({ typeDefs, resolvers }),
    context: () => ({ prisma: db.prisma }),
    batching: true,
    logging,
    plugins: [
      useIdempotency<Context & { request: Request }>({
        store: db.store,
        // Keys are scoped per customer (a real app would use the authenticated account).
        getTenant: ({ request }) => request.headers.get('x-customer') ?? 'anonymous',
        // Both mutations need a key: in the Idempotency-Key header, extensions, the argument or @idempotent.
        required: true,
        transactional,
      }),
    ],
  });
}
