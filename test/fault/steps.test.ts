/**
 * Steps under SIGKILL: the examples' checkout (examples/shared/checkout.ts: create order, charge,
 * mark paid, send receipt) served by real server processes (support/checkout-server.ts, Yoga and
 * tRPC, lease mode, 2 s lease, no heartbeat) that are killed, on a SQLite file and on THROWAWAY
 * PostgreSQL and MariaDB servers of this file's own (support/throwaway-db.ts), never the machine's.
 * The payment provider and the mailer live in this test process (support/fake-services.ts), so
 * what they counted survives every kill.
 *
 * 1. Kill points: before, inside and after each of the four steps, on both adapters (24 kills);
 *    then a new process serves the retries with the same key until answered. Exact counts per key.
 * 2. A storm: ONCELY_STEPS_KEYS keys (default 150), ONCELY_STEPS_CLIENTS clients per key sending at
 *    once (3), 12 keys in flight, ONCELY_STEPS_KILLS random SIGKILLs (8, about one every 0.8 s) of
 *    the server processes (two; SQLite: one), each replaced at once.
 * 3. The comparison row: the same storm at half the size (keys and kills) with STEPS=0: the same
 *    checkout, plain calls and writes in lease mode. Its figures are reported, not asserted.
 *
 * About 50 s per database on a 2-core machine with the defaults.
 *
 * Figures are printed (`[steps] ...`) and written to test-artifacts/fault/steps-<database>.json.
 * Seed: ONCELY_STEPS_SEED.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DemoDatabase, openDemoDatabase } from '../../examples/shared/db.js';
import { servicesRequired } from '../support/services.js';
import { type Adapter, type CheckoutLog, type CheckoutRequest, sendCheckout, verdict } from './support/checkout-client.js';
import { type CheckoutFigures, countCheckouts, effectsByCustomer } from './support/checkout-counts.js';
import { type StormFigures, runStorm } from './support/checkout-storm.js';
import { type FakeServices, startFakeServices } from './support/fake-services.js';
import { type ChildServer, killAllServers, sleep, startScript } from './support/harness.js';
import { ThrowawayDatabase, type ThrowawayKind, announceUnavailable, throwawayUnavailable } from './support/throwaway-db.js';

const KEYS = Number(process.env.ONCELY_STEPS_KEYS ?? 150);
const CLIENTS = Number(process.env.ONCELY_STEPS_CLIENTS ?? 3);
const KILLS = Number(process.env.ONCELY_STEPS_KILLS ?? 8);
const SEED = Number(process.env.ONCELY_STEPS_SEED ?? Date.now() % 1_000_000);
const LEASE_MS = 2000;
const STEPS = ['create order', 'charge', 'mark paid', 'send receipt'] as const;
const KILL_POINTS = STEPS.flatMap((step) => (['before', 'inside', 'after'] as const).map((when) => `${when}:${step}`));
const serverScript = new URL('./support/checkout-server.ts', import.meta.url).pathname;

/** A small seeded PRNG, so that a failing run can be replayed with ONCELY_STEPS_SEED. */
function mulberry32(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

afterAll(killAllServers);

type DatabaseName = 'sqlite' | ThrowawayKind;
const databases: DatabaseName[] = ['sqlite', 'postgresql', 'mariadb'];

for (const name of databases) {
  const unavailable = name === 'sqlite' ? undefined : throwawayUnavailable(name);
  if (unavailable) {
    const message = announceUnavailable(name as ThrowawayKind, unavailable);
    it.runIf(servicesRequired)(`${name}: can start a throwaway server for the steps fault tests (required in CI)`, () => {
      throw new Error(message);
    });
    continue;
  }

  describe(`steps under SIGKILL on ${name}`, () => {
    let instance: ThrowawayDatabase | undefined;
    let sqliteFile: string | undefined;
    let url: string;
    let db: DemoDatabase;
    let services: FakeServices;
    const report: Record<string, unknown> = { database: name, seed: SEED, leaseMs: LEASE_MS };

    beforeAll(async () => {
      if (name === 'sqlite') {
        sqliteFile = join(tmpdir(), `oncely-steps-fault-${randomUUID()}.db`);
        url = `file:${sqliteFile}`;
      } else {
        instance = await ThrowawayDatabase.start(name);
        url = instance.url;
        console.log(`[steps] ${name}: throwaway server pid ${instance.pid} on 127.0.0.1:${instance.port}, ready in ${instance.startupMs} ms`);
      }
      db = await openDemoDatabase(url); // oncely's table and the demo tables
      if (db.provider === 'sqlite') await db.prisma.$queryRawUnsafe('PRAGMA busy_timeout = 10000');
      services = await startFakeServices();
    });
    afterAll(async () => {
      await killAllServers();
      await services?.close();
      await db?.prisma.$disconnect();
      await instance?.destroy();
      if (sqliteFile) for (const suffix of ['', '-wal', '-shm', '-journal']) rmSync(sqliteFile + suffix, { force: true });
      mkdirSync(new URL('../../test-artifacts/fault/', import.meta.url), { recursive: true });
      writeFileSync(new URL(`../../test-artifacts/fault/steps-${name}.json`, import.meta.url), `${JSON.stringify(report, null, 2)}\n`);
    });

    const start = (steps: '1' | '0') => () =>
      startScript(serverScript, { DATABASE_URL: url, SERVICES_URL: services.url, STEPS: steps, LEASE_MS: String(LEASE_MS) });

    /** The key's idempotency record, read with plain SQL. */
    async function recordOf(key: string): Promise<{ status: string; fence: number }> {
      const quoted = db.provider === 'mysql' ? '`key`' : '"key"';
      const rows = await db.prisma.$queryRawUnsafe<{ status: string; fence: number | bigint }[]>(
        `SELECT status, fence FROM oncely_idempotency WHERE ${quoted} = ${db.provider === 'postgresql' ? '$1' : '?'}`,
        key,
      );
      expect(rows).toHaveLength(1);
      return { status: rows[0]!.status, fence: Number(rows[0]!.fence) };
    }

    it('killed before, inside and after every step: one order, paid, one charge per key, the same answer to every retry', async () => {
      const begin = performance.now();
      const cases = (['yoga', 'trpc'] as Adapter[]).flatMap((adapter) =>
        KILL_POINTS.map((point) => {
          const id = `kp-${adapter}-${point.replace(/[: ]/g, '-')}`;
          const request: CheckoutRequest = { adapter, key: id, customer: id, item: 'coffee', quantity: 2 };
          return { point, request, log: { request, bodies: [], refusals: [] } as CheckoutLog };
        }),
      );
      // Twelve victims started at a time; each gets one request, which kills it at its point. The
      // requests go one after the other: no run waits for another's lock (SQLite) meanwhile.
      for (let i = 0; i < cases.length; i += 12) {
        const batch = cases.slice(i, i + 12);
        const victims = await Promise.all(batch.map(start('1')));
        for (const [j, { point, request }] of batch.entries()) {
          const victim = victims[j]!;
          const attempt = await sendCheckout(victim, request, { killAt: point });
          // The client of the killed process got no answer at all: it retries with the same key.
          expect(attempt, `${request.key}: ${JSON.stringify(attempt)}`).toHaveProperty('failed');
          await victim.exited;
          expect(victim.proc.signalCode).toBe('SIGKILL');
          expect(victim.lines).toContain(`KILL ${point} ${request.key}`);
        }
      }

      // A new process serves the retries, one key after the other: each waits out the dead run's
      // lease, takes the claim over and resumes at the first unfinished step.
      const survivor = await start('1')();
      for (const { request, log } of cases) {
        const deadline = Date.now() + 30_000;
        while (log.bodies.length === 0) {
          if (Date.now() > deadline) throw new Error(`${request.key}: no answer within 30 s`);
          const v = verdict(await sendCheckout(survivor, request), request.adapter);
          if (v.kind === 'refused') throw new Error(`${request.key}: ${v.why}`);
          if (v.kind === 'answered') log.bodies.push(v.body);
          else await sleep(100);
        }
        const replay = verdict(await sendCheckout(survivor, request), request.adapter);
        expect(replay).toEqual({ kind: 'answered', body: log.bodies[0], replayed: true });
        if (replay.kind === 'answered') log.bodies.push(replay.body);
      }

      const effects = await effectsByCustomer(db.prisma, services, 'kp-');
      for (const { point, request } of cases) {
        const e = effects.get(request.customer);
        expect({ key: request.key, ...e, orders: e?.orders.map((o) => [o.status, o.payments]) }).toEqual({
          key: request.key,
          orders: [['paid', 1]],
          charges: 1,
          // At least once: a run killed after the provider answered but before the step was recorded
          // makes the retry ask again (with the same key: the provider charges once).
          chargeRequests: point === 'inside:charge' ? 2 : 1,
          receipts: point === 'inside:send receipt' ? 2 : 1,
        });
        // One takeover: the dead run's claim (fence 1), the retry's (fence 2).
        expect(await recordOf(request.key)).toEqual({ status: 'completed', fence: 2 });
      }
      const figures = await countCheckouts(db.prisma, services, 'kp-', cases.map((c) => c.log));
      report.killPoints = { kills: cases.length, ...figures, seconds: Number(((performance.now() - begin) / 1000).toFixed(1)) };
      console.log(`[steps] ${name} kill points: ${JSON.stringify(report.killPoints)}`);
      expect(figures).toMatchObject({ keys: 24, answered: 24, ordersWrittenTwice: 0, halfFinished: 0, paymentsWrittenTwice: 0, differentAnswers: 0, answersNotMatchingEffects: 0 });
      await survivor.kill();
    }, 180_000);

    // SQLite has one writer at a time: one process (as in the soak); the server databases: two.
    const processes = name === 'sqlite' ? 1 : 2;

    async function storm(steps: '1' | '0', prefix: string, seed: number, size: { keys: number; kills: number }) {
      const servers: (ChildServer | undefined)[] = await Promise.all(Array.from({ length: processes }, () => start(steps)()));
      try {
        const { logs, figures, refusals } = await runStorm({
          prefix,
          keys: size.keys,
          clientsPerKey: CLIENTS,
          keysInFlight: 12,
          kills: size.kills,
          killEveryMs: 800,
          keyDeadlineMs: 60_000,
          random: mulberry32(seed),
          servers,
          start: start(steps),
        });
        const counts = await countCheckouts(db.prisma, services, prefix, logs);
        return { figures, counts, refusals };
      } finally {
        await Promise.all(servers.map((s) => s?.kill()));
      }
    }

    const row = (figures: StormFigures, counts: CheckoutFigures) => ({ ...figures, ...counts });

    it(`storm: ${KEYS} keys x ${CLIENTS} clients, ${KILLS} SIGKILLs: nothing written twice or half, one charge per key`, async () => {
      const { figures, counts, refusals } = await storm('1', 'st-', SEED, { keys: KEYS, kills: KILLS });
      report.steps = row(figures, counts);
      console.log(`[steps] ${name} storm with steps: ${JSON.stringify(report.steps)}`);
      expect(refusals, `seed ${SEED}`).toEqual([]);
      expect(figures.unanswered).toBe(0);
      expect(figures.kills).toBeGreaterThan(0);
      expect(figures.requests).toBeGreaterThanOrEqual(KEYS * CLIENTS);
      expect(counts, `seed ${SEED}`).toMatchObject({
        keys: KEYS,
        answered: KEYS,
        ordersWrittenTwice: 0,
        halfFinished: 0,
        paymentsWrittenTwice: 0,
        chargesPerKey: { 1: KEYS },
        differentAnswers: 0,
        answersNotMatchingEffects: 0,
      });
    }, 300_000);

    it(`comparison: the storm at half size without steps (plain writes in lease mode), figures reported`, async () => {
      const { figures, counts, refusals } = await storm('0', 'plain-', SEED + 1, { keys: Math.ceil(KEYS / 2), kills: Math.ceil(KILLS / 2) });
      report.withoutSteps = { ...row(figures, counts), refusals: refusals.length };
      console.log(`[steps] ${name} storm without steps: ${JSON.stringify(report.withoutSteps)}`);
      // Not asserted: how often a kill lands between two writes is chance. It ran, and was killed.
      expect(figures.kills).toBeGreaterThan(0);
    }, 300_000);
  });
}
