export { RedisStore } from './store.js';
export type { RedisStoreOptions } from './options.js';
export type { RedisClientLike, RedisSubscriberLike } from './client.js';
export { KeyLayout } from './keys.js';
export type { RecordKeys } from './keys.js';
export { fromNodeRedis } from './node-redis.js';
export type { NodeRedisClientLike, NodeRedisClusterLike } from './node-redis.js';
