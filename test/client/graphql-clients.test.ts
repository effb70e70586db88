import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApolloClient, ApolloLink, HttpLink, InMemoryCache, gql } from '@apollo/client';
import { RetryLink } from '@apollo/client/link/retry';
import { Client, fetchExchange } from '@urql/core';
import { retryExchange } from '@urql/exchange-retry';
import { createIdempotencyLink } from 'oncely/client/apollo';
import { idempotencyExchange } from 'oncely/client/urql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DemoDatabase, openDemoDatabase } from '../../examples/shared/db.js';
import { createYogaApp } from '../../examples/yoga/app.js';
import { type SentRequest, flakyFetch, listen } from './support.js';

// The real Yoga example (SQLite, transactional, keys required on mutations) with the real Apollo
// Client 4 and urql, oncely's link / exchange in front of their retry machinery.

const PLACE_ORDER = /* GraphQL */ `
  mutation Place($customer: String!, $item: String!, $quantity: Int!) {
    placeOrder(input: { customer: $customer, item: $item, quantity: $quantity }) { id item quantity amount }
  }
`;
const LEDGER = /* GraphQL */ `
  query Ledger { ledger { id orderId } }
`;

type Transport = 'extensions' | 'header';
interface PlacedOrder { id: string; item: string; quantity: number; amount: number }

/** The GraphQL request, sent as a POST body or (urql's queries) as GET parameters. */
function parsed(r: SentRequest): { query: string; extensions?: { idempotencyKey?: string } } {
  if (r.method === 'POST') return JSON.parse(r.body);
  const params = new URL(r.url).searchParams;
  const extensions = params.get('extensions');
  return { query: params.get('query') ?? '', ...(extensions ? { extensions: JSON.parse(extensions) } : {}) };
}
const extensionKey = (r: SentRequest) => parsed(r).extensions?.idempotencyKey;
const headerKey = (r: SentRequest) => r.headers.get('idempotency-key') ?? undefined;
const keyOf = (r: SentRequest, transport: Transport) => (transport === 'header' ? headerKey(r) : extensionKey(r));

