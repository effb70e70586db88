import { type Duration, toMs } from '../core/duration.js';
import { ConfigurationError } from '../core/errors.js';
import type { RedisClientLike } from './client.js';
import { type NodeRedisClientLike, type NodeRedisClusterLike, fromNodeRedis } from './node-redis.js';

export interface RedisStoreOptions {
  /**
   * An ioredis `Redis` or `Cluster` (or anything with the same `call` and `duplicate`), or a
   * connected node-redis client or cluster (`createClient`, `createCluster`; wrapped with
   * `fromNodeRedis`).
   */
  client: RedisClientLike | NodeRedisClientLike | NodeRedisClusterLike;
  /** Prepended to every key and channel. No braces (they would change Cluster slot routing). Default "oncely:". */
  prefix?: string;
  /**
   * How many expiry-index buckets records are spread over. Each bucket is one hash tag, so one
   * Cluster slot: more buckets spread records over more slots and nodes, fewer make purgeExpired
   * cheaper (it reads every bucket). Part of the key layout: never change it on live data.
   * Default 256.
   */
  buckets?: number;
  /**
   * How long Redis keeps a record past its expiry before deleting it (Redis TTL = expiry + grace,
   * by the Redis server's clock). Covers clock skew between your servers and Redis, so Redis never
   * deletes a record the engine still counts as live. Default "1m".
   */
  expiryGrace?: Duration;
  /**
   * Wake duplicates waiting on an in-progress key (inProgress: "wait") through pub/sub as soon as
   * the holder completes or releases. False: plain polling. Default true.
   */
  notifications?: boolean;
  /**
   * The most a store call may take, so that a Redis outage costs a request this long and then a
   * 503 with Retry-After, not ioredis' reconnect schedule. While the client is reconnecting or
   * closed the store fails at once without sending anything; while it is connecting it waits for
   * the connection within this bound; a command that has not answered by then fails. A claim that
   * reaches Redis after this bound (a blackhole, a resend) creates nothing. Default "1s".
   */
  commandTimeout?: Duration;
}

export interface ResolvedRedisOptions {
  client: RedisClientLike;
  prefix: string;
  buckets: number;
  expiryGraceMs: number;
  notifications: boolean;
  commandTimeoutMs: number;
}

export function resolveRedisOptions(options: RedisStoreOptions): ResolvedRedisOptions {
  const given = options?.client as Partial<RedisClientLike & NodeRedisClientLike> | undefined;
  const nodeRedis = !!given && typeof given.call !== 'function' && typeof given.sendCommand === 'function';
  if (!given || (typeof given.call !== 'function' && !nodeRedis)) {
    throw new ConfigurationError('RedisStore needs `client`: an ioredis Redis or Cluster, or a node-redis client or cluster.');
  }
  const client = nodeRedis ? fromNodeRedis(options.client as NodeRedisClientLike | NodeRedisClusterLike) : (options.client as RedisClientLike);
  const prefix = options.prefix ?? 'oncely:';
  if (/[{}]/.test(prefix)) throw new ConfigurationError('RedisStore: `prefix` must not contain "{" or "}" (they decide the Cluster slot).');
  const buckets = options.buckets ?? 256;
  if (!Number.isInteger(buckets) || buckets < 1 || buckets > 16384) {
    throw new ConfigurationError('RedisStore: `buckets` must be an integer from 1 to 16384.');
  }
  const commandTimeoutMs = toMs(options.commandTimeout ?? '1s', 'commandTimeout');
  if (commandTimeoutMs <= 0) throw new ConfigurationError('RedisStore: `commandTimeout` must be more than 0 ms.');
  return {
    client,
    prefix,
    buckets,
    expiryGraceMs: Math.ceil(toMs(options.expiryGrace ?? '1m', 'expiryGrace')),
    notifications: options.notifications ?? true,
    commandTimeoutMs,
  };
}
