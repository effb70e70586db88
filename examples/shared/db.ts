import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PrismaLibSql } from '@prisma/adapter-libsql';
import { PrismaMariaDb } from '@prisma/adapter-mariadb';
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaStore, type Provider, applyMigration } from 'oncely/prisma';
import { PrismaClient as MysqlClient } from '../../generated/mysql/client.js';
import { PrismaClient as PostgresClient } from '../../generated/postgresql/client.js';
import { PrismaClient as SqliteClient } from '../../generated/sqlite/client.js';
import { mariadbOptions } from './mariadb.js';

const here = dirname(fileURLToPath(import.meta.url));

/** The three generated clients share one shape; the demo code is written against it. */
export type DemoPrisma = InstanceType<typeof SqliteClient>;

export interface DemoDatabase {
  prisma: DemoPrisma;
  provider: Provider;
  store: PrismaStore<DemoPrisma>;
}

/**
 * Opens the demo database. Default: an embedded SQLite file under examples/.data. Set
 * DATABASE_URL to a postgresql:// or mysql:// / mariadb:// URL to use a server instead.
 */
export async function openDemoDatabase(url = process.env.DATABASE_URL): Promise<DemoDatabase> {
  let prisma: DemoPrisma;
  let provider: Provider;
  if (!url || url.startsWith('file:')) {
    const file = url ?? `file:${join(here, '..', '.data', 'demo.db')}`;
    mkdirSync(dirname(file.slice('file:'.length)), { recursive: true });
    prisma = new SqliteClient({ adapter: new PrismaLibSql({ url: file }) });
    provider = 'sqlite';
  } else if (url.startsWith('postgres')) {
    prisma = new PostgresClient({ adapter: new PrismaPg({ connectionString: url }) }) as unknown as DemoPrisma;
    provider = 'postgresql';
  } else if (url.startsWith('mysql') || url.startsWith('mariadb')) {
    prisma = new MysqlClient({ adapter: new PrismaMariaDb(mariadbOptions(url, 10)) }) as unknown as DemoPrisma;
    provider = 'mysql';
  } else {
    throw new Error(`DATABASE_URL must start with file:, postgresql:// or mysql:// (got ${url})`);
  }
  await migrate(prisma, provider);
  return { prisma, provider, store: new PrismaStore({ client: prisma }) };
}

/** Creates the tables when missing. Real projects run `prisma migrate deploy` instead. */
async function migrate(prisma: DemoPrisma, provider: Provider): Promise<void> {
  // Re-runnable: leaves a fit table alone and refuses an unfit one with the fix.
  await applyMigration(prisma, provider);
  const sql = readFileSync(join(here, 'prisma', `demo.${provider}.sql`), 'utf8');
  for (const statement of sql.split(';').map((s) => s.trim()).filter(Boolean)) await prisma.$executeRawUnsafe(statement);
}
