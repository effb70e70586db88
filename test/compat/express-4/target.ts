/**
 * The conformance target contract (docs/http.md, "Conformance test") on this folder's Express 4
 * with oncely/express: test/http/support/express-target.ts over `express` from ./express-4.ts.
 */
import http from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { ExpressIdempotencyOptions } from '../../../src/express/index.js';
import { expressTarget } from '../../http/support/express-target.js';
import { express } from './express-4.js';

export interface Served {
  origin: string;
  executions(): number;
  close(): Promise<void>;
}

/** `parseJson`: express.json() before the middleware (else the middleware reads the body itself). */
export function express4Target(options: ExpressIdempotencyOptions, { parseJson = true } = {}) {
  return expressTarget(options, { parseJson, express });
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
