// The shop (app.ts) served by Bun.serve, its idempotency records in SQLite through Prisma
// (PrismaStore, @prisma/adapter-libsql), so a retry after a crash or restart still finds them.
//
//   npx bun examples/hono-bun/server.ts          (after `npm run prisma:generate && npm run build`)
//
// Environment: PORT (3000), DATABASE_URL (file: URL; default examples/.data/hono-bun.db),
// PROVIDER_URL (the fake provider; default: one started in this process), LEASE ("60s").
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PrismaLibSql } from '@prisma/adapter-libsql';
import type { Duration } from 'oncely';
import { PrismaStore, applyMigration } from 'oncely/prisma';
import { PrismaClient } from '../../generated/sqlite/client.ts';
import { createShop } from './app.ts';
import { bun } from './bun.ts';
import { createProvider } from './provider.ts';

const runtime = bun();
const here = dirname(fileURLToPath(import.meta.url));
const databaseUrl = process.env.DATABASE_URL ?? `file:${join(here, '..', '.data', 'hono-bun.db')}`;
if (!databaseUrl.startsWith('file:')) throw new Error(`DATABASE_URL must be a file: URL (SQLite); got ${databaseUrl}`);
mkdirSync(dirname(databaseUrl.slice('file:'.length)), { recursive: true });

const prisma = new PrismaClient({ adapter: new PrismaLibSql({ url: databaseUrl }) });
// Creates oncely's table when missing (re-runnable). Real projects run `prisma migrate deploy`.
await applyMigration(prisma, 'sqlite');
const store = new PrismaStore({ client: prisma });

let providerUrl = process.env.PROVIDER_URL;
if (!providerUrl) {
  const provider = runtime.serve({ hostname: '127.0.0.1', port: 0, fetch: createProvider() });
  providerUrl = `http://${provider.hostname}:${provider.port}`;
}

const shop = createShop({ store, providerUrl, lease: process.env.LEASE as Duration | undefined });
const server = runtime.serve({ hostname: '127.0.0.1', port: Number(process.env.PORT ?? 3000), fetch: shop.fetch });
console.log(`shop listening on http://${server.hostname}:${server.port} (Bun ${runtime.version}, provider ${providerUrl}, ${databaseUrl})`);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, async () => {
    await server.stop();
    await prisma.$disconnect();
    process.exit(0);
  });
}
