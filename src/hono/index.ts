/**
 * oncely/hono: the oncely/http lifecycle as Hono middleware. Runs wherever Hono runs (Node, Bun,
 * Deno, Workers): Web-standard only.
 *
 *   app.post('/orders', idempotency({ store }), (c) => c.json(order, 201));
 *
 * The handler finds its claim as `c.get('idempotency')` (key, deriveKey, step, tx...).
 */
import type { Context, Env, MiddlewareHandler } from 'hono';
import type { IdempotencyContext } from '../adapter/context.js';
import { toResponse } from '../http/answer.js';
import { attachContext } from '../http/context.js';
import { finishResponse } from '../http/handler.js';
import { openRequest } from '../http/lifecycle.js';
import { type HttpIdempotencyOptions, resolveHttpOptions } from '../http/options.js';
import { pathOf, requestInput } from '../http/request-input.js';

export type { IdempotencyContext } from '../adapter/context.js';
export type HonoIdempotencyOptions<Tx = unknown> = HttpIdempotencyOptions<Context, Tx>;

/** What the middleware adds to the context: `c.get('idempotency')`, undefined when the request passed through. */
export interface IdempotencyVariables<Tx = unknown> {
  Variables: { idempotency: IdempotencyContext<Tx> | undefined };
}

export function idempotency<Tx = unknown, E extends Env = Env>(options: HonoIdempotencyOptions<Tx>): MiddlewareHandler<E & IdempotencyVariables<Tx>> {
  const config = resolveHttpOptions<Context>('oncely/hono', options as HttpIdempotencyOptions<Context, unknown>);
  return async (c, next) => {
    const raw = c.req.raw;
    const opened = await openRequest(config, {
      request: c as unknown as Context,
      method: raw.method,
      header: (name) => raw.headers.get(name),
      input: async () => {
        // A clone keeps both c.req and c.req.raw readable; once an earlier middleware (a
        // validator) read the body, Hono's own body cache has it.
        const buffer = raw.body === null ? new ArrayBuffer(0) : raw.bodyUsed ? await c.req.arrayBuffer() : await raw.clone().arrayBuffer();
        return requestInput(raw.method, pathOf(raw.url), raw.headers.get('content-type'), new Uint8Array(buffer));
      },
    });
    if (opened.kind === 'pass') return next();
    if (opened.kind === 'answer') return toResponse(opened.answer);
    c.set('idempotency', opened.idempotency as IdempotencyContext<Tx>);
    attachContext(raw, opened.idempotency);
    try {
      await next();
    } catch (error) {
      // Hono turns handler errors into c.res through onError; this is only reached without one.
      await opened.claim.commit({ ok: false, error });
      throw error;
    }
    // The answer as Hono made it (an HTTPException's status included): stored or released by status.
    c.res = await finishResponse(config, opened.claim, c.res, raw.signal);
  };
}
