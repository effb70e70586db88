import { randomUUID } from 'node:crypto';
import { type RedisClientType, createClient } from '@redis/client';
import { Redis } from 'ioredis';
import { inject } from 'vitest';
import { type RedisClientLike, fromNodeRedis } from '../../../src/redis/index.js';
import { services } from '../../support/services.js';

/** True when the local Redis answered in global setup (always true in CI, where setup fails otherwise). */
export function localRedisAvailable(): boolean {
  return inject('availableServices').includes('redis');
}

export function localRedis(): Redis {
  return new Redis(services.redis.url, { maxRetriesPerRequest: 3, lazyConnect: false });
}

/** A prefix of its own per test file and run, so parallel files and earlier runs never collide. */
export function uniquePrefix(name: string): string {
  return `oncely-test:${name}:${randomUUID().slice(0, 8)}:`;
}

/** Deletes every key under `prefix` (test clean-up on a standalone Redis). */
export async function deletePrefix(client: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await client.del(...keys);
  } while (cursor !== '0');
}

/** A connected node-redis client on the local Redis (the `redis` / `@redis/client` package). */
export async function localNodeRedis(): Promise<RedisClientType> {
  return (await createClient({ url: services.redis.url }).on('error', () => undefined).connect()) as RedisClientType;
}

/** The two clients the store supports, by name: each test file runs its cases on both. */
export const CLIENT_KINDS = ['ioredis', 'node-redis'] as const;
export type ClientKind = (typeof CLIENT_KINDS)[number];

/** A store client of `kind` on the local Redis, and how to close it. */
export async function localStoreClient(kind: ClientKind): Promise<{ client: RedisClientLike; close(): Promise<void> }> {
  if (kind === 'ioredis') {
    const client = localRedis();
    return { client, close: async () => client.disconnect() };
  }
  const client = await localNodeRedis();
  return { client: fromNodeRedis(client), close: async () => client.destroy() };
}
