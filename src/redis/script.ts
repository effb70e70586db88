import { createHash } from 'node:crypto';
import type { RedisClientLike } from './client.js';

/**
 * A Lua script run by its SHA-1, loaded with EVAL the first time a server (or Cluster node) does
 * not know it. Scripts are atomic on the server: that is what makes each store method one step.
 */
export class LuaScript {
  readonly sha: string;

  constructor(readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  run(client: RedisClientLike, keys: string[], args: (string | number)[]): Promise<unknown> {
    // Promise chaining, not async/await: one promise and tick less on every store call.
    const unlessUnknown = (error: unknown): Promise<unknown> => {
      if (!String((error as Error)?.message ?? '').startsWith('NOSCRIPT')) throw error;
      return client.call('EVAL', this.source, keys.length, ...keys, ...args);
    };
    try {
      return Promise.resolve(client.call('EVALSHA', this.sha, keys.length, ...keys, ...args)).then(undefined, unlessUnknown);
    } catch (error) {
      return Promise.resolve().then(() => unlessUnknown(error));
    }
  }
}
