import { Hono } from 'hono';
import { type HonoIdempotencyOptions, idempotency } from '../../../src/hono/index.js';
import { createOrdersApp } from './conformance-app.js';

/** The conformance target contract at /orders, as a Hono app guarded by oncely/hono. */
export function honoConformanceApp(options: HonoIdempotencyOptions) {
  const orders = createOrdersApp();
  const app = new Hono();
  app.get('/orders', (c) => c.json({ executions: orders.executions() }));
  // The middleware reads a clone of the body, so the raw request stays readable for the handler.
  app.on(['POST', 'PATCH'], '/orders', idempotency(options), (c) => orders.handle(c.req.raw));
  return { fetch: (request: Request) => Promise.resolve(app.fetch(request)), executions: orders.executions };
}
