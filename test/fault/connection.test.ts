/**
 * Database faults under a real server process (Yoga + oncely/envelop, built package):
 * - a connection cut in the middle of a request (pg_terminate_backend on PostgreSQL, KILL on MariaDB),
 * - the database stopped while a request runs, requests sent while it is down, and restarted.
 * Every affected client gets an answer it must retry (503 IDEMPOTENCY_STORE_UNAVAILABLE, or another
 * answer oncely's client helpers classify as retryable); nothing is written twice or half; the
 * retries after recovery succeed with the same key.
 *
 * Every scenario runs on a throwaway server of this file's own (test/fault/support/throwaway-db.ts:
 * initdb / mariadb-install-db into a temp folder, a free loopback port), never on the machine's
 * PostgreSQL or MariaDB: stopping and restarting it, and cutting every connection to it, harms
 * nobody else. Where the binaries are missing it says so loudly and, under CI, fails; the cut
 * scenarios then fall back to the machine's `test` database (cutting connections to it is
 * harmless to the server), the stop scenario does not run. The machine-servers guard
 * (test/support/machine-servers-guard.ts) fails the run if the machine's servers were touched.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { servicesRequired } from '../support/services.js';
import { type PrismaLike, type TestDatabase, testDatabases } from '../support/databases.js';
import { ThrowawayDatabase, type ThrowawayKind, announceUnavailable, throwawayUnavailable } from './support/throwaway-db.js';
import {
  type ChildServer,
  type HttpAnswer,
  type ServerEnv,
  bizRows,
  errorCode,
  freshTables,
  killAllServers,
  payYoga,
  recordsOf,
  startServer,
  until,
} from './support/harness.js';

/** The rule of oncely's client helpers (src/client/failure.ts): may the client retry with the same key? */
const RETRYABLE_CODES = new Set(['IDEMPOTENCY_KEY_IN_USE', 'IDEMPOTENCY_STORE_UNAVAILABLE', 'INTERNAL_SERVER_ERROR', 'SERVICE_UNAVAILABLE']);
function retryable(answer: HttpAnswer | { failed: unknown }): boolean {
  if ('failed' in answer) return true; // no answer at all
  if (answer.status >= 500 || [408, 409, 425, 429].includes(answer.status)) return true;
  const code = errorCode(answer);
  return code !== undefined && RETRYABLE_CODES.has(code);
}

const settle = (p: Promise<HttpAnswer>) => p.then((a) => a as HttpAnswer | { failed: unknown }, (failed: unknown) => ({ failed }));

/** Retries a request with the same key, as a client would, until it gets a definitive answer (bounded). */
async function retryUntilDone(server: ChildServer, key: string, args: { orderId: string; amount: number }, timeoutMs = 30_000) {
  return until(
    async () => {
      const answer = await settle(payYoga(server.url, key, args, { timeoutMs: 10_000 }));
      return retryable(answer) ? undefined : (answer as HttpAnswer);
    },
    timeoutMs,
    `a definitive answer for ${key}`,
  );
}

afterAll(async () => {
  await killAllServers();
});

const machineDatabases = testDatabases().filter((db): db is TestDatabase & { name: ThrowawayKind } => db.name !== 'sqlite');
const kinds: ThrowawayKind[] = ['postgresql', 'mariadb'];

