import superjson from 'superjson';
import { type CheckoutResult, type Order, type Payment, customer, trpc, urql } from './clients.js';
import { demoFetch } from './network.js';

export type Api = 'trpc' | 'graphql';

const PLACE_ORDER = `mutation PlaceOrder($input: PlaceOrderInput!) { placeOrder(input: $input) { id item quantity amount status } }`;
const PAY_ORDER = `mutation PayOrder($orderId: ID!) { payOrder(orderId: $orderId) { id orderId amount chargeKey } }`;
const CHECKOUT = `mutation Checkout($input: PlaceOrderInput!) { checkout(input: $input) { order { id item quantity amount status } payment { id orderId amount chargeKey } chargeId receiptId } }`;

async function graphql<T>(query: string, variables: Record<string, unknown>, key: string): Promise<T> {
  // The key TanStack's lifecycle chose goes into urql's context; the exchange sends it as is.
  const result = await urql.mutation(query, variables, { idempotencyKey: key }).toPromise();
  if (result.error) throw result.error;
  return result.data as T;
}

export function placeOrder(api: Api, item: string, quantity: number, key: string): Promise<Order> {
  if (api === 'trpc') return trpc.placeOrder.mutate({ item, quantity }, { context: { idempotencyKey: key } });
  return graphql<{ placeOrder: Order }>(PLACE_ORDER, { input: { customer, item, quantity } }, key).then((d) => d.placeOrder);
}

export function payOrder(api: Api, orderId: string, key: string): Promise<Payment> {
  if (api === 'trpc') return trpc.payOrder.mutate({ orderId }, { context: { idempotencyKey: key } });
  return graphql<{ payOrder: Payment }>(PAY_ORDER, { orderId }, key).then((d) => d.payOrder);
}

/** The steps checkout: create order, charge, mark paid, send receipt; one key for the whole run. */
export function checkout(api: Api, item: string, quantity: number, key: string): Promise<CheckoutResult> {
  if (api === 'trpc') return trpc.checkout.mutate({ item, quantity }, { context: { idempotencyKey: key } }) as Promise<CheckoutResult>;
  return graphql<{ checkout: CheckoutResult }>(CHECKOUT, { input: { customer, item, quantity } }, key).then((d) => d.checkout);
}

/**
 * "Place order" as a client that forgot the key: a bare POST (both client libraries always add
 * one). The server refuses it: 400, IDEMPOTENCY_KEY_MISSING.
 */
export async function placeOrderWithoutKey(api: Api, item: string, quantity: number): Promise<void> {
  const headers = { 'content-type': 'application/json', 'x-customer': customer };
  const response =
    api === 'trpc'
      ? await demoFetch('/trpc/placeOrder', { method: 'POST', headers, body: JSON.stringify(superjson.serialize({ item, quantity })) })
      : await demoFetch('/graphql', {
          method: 'POST',
          headers,
          body: JSON.stringify({ query: PLACE_ORDER, operationName: 'PlaceOrder', variables: { input: { customer, item, quantity } } }),
        });
  if (!response.ok) throw new Error(`${response.status}: ${await messageOf(response)}`);
}

async function messageOf(response: Response): Promise<string> {
  const body = (await response.json().catch(() => ({}))) as { errors?: Array<{ message?: string }>; error?: { json?: { message?: string }; message?: string } };
  return body.errors?.[0]?.message ?? body.error?.json?.message ?? body.error?.message ?? response.statusText;
}

export function errorText(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/^\[(GraphQL|Network)\]\s*/, '');
}
