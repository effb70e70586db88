import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { inject } from 'vitest';
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
