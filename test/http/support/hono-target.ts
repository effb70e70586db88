/** The conformance target as a Hono app with oncely/hono (Web-standard: mountable on any runtime). */
import { Hono } from 'hono';
import { type HonoIdempotencyOptions, idempotency } from '../../../src/hono/index.js';
import { type ConformanceTarget, targetEndpoint } from './target.js';

export function honoTarget(options: HonoIdempotencyOptions, path = '/orders'): ConformanceTarget & { app: Hono } {
  const endpoint = targetEndpoint();
  const app = new Hono();
  app.on(['GET', 'POST', 'PATCH', 'PUT'], path, idempotency(options), (c) => endpoint.fetch(c.req.raw));
  return { app, fetch: async (request) => app.fetch(request), executions: endpoint.executions };
}
