/**
 * Steps through tRPC (the fetch adapter in process, MemoryStore): a checkout of three external
 * steps, interrupted after its second step, is resumed by the retry at the third.
 */
import { randomUUID } from 'node:crypto';
import { TRPCClientError, createTRPCClient, httpLink } from '@trpc/client';
import { initTRPC } from '@trpc/server';
import { fetchRequestHandler } from '@trpc/server/adapters/fetch';
import superjson from 'superjson';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Idempotency, MemoryStore } from '../../src/index.js';
import { createIdempotencyMiddleware } from '../../src/trpc/index.js';

const LEASE = 10_000;

type Behaviour = 'complete' | 'throw' | 'freeze' | 'reorder';

interface Shop {
  runs: Map<string, number>;
  behaviour: Behaviour;
  frozen?: Promise<void>;
}

function router(shop: Shop, engine: Idempotency) {
  const t = initTRPC.context<{ req: Request; resHeaders: Headers }>().create({
    transformer: superjson,
    errorFormatter: ({ shape, error }) => ({ ...shape, data: { ...shape.data, oncelyCode: (error.cause as { code?: unknown } | undefined)?.code ?? null } }),
  });
  const ran = (key: string, step: string) => {
    const id = `${key}/${step}`;
    const n = (shop.runs.get(id) ?? 0) + 1;
    shop.runs.set(id, n);
    return n;
  };
  const idempotent = t.procedure.use(createIdempotencyMiddleware({ engine, getTenant: () => 'shop' }));
  return t.router({
    checkout: idempotent.input((raw) => raw as { cart: string; idempotencyKey: string }).mutation(async ({ input, ctx }) => {
      const idem = ctx.idempotency;
      const behaviour = shop.behaviour;
      const reservation = await idem.step('reserve', () => ({ id: `res-${input.cart}-${ran(idem.key, 'reserve')}`, until: new Date(Date.UTC(2026, 6, 1)) }));
      const charge = await idem.step(behaviour === 'reorder' ? 'ship' : 'charge', ({ key }) => ({
        id: `ch-${input.cart}-${ran(idem.key, 'charge')}`,
        cents: 4200n,
        keyFromStep: key === idem.deriveKey('charge'),
      }));
      if (behaviour === 'throw') throw new Error('the process crashed after the charge');
      if (behaviour === 'freeze') await shop.frozen;
      const receipt = await idem.step('receipt', async () => `rcpt-${input.cart}-${ran(idem.key, 'receipt')}`);
      return { reservation, charge, receipt };
    }),
  });
}

function setup() {
  const shop: Shop = { runs: new Map(), behaviour: 'complete' };
  // No heartbeat: a frozen run stops renewing, as a process that died would.
  const engine = new Idempotency({ store: new MemoryStore(), lease: LEASE, heartbeat: false });
  const appRouter = router(shop, engine);
  const client = createTRPCClient<typeof appRouter>({
    links: [
      httpLink({
        url: 'http://trpc.test/trpc',
        transformer: superjson,
        fetch: (url, init) => fetchRequestHandler({ endpoint: '/trpc', req: new Request(url, init as RequestInit), router: appRouter, createContext: ({ req, resHeaders }) => ({ req, resHeaders }) }),
      }),
    ],
  });
  return { shop, client };
}

const runsOf = (shop: Shop, key: string) => ['reserve', 'charge', 'receipt'].map((step) => shop.runs.get(`${key}/${step}`) ?? 0);

const expected = (cart: string) => ({
  reservation: { id: `res-${cart}-1`, until: new Date(Date.UTC(2026, 6, 1)) },
  charge: { id: `ch-${cart}-1`, cents: 4200n, keyFromStep: true },
  receipt: `rcpt-${cart}-1`,
});

async function failure(promise: Promise<unknown>): Promise<TRPCClientError<ReturnType<typeof router>>> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof TRPCClientError)) throw new Error(`expected a TRPCClientError, got ${String(error)}`);
  return error;
}

