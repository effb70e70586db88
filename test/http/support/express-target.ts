/** The conformance target as an Express app with oncely/express (Node only). */
import defaultExpress, { type Express, type Request, type Response } from 'express';
import { type ExpressIdempotencyOptions, idempotency } from '../../../src/express/index.js';
import { CHUNKS, type Order, chunkGapOf, executeOrder, sleep } from './target.js';

export interface ExpressTarget {
  app: Express;
  executions(): number;
}

/**
 * `parseJson`: mount express.json() before the middleware (else the middleware reads the body
 * itself). `express`: another Express module (test/compat/express-4 passes its Express 4).
 */
export function expressTarget(options: ExpressIdempotencyOptions, { parseJson = true, path = '/orders', express = defaultExpress } = {}): ExpressTarget {
  let executions = 0;
  const app = express();
  if (parseJson) app.use(express.json());
  const handler = async (req: Request, res: Response) => {
    if (req.method === 'GET') return void res.status(200).json({ executions });
    executions += 1;
    const body: unknown = req.body;
    const order = (typeof body === 'object' && body !== null && !Array.isArray(body) && !Buffer.isBuffer(body) ? body : {}) as Order;
    const { status, headers, text } = await executeOrder(order, executions);
    res.status(status);
    for (const [name, value] of headers) res.setHeader(name, value);
    if (order.stream !== true && order.fail !== true) return void res.end(text);
    const size = Math.ceil(text.length / CHUNKS);
    for (let i = 0; i < CHUNKS; i += 1) {
      if (i > 0) await sleep(chunkGapOf(order));
      if (order.fail === true && i === 1) return void res.destroy(new Error('conformance target: the stream failed on purpose'));
      if (res.destroyed) return;
      res.write(text.slice(i * size, (i + 1) * size));
    }
    res.end();
  };
  // Express 4 does not catch a rejected handler promise: hand it to next() ourselves.
  app.all(path, idempotency(options), (req, res, next) => {
    handler(req, res).catch(next);
  });
  return { app, executions: () => executions };
}
