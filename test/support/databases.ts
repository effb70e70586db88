import { randomUUID } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PrismaLibSql } from '@prisma/adapter-libsql';
import { PrismaMariaDb } from '@prisma/adapter-mariadb';
import { PrismaPg } from '@prisma/adapter-pg';
import { inject } from 'vitest';
import { mariadbOptions } from '../../examples/shared/mariadb.js';
import type { ServiceName } from './services.js';
import { PrismaStore, applyMigration } from '../../src/prisma/index.js';
import type { Provider } from '../../src/prisma/index.js';
import { PrismaClient as MysqlClient } from '../../generated/mysql/client.js';
import { PrismaClient as PostgresClient } from '../../generated/postgresql/client.js';
import { PrismaClient as SqliteClient } from '../../generated/sqlite/client.js';
import { services } from './services.js';

export interface TestDatabase {
  name: 'sqlite' | 'postgresql' | 'mariadb';
  provider: Provider;
  /** The connection URL (SQLite: file: URL of this test process's database file). */
  url: string;
  /** A new PrismaClient of the provider's generated client. */
  client(): PrismaLike;
}

// The generated clients differ only in types; tests use what all three share.
export type PrismaLike = InstanceType<typeof PostgresClient>;

const sqliteFile = join(tmpdir(), `oncely-test-${process.pid}-${randomUUID()}.db`);
process.once('exit', () => {
  for (const suffix of ['', '-wal', '-shm', '-journal']) rmSync(sqliteFile + suffix, { force: true });
});

export const allDatabases: TestDatabase[] = [
  {
    name: 'sqlite',
    provider: 'sqlite',
    url: `file:${sqliteFile}`,
    client: () => new SqliteClient({ adapter: new PrismaLibSql({ url: `file:${sqliteFile}` }) }) as unknown as PrismaLike,
  },
  {
    name: 'postgresql',
    provider: 'postgresql',
    url: services.postgres.url,
    client: () => new PostgresClient({ adapter: new PrismaPg({ connectionString: services.postgres.url, max: 20 }) }),
  },
  {
    name: 'mariadb',
    provider: 'mysql',
    url: services.mariadb.url,
    client: () => new MysqlClient({ adapter: new PrismaMariaDb(mariadbOptions(services.mariadb.url, 20)) }) as unknown as PrismaLike,
  },
];

/** The databases this run can reach: SQLite always; PostgreSQL and MariaDB when up (always in CI). */
export function testDatabases(available: ServiceName[] = inject('availableServices')): TestDatabase[] {
  return allDatabases.filter(
    (db) => db.name === 'sqlite' || (db.name === 'postgresql' ? available.includes('postgres') : available.includes('mariadb')),
  );
}

/** A fresh table of its own for one test file, so files can run in parallel on one database. */
export async function freshStore(db: TestDatabase, client = db.client()) {
  const table = `oncely_t_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  await applyMigration(client, db.provider, { table, dropExisting: true });
  // Server databases get the demo tables once, in global setup (parallel CREATEs race there).
  if (db.provider === 'sqlite') await applyDemoTables(client, db.provider);
  return { client, table, store: new PrismaStore({ client, table }) };
}

/** The demo shop's tables (CREATE IF NOT EXISTS), for tests that write business rows. */
export async function applyDemoTables(client: PrismaLike, provider: Provider) {
  const sql = readFileSync(new URL(`../../examples/shared/prisma/demo.${provider}.sql`, import.meta.url), 'utf8');
  for (const statement of sql.split(';').map((s) => s.trim()).filter(Boolean)) await client.$executeRawUnsafe(statement);
}
