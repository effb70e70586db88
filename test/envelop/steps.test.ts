/**
 * Steps through GraphQL Yoga (in process, MemoryStore): a checkout of three external steps,
 * interrupted after its second step, is resumed by the retry at the third, field-level and
 * operation-level alike.
 */
import { randomUUID } from 'node:crypto';
import { createSchema, createYoga } from 'graphql-yoga';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Idempotency, MemoryStore } from '../../src/index.js';
import { type IdempotencyPluginContext, useIdempotency } from '../../src/envelop/index.js';

const LEASE = 10_000;

type Behaviour = 'complete' | 'throw' | 'freeze' | 'reorder';

/** What the checkout did: executions per step and key, and how the next run behaves. */
interface Shop {
  runs: Map<string, number>;
  behaviour: Behaviour;
  /** A frozen run waits here (a process that stopped without dying). */
  frozen?: Promise<void>;
}

const typeDefs = /* GraphQL */ `
  type Query { ok: Boolean }
  type Checkout { reservation: String!, charge: String!, receipt: String!, keyFromStep: Boolean! }
  type Mutation {
    checkout(cart: String!, idempotencyKey: String): Checkout!
  }
`;

function app(shop: Shop, engine: Idempotency) {
  const ran = (key: string, step: string) => {
    const id = `${key}/${step}`;
    const n = (shop.runs.get(id) ?? 0) + 1;
    shop.runs.set(id, n);
    return n;
  };
  const schema = createSchema<IdempotencyPluginContext>({
    typeDefs,
    resolvers: {
      Mutation: {
        checkout: async (_: unknown, { cart }: { cart: string }, ctx: IdempotencyPluginContext) => {
          const idem = ctx.idempotency!;
          const behaviour = shop.behaviour;
          const reservation = await idem.step('reserve', () => `res-${cart}-${ran(idem.key, 'reserve')}`);
          const charged = await idem.step(behaviour === 'reorder' ? 'ship' : 'charge', ({ key }) => ({
            charge: `ch-${cart}-${ran(idem.key, 'charge')}`,
            keyFromStep: key === idem.deriveKey('charge'),
          }));
          if (behaviour === 'throw') throw new Error('the process crashed after the charge');
          if (behaviour === 'freeze') await shop.frozen;
          const receipt = await idem.step('receipt', async () => `rcpt-${cart}-${ran(idem.key, 'receipt')}`);
          return { reservation, charge: charged.charge, receipt, keyFromStep: charged.keyFromStep };
        },
      },
    },
  });
  return createYoga({ schema, plugins: [useIdempotency({ engine, getTenant: () => 'shop' })], logging: false, maskedErrors: false });
}

