/**
 * Soak: thousands of requests per database through real server processes (each serving GraphQL
 * Yoga in transactional mode and tRPC in lease mode; three processes sharing one store on
 * PostgreSQL and MariaDB, one on SQLite), with random
 * duplicates, client-side aborts and retries, two tenants reusing the same key strings, and 32
 * requests in flight. Afterwards every logical operation must have exactly one business row, and
 * every client that got an answer for an operation must have got the same body.
 *
 * The figures are printed and written to test-artifacts/fault/soak-<database>.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { testDatabases } from '../support/databases.js';
import {
  type ChildServer,
  type HttpAnswer,
  bizRows,
  countRows,
  errorCode,
  freshTables,
  killAllServers,
  payTrpc,
  payYoga,
  sleep,
  startServer,
} from './support/harness.js';

const OPERATIONS = Number(process.env.ONCELY_SOAK_OPERATIONS ?? 1200);
const CONCURRENCY = 32;
const RETRYABLE_CODES = new Set(['IDEMPOTENCY_KEY_IN_USE', 'IDEMPOTENCY_STORE_UNAVAILABLE', 'INTERNAL_SERVER_ERROR', 'SERVICE_UNAVAILABLE', 'CONFLICT']);

/** A small seeded PRNG, so that a failing run can be replayed with ONCELY_SOAK_SEED. */
function mulberry32(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Operation {
  id: number;
  tenant: string;
  key: string;
  adapter: 'yoga' | 'trpc';
  args: { orderId: string; amount: number };
  bodies: string[];
  rowIds: Set<string>;
}

afterAll(killAllServers);

for (const db of testDatabases()) {
  describe(`soak on ${db.name}`, () => {
    it(`${OPERATIONS} operations, duplicates, aborts, retries, ${CONCURRENCY} in flight: every operation ran exactly once`, async () => {
      const seed = Number(process.env.ONCELY_SOAK_SEED ?? Date.now() % 1_000_000);
      const random = mulberry32(seed);
      const client = db.client();
      const tables = await freshTables(db, client);
      const base = { DATABASE_URL: db.url, ONCELY_TABLE: tables.table, BIZ_TABLE: tables.biz, LEASE_MS: '10000' };
      // Each process serves Yoga (transactional mode) and tRPC (lease mode) over one store.
      // SQLite has one writer at a time: one process; the server databases: three.
      const processes = db.name === 'sqlite' ? 1 : 3;
      let servers: ChildServer[] = [];
      try {
        servers = await Promise.all(
          Array.from({ length: processes }, () => startServer({ ...base, ADAPTER: 'both', TRANSACTIONAL: '1', TRPC_TRANSACTIONAL: '0' })),
        );

        // Operations: two tenants draw keys from one pool, so the same key string is used by both.
        const operations: Operation[] = [];
        const used = new Set<string>();
        for (let id = 0; operations.length < OPERATIONS; id++) {
          const tenant = random() < 0.5 ? 'tenant-a' : 'tenant-b';
          const adapter = random() < 0.5 ? 'yoga' : 'trpc';
          const key = `soak-${adapter}-${Math.floor(random() * OPERATIONS * 0.75)}`;
          if (used.has(`${tenant}/${key}`)) continue;
          used.add(`${tenant}/${key}`);
          operations.push({ id, tenant, key, adapter, args: { orderId: `o-${id}`, amount: 1 + Math.floor(random() * 999) }, bodies: [], rowIds: new Set() });
        }
        // Sends: each operation once, plus duplicates for 40% of them (1 to 3 more), in random order.
        const sends: Operation[] = [];
        for (const op of operations) {
          sends.push(op);
          if (random() < 0.4) for (let d = 1 + Math.floor(random() * 3); d > 0; d--) sends.push(op);
        }
        for (let i = sends.length - 1; i > 0; i--) {
          const j = Math.floor(random() * (i + 1));
          [sends[i], sends[j]] = [sends[j]!, sends[i]!];
        }

        const figures = { requests: 0, duplicates: sends.length - operations.length, retries: 0, aborted: 0, conflicts: 0, unavailable: 0, otherRetryable: 0 };
        const begin = performance.now();

        async function send(op: Operation): Promise<void> {
          let last = '';
          for (let attempt = 0; attempt < 200; attempt++) {
            const server = servers[Math.floor(random() * servers.length)]!;
            // 5% of attempts are abandoned by the client after a few milliseconds (a timeout or a
            // dropped connection) and retried with the same key.
            const abort = random() < 0.05 ? AbortSignal.timeout(1 + Math.floor(random() * 15)) : AbortSignal.timeout(30_000);
            figures.requests++;
            if (attempt > 0) figures.retries++;
            let answer: HttpAnswer;
            try {
              answer = await (op.adapter === 'yoga' ? payYoga : payTrpc)(server.url, op.key, op.args, { tenant: op.tenant, signal: abort });
            } catch {
              figures.aborted++;
              last = 'aborted';
              continue;
            }
            const code = errorCode(answer);
            if (answer.status === 409 || answer.status >= 500 || (code && RETRYABLE_CODES.has(code))) {
              if (answer.status === 409) figures.conflicts++;
              else if (answer.status === 503) figures.unavailable++;
              else figures.otherRetryable++;
              last = `${answer.status} ${answer.text.slice(0, 300)}`;
              await sleep(5 + random() * 30);
              continue;
            }
            expect(answer.status, answer.text).toBe(200);
            const value = op.adapter === 'yoga' ? answer.json.data.pay : answer.json.result.data;
            expect(value).toMatchObject({ orderId: op.args.orderId, amount: op.args.amount });
            op.bodies.push(JSON.stringify(value));
            op.rowIds.add(value.id);
            return;
          }
          throw new Error(`operation ${op.tenant}/${op.key}: no definitive answer after 200 attempts; the last: ${last}`);
        }

        let next = 0;
        await Promise.all(
          Array.from({ length: CONCURRENCY }, async () => {
            while (next < sends.length) await send(sends[next++]!);
          }),
        );
        const seconds = (performance.now() - begin) / 1000;

        // Executions per operation: its business rows (tenant + key).
        const rows = await bizRows(db, client, tables.biz);
        const executions = new Map<string, number>();
        for (const row of rows) executions.set(`${row.tenant}/${row.op_key}`, (executions.get(`${row.tenant}/${row.op_key}`) ?? 0) + 1);
        let miscounted = 0;
        let differentBodies = 0;
        for (const op of operations) {
          if (executions.get(`${op.tenant}/${op.key}`) !== 1) miscounted++;
          if (new Set(op.bodies).size !== 1) differentBodies++;
        }
        const halfWritten = rows.filter((r) => r.state !== 'done').length;
        const report = {
          database: db.name,
          seed,
          processes,
          operations: operations.length,
          ...figures,
          answers: operations.reduce((n, op) => n + op.bodies.length, 0),
          executions: rows.length,
          miscounted,
          differentBodies,
          halfWritten,
          records: await countRows(client, tables.table),
          seconds: Number(seconds.toFixed(1)),
        };
        console.log(`[soak] ${JSON.stringify(report)}`);
        mkdirSync(new URL('../../test-artifacts/fault/', import.meta.url), { recursive: true });
        writeFileSync(new URL(`../../test-artifacts/fault/soak-${db.name}.json`, import.meta.url), `${JSON.stringify(report, null, 2)}\n`);

        expect(report.requests).toBeGreaterThanOrEqual(OPERATIONS * 1.4);
        expect(miscounted, `seed ${seed}`).toBe(0);
        expect(differentBodies, `seed ${seed}`).toBe(0);
        expect(halfWritten).toBe(0);
        expect(rows).toHaveLength(operations.length);
        expect(report.records).toBe(operations.length);
        for (const op of operations) expect([...op.rowIds]).toHaveLength(1);
      } finally {
        await killAllServers();
        await tables.drop();
        await client.$disconnect();
      }
    });
  });
}
