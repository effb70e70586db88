// A Cloudflare Worker taking payments with oncely: POST /checkout charges a (fake) provider once
// per Idempotency-Key, however often the client retries; every retry gets the first answer back
// with `Idempotent-Replayed: true`. Records live in D1 through Prisma (@prisma/adapter-d1), in
// lease mode: D1 has no interactive transactions (see docs/workers.md).
import type { D1Database } from '@cloudflare/workers-types';
import { PrismaD1 } from '@prisma/adapter-d1';
import { idempotencyOf, idempotent } from 'oncely/http';
import { PrismaStore } from 'oncely/prisma';
import { PrismaClient } from '../../../generated/worker/client.ts';
import { chargeCard, providerLedger } from './fake-provider.ts';

export interface Env {
  DB: D1Database;
}

export interface CheckoutBody {
  amount: number;
  /** Test hook: how long the provider call takes, so that duplicates overlap the first run. */
  delayMs?: number;
}

type Handler = (request: Request) => Promise<Response>;

/** The Worker's routes over one D1 database. */
export function createApp(db: D1Database): { prisma: PrismaClient; store: PrismaStore<PrismaClient>; fetch: Handler } {
  const prisma = new PrismaClient({ adapter: new PrismaD1(db) });
  const store = new PrismaStore({ client: prisma });

  // Duplicates arriving while the first still runs wait for its answer instead of a 409.
  const checkout = idempotent(checkoutHandler(prisma), { store, operation: 'checkout', inProgress: 'wait', methods: ['POST'] });

  return {
    prisma,
    store,
    fetch: async (request) => {
      const { pathname } = new URL(request.url);
      if (pathname === '/checkout') return checkout(request);
      if (pathname === '/provider/charges' && request.method === 'GET') return Response.json(await providerLedger(prisma));
      return new Response('not found', { status: 404 });
    },
  };
}

/** POST /checkout, run under oncely's claim: validates the order, charges the provider, answers 201. */
export function checkoutHandler(prisma: PrismaClient): Handler {
  return async (request) => {
    const idempotency = idempotencyOf(request);
    if (!idempotency) throw new Error('checkoutHandler runs only inside idempotent()');
    const body = (await request.json()) as CheckoutBody;
    if (!Number.isInteger(body.amount) || body.amount <= 0) {
      return Response.json({ error: 'amount must be a positive integer (cents)' }, { status: 400 });
    }
    if (body.delayMs) await new Promise((done) => setTimeout(done, body.delayMs));
    // A recorded step: a retry after a crash reuses its result. step.key, stable across retries and
    // takeovers of this key, is what a real provider gets as its own idempotency key.
    const charge = await idempotency.step('charge', (step) => chargeCard(prisma, step.key, body.amount));
    const orderId = crypto.randomUUID();
    return Response.json({ orderId, amount: body.amount, chargeKey: charge.chargeKey }, { status: 201, headers: { Location: `/orders/${orderId}` } });
  };
}

// One client and store per D1 binding: workerd reuses an isolate for many requests.
const apps = new WeakMap<D1Database, ReturnType<typeof createApp>>();

export default {
  fetch(request: Request, env: Env): Promise<Response> {
    let app = apps.get(env.DB);
    if (!app) {
      app = createApp(env.DB);
      apps.set(env.DB, app);
    }
    return app.fetch(request);
  },
};
