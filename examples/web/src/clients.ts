import { createTRPCClient, httpLink } from '@trpc/client';
import { Client, fetchExchange } from '@urql/core';
import { retryExchange } from '@urql/exchange-retry';
import { idempotencyExchange } from 'oncely/client/urql';
import { idempotencyHeaders, idempotencyLink } from 'oncely/client/trpc';
import superjson from 'superjson';
import type { ShopRouter } from '../../trpc/router.js';
import { demoFetch } from './network.js';

/** The shopper: one per browser, so the page's keys and orders are its own tenant. */
export const customer = (() => {
  const stored = localStorage.getItem('oncely-demo-customer');
  if (stored) return stored;
  const fresh = `web-${Math.random().toString(36).slice(2, 8)}`;
  localStorage.setItem('oncely-demo-customer', fresh);
  return fresh;
})();

/** tRPC: oncely's link gives each mutation a key (or takes the caller's from the call context). */
export const trpc = createTRPCClient<ShopRouter>({
  links: [
    idempotencyLink(),
    httpLink({
      url: '/trpc',
      transformer: superjson,
      fetch: demoFetch,
      headers: ({ op }) => ({ 'x-customer': customer, ...idempotencyHeaders({ op }) }),
    }),
  ],
});

/**
 * urql: oncely's exchange puts the key into `extensions.idempotencyKey`; retryExchange re-sends a
 * mutation whose answer was lost with the same key.
 */
export const urql = new Client({
  url: new URL('/graphql', location.href).href,
  fetch: demoFetch,
  preferGetMethod: false,
  requestPolicy: 'network-only',
  fetchOptions: { headers: { 'x-customer': customer } },
  exchanges: [
    idempotencyExchange(),
    retryExchange({ initialDelayMs: 300, maxDelayMs: 1500, randomDelay: false, maxNumberAttempts: 4 }),
    fetchExchange,
  ],
});

export interface Order {
  id: string;
  item: string;
  quantity: number;
  amount: number;
  status: string;
}

export interface Payment {
  id: string;
  orderId: string;
  amount: number;
  chargeKey: string;
}

export interface LedgerRow extends Payment {
  order: { customer: string; item: string; quantity: number } | null;
}

/** What a steps checkout answers (both APIs; tRPC sends more order fields, the page reads these). */
export interface CheckoutResult {
  order: Order;
  payment: Payment;
  chargeId: string;
  receiptId: string;
}

/** What the fake payment provider and mailer did for one order (GET /demo/outside?order=<id>). */
export interface OutsideReport {
  orderId: string;
  charges: Array<{ id: string; idempotencyKey: string; requests: number }>;
  receipts: Array<{ id: string; idempotencyKey: string }>;
}