async function post(yoga: ReturnType<typeof app>, body: object, headers: Record<string, string> = {}) {
  const response = await yoga.fetch('http://yoga.test/graphql', { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  return { status: response.status, body: (await response.json()) as { data?: unknown; errors?: Array<{ message: string; extensions?: Record<string, unknown> }> } };
}

const fieldLevel = (key: string, cart = 'cart-1') => ({ query: 'mutation($cart: String!, $key: String) { checkout(cart: $cart, idempotencyKey: $key) { reservation charge receipt keyFromStep } }', variables: { cart, key } });
const operationLevel = (cart = 'cart-1') => ({ query: 'mutation Checkout($cart: String!) { checkout(cart: $cart) { reservation charge receipt keyFromStep } }', variables: { cart } });

const expected = (cart: string) => ({ checkout: { reservation: `res-${cart}-1`, charge: `ch-${cart}-1`, receipt: `rcpt-${cart}-1`, keyFromStep: true } });

function setup() {
  const shop: Shop = { runs: new Map(), behaviour: 'complete' };
  // No heartbeat: a frozen run stops renewing, as a process that died would.
  const engine = new Idempotency({ store: new MemoryStore(), lease: LEASE, heartbeat: false });
  return { shop, yoga: app(shop, engine) };
}

const runsOf = (shop: Shop, key: string) => ['reserve', 'charge', 'receipt'].map((step) => shop.runs.get(`${key}/${step}`) ?? 0);

describe('Yoga: steps', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date'], now: Date.UTC(2026, 5, 1) });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('field-level: a run that failed after two steps is resumed at the third by its retry; the answer is an uninterrupted run’s', async () => {
    const { shop, yoga } = setup();
    const key = randomUUID();
    shop.behaviour = 'throw';
    const failed = await post(yoga, fieldLevel(key));
    expect(failed.body.errors?.[0]?.message).toBe('the process crashed after the charge');
    expect(runsOf(shop, key)).toEqual([1, 1, 0]);

    shop.behaviour = 'complete';
    const retried = await post(yoga, fieldLevel(key));
    expect(retried).toEqual({ status: 200, body: { data: expected('cart-1') } });
    expect(runsOf(shop, key)).toEqual([1, 1, 1]);

    const other = randomUUID();
    expect((await post(yoga, fieldLevel(other))).body).toEqual({ data: expected('cart-1') });
    // A replay of the resumed run: nothing runs.
    const replay = await post(yoga, fieldLevel(key));
    expect(replay.body.data).toEqual(expected('cart-1'));
    expect(runsOf(shop, key)).toEqual([1, 1, 1]);
  });

  it('operation-level: a run frozen after two steps loses its lease; the retry resumes, the stale run can record nothing', async () => {
    const { shop, yoga } = setup();
    const key = randomUUID();
    let thaw!: () => void;
    shop.behaviour = 'freeze';
    shop.frozen = new Promise((resolve) => {
      thaw = resolve;
    });
    const stale = post(yoga, operationLevel(), { 'Idempotency-Key': key });
    while (runsOf(shop, key)[1] === 0) await new Promise((resolve) => setImmediate(resolve));

    const early = await post(yoga, operationLevel(), { 'Idempotency-Key': key });
    expect(early.status).toBe(409);

    vi.setSystemTime(Date.now() + LEASE);
    shop.behaviour = 'complete';
    const retried = await post(yoga, operationLevel(), { 'Idempotency-Key': key });
    expect(retried).toEqual({ status: 200, body: { data: expected('cart-1') } });
    expect(runsOf(shop, key)).toEqual([1, 1, 1]);

    // The frozen run wakes up: its third step runs (external: at-least-once) but is refused a record.
    thaw();
    const late = await stale;
    expect(late.body.errors?.[0]?.message).toBe('The idempotency lease was lost.');
    expect(runsOf(shop, key)).toEqual([1, 1, 2]);
    const replay = await post(yoga, operationLevel(), { 'Idempotency-Key': key });
    expect(replay.body).toEqual({ data: expected('cart-1') });
  });

  it('a retry reaching its steps in another order gets IDEMPOTENCY_STEP_MISMATCH (500), and the recorded steps stay', async () => {
    const { shop, yoga } = setup();
    const key = randomUUID();
    shop.behaviour = 'throw';
    await post(yoga, fieldLevel(key));
    shop.behaviour = 'reorder';
    const mismatch = await post(yoga, fieldLevel(key));
    expect(mismatch.status).toBe(500);
    expect(mismatch.body.errors?.[0]).toMatchObject({
      message: "oncely: the code reached step 'ship' at position 1 but the recorded run had 'charge' there; steps must run in the same order on every retry.",
      extensions: { code: 'IDEMPOTENCY_STEP_MISMATCH' },
    });
    shop.behaviour = 'complete';
    expect((await post(yoga, fieldLevel(key))).body).toEqual({ data: expected('cart-1') });
    expect(runsOf(shop, key)).toEqual([1, 1, 1]);
  });

  it('another cart under the key of a failed run with steps is refused (422)', async () => {
    const { shop, yoga } = setup();
    const key = randomUUID();
    shop.behaviour = 'throw';
    await post(yoga, fieldLevel(key));
    const reused = await post(yoga, fieldLevel(key, 'cart-2'));
    expect(reused.status).toBe(422);
    expect(reused.body.errors?.[0]?.extensions?.code).toBe('IDEMPOTENCY_KEY_REUSED');
    expect(runsOf(shop, key)).toEqual([1, 1, 0]);
  });
});
