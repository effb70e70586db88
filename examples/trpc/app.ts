import type { IncomingMessage, ServerResponse } from 'node:http';
import { createHTTPHandler } from '@trpc/server/adapters/standalone';
import { type DemoDatabase, openDemoDatabase } from '../shared/db.js';
import { type ShopServices, fakeServices } from '../shared/providers.js';
import { type ShopRouter, createShopRouter } from './router.js';

export interface TrpcAppOptions {
  /** An open demo database; default: opens DATABASE_URL, or the embedded SQLite file. */
  database?: DemoDatabase;
  /** The payment provider and mailer the checkout calls; default: in-memory fakes. */
  services?: ShopServices;
}

export interface TrpcApp {
  router: ShopRouter;
  /** A Node request handler serving the router under any path (e.g. mount it at /trpc). */
  handler: (req: IncomingMessage, res: ServerResponse) => void;
  database: DemoDatabase;
  services: ShopServices;
  close(): Promise<void>;
}

/** The tRPC shop, ready to mount: tests and the web demo use it, server.ts listens with it. */
export async function createTrpcApp(options: TrpcAppOptions = {}): Promise<TrpcApp> {
  const database = options.database ?? (await openDemoDatabase());
  const services = options.services ?? fakeServices();
  const router = createShopRouter(database.prisma, database.store, services);
  const handler = createHTTPHandler({
    router,
    basePath: '/trpc/',
    createContext: ({ req, res, info }) => {
      // A real app authenticates here; the demo trusts a header so that tenants can be tried out.
      const header = req.headers['x-customer'];
      return { req, res, info, customer: (Array.isArray(header) ? header[0] : header) || 'guest' };
    },
  });
  return {
    router,
    handler: (req, res) => {
      if (!req.url?.startsWith('/trpc/')) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('Not found: the API lives under /trpc/\n');
        return;
      }
      handler(req, res);
    },
    database,
    services,
    close: () => (options.database ? Promise.resolve() : database.prisma.$disconnect()),
  };
}
