import { randomUUID } from 'node:crypto';
import { MutationObserver, QueryClient } from '@tanstack/query-core';
import { createTRPCClient, httpBatchLink, httpLink, retryLink } from '@trpc/client';
import { idempotencyHeaders, idempotencyLink } from 'oncely/client/trpc';
import { createKeyLifecycle } from 'oncely/client';
import { idempotentMutationOptions } from 'oncely/client/tanstack-query';
import superjson from 'superjson';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TrpcApp } from '../../examples/trpc/app.js';
import type { ShopRouter } from '../../examples/trpc/router.js';
import { flakyFetch } from './support.js';
import { startTrpcExample } from './trpc-example.js';

// The real tRPC example server (SQLite) and the real @trpc/client, with oncely's link in front.
describe('tRPC client helpers against the tRPC example', () => {
  let app: TrpcApp;
  let url: string;
  let close: () => Promise<void>;

  beforeAll(async () => {
    ({ app, url, close } = await startTrpcExample());
  });
  afterAll(() => close?.());

  const ordersOf = (customer: string) => app.database.prisma.order.count({ where: { customer } });

  const client = (flaky: ReturnType<typeof flakyFetch>, customer: string, batch = true) =>
    createTRPCClient<ShopRouter>({
      links: [
        idempotencyLink(),
        retryLink({ retry: ({ attempts }) => attempts <= 3 }),
        batch
          ? httpBatchLink({ url, transformer: superjson, fetch: flaky.fetch, headers: (o) => ({ 'x-customer': customer, ...idempotencyHeaders(o) }) })
          : httpLink({ url, transformer: superjson, fetch: flaky.fetch, headers: (o) => ({ 'x-customer': customer, ...idempotencyHeaders(o) }) }),
      ],
    });

  it('retries a lost answer with the same key (retryLink): one order, the original result', async () => {
    const customer = `c-${randomUUID()}`;
    const flaky = flakyFetch();
    flaky.state.dropNext = 2;
    const order = await client(flaky, customer, false).placeOrder.mutate({ item: 'coffee', quantity: 2 });
    expect(order).toMatchObject({ item: 'coffee', quantity: 2, amount: 900 });
    expect(order.createdAt).toBeInstanceOf(Date);
    expect(flaky.sent).toHaveLength(3);
    const keys = flaky.sent.map((r) => r.headers.get('idempotency-key'));
    expect(new Set(keys).size).toBe(1);
    expect(keys[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(await ordersOf(customer)).toBe(1);
  });

  it('gives a new logical operation a new key, queries none, and honours a caller-chosen key', async () => {
    const customer = `c-${randomUUID()}`;
    const flaky = flakyFetch();
    const trpc = client(flaky, customer, false);
    await trpc.placeOrder.mutate({ item: 'bagel', quantity: 1 });
    await trpc.placeOrder.mutate({ item: 'bagel', quantity: 1 });
    expect(await ordersOf(customer)).toBe(2);
    await trpc.ledger.query();
    const [a, b, query] = flaky.sent;
    expect(a!.headers.get('idempotency-key')).not.toBe(b!.headers.get('idempotency-key'));
    expect(query!.headers.get('idempotency-key')).toBeNull();
    expect(query!.headers.get('idempotency-keys')).toBeNull();
    // A re-submit of the same form after a timeout: the caller passes the key it used before.
    const key = randomUUID();
    const first = await trpc.placeOrder.mutate({ item: 'coffee', quantity: 1 }, { context: { idempotencyKey: key } });
    const again = await trpc.placeOrder.mutate({ item: 'coffee', quantity: 1 }, { context: { idempotencyKey: key } });
    expect(again).toEqual(first);
    expect(await ordersOf(customer)).toBe(3);
  });

  it('sends one key per call inside an httpBatchLink batch, and keeps them on a retried batch', async () => {
    const customer = `c-${randomUUID()}`;
    const flaky = flakyFetch();
    flaky.state.dropNext = 1;
    const trpc = client(flaky, customer);
    const [x, y, ledger] = await Promise.all([
      trpc.placeOrder.mutate({ item: 'coffee', quantity: 1 }),
      trpc.placeOrder.mutate({ item: 'bagel', quantity: 3 }),
      trpc.ledger.query(),
    ]);
    expect(x.item).toBe('coffee');
    expect(y.item).toBe('bagel');
    expect(Array.isArray(ledger)).toBe(true);
    expect(await ordersOf(customer)).toBe(2);
    const batchHeaders = flaky.sent.map((r) => r.headers.get('idempotency-keys')).filter(Boolean) as string[];
    expect(batchHeaders.length).toBeGreaterThanOrEqual(2);
    const firstKeys = Object.values(JSON.parse(batchHeaders[0]!));
    expect(new Set(firstKeys).size).toBe(2);
    // Whatever way the retry re-batched the calls, it sent the same two keys again.
    const retriedKeys = new Set(batchHeaders.slice(1).flatMap((h) => Object.values(JSON.parse(h))).concat(flaky.sent.map((r) => r.headers.get('idempotency-key')).filter(Boolean)));
    for (const k of retriedKeys) expect(firstKeys).toContain(k);
  });

  it('TanStack Query: retries and a re-submit reuse the key (key in the input); a new input gets a new one', async () => {
    const customer = `c-${randomUUID()}`;
    const flaky = flakyFetch();
    const trpc = createTRPCClient<ShopRouter>({
      links: [httpLink({ url, transformer: superjson, fetch: flaky.fetch, headers: { 'x-customer': customer } })],
    });
    const queryClient = new QueryClient();
    const options = idempotentMutationOptions(
      { mutationFn: (input: { item: string; quantity: number }) => trpc.placeOrder.mutate(input) },
      { inject: 'idempotencyKey', retries: 3 },
    );
    const observer = new MutationObserver(queryClient, { ...options, retryDelay: 1 });
    flaky.state.dropNext = 2;
    const order = await observer.mutate({ item: 'coffee', quantity: 4 });
    expect(order.quantity).toBe(4);
    const keys = flaky.sent.map((r) => (JSON.parse(r.body) as { json: { idempotencyKey: string } }).json.idempotencyKey);
    expect(keys).toHaveLength(3);
    expect(new Set(keys).size).toBe(1);
    expect(await ordersOf(customer)).toBe(1);
    // Succeeded: the same form submitted again is a new order with a new key.
    await observer.mutate({ item: 'coffee', quantity: 4 });
    expect(await ordersOf(customer)).toBe(2);
    const lastKey = (JSON.parse(flaky.sent.at(-1)!.body) as { json: { idempotencyKey: string } }).json.idempotencyKey;
    expect(lastKey).not.toBe(keys[0]);
  });

  it('TanStack Query: a double click whose first answer is lost retries with the same key after the second got the answer', async () => {
    const customer = `c-${randomUUID()}`;
    const sent: string[] = [];
    let calls = 0;
    // The first answer is lost late (after the server ran it and the double click's twin got its replay).
    const lateDrop = (async (input: RequestInfo | URL, init?: RequestInit) => {
      const request = new Request(input, init);
      sent.push((JSON.parse(await request.clone().text()) as { json: { idempotencyKey: string } }).json.idempotencyKey);
      const first = calls++ === 0;
      const response = await fetch(request);
      if (!first) return response;
      await response.arrayBuffer();
      await new Promise((resolve) => setTimeout(resolve, 150));
      throw new TypeError('fetch failed (dropped by the test)');
    }) as typeof fetch;
    const trpc = createTRPCClient<ShopRouter>({
      links: [httpLink({ url, transformer: superjson, fetch: lateDrop, headers: { 'x-customer': customer } })],
    });
    // One lifecycle, options rebuilt as a React hook does on every render (retries call the latest mutationFn).
    const lifecycle = createKeyLifecycle();
    const options = () => ({
      ...idempotentMutationOptions({ mutationFn: (input: { item: string; quantity: number }) => trpc.placeOrder.mutate(input) }, { inject: 'idempotencyKey', lifecycle }),
      retryDelay: 1,
    });
    const observer = new MutationObserver(new QueryClient(), options());
    const firstClick = observer.mutate({ item: 'coffee', quantity: 1 });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const secondClick = observer.mutate({ item: 'coffee', quantity: 1 });
    observer.setOptions(options());
    const [a, b] = await Promise.all([firstClick, secondClick]);
    expect(a).toEqual(b);
    expect(sent).toHaveLength(3);
    expect(new Set(sent).size).toBe(1);
    expect(await ordersOf(customer)).toBe(1);
  });

  it('TanStack Query: a definitive error is not retried and spends the key', async () => {
    const customer = `c-${randomUUID()}`;
    const flaky = flakyFetch();
    const trpc = createTRPCClient<ShopRouter>({
      links: [httpLink({ url, transformer: superjson, fetch: flaky.fetch, headers: { 'x-customer': customer } })],
    });
    const observer = new MutationObserver(new QueryClient(), {
      ...idempotentMutationOptions({ mutationFn: (input: { item: string; quantity: number }) => trpc.placeOrder.mutate(input) }, { inject: 'idempotencyKey' }),
      retryDelay: 1,
    });
    await expect(observer.mutate({ item: 'caviar', quantity: 1 })).rejects.toThrow(/No such item/);
    expect(flaky.sent).toHaveLength(1);
    await expect(observer.mutate({ item: 'caviar', quantity: 1 })).rejects.toThrow(/No such item/);
    const keys = flaky.sent.map((r) => (JSON.parse(r.body) as { json: { idempotencyKey: string } }).json.idempotencyKey);
    expect(keys[0]).not.toBe(keys[1]);
  });
});
