import type { IdempotencyStore } from '../core/store.js';
import { PrismaStore } from '../prisma/store.js';
import { RedisStore } from '../redis/store.js';
import { type SqlConnection, connect } from './sql-client.js';
import { UsageError } from './usage.js';

/** Where the records are, as the command line names them. */
export interface TargetOptions {
  url: string;
  table: string;
  prefix: string;
  buckets: number;
}

/** An open store, and what the commands need to know about it. */
export interface Target {
  store: IdempotencyStore;
  /** Human name for messages: the table, or the Redis prefix. */
  where: string;
  /** How many records are expired at `now`; undefined when the store cannot count (Redis). */
  countExpired?: (now: number) => Promise<number>;
  close(): Promise<void>;
}

export const isRedisUrl = (url: string) => /^rediss?:\/\//.test(url);

/** Opens the store behind the URL: a PrismaStore over a plain driver, or a RedisStore over ioredis. */
export async function openTarget(options: TargetOptions): Promise<Target> {
  if (isRedisUrl(options.url)) return openRedis(options);
  const connection = await connect(options.url);
  return sqlTarget(connection, options.table);
}

export function sqlTarget(connection: SqlConnection, table: string): Target {
  const store = new PrismaStore({ client: connection, provider: connection.provider, table });
  return {
    store,
    where: `table ${table}`,
    countExpired: (now) => store.countExpired(now),
    close: () => connection.close(),
  };
}

async function openRedis(options: TargetOptions): Promise<Target> {
  const ioredis = await import('ioredis').catch((error: unknown) => {
    throw new Error('Redis URLs need the "ioredis" package: npm install ioredis', { cause: error });
  });
  if (/[{}]/.test(options.prefix)) throw new UsageError('--prefix must not contain "{" or "}"');
  // Fail fast when Redis is not there instead of reconnecting forever.
  const client = new ioredis.Redis(options.url, { maxRetriesPerRequest: 1, retryStrategy: () => null, lazyConnect: true });
  client.on('error', () => {}); // reported through the failing command
  await client.connect();
  const store = new RedisStore({ client, prefix: options.prefix, buckets: options.buckets, notifications: false, commandTimeout: '10s' });
  return {
    store,
    where: `Redis prefix "${options.prefix}"`,
    countExpired: (now) => store.countExpired(now),
    close: async () => {
      store.close();
      await client.quit().catch(() => client.disconnect());
    },
  };
}
