import { createHash } from 'node:crypto';
import { ConfigurationError } from '../core/errors.js';
import type { Provider } from './client.js';
import type { StatementRunner } from './runner.js';

/** The part of a `pg` Pool the store's lease-mode statements use: `query({ name, text, values })`. */
export interface PgQueryPoolLike {
  query(config: { name?: string; text: string; values: unknown[] }): Promise<{ rows: unknown[]; rowCount: number | null }>;
}

/** The part of a `mariadb` Pool the store uses: `execute` (prepared, cached per connection) and `query`. */
export interface MariaDbPoolLike {
  execute(sql: string, values: unknown[]): Promise<unknown>;
  query(sql: string, values: unknown[]): Promise<unknown>;
}

/** The driver pool under the Prisma driver adapter: `pg.Pool` (PrismaPg) or `mariadb` Pool (PrismaMariaDb). */
export type DriverPoolLike = PgQueryPoolLike | MariaDbPoolLike;

/** Statements straight to the driver pool, prepared once per connection. */
export function poolRunner(pool: DriverPoolLike, provider: Provider): StatementRunner {
  if (provider === 'postgresql') {
    if (typeof (pool as PgQueryPoolLike)?.query !== 'function') {
      throw new ConfigurationError('PrismaStore: `pool` must be the pg.Pool your PrismaPg adapter uses (an object with query()).');
    }
    return pgRunner(pool as PgQueryPoolLike);
  }
  if (provider === 'mysql') {
    if (typeof (pool as MariaDbPoolLike)?.execute !== 'function' || typeof (pool as MariaDbPoolLike).query !== 'function') {
      throw new ConfigurationError('PrismaStore: `pool` must be the mariadb Pool your PrismaMariaDb adapter uses (an object with execute() and query()).');
    }
    return mariaDbRunner(pool as MariaDbPoolLike);
  }
  throw new ConfigurationError(`PrismaStore: \`pool\` is for PostgreSQL (pg) and MySQL/MariaDB (mariadb); this store's provider is "${provider}". Leave it out.`);
}

function pgRunner(pool: PgQueryPoolLike): StatementRunner {
  // Named statements: each connection parses and plans a text once, then only binds and executes.
  // The name is derived from the text, so stores on other tables sharing the pool never collide.
  const names = new Map<string, string>();
  const named = (text: string, values: unknown[]) => {
    let name = names.get(text);
    if (name === undefined) {
      name = `oncely_${createHash('sha256').update(text).digest('hex').slice(0, 24)}`;
      names.set(text, name);
    }
    return pool.query({ name, text, values });
  };
  return {
    rows: async <T>(sql: string, values: unknown[]) => (await named(sql, values)).rows as T[],
    count: async (sql, values) => (await named(sql, values)).rowCount ?? 0,
    once: async <T>(sql: string, values: unknown[]) => (await pool.query({ text: sql, values })).rows as T[],
  };
}

function mariaDbRunner(pool: MariaDbPoolLike): StatementRunner {
  // execute() prepares through the binary protocol and keeps the statement in the connection's cache.
  return {
    rows: async <T>(sql: string, values: unknown[]) => (await pool.execute(sql, values)) as T[],
    count: async (sql, values) => Number((await pool.execute(sql, values) as { affectedRows?: number | bigint }).affectedRows ?? 0),
    once: async <T>(sql: string, values: unknown[]) => (await pool.query(sql, values)) as T[],
  };
}
