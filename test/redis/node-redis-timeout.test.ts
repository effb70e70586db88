/**
 * RedisStore on node-redis sends its commands without node-redis' default per-command timeout,
 * but keeps a timeout the user set on the client (docs/redis.md).
 *
 * Note: node-redis' per-command timeout only covers the wait to be written to the socket (the
 * queue drops the timer once a command is written), so against a blackhole that still accepts
 * writes it never fires; the store's own commandTimeout is what bounds a call there. The effect of
 * losing it is therefore small in practice; it would break what the docs say, not the 503 bound.
 */
import { randomUUID } from 'node:crypto';
import { type RedisClientType, createClient } from '@redis/client';
import { describe, expect, it } from 'vitest';
import { RedisStore } from '../../src/redis/index.js';
import { services } from '../support/services.js';
import { localRedisAvailable } from './support/redis.js';

describe.skipIf(!localRedisAvailable())('node-redis timeout set on the client', () => {
  // Found in review (fixed): node-redis' way to set command options on a client handle,
  // `client.withCommandOptions({ timeout })`, returns a proxy whose `_commandOptions` carry the
  // timeout while `options` do not; the adapter read only `options` and sent `{ timeout: 0 }`,
  // which node-redis spreads over the proxy's `_commandOptions`: the user's timeout was dropped.
  it('keeps a timeout set with client.withCommandOptions({ timeout })', async () => {
    const client = (await createClient({ url: services.redis.url }).on('error', () => undefined).connect()) as RedisClientType;
    const handle = client.withCommandOptions({ timeout: 150 }) as RedisClientType;
    // What node-redis' sendCommand would use: its own merge of the handle's options and the call's.
    const effective: unknown[] = [];
    const send = handle.sendCommand;
    handle.sendCommand = function (this: { _commandOptions?: { timeout?: number } }, args: string[], options?: { timeout?: number }) {
      effective.push({ ...this._commandOptions, ...options }.timeout);
      return send.call(this as never, args as never, options as never);
    } as typeof handle.sendCommand;
    const store = new RedisStore({ client: handle as never, prefix: `review:${randomUUID()}:`, notifications: false });
    try {
      expect(await store.get({ tenant: 't', operation: 'o', key: randomUUID() })).toBeNull();
      expect(effective.length).toBeGreaterThan(0);
      for (const timeout of effective) expect(timeout).toBe(150);
    } finally {
      await store.close();
      client.destroy();
    }
  });
});
