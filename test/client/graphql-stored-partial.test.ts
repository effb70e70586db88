import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApolloClient, ApolloLink, HttpLink, InMemoryCache, gql } from '@apollo/client';
import { Client, fetchExchange } from '@urql/core';
import { classifyFailure, createKeyLifecycle } from 'oncely/client';
import { createIdempotencyLink } from 'oncely/client/apollo';
import { idempotencyExchange } from 'oncely/client/urql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DemoDatabase, openDemoDatabase } from '../../examples/shared/db.js';
import { createYogaApp } from '../../examples/yoga/app.js';
import { flakyFetch, listen } from './support.js';

// The real Yoga example, not transactional, whose payOrder takes the payment and then fails
// unexpectedly while it reads the payment's order (a nullable nested field): the operation-level
// default stores that partial answer (running payOrder again would charge twice). Its error is a
// masked INTERNAL_SERVER_ERROR, a code clients retry; the server marks it stored and the client
// helpers take the answer as definitive, so the key settles instead of replaying forever.

const PLACE_ORDER = /* GraphQL */ `
  mutation Place($customer: String!, $item: String!, $quantity: Int!) {
    placeOrder(input: { customer: $customer, item: $item, quantity: $quantity }) { id amount }
  }
`;
const PAY_ORDER = /* GraphQL */ `
  mutation Pay($orderId: ID!) { payOrder(orderId: $orderId) { id amount order { id status } } }
`;

describe('a stored partial answer of the Yoga example, through the client helpers', () => {
  let db: DemoDatabase;
  let url: string;
  let close: () => void;
  // `order.findUnique` throws once it has been called `failAfter` more times (payOrder's own
  // lookup passes; Payment.order's fails).
  const fault = { failAfter: -1 };

  beforeAll(async () => {
    db = await openDemoDatabase(`file:${join(tmpdir(), `oncely-client-partial-${randomUUID()}.db`)}`);
    const order = new Proxy(db.prisma.order, {
      get(target, name, receiver) {
        const value = Reflect.get(target, name, receiver);
        if (name !== 'findUnique') return value;
        return (...args: unknown[]) => {
          if (fault.failAfter === 0) {
            fault.failAfter = -1;
            throw new Error('connection reset while reading the order');
          }
          if (fault.failAfter > 0) fault.failAfter--;
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
    const prisma = new Proxy(db.prisma, { get: (target, name, receiver) => (name === 'order' ? order : Reflect.get(target, name, receiver)) });
    const yoga = createYogaApp({ db: { ...db, prisma }, transactional: false, logging: false });
    const started = await listen(yoga);
    url = `${started.url}/graphql`;
    close = () => started.server.close();
  });
  afterAll(async () => {
    close?.();
    await db?.prisma.$disconnect();
  });

  const paymentsOf = (orderId: string) => db.prisma.payment.count({ where: { orderId } });

  it('Apollo + KeyLifecycle: the partial answer spends the key; a re-submit with it replays the same answer, one payment', async () => {
    const customer = `c-${randomUUID()}`;
    const flaky = flakyFetch();
    const apollo = new ApolloClient({
      cache: new InMemoryCache(),
      link: ApolloLink.from([createIdempotencyLink(), new HttpLink({ uri: url, fetch: flaky.fetch, headers: { 'x-customer': customer } })]),
    });
    const placed = await apollo.mutate<{ placeOrder: { id: string } }>({ mutation: gql(PLACE_ORDER), variables: { customer, item: 'coffee', quantity: 1 } });
    const orderId = placed.data!.placeOrder.id;

    const payment = createKeyLifecycle();
    fault.failAfter = 1;
    const pay = (key: string) => apollo.mutate({ mutation: gql(PAY_ORDER), variables: { orderId }, context: { idempotencyKey: key } });
    const failure = await payment.run({ orderId }, pay).then(
      () => undefined,
      (error: unknown) => error,
    );
    const errors = (failure as { errors?: Array<{ path?: unknown; extensions?: unknown }> }).errors;
    expect(errors).toEqual([
      expect.objectContaining({ path: ['payOrder', 'order'], extensions: { code: 'INTERNAL_SERVER_ERROR', idempotency: { stored: true } } }),
    ]);
    expect(classifyFailure(failure)).toBe('definitive');
    // Settled: the next submission is a new operation. (Before the stored mark the key was kept,
    // and every "retry" only replayed this answer.)
    expect(payment.currentKey).toBeUndefined();
    expect(await paymentsOf(orderId)).toBe(1);

    // The same key again (a re-submit of the form): the stored answer, replayed as it was sent.
    const key = flaky.sent.at(-1)!.headers.get('idempotency-key') ?? JSON.parse(flaky.sent.at(-1)!.body).extensions.idempotencyKey;
    const again = await pay(key).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(flaky.sent.at(-1)!.replayed).toBe(true);
    expect((again as { errors?: unknown }).errors).toEqual(errors);
    expect((again as { data?: unknown }).data).toEqual((failure as { data?: unknown }).data);
    expect(await paymentsOf(orderId)).toBe(1);
  });

  it('urql: classifyFailure(result.error) of the partial answer is definitive', async () => {
    const customer = `c-${randomUUID()}`;
    const urql = new Client({ url, fetchOptions: { headers: { 'x-customer': customer } }, exchanges: [idempotencyExchange(), fetchExchange] });
    const placed = await urql.mutation<{ placeOrder: { id: string } }>(PLACE_ORDER, { customer, item: 'bagel', quantity: 2 }).toPromise();
    const orderId = placed.data!.placeOrder.id;
    fault.failAfter = 1;
    const result = await urql.mutation(PAY_ORDER, { orderId }).toPromise();
    expect(result.data).toMatchObject({ payOrder: { amount: expect.any(Number), order: null } });
    expect(result.error?.graphQLErrors.map((e) => e.extensions)).toEqual([{ code: 'INTERNAL_SERVER_ERROR', idempotency: { stored: true } }]);
    expect(classifyFailure(result.error)).toBe('definitive');
    expect(await paymentsOf(orderId)).toBe(1);
  });
});
