import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PrismaLibSql } from '@prisma/adapter-libsql';
import { PrismaMariaDb } from '@prisma/adapter-mariadb';
import { PrismaPg } from '@prisma/adapter-pg';
import { Redis } from 'ioredis';
import * as mariadb from 'mariadb';
import pg from 'pg';
import type { IdempotencyStore } from 'oncely';
import { type DriverPoolLike, PrismaStore, type Provider, applyMigration } from 'oncely/prisma';
import { RedisStore } from 'oncely/redis';
import { mariadbOptions } from '../../examples/shared/mariadb.js';
import { type StatementCounter, countingAdapter } from './counting-adapter.js';
import { PrismaClient as MysqlClient } from '../../generated/mysql/client.js';
import { PrismaClient as PostgresClient } from '../../generated/postgresql/client.js';
import { PrismaClient as SqliteClient } from '../../generated/sqlite/client.js';

export const POSTGRES_URL = process.env.ONCELY_TEST_POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432/test';
export const MARIADB_URL = process.env.ONCELY_TEST_MARIADB_URL ?? 'mariadb://root@127.0.0.1:3306/test';
export const REDIS_URL = process.env.ONCELY_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export type BackendName = 'sqlite' | 'postgresql' | 'mariadb' | 'redis';

export type Prisma = InstanceType<typeof PostgresClient>;

export interface Backend {
  name: BackendName;
  store: IdempotencyStore;
  /**
   * Prisma backends: the client, provider and table (for seeding); on PostgreSQL and MariaDB the
   * driver pool under the client's adapter (for PrismaStore's `pool` option).
   */
  prisma?: { client: Prisma; provider: Provider; table: string; pool?: DriverPoolLike };
  redis?: Redis;
  /** With `countStatements`: every statement the Prisma client sends, sorted (see counting-adapter). */
  statements?: StatementCounter;
  close(): Promise<void>;
}

export type SqlBackendName = Exclude<BackendName, 'redis'>;

export function prismaClient(name: SqlBackendName, sqliteFile?: string, countFor?: string): { client: Prisma; statements?: StatementCounter; pool?: pg.Pool | mariadb.Pool } {
  // The driver pool made here and handed to the adapter (as an application does), so that a store
  // can share it (PrismaStore `pool`); the adapter never ends a pool it was given: close() does.
  const pool =
    name === 'postgresql' ? new pg.Pool({ connectionString: POSTGRES_URL, max: 40 }) : name === 'mariadb' ? mariadb.createPool(mariadbOptions(MARIADB_URL, 40)) : undefined;
  const factory =
    name === 'sqlite'
      ? new PrismaLibSql({ url: `file:${sqliteFile}` })
      : name === 'postgresql'
        ? new PrismaPg(pool as pg.Pool)
        : new PrismaMariaDb(pool as mariadb.Pool);
  const counted = countFor === undefined ? undefined : countingAdapter(factory, () => countFor);
  const adapter = counted?.factory ?? factory;
  const client =
    name === 'sqlite'
      ? (new SqliteClient({ adapter: adapter as PrismaLibSql }) as unknown as Prisma)
      : name === 'postgresql'
        ? new PostgresClient({ adapter: adapter as PrismaPg })
        : (new MysqlClient({ adapter: adapter as PrismaMariaDb }) as unknown as Prisma);
  return { client, ...(counted ? { statements: counted.counter } : {}), ...(pool ? { pool } : {}) };
}

/** A store on a table (or key prefix) of its own, dropped on close. */
export async function openBackend(name: BackendName, options: { countStatements?: boolean } = {}): Promise<Backend> {
  const suffix = randomUUID().replaceAll('-', '').slice(0, 10);
  if (name === 'redis') {
    const redis = new Redis(REDIS_URL);
    const prefix = `bench${suffix}:`;
    const store = new RedisStore({ client: redis, prefix });
    return {
      name,
      store,
      redis,
      async close() {
        await store.close();
        let cursor = '0';
        do {
          const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
          cursor = next;
          if (keys.length) await redis.del(...keys);
        } while (cursor !== '0');
        redis.disconnect();
      },
    };
  }
  const sqliteFile = join(tmpdir(), `oncely-bench-${suffix}.db`);
  const table = `bench_${suffix}`;
  const { client, statements, pool } = prismaClient(name, sqliteFile, options.countStatements ? table : undefined);
  const provider: Provider = name === 'mariadb' ? 'mysql' : name;
  if (name === 'sqlite') await client.$executeRawUnsafe('PRAGMA journal_mode = WAL');
  await applyMigration(client, provider, { table, dropExisting: true });
  return {
    name,
    store: new PrismaStore({ client, table }),
    prisma: { client, provider, table, ...(pool ? { pool } : {}) },
    ...(statements ? { statements } : {}),
    async close() {
      await client.$executeRawUnsafe(`DROP TABLE IF EXISTS ${table}`);
      await client.$disconnect();
      await pool?.end();
      if (name === 'sqlite') for (const s of ['', '-wal', '-shm']) rmSync(sqliteFile + s, { force: true });
    },
  };
}

/**
 * Inserts `count` completed records in bulk, in one statement per chunk generated by the database
 * itself: seeding a million rows through the store would take longer than the benchmark.
 */
export async function seed(backend: Backend, count: number, options: { expired: boolean }): Promise<void> {
  const now = Date.now();
  const expiresAt = options.expired ? now - 60_000 : now + 86_400_000;
  if (backend.redis) {
    throw new Error('seed() is for the SQL stores');
  }
  const { client, provider, table } = backend.prisma!;
  const chunk = 200_000;
  for (let start = 0; start < count; start += chunk) {
    const n = Math.min(chunk, count - start);
    const values = `'seed', 'op', ${keyExpr(provider)}, 'completed', 'f', 'tok', 1, NULL, '"x"', ${now - 100_000}, ${now - 100_000}, ${expiresAt} + (i % 1000)`;
    const cols = provider === 'mysql'
      ? '(tenant, operation, `key`, status, fingerprint, token, fence, lease_expires_at, response, created_at, updated_at, expires_at)'
      : '(tenant, operation, "key", status, fingerprint, token, fence, lease_expires_at, response, created_at, updated_at, expires_at)';
    const sql =
      provider === 'postgresql'
        ? `INSERT INTO ${table} ${cols} SELECT ${values} FROM generate_series(${start}, ${start + n - 1}) AS s(i)`
        : provider === 'mysql'
          ? `INSERT INTO ${table} ${cols} SELECT ${values} FROM (SELECT seq AS i FROM seq_${start}_to_${start + n - 1}) AS s`
          : `WITH RECURSIVE s(i) AS (SELECT ${start} UNION ALL SELECT i + 1 FROM s WHERE i < ${start + n - 1}) INSERT INTO ${table} ${cols} SELECT ${values} FROM s`;
    await client.$executeRawUnsafe(sql);
  }
  if (provider === 'postgresql') await client.$executeRawUnsafe(`ANALYZE ${table}`);
  if (provider === 'mysql') await client.$executeRawUnsafe(`ANALYZE TABLE ${table}`);
}

function keyExpr(provider: Provider): string {
  if (provider === 'postgresql') return `'seed-' || i`;
  if (provider === 'mysql') return `CONCAT('seed-', i)`;
  return `'seed-' || i`;
}
