import type { IdempotencyRecord, RecordScope } from '../core/record.js';
import type { Completion, CreateOrGet, IdempotencyStore, StepRecord } from '../core/store.js';
import { type GaveUp, RedisUnavailableError, bounded } from './bound.js';
import type { RedisClientLike } from './client.js';
import { FIELDS, fromValues, purgeTime, toFieldPairs } from './fields.js';
import { KeyLayout } from './keys.js';
import { claimScript, completeScript, loadStepsScript, recordStepScript, releaseScript, renewScript, takeOverScript, watchScript } from './lua.js';
import type { LuaScript } from './script.js';
import { ChangeNotifier } from './notifier.js';
import { type RedisStoreOptions, type ResolvedRedisOptions, resolveRedisOptions } from './options.js';
import { countBuckets, purgeBuckets } from './purge.js';
import { stepValue, stepsFromValues } from './steps.js';

/**
 * Idempotency records in Redis or Redis Cluster (through ioredis or node-redis).
 *
 * Each record is a hash; every change is one Lua script that checks and writes atomically on the
 * server (claim only when absent, token-guarded renew/complete/release, takeover only when
 * reclaimable at the engine's `now`). Expiry decisions use the timestamps stored in the record,
 * never the Redis TTL: the TTL only removes records well after they expired (see `expiryGrace`).
 *
 * Every call is bounded by `commandTimeout` (see bound.ts), and the claim scripts refuse to write
 * when they reach Redis after the store gave up on them (see lua.ts), so an outage costs a request
 * about a second and never leaves a claim nobody holds.
 */
export class RedisStore implements IdempotencyStore {
  /** The key layout, e.g. to find a record with redis-cli: `store.layout.of(scope).record`. */
  readonly layout: KeyLayout;
  private readonly client: RedisClientLike;
  private readonly config: ResolvedRedisOptions;
  private readonly notifier: ChangeNotifier | undefined;
  /** `client` with every command bounded on its own (purgeExpired sends many small ones). */
  private readonly boundedClient: RedisClientLike;
  /**
   * An upper bound of (Redis server clock - local clock) in ms, and when it was measured: turns the
   * local instant at which a call gives up into the deadline a claim script checks on Redis.
   */
  private redisClock: { offset: number; at: number } | undefined;

  constructor(options: RedisStoreOptions) {
    this.config = resolveRedisOptions(options);
    this.client = this.config.client;
    this.layout = new KeyLayout(this.config.prefix, this.config.buckets);
    this.notifier = this.config.notifications ? new ChangeNotifier(this.client, this.config.commandTimeoutMs) : undefined;
    const client = this.client;
    this.boundedClient = {
      call: (command, ...args) => this.bounded(() => client.call(command, ...args)),
      duplicate: () => client.duplicate(),
    };
  }

  async create(record: IdempotencyRecord): Promise<boolean> {
    return (await this.insert(record, false))[0] === 1;
  }

  /** create, and the existing record when there is one, in one script (a replay is one round trip). */
  async createOrGet(record: IdempotencyRecord): Promise<CreateOrGet> {
    const reply = await this.insert(record, true);
    if (reply[0] === 1) return { created: true };
    return { created: false, existing: fromValues(reply, 2) };
  }

  private insert(record: IdempotencyRecord, read: boolean): Promise<unknown[]> {
    const k = this.layout.of(record);
    const purgeAt = String(purgeTime(record));
    return this.claim(record, claimScript, [k.record, k.index], (deadline) => [
      k.id, this.config.expiryGraceMs, deadline, purgeAt, read ? '1' : '0', ...toFieldPairs(record),
    ]);
  }

  async get(scope: RecordScope): Promise<IdempotencyRecord | null> {
    return fromValues(await this.bounded(() => this.client.call('HMGET', this.layout.of(scope).record, ...FIELDS)));
  }

  async takeOver(record: IdempotencyRecord, expectedToken: string, now: number): Promise<boolean> {
    const k = this.layout.of(record);
    const purgeAt = String(purgeTime(record));
    const reply = await this.claim(record, takeOverScript, [k.record, k.index], (deadline) => [
      k.id, this.config.expiryGraceMs, k.channel, expectedToken, String(now), deadline, purgeAt, ...toFieldPairs(record),
    ]);
    return reply[0] === 1;
  }

  // renew, complete and release carry no deadline: run late they change nothing or what their
  // caller meant (each only touches an in-progress record still holding the caller's token, and
  // the engine treats their failure as a lost lease). A late completion even lets retries replay.

  async renew(scope: RecordScope, token: string, leaseExpiresAt: number, now: number): Promise<boolean> {
    const k = this.layout.of(scope);
    const args = [k.id, this.config.expiryGraceMs, token, String(leaseExpiresAt), String(now)];
    return Number(await this.bounded(() => renewScript.run(this.client, [k.record, k.index], args))) === 1;
  }

  /** The steps of the in-progress record held with `token`, in order; null when `token` no longer holds it. */
  async loadSteps(scope: RecordScope, token: string): Promise<StepRecord[] | null> {
    const reply = await this.bounded(() => loadStepsScript.run(this.client, [this.layout.of(scope).record], [token]));
    if (!Array.isArray(reply) || reply.length < 1) throw new Error('RedisStore: unexpected loadSteps reply.');
    return Number(reply[0]) === 1 ? stepsFromValues(reply.slice(1)) : null;
  }

