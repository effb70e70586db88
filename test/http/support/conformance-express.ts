import express from 'express';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type ExpressIdempotencyOptions, idempotency } from '../../../src/express/index.js';

const CHUNK_GAP_MS = 20;

/**
 * The conformance target contract at /orders as an Express app guarded by oncely/express, written
 * with Express's own response API (status, setHeader, write, end), on a node:http server.
 */
export async function serveExpressConformance(options: ExpressIdempotencyOptions) {
  let executions = 0;
  const app = express();
  app.get('/orders', (_req, res) => {
    res.json({ executions });
  });
  const order: express.RequestHandler = async (req, res) => {
    // oncely/express read the body: parsed JSON for JSON types, else a Buffer.
    const input = (req.body !== null && typeof req.body === 'object' && !Buffer.isBuffer(req.body) ? req.body : {}) as Record<string, unknown>;
    executions += 1;
    const execution = executions;
    if (typeof input.delayMs === 'number' && input.delayMs > 0) await sleep(input.delayMs);
    const id = crypto.randomUUID();
    const amount = typeof input.amount === 'number' ? input.amount : 0;
    const text = JSON.stringify({ id, amount, execution });
    res.status(typeof input.status === 'number' ? input.status : 201);
    res.setHeader('Content-Type', 'application/json');
    res.setHeader('Location', `/orders/${id}`);
    res.setHeader('ETag', `"${id}"`);
    res.setHeader('X-Execution', String(execution));
    res.setHeader('Set-Cookie', `s=${id}`);
    if (input.stream !== true) {
      res.end(text);
      return;
    }
    const size = Math.ceil(text.length / 3);
    res.write(text.slice(0, size));
    await sleep(CHUNK_GAP_MS);
    if (input.fail === true) {
      res.destroy(new Error('conformance target: the stream failed on purpose'));
      return;
    }
    if (!res.destroyed) res.write(text.slice(size, 2 * size));
    await sleep(CHUNK_GAP_MS);
    if (!res.destroyed) res.end(text.slice(2 * size));
  };
  app.post('/orders', idempotency(options), order);
  app.patch('/orders', idempotency(options), order);

  const server: Server = await new Promise((resolve, reject) => {
    const listening = app.listen(0, '127.0.0.1', (error?: Error) => (error ? reject(error) : resolve(listening)));
  });
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    executions: () => executions,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
