import { randomUUID } from 'node:crypto';
// These three resolve to this folder's own node_modules (tRPC 11.22, pinned by @trpc/tanstack-react-query).
import { MutationObserver, QueryClient } from '@tanstack/query-core';
import { createTRPCClient, httpLink } from '@trpc/client';
import { createTRPCOptionsProxy } from '@trpc/tanstack-react-query';
// The built package (this folder's package.json ends the self-reference scope of 'oncely').
import { idempotentMutationOptions } from '../../../dist/client-react-query.js';
import superjson from 'superjson';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TrpcApp } from '../../../examples/trpc/app.js';
import { flakyFetch } from '../../client/support.js';
import { startTrpcExample } from '../../client/trpc-example.js';

// @trpc/tanstack-react-query's mutationOptions() fixes the tRPC call when the options are made;
// idempotentMutationOptions puts the key into the input, so TanStack's retries keep it.
describe('TanStack Query with @trpc/tanstack-react-query against the tRPC example', () => {
  let app: TrpcApp;
  let url: string;
  let close: () => Promise<void>;

  beforeAll(async () => {
    ({ app, url, close } = await startTrpcExample());
  });
  afterAll(() => close?.());

  it('keeps one key across retries of a lost answer, and takes a new one for the next order', async () => {
    const customer = `c-${randomUUID()}`;
    const flaky = flakyFetch();
    const queryClient = new QueryClient();
    // The router's types come from the main project's newer tRPC: kept loose here on purpose.
    const client = createTRPCClient<any>({ links: [httpLink({ url, transformer: superjson, fetch: flaky.fetch, headers: { 'x-customer': customer } })] });
    const trpc = createTRPCOptionsProxy<any>({ client, queryClient }) as any;
    const options = idempotentMutationOptions(trpc.placeOrder.mutationOptions(), { inject: 'idempotencyKey', retries: 3 });
    const observer = new MutationObserver<unknown, Error, { item: string; quantity: number }>(queryClient, { ...options, retryDelay: 1 } as any);
    flaky.state.dropNext = 2;
    const order = (await observer.mutate({ item: 'bagel', quantity: 2 })) as { quantity: number };
    expect(order.quantity).toBe(2);
    const keyOf = (i: number) => (JSON.parse(flaky.sent[i]!.body) as { json: { idempotencyKey: string } }).json.idempotencyKey;
    expect(flaky.sent).toHaveLength(3);
    expect(new Set([keyOf(0), keyOf(1), keyOf(2)]).size).toBe(1);
    expect(await app.database.prisma.order.count({ where: { customer } })).toBe(1);
    await observer.mutate({ item: 'bagel', quantity: 2 });
    expect(keyOf(3)).not.toBe(keyOf(0));
    expect(await app.database.prisma.order.count({ where: { customer } })).toBe(2);
  });
});