describe('tRPC: steps', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date'], now: Date.UTC(2026, 5, 1) });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('a run that failed after two steps is resumed at the third by its retry; the answer is an uninterrupted run’s', async () => {
    const { shop, client } = setup();
    const key = randomUUID();
    shop.behaviour = 'throw';
    const error = await failure(client.checkout.mutate({ cart: 'cart-1', idempotencyKey: key }));
    expect(error.data?.code).toBe('INTERNAL_SERVER_ERROR');
    expect(runsOf(shop, key)).toEqual([1, 1, 0]);

    shop.behaviour = 'complete';
    expect(await client.checkout.mutate({ cart: 'cart-1', idempotencyKey: key })).toEqual(expected('cart-1'));
    expect(runsOf(shop, key)).toEqual([1, 1, 1]);
    // Uninterrupted, under another key: the same answer.
    expect(await client.checkout.mutate({ cart: 'cart-1', idempotencyKey: randomUUID() })).toEqual(expected('cart-1'));
    // And the resumed run's answer replays.
    expect(await client.checkout.mutate({ cart: 'cart-1', idempotencyKey: key })).toEqual(expected('cart-1'));
    expect(runsOf(shop, key)).toEqual([1, 1, 1]);
  });

  it('a run frozen after two steps loses its lease; the retry resumes at the third step', async () => {
    const { shop, client } = setup();
    const key = randomUUID();
    let thaw!: () => void;
    shop.behaviour = 'freeze';
    shop.frozen = new Promise((resolve) => {
      thaw = resolve;
    });
    const stale = failure(client.checkout.mutate({ cart: 'cart-1', idempotencyKey: key }));
    while (runsOf(shop, key)[1] === 0) await new Promise((resolve) => setImmediate(resolve));
    expect((await failure(client.checkout.mutate({ cart: 'cart-1', idempotencyKey: key }))).data?.code).toBe('CONFLICT');

    vi.setSystemTime(Date.now() + LEASE);
    shop.behaviour = 'complete';
    expect(await client.checkout.mutate({ cart: 'cart-1', idempotencyKey: key })).toEqual(expected('cart-1'));
    expect(runsOf(shop, key)).toEqual([1, 1, 1]);

    thaw();
    expect((await stale).message).toBe('The idempotency lease was lost.');
    expect(await client.checkout.mutate({ cart: 'cart-1', idempotencyKey: key })).toEqual(expected('cart-1'));
  });

  it('a retry reaching its steps in another order gets IDEMPOTENCY_STEP_MISMATCH (500); the fixed code resumes', async () => {
    const { shop, client } = setup();
    const key = randomUUID();
    shop.behaviour = 'throw';
    await failure(client.checkout.mutate({ cart: 'cart-1', idempotencyKey: key }));
    shop.behaviour = 'reorder';
    const error = await failure(client.checkout.mutate({ cart: 'cart-1', idempotencyKey: key }));
    expect(error.data).toMatchObject({ code: 'INTERNAL_SERVER_ERROR', httpStatus: 500, oncelyCode: 'IDEMPOTENCY_STEP_MISMATCH' });
    expect(error.message).toBe("oncely: the code reached step 'ship' at position 1 but the recorded run had 'charge' there; steps must run in the same order on every retry.");
    shop.behaviour = 'complete';
    expect(await client.checkout.mutate({ cart: 'cart-1', idempotencyKey: key })).toEqual(expected('cart-1'));
    expect(runsOf(shop, key)).toEqual([1, 1, 1]);
  });

  it('another cart under the key of a failed run with steps is refused (422)', async () => {
    const { shop, client } = setup();
    const key = randomUUID();
    shop.behaviour = 'throw';
    await failure(client.checkout.mutate({ cart: 'cart-1', idempotencyKey: key }));
    const error = await failure(client.checkout.mutate({ cart: 'cart-2', idempotencyKey: key }));
    expect(error.data).toMatchObject({ code: 'UNPROCESSABLE_CONTENT', oncelyCode: 'IDEMPOTENCY_KEY_REUSED' });
    expect(runsOf(shop, key)).toEqual([1, 1, 0]);
  });
});
