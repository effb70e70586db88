/**
 * Client side of the steps fault tests: one checkout request to a checkout server
 * (checkout-server.ts) over Yoga or tRPC, and what a well-behaved client makes of the answer.
 */
import { type ChildServer, type HttpAnswer, errorCode } from './harness.js';

export type Adapter = 'yoga' | 'trpc';

export interface CheckoutRequest {
  adapter: Adapter;
  key: string;
  /** Also the tenant (x-customer): every checkout of the tests has a customer of its own. */
  customer: string;
  item: string;
  quantity: number;
}

const CHECKOUT = 'mutation Checkout($customer: String!, $item: String!, $quantity: Int!) { checkout(customer: $customer, item: $item, quantity: $quantity) }';

/** The answer, or `failed` when none came (the server died, the connection dropped, a timeout). */
export type Attempt = { answer: HttpAnswer } | { failed: unknown };

export async function sendCheckout(server: ChildServer, request: CheckoutRequest, options: { killAt?: string; timeoutMs?: number } = {}): Promise<Attempt> {
  const yoga = request.adapter === 'yoga';
  const headers: Record<string, string> = { 'content-type': 'application/json', 'idempotency-key': request.key, 'x-customer': request.customer };
  if (options.killAt) headers['x-fault-kill-at'] = options.killAt;
  const body = yoga
    ? { query: CHECKOUT, variables: { customer: request.customer, item: request.item, quantity: request.quantity } }
    : { item: request.item, quantity: request.quantity };
  try {
    const response = await fetch(`${server.url}${yoga ? '/graphql' : '/trpc/checkout'}`, {
      method: 'POST',
      headers,
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(options.timeoutMs ?? 20_000),
    });
    const text = await response.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { answer: { status: response.status, headers: response.headers, text, json } };
  } catch (failed) {
    return { failed };
  }
}

/** The rule of oncely's client helpers (src/client/failure.ts): codes a client retries with the same key. */
const RETRYABLE_CODES = new Set(['IDEMPOTENCY_KEY_IN_USE', 'IDEMPOTENCY_STORE_UNAVAILABLE', 'INTERNAL_SERVER_ERROR', 'SERVICE_UNAVAILABLE', 'CONFLICT']);

export type Verdict =
  /** `body`: the checkout's result as a JSON text, the same for Yoga and tRPC. */
  | { kind: 'answered'; body: string; replayed: boolean }
  | { kind: 'retry'; why: string }
  /** A definitive answer that is not a result (a bug here: every checkout of the tests is valid). */
  | { kind: 'refused'; why: string };

export function verdict(attempt: Attempt, adapter: Adapter): Verdict {
  if ('failed' in attempt) return { kind: 'retry', why: 'no answer' };
  const { answer } = attempt;
  const code = errorCode(answer);
  const why = `${answer.status} ${code ?? ''} ${answer.text.slice(0, 300)}`;
  if (answer.status === 409 || answer.status >= 500 || (code !== undefined && RETRYABLE_CODES.has(code))) return { kind: 'retry', why };
  const value = adapter === 'yoga' ? (answer.json as { data?: { checkout?: string } } | undefined)?.data?.checkout : JSON.stringify((answer.json as { result?: { data?: unknown } } | undefined)?.result?.data);
  if (answer.status !== 200 || typeof value !== 'string' || code !== undefined) return { kind: 'refused', why };
  return { kind: 'answered', body: value, replayed: answer.headers.get('idempotent-replayed') === 'true' };
}

/** What the tests keep per checkout: every answer's body, and the codes of the refusals. */
export interface CheckoutLog {
  request: CheckoutRequest;
  bodies: string[];
  refusals: string[];
}
