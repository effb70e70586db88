// The Worker under test: the example Worker (examples/worker) plus routes only tests call.
import type { D1Database } from '@cloudflare/workers-types';
import { GLOBAL_TENANT, createIdempotency } from 'oncely';
import { idempotent } from 'oncely/http';
import { PrismaStore } from 'oncely/prisma';
import { type CheckoutBody, type Env, checkoutHandler, createApp } from '../../examples/worker/src/worker.ts';
import { chargeCard } from '../../examples/worker/src/fake-provider.ts';
import type { Tenant as SourceTenant } from '../../src/index.js';
import { type ConformanceTarget, conformanceTarget } from '../http/support/target.ts';
import { contractTests } from './contract-tests.ts';

const apps = new WeakMap<D1Database, ReturnType<typeof createApp>>();
const shortRetention = new WeakMap<D1Database, (request: Request) => Promise<Response>>();
const shortLease = new WeakMap<D1Database, (request: Request) => Promise<Response>>();
const conformance = new WeakMap<D1Database, Map<string, ConformanceTarget>>();

/** The HTTP conformance target (test/http/support/target.ts) on this D1 database, one per in-progress mode. */
function conformanceTargetFor(env: Env, store: PrismaStore, mode: 'reject' | 'wait'): ConformanceTarget {
  let targets = conformance.get(env.DB);
  if (!targets) conformance.set(env.DB, (targets = new Map()));
  let target = targets.get(mode);
  if (!target) {
    // Keys scoped per client by X-Client, so the suite's per-client test runs too. The target is typed
    // from src/ while the Worker runs the package's build: one GLOBAL_TENANT (Symbol.for), two declarations.
    const tenant = (request: Request) => (request.headers.get('x-client') ?? GLOBAL_TENANT) as SourceTenant;
    target = conformanceTarget({ store, inProgress: mode, operation: `conformance-${mode}`, tenant });
    targets.set(mode, target);
  }
  return target;
}

/** `bytes` as a stream of `count` pieces, `gapMs` apart. */
function inPieces(bytes: Uint8Array, count: number, gapMs: number): ReadableStream<Uint8Array> {
  const size = Math.ceil(bytes.length / count);
  let sent = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (sent > 0) await new Promise((done) => setTimeout(done, gapMs));
      controller.enqueue(bytes.subarray(sent * size, (sent + 1) * size));
      sent += 1;
      if (sent === count) controller.close();
    },
  });
}

function appFor(env: Env): ReturnType<typeof createApp> {
  let app = apps.get(env.DB);
  if (!app) {
    app = createApp(env.DB);
    apps.set(env.DB, app);
  }
  return app;
}

/** What an attempt threw, as JSON: name, oncely code, message. */
function described(error: unknown): { name: string; code?: string; message: string } {
  const e = error as { name?: string; code?: string; message?: string };
  return { name: e?.name ?? typeof error, ...(e?.code ? { code: e.code } : {}), message: e?.message ?? String(error) };
}

async function attempt(run: () => unknown): Promise<{ ok: true } | { ok: false; error: ReturnType<typeof described> }> {
  try {
    await run();
    return { ok: true };
  } catch (error) {
    return { ok: false, error: described(error) };
  }
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const app = appFor(env);
    const url = new URL(request.url);

    // One test of oncely's store contract, against a PrismaStore on this Worker's D1 database.
    if (url.pathname === '/test/contract') {
      const name = url.searchParams.get('name') ?? '';
      const test = contractTests(() => app.store).get(name);
      if (!test) return Response.json({ error: `no contract test named "${name}"` }, { status: 404 });
      const started = Date.now();
      const result = await attempt(test);
      return Response.json({ ...result, ms: Date.now() - started });
    }

    // What each use of transactions does on D1.
    if (url.pathname === '/test/d1-limits') {
      const key = () => crypto.randomUUID();
      return Response.json({
        storeWithTransactionOptions: await attempt(() => new PrismaStore({ client: app.prisma, transaction: { timeout: 5_000 } })),
        transactionalMode: await attempt(() =>
          createIdempotency({ store: app.store, transactional: true }).run({ tenant: 't', operation: 'd1-limits', key: key(), input: {} }, () => 'ran'),
        ),
        databaseStep: await attempt(() =>
          createIdempotency({ store: app.store }).run({ tenant: 't', operation: 'd1-limits', key: key(), input: {} }, (claim) =>
            claim.databaseStep('write', async () => 'ran'),
          ),
        ),
        prismaInteractiveTransaction: await attempt(() => app.prisma.$transaction(async () => 'ran')),
        leaseMode: await attempt(() => createIdempotency({ store: app.store }).run({ tenant: 't', operation: 'd1-limits', key: key(), input: {} }, () => 'ran')),
      });
    }

    // The control: the same checkout with no idempotency, to show the counting catches duplicates.
    if (url.pathname === '/unguarded/checkout' && request.method === 'POST') {
      const body = (await request.json()) as CheckoutBody;
      if (body.delayMs) await new Promise((done) => setTimeout(done, body.delayMs));
      const charge = await chargeCard(app.prisma, `unguarded:${request.headers.get('Idempotency-Key')}`, body.amount);
      return Response.json({ orderId: crypto.randomUUID(), amount: body.amount, chargeKey: charge.chargeKey }, { status: 201 });
    }

    // The conformance target contract (runHttpConformance), with PrismaStore on D1.
    const conformanceMode = /^\/conformance\/(reject|wait)$/.exec(url.pathname)?.[1] as 'reject' | 'wait' | undefined;
    if (conformanceMode) return conformanceTargetFor(env, app.store, conformanceMode).fetch(request);

    // The example's checkout with answers kept for one second only: a retry after that runs again.
    if (url.pathname === '/short-retention/checkout') {
      let handler = shortRetention.get(env.DB);
      if (!handler) {
        handler = idempotent(checkoutHandler(app.prisma), { store: app.store, operation: 'short-retention-checkout', retention: '1s' });
        shortRetention.set(env.DB, handler);
      }
      return handler(request);
    }

    // The example's checkout with a 1 s lease, renewed every 300 ms while its request runs.
    if (url.pathname === '/short-lease/checkout') {
      let handler = shortLease.get(env.DB);
      if (!handler) {
        const checkout = checkoutHandler(app.prisma);
        // X-Work-After-Charge-Ms: the request keeps working that long after the charge (writing the
        // order, say). X-Stream-Answer: the answer goes out in 5 pieces 300 ms apart.
        const slowAfterCharge = async (inner: Request) => {
          const response = await checkout(inner);
          await new Promise((done) => setTimeout(done, Number(inner.headers.get('x-work-after-charge-ms') ?? 0)));
          if (!inner.headers.has('x-stream-answer')) return response;
          return new Response(inPieces(new Uint8Array(await response.arrayBuffer()), 5, 300), { status: response.status, headers: response.headers });
        };
        handler = idempotent(slowAfterCharge, { store: app.store, operation: 'short-lease-checkout', lease: '1s', heartbeat: '300ms' });
        shortLease.set(env.DB, handler);
      }
      return handler(request);
    }

    return app.fetch(request);
  },
};
