/**
 * Crash tests: a real server process (test/fault/support/server.ts, GraphQL Yoga + oncely/envelop
 * over Prisma) is SIGKILLed at an exact point of a mutation, then a NEW process serves the retry.
 *
 * Points: after the claim, during the mutation (business row half-written), after the business
 * write but before the stored result. Lease mode: the retry is refused (409) while the dead holder's
 * lease runs, then runs with fence 2 and completes; the dead holder's token can no longer complete,
 * renew or release. Transactional mode: the dead process's transaction rolls back with it, so no
 * business row exists twice or half-written, and the retry succeeds at once.
 */
import { type ExpectStatic, afterAll, beforeAll, describe, it } from 'vitest';
import { PrismaStore } from '../../src/prisma/index.js';
import { type PrismaLike, testDatabases } from '../support/databases.js';
import {
  type ChildServer,
  type ServerEnv,
  bizRows,
  errorCode,
  freshTables,
  killAllServers,
  payYoga,
  recordsOf,
  sleep,
  startServer,
  until,
} from './support/harness.js';

const LEASE_MS = 1500;
const POINTS = ['after-claim', 'during', 'after-write'] as const;

afterAll(killAllServers);

for (const db of testDatabases()) {
  describe(`crash of the server process on ${db.name}`, () => {
    let client: PrismaLike;
    let tables: Awaited<ReturnType<typeof freshTables>>;
    let base: ServerEnv;

    beforeAll(async () => {
      client = db.client();
      tables = await freshTables(db, client);
      base = { DATABASE_URL: db.url, ONCELY_TABLE: tables.table, BIZ_TABLE: tables.biz, ADAPTER: 'yoga' };
    });
    afterAll(async () => {
      await killAllServers();
      await tables?.drop();
      await client?.$disconnect();
    });

    /** Starts the server that will be killed (frozen at `point` for `key`) and the one that serves retries. */
    async function servers(env: Partial<ServerEnv>, point: (typeof POINTS)[number], key: string): Promise<[ChildServer, ChildServer]> {
      return Promise.all([startServer({ ...base, ...env, HOOK: point, HOOK_KEY: key }), startServer({ ...base, ...env })]);
    }

    /** Sends the request to `victim`, waits until it is frozen at the hook, then SIGKILLs it. */
    async function killAt(expect: ExpectStatic, victim: ChildServer, point: string, key: string, args: { orderId: string; amount: number }) {
      const request = payYoga(victim.url, key, args).then(
        (a) => ({ answered: a }),
        (error: unknown) => ({ failed: error }),
      );
      const line = await victim.waitForLine(new RegExp(`^HOOK ${point} ${key} `));
      const beforeKill = await recordsOf(db, client, tables.table, key);
      await victim.kill();
      const outcome = await request;
      // The client of the dead process got no answer at all: a network error, which it retries.
      expect(outcome).toHaveProperty('failed');
      return { fence: Number(line.split(' ')[3]), beforeKill };
    }

    describe('lease mode', () => {
      for (const point of POINTS) {
        it(`killed ${point}: the retry waits out the lease, runs with fence 2 and the dead token is fenced off`, async ({ expect }) => {
          const key = `lease-${point}`;
          const args = { orderId: `order-${point}`, amount: 700 };
          const [victim, survivor] = await servers({ TRANSACTIONAL: '0', LEASE_MS: String(LEASE_MS) }, point, key);
          const { fence, beforeKill } = await killAt(expect, victim, point, key, args);
          expect(fence).toBe(1);
          // The claim was committed before the work started: in progress, fence 1, the victim's token.
          expect(beforeKill).toHaveLength(1);
          const dead = beforeKill[0]!;
          expect(dead).toMatchObject({ status: 'in_progress', fence: 1 });
          expect(dead.lease_expires_at).toBeGreaterThan(0);

          // While the dead holder's lease runs, the retry on the new process is refused with 409.
          if (Date.now() < dead.lease_expires_at! - 300) {
            const early = await payYoga(survivor.url, key, args);
            expect(early.status).toBe(409);
            expect(errorCode(early)).toBe('IDEMPOTENCY_KEY_IN_USE');
            expect(early.headers.get('retry-after')).toBe('1');
          }

          // After the lease: the retry runs the mutation again (fence 2) and completes.
          await sleep(Math.max(0, dead.lease_expires_at! - Date.now() + 50));
          const retry = await payYoga(survivor.url, key, args);
          expect(retry.status, retry.text).toBe(200);
          expect(retry.json.data.pay).toMatchObject({ ...args, fence: 2, pid: survivor.proc.pid });
          expect(retry.headers.get('idempotent-replayed')).toBeNull();
          const replay = await payYoga(survivor.url, key, args);
          expect(replay.headers.get('idempotent-replayed')).toBe('true');
          expect(replay.json).toEqual(retry.json);

          const [record] = await recordsOf(db, client, tables.table, key);
          expect(record).toMatchObject({ status: 'completed', fence: 2 });
          expect(record!.token).not.toBe(dead.token);

          // A late completion (or renewal, or release) by the dead holder's token is refused.
          const store = new PrismaStore({ client, table: tables.table });
          const scope = { tenant: dead.tenant, operation: dead.operation, key };
          const now = Date.now();
          expect(await store.complete(scope, dead.token, { response: 'v"forged"', completedAt: now, expiresAt: now + 60_000 })).toBe(false);
          expect(await store.renew(scope, dead.token, now + 60_000, now)).toBe(false);
          expect(await store.release(scope, dead.token)).toBe(false);
          const [after] = await recordsOf(db, client, tables.table, key);
          expect(after).toEqual(record);
          expect((await payYoga(survivor.url, key, args)).json).toEqual(retry.json);

          // Lease mode is at-least-once for the work: what the dead process wrote stays, and the
          // retry wrote again. This is the documented limit that transactional mode removes.
          const rows = await bizRows(db, client, tables.biz, key);
          const byFence = rows.map((r) => `${r.fence}:${r.state}`).sort();
          const expected = { 'after-claim': ['2:done'], during: ['1:half', '2:done'], 'after-write': ['1:done', '2:done'] }[point];
          expect(byFence).toEqual(expected);
          await survivor.kill();
        });
      }
    });

    describe('transactional mode', () => {
      for (const point of POINTS) {
        it(`killed ${point}: nothing half-written or doubled, the retry succeeds at once`, async ({ expect }) => {
          const key = `tx-${point}`;
          const args = { orderId: `order-tx-${point}`, amount: 900 };
          const [victim, survivor] = await servers({ TRANSACTIONAL: '1' }, point, key);
          const { fence, beforeKill } = await killAt(expect, victim, point, key, args);
          expect(fence).toBe(1);
          // Uncommitted: other connections see neither the claim nor the business writes.
          expect(beforeKill).toEqual([]);
          expect(await bizRows(db, client, tables.biz, key)).toEqual([]);

          // The retry on the new process does not wait for any lease: the claim died with its transaction.
          const started = Date.now();
          const retry = await until(
            async () => {
              const a = await payYoga(survivor.url, key, args);
              // A database may need a moment to notice the dead connection and roll it back.
              return a.status === 409 || a.status === 503 ? undefined : a;
            },
            20_000,
            'the retry after the crash',
          );
          expect(retry.status, retry.text).toBe(200);
          expect(retry.json.data.pay).toMatchObject({ ...args, fence: 1, pid: survivor.proc.pid });
          expect(Date.now() - started).toBeLessThan(15_000);
          const replay = await payYoga(survivor.url, key, args);
          expect(replay.headers.get('idempotent-replayed')).toBe('true');
          expect(replay.json).toEqual(retry.json);

          const rows = await bizRows(db, client, tables.biz, key);
          expect(rows).toHaveLength(1);
          expect(rows[0]).toMatchObject({ id: retry.json.data.pay.id, state: 'done', fence: 1, amount: 900 });
          const records = await recordsOf(db, client, tables.table, key);
          expect(records).toHaveLength(1);
          expect(records[0]).toMatchObject({ status: 'completed', fence: 1 });
          await survivor.kill();
        });
      }
    });
  });
}
