import { createSchema, createYoga } from 'graphql-yoga';
import { useIdempotency } from 'oncely/envelop';
import type { DemoDatabase } from '../shared/db.js';
import { type ShopServices, fakeServices } from '../shared/providers.js';
import { type Context, resolvers } from './resolvers.js';
import { typeDefs } from './schema.js';

export interface YogaAppOptions {
  db: DemoDatabase;
  /** The payment provider and mailer the checkout calls; default: in-memory fakes. */
  services?: ShopServices;
  /**
   * Claim, the shop's writes and the stored result in one transaction. Default false: lease mode,
   * where `checkout` runs as steps (steps refuse to run in transactional mode).
   */
  transactional?: boolean;
  /** Yoga's logger. Default true. */
  logging?: boolean;
}

/** The orders/payments API, mountable anywhere Yoga runs (node:http, Express, a test). */
export function createYogaApp({ db, services = fakeServices(), transactional = false, logging = true }: YogaAppOptions) {
  return createYoga({
    schema: createSchema<Context>({ typeDefs, resolvers }),
    context: () => ({ prisma: db.prisma, services }),
    batching: true,
    logging,
    plugins: [
      useIdempotency<Context & { request: Request }>({
        store: db.store,
        // Keys are scoped per customer (a real app would use the authenticated account).
        getTenant: ({ request }) => request.headers.get('x-customer') ?? 'anonymous',
        // Every mutation needs a key: in the Idempotency-Key header, extensions, the argument or @idempotent.
        required: true,
        transactional,
      }),
    ],
  });
}
