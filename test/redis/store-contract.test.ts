import { afterAll, beforeAll, describe, it } from 'vitest';
import { type RedisClientLike, RedisStore } from '../../src/redis/index.js';
import { runStoreContract } from '../../src/testing/index.js';
import { CLIENT_KINDS, deletePrefix, localRedis, localRedisAvailable, localStoreClient, uniquePrefix } from './support/redis.js';

const available = localRedisAvailable();

// The same promises through ioredis and through node-redis (fromNodeRedis).
describe.skipIf(!available).each(CLIENT_KINDS)('RedisStore on the local Redis through %s', (kind) => {
  const prefix = uniquePrefix(`contract-${kind}`);
  let opened: { client: RedisClientLike; close(): Promise<void> };
  let store: RedisStore;
  let single: RedisStore;
  beforeAll(async () => {
    opened = await localStoreClient(kind);
    store = new RedisStore({ client: opened.client, prefix });
    // The same promises with one bucket (every record in one index) and with pub/sub off.
    single = new RedisStore({ client: opened.client, prefix: `${prefix}single:`, buckets: 1, notifications: false });
  });
  runStoreContract({ name: `RedisStore (standalone, ${kind})`, store: () => store, describe, it });
  runStoreContract({ name: `RedisStore (one bucket, polling, ${kind})`, store: () => single, describe, it });

  afterAll(async () => {
    store.close();
    single.close();
    const cleaner = localRedis();
    await deletePrefix(cleaner, prefix);
    cleaner.disconnect();
    await opened.close();
  });
});
