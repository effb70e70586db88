import { afterAll, describe, it } from 'vitest';
import { RedisStore } from '../../src/redis/index.js';
import { runStoreContract } from '../../src/testing/index.js';
import { deletePrefix, localRedis, localRedisAvailable, uniquePrefix } from './support/redis.js';

const available = localRedisAvailable();
const client = available ? localRedis() : undefined;
const prefix = uniquePrefix('contract');

describe.skipIf(!available)('RedisStore on the local Redis', () => {
  const store = new RedisStore({ client: client!, prefix });
  runStoreContract({ name: 'RedisStore (standalone)', store: () => store, describe, it });
  // The same promises with one bucket (every record in one index) and with pub/sub off.
  const single = new RedisStore({ client: client!, prefix: `${prefix}single:`, buckets: 1, notifications: false });
  runStoreContract({ name: 'RedisStore (one bucket, polling)', store: () => single, describe, it });

  afterAll(async () => {
    store.close();
    single.close();
    await deletePrefix(client!, prefix);
    client!.disconnect();
  });
});
