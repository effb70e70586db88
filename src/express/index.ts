/**
 * oncely/express: the oncely/http lifecycle as Express middleware (Express 4.17+ and 5).
 *
 *   app.post('/orders', express.json(), idempotency({ store }), (req, res) => res.status(201).json(order));
 *
 * The handler finds its claim with `idempotencyOf(req)` (or `res.locals.idempotency`).
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { readRequestHeader } from '../adapter/headers.js';
import type { HttpAnswer } from '../http/answer.js';
import { attachContext } from '../http/context.js';
import { abandon, openRequest, settle } from '../http/lifecycle.js';
import { type HttpIdempotencyOptions, resolveHttpOptions } from '../http/options.js';
import { expressInput } from './request-body.js';
import { captureResponse } from './response-capture.js';

export { idempotencyOf } from '../http/context.js';
export type { IdempotencyContext } from '../adapter/context.js';
export type ExpressIdempotencyOptions<Tx = unknown> = HttpIdempotencyOptions<Request, Tx>;

export function idempotency<Tx = unknown>(options: ExpressIdempotencyOptions<Tx>): RequestHandler {
  const config = resolveHttpOptions<Request>('oncely/express', options as HttpIdempotencyOptions<Request, unknown>);
  const guard = async (req: Request, res: Response, next: NextFunction) => {
    const opened = await openRequest(config, {
      request: req,
      method: req.method,
      header: (name) => readRequestHeader(req.headers, name),
      input: () => expressInput(req),
    });
    if (opened.kind === 'pass') return next();
    if (opened.kind === 'answer') return writeAnswer(res, opened.answer);
    attachContext(req, opened.idempotency);
    res.locals.idempotency = opened.idempotency;
    const { claim } = opened;
    captureResponse(res, (answer) => settle(config, claim, answer), () => abandon(claim));
    next();
  };
  return (req, res, next) => {
    guard(req, res, next).catch(next);
  };
}

function writeAnswer(res: Response, answer: HttpAnswer): void {
  res.statusCode = answer.status;
  // setHeader, not res.set/append: Express would add a charset to Content-Type, and a replay is byte for byte.
  const grouped = new Map<string, string[]>();
  for (const [name, value] of answer.headers) grouped.set(name, [...(grouped.get(name) ?? []), value]);
  for (const [name, values] of grouped) res.setHeader(name, values.length === 1 ? values[0]! : values);
  res.end(Buffer.from(answer.body.buffer, answer.body.byteOffset, answer.body.byteLength));
}
