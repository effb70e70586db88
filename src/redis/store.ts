import type { IdempotencyRecord, RecordScope } from '../core/record.js';
import type { Completion, IdempotencyStore } from '../core/store.js';
import type { RedisClientLike } from './client.js';
import { FIELDS, fromValues, toFieldPairs } from './fields.js';
import { KeyLayout } from './keys.js';
import { completeScript, createScript, releaseScript, renewScript, takeOverScript } from './lua.js';
import { ChangeNotifier } from './notifier.js';
import { type RedisStoreOptions, type ResolvedRedisOptions, resolveRedisOptions } from './options.js';
import { purgeBuckets } from './purge.js';

/**
 * Idempotency records in Redis or Redis Cluster (through ioredis).
 *
 * Each record is a hash; every change is one Lua script that checks and writes atomically on the
 * server (claim only when absent, token-guarded renew/complete/release, takeover only when
 * reclaimable at the engine's `now`). Expiry decisions use the timestamps stored in the record,
 * never the Redis TTL: the TTL only removes records well after they expired (see `expiryGrace`).
 */
export class RedisStore implements IdempotencyStore {
  /** The key layout, e.g. to find a record with redis-cli: `store.layout.of(scope).record`. */
  readonly layout: KeyLayout;
  private readonly client: RedisClientLike;
  private readonly config: ResolvedRedisOptions;
  private readonly notifier: ChangeNotifier | undefined;

  constructor(options: RedisStoreOptions) {
    this.config = resolveRedisOptions(options);
    this.client = this.config.client;
    this.layout = new KeyLayout(this.config.prefix, this.config.buckets);
    this.notifier = this.config.notifications ? new ChangeNotifier(this.client) : undefined;
  }

  async create(record: IdempotencyRecord): Promise<boolean> {
    const k = this.layout.of(record);
    const reply = await createScript.run(this.client, [k.record, k.index], [k.id, this.config.expiryGraceMs, ...toFieldPairs(record)]);
    return Number(reply) === 1;
  }

  async get(scope: RecordScope): Promise<IdempotencyRecord | null> {
    return fromValues(await this.client.call('HMGET', this.layout.of(scope).record, ...FIELDS));
  }

  async takeOver(record: IdempotencyRecord, expectedToken: string, now: number): Promise<boolean> {
    const k = this.layout.of(record);
    const args = [k.id, this.config.expiryGraceMs, k.channel, expectedToken, String(now), ...toFieldPairs(record)];
    return Number(await takeOverScript.run(this.client, [k.record, k.index], args)) === 1;
  }

  async renew(scope: RecordScope, token: string, leaseExpiresAt: number, now: number): Promise<boolean> {
    const k = this.layout.of(scope);
    const args = [k.id, this.config.expiryGraceMs, token, String(leaseExpiresAt), String(now)];
    return Number(await renewScript.run(this.client, [k.record, k.index], args)) === 1;
  }

  async complete(scope: RecordScope, token: string, c: Completion): Promise<boolean> {
    const k = this.layout.of(scope);
    const args = [k.id, this.config.expiryGraceMs, k.channel, token, c.response, String(c.completedAt), String(c.expiresAt)];
    return Number(await completeScript.run(this.client, [k.record, k.index], args)) === 1;
  }

  async release(scope: RecordScope, token: string): Promise<boolean> {
    const k = this.layout.of(scope);
    return Number(await releaseScript.run(this.client, [k.record, k.index], [k.id, k.channel, token])) === 1;
  }

  /**
   * Deletes up to `limit` records purgeable at `now`, oldest first, across all buckets. Optional
   * with Redis: its TTL deletes every record `expiryGrace` after it expired anyway. Useful with a
   * clock of your own, or to free memory before the grace is over.
   */
  async purgeExpired(now: number, limit: number): Promise<number> {
    if (limit <= 0) return 0;
    return purgeBuckets(this.client, this.layout, now, limit);
  }

  /**
   * Resolves when the holder of `scope` completes or releases it (pub/sub), or after `timeoutMs`.
   * Expired leases are not announced; the engine's re-read after the timeout finds them.
   */
  async waitForChange(scope: RecordScope, timeoutMs: number): Promise<void> {
    if (!this.notifier) return new Promise((resolve) => setTimeout(resolve, Math.max(0, timeoutMs)));
    const k = this.layout.of(scope);
    return this.notifier.wait(k.channel, timeoutMs, async () => (await this.client.call('HGET', k.record, 'status')) === 'in_progress');
  }

  /** Closes the store's own subscriber connection (not your client). Call it on shutdown. */
  close(): void {
    this.notifier?.close();
  }
}
