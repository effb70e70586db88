/**
 * The conformance target contract (docs/http.md, "Conformance test") on this folder's Express 4
 * with oncely/express: test/http/support/express-target.ts over `express` from ./express-4.ts.
 */
import type http from 'node:http';
import type { ExpressIdempotencyOptions } from '../../../src/express/index.js';
import type { Express } from 'express';
import { expressTarget } from '../../http/support/express-target.js';
import { serveExpress } from '../../http/support/servers.js';
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

/** An Express app (4 or 5) on node:http, 127.0.0.1 and a free port. */
export function serve(app: http.RequestListener): Promise<Omit<Served, 'executions'>> {
  return serveExpress(app as Express);
}

export async function serveTarget(options: ExpressIdempotencyOptions, parseJson = true): Promise<Served> {
  const target = express4Target(options, { parseJson });
  return { ...(await serve(target.app)), executions: target.executions };
}
