import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisStore } from '../../src/redis/index.js';
import { PAY, type YogaApp, post, startYogaApp } from '../envelop/helpers.js';
import { Counter, type TrpcApp, buildRouter, client, startTrpcApp } from '../trpc/harness.js';
import { CLIENT_KINDS, deletePrefix, localRedis, localRedisAvailable, localStoreClient, uniquePrefix } from './support/redis.js';

// The Envelop plugin and the tRPC middleware, unchanged, on the Redis store through each client.
describe.runIf(localRedisAvailable()).each(CLIENT_KINDS)('integrations on the Redis store through %s', (kind) => {
  const prefix = uniquePrefix(`integrations-${kind}`);
  let opened: Awaited<ReturnType<typeof localStoreClient>>;
  let store: RedisStore;
  beforeAll(async () => {
    opened = await localStoreClient(kind);
    store = new RedisStore({ client: opened.client, prefix });
  });

  afterAll(async () => {
    await store.close();
    const redis = localRedis();
    await deletePrefix(redis, prefix);
    redis.disconnect();
    await opened.close();
  });

  describe('Yoga + useIdempotency', () => {
    let server: YogaApp;
    beforeAll(async () => {
      server = await startYogaApp({ store, getTenant: () => 'tenant-a', inProgress: 'wait' }, {}, {}, { http: true });
    });
    afterAll(() => server.close());

    it('replays body and status with the marker, and runs 30 parallel duplicates once', async () => {
      const key = randomUUID();
      const variables = { orderId: 'o-1', amount: 500 };
      const replies = await Promise.all(Array.from({ length: 30 }, () => post(server.url, { query: PAY, variables }, { 'idempotency-key': key })));
      expect(server.calls.pay).toBe(1);
      expect(new Set(replies.map((r) => r.text)).size).toBe(1);
      expect(replies.every((r) => r.status === 200)).toBe(true);
      expect(replies.filter((r) => r.headers.get('idempotent-replayed') === 'true')).toHaveLength(29);
      const mismatch = await post(server.url, { query: PAY, variables: { ...variables, amount: 501 } }, { 'idempotency-key': key });
      expect(mismatch.status).toBe(422);
      expect(mismatch.json.errors[0].extensions.code).toBe('IDEMPOTENCY_KEY_REUSED');
    });
  });

  describe('tRPC + createIdempotencyMiddleware', () => {
    let server: TrpcApp;
    const counter = new Counter();
    beforeAll(async () => {
      server = await startTrpcApp(buildRouter({ store }, counter, { superjson: true }), 'standalone');
    });
    afterAll(() => server.close());

    it('replays deep-equal outputs and runs 30 parallel duplicates once', async () => {
      const { trpc, seen } = client(server.url, 'http', true);
      const key = randomUUID();
      const input = { label: `redis-${key}`, at: new Date(5), rich: true };
      const settled = await Promise.allSettled(Array.from({ length: 30 }, () => trpc.create.mutate(input, { context: { key } })));
      expect(counter.of(input.label)).toBe(1);
      const ok = settled.filter((s) => s.status === 'fulfilled').map((s) => (s as PromiseFulfilledResult<unknown>).value);
      const conflicts = settled.filter((s) => s.status === 'rejected' && /CONFLICT|in use|still being processed/i.test(String((s as PromiseRejectedResult).reason)));
      expect(ok.length + conflicts.length).toBe(30);
      const replay = await trpc.create.mutate(input, { context: { key } });
      expect(replay).toEqual(ok[0]);
      expect((replay as { totals: Map<string, bigint> }).totals.get('cents')).toBe(12_345_678_901_234_567_890n);
      expect(seen.at(-1)?.headers.get('idempotent-replayed')).toBe('true');
    });
  });
});