  /**
   * Appends `step` to the record held with `token` when exactly `step.index` steps are recorded,
   * and renews the lease to `leaseExpiresAt`, in one script. Like renew, harmless when run late.
   */
  async recordStep(scope: RecordScope, token: string, step: StepRecord, leaseExpiresAt: number): Promise<boolean> {
    const k = this.layout.of(scope);
    const args = [k.id, this.config.expiryGraceMs, token, String(step.index), String(step.index + 1), stepValue(step), String(leaseExpiresAt), String(step.completedAt)];
    return Number(await this.bounded(() => recordStepScript.run(this.client, [k.record, k.index], args))) === 1;
  }

  async complete(scope: RecordScope, token: string, c: Completion): Promise<boolean> {
    const k = this.layout.of(scope);
    const args = [k.id, this.config.expiryGraceMs, k.channel, token, c.response, String(c.completedAt), String(c.expiresAt)];
    return Number(await this.bounded(() => completeScript.run(this.client, [k.record, k.index], args))) === 1;
  }

  async release(scope: RecordScope, token: string): Promise<boolean> {
    const k = this.layout.of(scope);
    return Number(await this.bounded(() => releaseScript.run(this.client, [k.record, k.index], [k.id, k.channel, token]))) === 1;
  }

  /**
   * Deletes up to `limit` records purgeable at `now`, oldest first, across all buckets. Optional
   * with Redis: its TTL deletes every record `expiryGrace` after it expired anyway. Useful with a
   * clock of your own, or to free memory before the grace is over.
   */
  async purgeExpired(now: number, limit: number): Promise<number> {
    if (limit <= 0) return 0;
    return purgeBuckets(this.boundedClient, this.layout, now, limit);
  }

  /**
   * How many records are purgeable at `now` (what purgeExpired would delete without a limit): the
   * entries of every bucket's index due by `now` whose record Redis has not already deleted. Reads
   * the due entries page by page (one bucket at a time per request), so it costs about as much as
   * listing them; for `oncely purge --dry-run`.
   */
  async countExpired(now: number): Promise<number> {
    return countBuckets(this.boundedClient, this.layout, now);
  }

  /**
   * Resolves when the holder of `scope` completes or releases it (pub/sub), or after `timeoutMs`.
   * Expired leases are not announced; the engine's re-read after the timeout finds them.
   */
  async waitForChange(scope: RecordScope, timeoutMs: number): Promise<void> {
    if (!this.notifier) return new Promise((resolve) => setTimeout(resolve, Math.max(0, timeoutMs)));
    const k = this.layout.of(scope);
    // Once subscribed: mark the record as watched (its holder then publishes) unless it already changed.
    return this.notifier.wait(k.channel, timeoutMs, async () => Number(await this.bounded(() => watchScript.run(this.client, [k.record], []))) === 1);
  }

  private bounded<T>(fn: (giveUpAt: number, gaveUp: GaveUp) => Promise<T>): Promise<T> {
    return bounded(this.client, this.config.commandTimeoutMs, fn);
  }

  /**
   * Runs a claim script (create or takeOver) with the deadline after which Redis must refuse it:
   * the instant this call gives up, on Redis' clock. The offset used is an upper bound (see
   * learnClock), so a claim that reaches Redis while the store still waits is never refused for
   * being late; if Redis' clock jumped ahead, the refusal arrives in time and the claim is sent once
   * more with the corrected offset. A claim that was written in time but whose answer came back
   * after the caller got its 503 is released at once, so its key is not blocked until the lease
   * runs out.
   */
  private claim(record: IdempotencyRecord, script: LuaScript, keys: string[], args: (deadline: string) => (string | number)[]): Promise<unknown[]> {
    return this.bounded(async (giveUpAt, gaveUp) => {
      for (let attempt = 0; ; attempt++) {
        const deadline = giveUpAt + (this.redisClock?.offset ?? (await this.redisClockOffset()));
        const sentAt = Date.now();
        const reply = (await script.run(this.client, keys, args(String(deadline)))) as unknown[];
        if (!Array.isArray(reply) || reply.length < 2) throw new Error('RedisStore: unexpected claim script reply.');
        const result = Number(reply[0]);
        reply[0] = result;
        // Too late: the caller was already told the store is unavailable. Undo, learn and retry nothing.
        if (gaveUp.aborted || Date.now() >= giveUpAt) {
          if (result === 1) this.release(record, record.token).catch(() => undefined);
          throw new RedisUnavailableError('the claim was answered after commandTimeout.');
        }
        this.learnClock(Number(reply[1]), sentAt, result === -1);
        if (result !== -1) return reply;
        if (attempt > 0) throw new RedisUnavailableError("Redis refused the claim as late twice: its clock keeps jumping ahead of this server's.");
      }
    });
  }

  private async redisClockOffset(): Promise<number> {
    if (!this.redisClock) {
      const sentAt = Date.now();
      const time = await this.client.call('TIME');
      if (Array.isArray(time)) this.learnClock(Number(time[0]) * 1000 + Math.floor(Number(time[1]) / 1000), sentAt, true);
    }
    // A client whose TIME reply cannot be read: no deadline until a claim's reply teaches the clock.
    return this.redisClock?.offset ?? 8.64e15;
  }

  /**
   * `serverNow` was read by Redis after `sentAt` (local), so serverNow - sentAt (+1 ms for the
   * truncation to ms) is at least the true offset between the clocks. The smallest recent sample
   * is kept (the tightest bound), refreshed every 10 s so that a clock adjustment is followed.
   */
  private learnClock(serverNow: number, sentAt: number, force: boolean): void {
    if (!Number.isFinite(serverNow)) return;
    const offset = serverNow + 1 - sentAt;
    const now = Date.now();
    const known = this.redisClock;
    if (force || !known || offset <= known.offset || now - known.at > 10_000) this.redisClock = { offset, at: now };
  }

  /** Closes the store's own subscriber connection (not your client). Call it on shutdown. */
  close(): void {
    this.notifier?.close();
  }
}
