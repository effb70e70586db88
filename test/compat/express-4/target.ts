/**
 * The conformance target contract (docs/http.md, "Conformance test") on this folder's Express 4
 * with oncely/express: test/http/support/express-target.ts, which imports the main project's
 * Express 5, written again over `express` from ./express-4.ts.
 */
import http from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { Request, Response } from 'express';
import { type ExpressIdempotencyOptions, idempotency } from '../../../src/express/index.js';
import { CHUNKS, CHUNK_GAP_MS, type Order, executeOrder, sleep } from '../../http/support/target.js';
import { express } from './express-4.js';

export interface Served {
  origin: string;
  executions(): number;
  close(): Promise<void>;
}

/** `parseJson`: express.json() before the middleware (else the middleware reads the body itself). */
export function express4Target(options: ExpressIdempotencyOptions, { parseJson = true } = {}) {
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
      if (i > 0) await sleep(CHUNK_GAP_MS);
      if (order.fail === true && i === 1) return void res.destroy(new Error('conformance target: the stream failed on purpose'));
      if (res.destroyed) return;
      res.write(text.slice(i * size, (i + 1) * size));
    }
    res.end();
  };
  // Express 4 does not catch a rejected handler promise: hand it to next() ourselves.
  app.all('/orders', idempotency(options), (req, res, next) => {
    handler(req, res).catch(next);
  });
  return { app, executions: () => executions };
}

/** An Express app on node:http, 127.0.0.1 and a free port. */
export async function serve(app: http.RequestListener): Promise<Omit<Served, 'executions'>> {
  const server = http.createServer(app);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export async function serveTarget(options: ExpressIdempotencyOptions, parseJson = true): Promise<Served> {
  const target = express4Target(options, { parseJson });
  return { ...(await serve(target.app)), executions: target.executions };
}
