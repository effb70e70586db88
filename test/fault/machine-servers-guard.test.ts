/**
 * The machine-servers guard (test/support/machine-servers-guard.ts, global setup of both vitest
 * configs) must notice a database server that was stopped, restarted or reconfigured during a run.
 * It is checked here on throwaway servers (never on the machine's own): the same reads the guard
 * does before and after a run, with each of those changes made in between.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Probe, type ServerKind, compare, snapshot } from '../support/machine-servers-guard.js';
import { servicesRequired } from '../support/services.js';
import { ThrowawayRedis } from '../redis/support/server.js';
import { ThrowawayDatabase, type ThrowawayKind, announceUnavailable, throwawayUnavailable } from './support/throwaway-db.js';

interface Target {
  probe(): Probe;
  restart(): Promise<void>;
  stop(): Promise<void>;
  start(): Promise<void>;
  reconfigure(): Promise<void>;
  destroy(): Promise<void>;
}

async function throwawayDatabase(kind: ThrowawayKind): Promise<Target> {
  const db = await ThrowawayDatabase.start(kind);
  const name: ServerKind = kind === 'postgresql' ? 'PostgreSQL' : 'MariaDB';
  return {
    probe: () => ({ name, host: '127.0.0.1', port: db.port, url: db.url }),
    restart: async () => {
      await db.stop();
      await db.restart();
    },
    stop: () => db.stop(),
    start: () => db.restart(),
    reconfigure: async () => {
      if (kind === 'postgresql') {
        await db.query("ALTER SYSTEM SET work_mem = '7MB'");
        await db.query('SELECT pg_reload_conf()');
        await new Promise((resolve) => setTimeout(resolve, 500)); // the postmaster reloads asynchronously
      } else {
        await db.query('SET GLOBAL max_connections = 201');
      }
    },
    destroy: () => db.destroy(),
  };
}

async function throwawayRedis(): Promise<Target> {
  const redis = await ThrowawayRedis.start();
  const { Redis } = await import('ioredis');
  return {
    probe: () => ({ name: 'Redis', host: '127.0.0.1', port: redis.port, url: redis.url }),
    restart: async () => {
      await redis.kill();
      await redis.restart();
    },
    stop: () => redis.kill(),
    start: () => redis.restart(),
    reconfigure: async () => {
      const client = new Redis(redis.url, { lazyConnect: true });
      await client.connect();
      await client.config('SET', 'maxmemory-samples', '7');
      client.disconnect();
    },
    destroy: () => redis.stop(),
  };
}

const kinds: (ThrowawayKind | 'redis')[] = ['postgresql', 'mariadb', 'redis'];

for (const kind of kinds) {
  const unavailable = kind === 'redis' ? undefined : throwawayUnavailable(kind);
  if (unavailable) {
    const message = announceUnavailable(kind as ThrowawayKind, unavailable);
    it.runIf(servicesRequired)(`${kind}: can start a throwaway server to check the guard on (required in CI)`, () => {
      throw new Error(message);
    });
    continue;
  }

  describe(`machine-servers guard on a throwaway ${kind}`, () => {
    let target: Target;
    beforeAll(async () => {
      target = kind === 'redis' ? await throwawayRedis() : await throwawayDatabase(kind);
    });
    afterAll(async () => {
      await target?.destroy();
    });

    it('an untouched server passes', async () => {
      const before = await snapshot([target.probe()]);
      const after = await snapshot([target.probe()]);
      const result = compare(before, after);
      expect(result.problems).toEqual([]);
      expect(result.watched).toEqual([expect.stringMatching(/: untouched$/)]);
    });

    it('a restarted server fails the run', async () => {
      const before = await snapshot([target.probe()]);
      await target.restart();
      const { problems } = compare(before, await snapshot([target.probe()]));
      expect(problems).toEqual([expect.stringMatching(/was restarted or replaced during the tests/)]);
      console.log(`[guard] ${kind}: ${problems[0]}`);
    });

    it('a reconfigured server fails the run', async () => {
      const before = await snapshot([target.probe()]);
      await target.reconfigure();
      const { problems } = compare(before, await snapshot([target.probe()]));
      expect(problems).toEqual([expect.stringMatching(/was reconfigured during the tests/)]);
      console.log(`[guard] ${kind}: ${problems[0]}`);
    });

    it('a stopped server fails the run', async () => {
      const before = await snapshot([target.probe()]);
      await target.stop();
      try {
        const { problems } = compare(before, await snapshot([target.probe()]));
        expect(problems).toEqual([expect.stringMatching(/is not reachable after them \(stopped\?\)/)]);
      } finally {
        await target.start();
      }
    });
  });
}
