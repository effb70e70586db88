import { existsSync, readFileSync } from 'node:fs';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type DemoDatabase, openDemoDatabase } from '../shared/db.js';
import { type FakeMailer, type FakePaymentProvider, fakeServices } from '../shared/providers.js';
import { createTrpcApp } from '../trpc/app.js';
import { createYogaApp } from '../yoga/app.js';
import { outsideReport } from './outside.js';

const here = dirname(fileURLToPath(import.meta.url));
export const distDir = join(here, 'dist');

/** Request header the page sets when its "flaky network" switch is on. */
export const NETWORK_HEADER = 'x-demo-network';
export type NetworkMode = 'ok' | 'drop' | 'slow';

export interface WebDemoOptions {
  /** Default: env PORT, else 3000. 0 picks a free port. */
  port?: number;
  /** Default: 127.0.0.1 when port is 0 (tests), else every interface. */
  host?: string;
  /** An open demo database; default openDemoDatabase() (embedded SQLite, or DATABASE_URL). */
  database?: DemoDatabase;
  /** How long a flaky answer is held before it is dropped. Default 700 ms. */
  dropAfterMs?: number;
  /** How long a slow answer is held. Default 2000 ms. */
  slowMs?: number;
}

export interface WebDemo {
  url: string;
  database: DemoDatabase;
  /** The fake payment provider and mailer both APIs' checkouts call (one pair, so counts add up). */
  services: { payments: FakePaymentProvider; mailer: FakeMailer };
  close(): Promise<void>;
}

/**
 * The web demo: the static page, and the Yoga (/graphql) and tRPC (/trpc/) examples over one shared
 * database. The APIs run on an internal loopback server; the public server forwards to them through
 * a "network" that, when the page asks for it, loses or delays the answer of every mutation the
 * server actually ran (replays pass). The client's retries, with the same key, then get the replay.
 */
export async function startWebDemo(options: WebDemoOptions = {}): Promise<WebDemo> {
  const database = options.database ?? (await openDemoDatabase());
  const services = fakeServices();
  const yoga = createYogaApp({ db: database, services, logging: false });
  const trpc = await createTrpcApp({ database, services });
  const dropAfterMs = options.dropAfterMs ?? 700;
  const slowMs = options.slowMs ?? 2000;

  const api = createServer((req, res) => {
    if (req.url?.startsWith('/trpc/')) trpc.handler(req, res);
    else void yoga(req, res);
  });
  const apiUrl = await listen(api, 0, '127.0.0.1');

  const web = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path === '/graphql' || path.startsWith('/trpc/')) {
      forward(req, res, apiUrl, { dropAfterMs, slowMs }).catch((error: unknown) => {
        console.error('web demo: forwarding failed', error);
        if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' }).end('Bad gateway\n');
        else res.destroy();
      });
    } else if (path === OUTSIDE_PATH) {
      serveOutside(new URL(req.url ?? '/', 'http://x').searchParams.get('order'), services, res);
    } else {
      serveStatic(path, res);
    }
  });
  const port = options.port ?? Number(process.env.PORT ?? 3000);
  const host = options.host ?? (port === 0 ? '127.0.0.1' : undefined);
  const address = await listen(web, port, host);
  const url = port === 0 || host ? address : `http://localhost:${port}`;

  return {
    url,
    database,
    services,
    close: async () => {
      web.closeAllConnections();
      api.closeAllConnections();
      await Promise.all([close(web), close(api)]);
      if (!options.database) await database.prisma.$disconnect();
    },
  };
}

/** GET ?order=<id>: what the fake provider and mailer did for that order (see outside.ts). */
export const OUTSIDE_PATH = '/demo/outside';

function serveOutside(orderId: string | null, services: WebDemo['services'], res: ServerResponse): void {
  if (!orderId) {
    res.writeHead(400, { 'content-type': 'text/plain' }).end('Missing ?order=<order id>\n');
    return;
  }
  res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(outsideReport(services, orderId)));
}

const STATIC: Record<string, string> = {
  '/': 'index.html',
  '/index.html': 'index.html',
  '/app.js': 'app.js',
  '/app.js.map': 'app.js.map',
  '/favicon.svg': 'favicon.svg',
  // Browsers ask for /favicon.ico whatever the page links: the same icon, so that no request fails.
  '/favicon.ico': 'favicon.svg',
};
const TYPES: Record<string, string> = { html: 'text/html; charset=utf-8', js: 'text/javascript; charset=utf-8', map: 'application/json', svg: 'image/svg+xml' };

function serveStatic(path: string, res: ServerResponse): void {
  const name = STATIC[path];
  const file = name && join(distDir, name);
  if (!file || !existsSync(file)) {
    const hint = name ? ' (the page is not built: run `npm start`, or `npx tsx examples/web/build.ts`)' : '';
    res.writeHead(404, { 'content-type': 'text/plain' }).end(`Not found${hint}\n`);
    return;
  }
  res.writeHead(200, { 'content-type': TYPES[name.split('.').pop()!]!, 'cache-control': 'no-store' }).end(readFileSync(file));
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'content-encoding', 'host']);

async function forward(req: IncomingMessage, res: ServerResponse, apiUrl: string, timing: { dropAfterMs: number; slowMs: number }) {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const body = Buffer.concat(chunks);
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined || HOP_BY_HOP.has(name)) continue;
    headers.set(name, Array.isArray(value) ? value.join(', ') : value);
  }
  const response = await fetch(new URL(req.url ?? '/', apiUrl), {
    method: req.method,
    headers,
    body: req.method === 'GET' || req.method === 'HEAD' ? undefined : body,
  });
  const answer = Buffer.from(await response.arrayBuffer());

  // The server has answered: the mutation ran (or was replayed). Now the "network" misbehaves.
  const mode = req.headers[NETWORK_HEADER] as NetworkMode | undefined;
  // Only answers of mutations that ran: replays and refusals (4xx before anything ran) pass.
  const ranNow = isMutation(req, body) && response.status < 400 && response.headers.get('idempotent-replayed') !== 'true';
  if (ranNow && mode === 'drop') {
    await sleep(timing.dropAfterMs);
    // The connection dies in the middle of the answer. (Closing it before any byte is not enough:
    // browsers silently re-send a request whose reused keep-alive connection closed early.)
    res.writeHead(response.status, { 'content-type': response.headers.get('content-type') ?? 'application/json', 'content-length': String(answer.length) });
    res.write(answer.subarray(0, Math.floor(answer.length / 2)));
    res.once('drain', () => res.destroy());
    setTimeout(() => res.destroy(), 20);
    return;
  }
  if (ranNow && mode === 'slow') await sleep(timing.slowMs);

  const out: Record<string, string> = {};
  response.headers.forEach((value, name) => {
    if (!HOP_BY_HOP.has(name)) out[name] = value;
  });
  res.writeHead(response.status, out).end(answer);
}

/** tRPC sends mutations (only) as POST; a GraphQL POST is a mutation if its document says so. */
function isMutation(req: IncomingMessage, body: Buffer): boolean {
  if (req.method !== 'POST') return false;
  if (req.url?.startsWith('/trpc/')) return true;
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { query?: unknown } | Array<{ query?: unknown }>;
    return (Array.isArray(parsed) ? parsed : [parsed]).some(
      (op) => typeof op.query === 'string' && /^\s*(#[^\n]*\n\s*)*mutation\b/.test(op.query),
    );
  } catch {
    return false;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function listen(server: Server, port: number, host?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const { port: actual } = server.address() as AddressInfo;
      resolve(`http://${host ?? 'localhost'}:${actual}`);
    });
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}