for (const kind of kinds) {
  const unavailable = throwawayUnavailable(kind);
  // Without the binaries the cut scenarios use the machine's server (when it runs).
  const machine = unavailable ? machineDatabases.find((m) => m.name === kind) : undefined;
  if (unavailable) {
    const message = announceUnavailable(kind, unavailable);
    it.runIf(servicesRequired)(`${kind}: can start a throwaway server for the stop scenario (required in CI)`, () => {
      throw new Error(message);
    });
    if (!machine) continue;
  }

  describe(`database faults on ${kind}${machine ? ' (machine server: connection cuts only)' : ' (throwaway server)'}`, () => {
    let instance: ThrowawayDatabase | undefined;
    let db: TestDatabase & { name: ThrowawayKind };
    let client: PrismaLike;
    let tables: Awaited<ReturnType<typeof freshTables>>;
    let base: ServerEnv;

    beforeAll(async () => {
      if (machine) db = machine;
      else {
        instance = await ThrowawayDatabase.start(kind);
        db = instance.testDatabase();
        console.log(`[fault] ${kind}: throwaway server pid ${instance.pid} on 127.0.0.1:${instance.port}, data in ${instance.dir}, ready in ${instance.startupMs} ms`);
      }
      client = db.client();
      tables = await freshTables(db, client);
      base = { DATABASE_URL: db.url, ONCELY_TABLE: tables.table, BIZ_TABLE: tables.biz, ADAPTER: 'yoga' };
    });
    afterAll(async () => {
      await killAllServers();
      if (machine) await tables?.drop().catch(() => undefined); // a throwaway server goes away whole
      await client?.$disconnect();
      await instance?.destroy();
    });

    /** Cuts every connection to the test database except the test's own. */
    async function cutConnections(): Promise<number> {
      if (db.provider === 'postgresql') {
        const rows = await client.$queryRawUnsafe<{ pid: number }[]>(
          'SELECT pid, pg_terminate_backend(pid) AS cut FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
        );
        return rows.length;
      }
      const own = await client.$queryRawUnsafe<{ id: bigint | number }[]>('SELECT CONNECTION_ID() AS id');
      const ownId = Number(own[0]!.id);
      const rows = await client.$queryRawUnsafe<{ ID: bigint | number }[]>(
        "SELECT ID FROM information_schema.PROCESSLIST WHERE DB = DATABASE() AND COMMAND <> 'Daemon'",
      );
      let cut = 0;
      for (const row of rows) {
        const id = Number(row.ID);
        if (id === ownId) continue;
        await client.$executeRawUnsafe(`KILL ${id}`).then(
          () => cut++,
          () => undefined, // already gone
        );
      }
      return cut;
    }

    for (const transactional of [true, false]) {
      const mode = transactional ? 'transactional' : 'lease';
      // Transactional: cut in the middle of the business write (the row is half-written inside the
      // transaction). Lease mode: cut after the business write, before the result is stored (the
      // writes are committed one by one there; a cut between them is the at-least-once case the
      // crash tests document).
      const point = transactional ? 'during' : 'after-write';
      it(`${mode} mode: connections cut ${point}: a retryable answer or the result, never a duplicate`, async () => {
        const key = `cut-${mode}`;
        const args = { orderId: `order-cut-${mode}`, amount: 321 };
        const server = await startServer({ ...base, TRANSACTIONAL: transactional ? '1' : '0', LEASE_MS: '1500', HOOK: point, HOOK_KEY: key, HOOK_MS: '1500' });
        const first = settle(payYoga(server.url, key, args));
        await server.waitForLine(new RegExp(`^HOOK ${point} ${key} `));
        expect(await cutConnections()).toBeGreaterThan(0);
        const answer = await first;
        const firstBody = 'failed' in answer ? undefined : answer;
        if (firstBody && !retryable(firstBody)) {
          // The work and the stored result survived the cut (the pool reconnected): a plain success.
          expect(firstBody.status, firstBody.text).toBe(200);
          expect(firstBody.json.data.pay.fence).toBe(1);
        } else if (transactional) {
          // The transaction died with its connection: nothing of it may remain.
          expect(await bizRows(db, client, tables.biz, key)).toEqual([]);
        }
        // The client retries with the same key (after the lease, if the cut left a claim behind).
        const done = await retryUntilDone(server, key, args);
        expect(done.status, done.text).toBe(200);
        if (firstBody && !retryable(firstBody)) expect(done.json).toEqual(firstBody.json);
        const rows = await bizRows(db, client, tables.biz, key);
        expect(rows.map((r) => r.state)).toEqual(['done']);
        expect(rows[0]!.id).toBe(done.json.data.pay.id);
        const records = await recordsOf(db, client, tables.table, key);
        expect(records).toHaveLength(1);
        expect(records[0]!.status).toBe('completed');
        console.log(`[fault] ${db.name} ${mode} cut ${point}: first answer ${'failed' in answer ? 'network error' : `${answer.status} ${errorCode(answer) ?? ''}`}, retry ${done.status}`);
        await server.kill();
      });
    }

    if (machine) return; // never stop the machine's server

    it('database stopped while a request runs and while requests arrive, then restarted: retryable answers, then exactly one execution per key', async () => {
      const key = 'stop-during';
      const args = { orderId: 'order-stop', amount: 555 };
      const downKeys = ['down-1', 'down-2', 'down-3'];
      const server = await startServer({ ...base, TRANSACTIONAL: '1', HOOK: 'during', HOOK_KEY: key, HOOK_MS: '1000', ACQUIRE_TIMEOUT_MS: '3000' });
      try {
        const first = settle(payYoga(server.url, key, args, { timeoutMs: 40_000 }));
        await server.waitForLine(new RegExp(`^HOOK during ${key} `));
        const stoppedAt = Date.now();
        await instance!.stop(); // PostgreSQL: fast shutdown (SIGINT); MariaDB: SIGTERM
        const answer = await first;
        expect(retryable(answer), JSON.stringify(answer)).toBe(true);

        // While it is down: every request is refused with a retryable answer, and nothing runs.
        for (const downKey of downKeys) {
          const down = await settle(payYoga(server.url, downKey, { orderId: downKey, amount: 1 }, { timeoutMs: 40_000 }));
          expect(retryable(down), JSON.stringify(down)).toBe(true);
          if (!('failed' in down)) {
            expect(down.status).toBe(503);
            expect(errorCode(down)).toBe('IDEMPOTENCY_STORE_UNAVAILABLE');
            expect(down.headers.get('retry-after')).toBe('1');
          }
        }
        await instance!.restart(); // the same data directory on the same port
        console.log(`[fault] ${db.name} was down for ${Date.now() - stoppedAt} ms; in-flight answer: ${'failed' in answer ? 'network error' : `${answer.status} ${errorCode(answer) ?? ''}`}`);

        // After recovery the same keys succeed, each exactly once.
        for (const [k, a] of [[key, args], ...downKeys.map((d) => [d, { orderId: d, amount: 1 }] as const)] as const) {
          const done = await retryUntilDone(server, k, a);
          expect(done.status, done.text).toBe(200);
          expect(done.json.data.pay.fence).toBe(1);
          const rows = await bizRows(db, client, tables.biz, k);
          expect(rows.map((r) => `${r.state}:${r.id}`)).toEqual([`done:${done.json.data.pay.id}`]);
          const replay = await payYoga(server.url, k, a);
          expect(replay.headers.get('idempotent-replayed')).toBe('true');
          expect(replay.json).toEqual(done.json);
        }
      } finally {
        await instance!.restart();
        await server.kill();
      }
    });
  });
}

if (kinds.every((kind) => throwawayUnavailable(kind) && !machineDatabases.some((m) => m.name === kind))) {
  it('has PostgreSQL or MariaDB to break', () => {
    if (servicesRequired) throw new Error('the fault tests need PostgreSQL and MariaDB');
    console.warn('oncely fault tests: no PostgreSQL or MariaDB binaries and no server reachable; the connection fault tests did not run.');
  });
}