describe('GraphQL client helpers against the Yoga example', () => {
  let db: DemoDatabase;
  let url: string;
  let close: () => void;

  beforeAll(async () => {
    db = await openDemoDatabase(`file:${join(tmpdir(), `oncely-client-yoga-${randomUUID()}.db`)}`);
    const yoga = createYogaApp({ db, logging: false });
    const started = await listen(yoga);
    url = `${started.url}/graphql`;
    close = () => started.server.close();
  });
  afterAll(async () => {
    close?.();
    await db?.prisma.$disconnect();
  });

  const ordersOf = (customer: string) => db.prisma.order.count({ where: { customer } });

  describe('Apollo Client 4: createIdempotencyLink + RetryLink + HttpLink', () => {
    const apollo = (flaky: ReturnType<typeof flakyFetch>, customer: string, transport?: Transport) =>
      new ApolloClient({
        cache: new InMemoryCache(),
        link: ApolloLink.from([
          createIdempotencyLink(transport ? { transport } : {}),
          new RetryLink({ delay: { initial: 1, max: 5, jitter: false }, attempts: { max: 4 } }),
          new HttpLink({ uri: url, fetch: flaky.fetch, headers: { 'x-customer': customer } }),
        ]),
      });

    for (const transport of ['extensions', 'header'] as const) {
      it(`retries a dropped answer with the same key (${transport}): one order, the replayed result`, async () => {
        const customer = `c-${randomUUID()}`;
        const flaky = flakyFetch();
        flaky.state.dropNext = 2;
        const client = apollo(flaky, customer, transport === 'extensions' ? undefined : transport);
        const { data } = await client.mutate<{ placeOrder: PlacedOrder }>({
          mutation: gql(PLACE_ORDER),
          variables: { customer, item: 'coffee', quantity: 2 },
        });
        expect(data?.placeOrder).toMatchObject({ item: 'coffee', quantity: 2, amount: 900 });
        expect(flaky.sent).toHaveLength(3);
        const keys = flaky.sent.map((r) => keyOf(r, transport));
        expect(keys[0]).toMatch(/^[0-9a-f-]{36}$/);
        expect(new Set(keys).size).toBe(1);
        // Only the chosen transport carries it.
        const other = transport === 'header' ? extensionKey : headerKey;
        expect(flaky.sent.map(other).filter(Boolean)).toEqual([]);
        expect(flaky.sent.at(-1)!.replayed).toBe(true);
        expect(await ordersOf(customer)).toBe(1);
      });
    }

    it('gives a new mutate() a new key, queries none, and honours a caller-chosen key from context', async () => {
      const customer = `c-${randomUUID()}`;
      const flaky = flakyFetch();
      const client = apollo(flaky, customer);
      const variables = { customer, item: 'bagel', quantity: 1 };
      await client.mutate({ mutation: gql(PLACE_ORDER), variables });
      await client.mutate({ mutation: gql(PLACE_ORDER), variables });
      expect(await ordersOf(customer)).toBe(2);
      await client.query({ query: gql(LEDGER), fetchPolicy: 'network-only' });
      const [a, b, query] = flaky.sent;
      expect(extensionKey(a!)).toBeDefined();
      expect(extensionKey(a!)).not.toBe(extensionKey(b!));
      expect(parsed(query!).query).toContain('ledger');
      expect(extensionKey(query!)).toBeUndefined();
      expect(headerKey(query!)).toBeUndefined();

      // A re-submit of the same form after a timeout: the caller passes the key it used before.
      const key = randomUUID();
      const first = await client.mutate<{ placeOrder: PlacedOrder }>({ mutation: gql(PLACE_ORDER), variables, context: { idempotencyKey: key } });
      const again = await client.mutate<{ placeOrder: PlacedOrder }>({ mutation: gql(PLACE_ORDER), variables, context: { idempotencyKey: key } });
      expect(again.data).toEqual(first.data);
      expect(flaky.sent.slice(-2).map(extensionKey)).toEqual([key, key]);
      expect(flaky.sent.at(-1)!.replayed).toBe(true);
      expect(await ordersOf(customer)).toBe(3);
    });
  });

  describe('urql: idempotencyExchange + retryExchange + fetchExchange', () => {
    const urql = (flaky: ReturnType<typeof flakyFetch>, customer: string, transport?: Transport) =>
      new Client({
        url,
        fetch: flaky.fetch,
        fetchOptions: { headers: { 'x-customer': customer } },
        exchanges: [
          idempotencyExchange(transport ? { transport } : {}),
          retryExchange({ initialDelayMs: 1, maxDelayMs: 5, randomDelay: false, maxNumberAttempts: 4 }),
          fetchExchange,
        ],
      });

    for (const transport of ['extensions', 'header'] as const) {
      it(`retries a dropped answer with the same key (${transport}): one order, the replayed result`, async () => {
        const customer = `c-${randomUUID()}`;
        const flaky = flakyFetch();
        flaky.state.dropNext = 2;
        const client = urql(flaky, customer, transport === 'extensions' ? undefined : transport);
        const result = await client.mutation<{ placeOrder: PlacedOrder }>(PLACE_ORDER, { customer, item: 'coffee', quantity: 3 }).toPromise();
        expect(result.error).toBeUndefined();
        expect(result.data?.placeOrder).toMatchObject({ item: 'coffee', quantity: 3, amount: 1350 });
        expect(flaky.sent).toHaveLength(3);
        const keys = flaky.sent.map((r) => keyOf(r, transport));
        expect(keys[0]).toMatch(/^[0-9a-f-]{36}$/);
        expect(new Set(keys).size).toBe(1);
        const other = transport === 'header' ? extensionKey : headerKey;
        expect(flaky.sent.map(other).filter(Boolean)).toEqual([]);
        // The customer header set on the client survives the header transport's fetchOptions.
        expect(flaky.sent.every((r) => r.headers.get('x-customer') === customer)).toBe(true);
        expect(flaky.sent.at(-1)!.replayed).toBe(true);
        expect(await ordersOf(customer)).toBe(1);
      });
    }

    it('gives a new mutation a new key, queries none, and honours a caller-chosen key from context', async () => {
      const customer = `c-${randomUUID()}`;
      const flaky = flakyFetch();
      const client = urql(flaky, customer);
      const variables = { customer, item: 'bagel', quantity: 1 };
      expect((await client.mutation(PLACE_ORDER, variables).toPromise()).error).toBeUndefined();
      expect((await client.mutation(PLACE_ORDER, variables).toPromise()).error).toBeUndefined();
      expect(await ordersOf(customer)).toBe(2);
      await client.query(LEDGER, {}, { requestPolicy: 'network-only' }).toPromise();
      const [a, b, query] = flaky.sent;
      expect(extensionKey(a!)).toBeDefined();
      expect(extensionKey(a!)).not.toBe(extensionKey(b!));
      expect(parsed(query!).query).toContain('ledger');
      expect(extensionKey(query!)).toBeUndefined();
      expect(headerKey(query!)).toBeUndefined();

      const key = randomUUID();
      const first = await client.mutation<{ placeOrder: PlacedOrder }>(PLACE_ORDER, variables, { idempotencyKey: key }).toPromise();
      const again = await client.mutation<{ placeOrder: PlacedOrder }>(PLACE_ORDER, variables, { idempotencyKey: key }).toPromise();
      expect(first.error).toBeUndefined();
      expect(again.data).toEqual(first.data);
      expect(flaky.sent.slice(-2).map(extensionKey)).toEqual([key, key]);
      expect(flaky.sent.at(-1)!.replayed).toBe(true);
      expect(await ordersOf(customer)).toBe(3);
    });
  });
});
