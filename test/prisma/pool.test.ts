import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { PrismaMariaDb } from '@prisma/adapter-mariadb';
import { PrismaPg } from '@prisma/adapter-pg';
import { initTRPC } from '@trpc/server';
import { createHTTPServer } from '@trpc/server/adapters/standalone';
import * as mariadb from 'mariadb';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { mariadbOptions } from '../../examples/shared/mariadb.js';
import { ConfigurationError, Idempotency } from '../../src/index.js';
import { type DriverPoolLike, PrismaStore, applyMigration } from '../../src/prisma/index.js';
import { runStoreContract, sampleRecord } from '../../src/testing/index.js';
import { createIdempotencyMiddleware } from '../../src/trpc/index.js';
import { PrismaClient as MysqlClient } from '../../generated/mysql/client.js';
import { PrismaClient as PostgresClient } from '../../generated/postgresql/client.js';
import { type PrismaLike, testDatabases } from '../support/databases.js';
import { StatementLog, countStatements } from '../support/statement-counter.js';
import { services } from '../support/services.js';

// PrismaStore with `pool`: lease-mode statements go to the driver pool under the Prisma adapter
// (pg named statements, mariadb execute), transactional mode stays on the Prisma transaction.

/** One pool, the PrismaClient on top of it (its traffic logged), and the pool's own traffic. */
interface Setup {
  pool: pg.Pool | mariadb.Pool;
  client: PrismaLike;
  prismaLog: StatementLog;
  /** What the counted pool ran: the SQL, and whether it went as a prepared statement. */
  poolLog: { sql: string; prepared: boolean; failed?: string }[];
  counted: DriverPoolLike;
  close(): Promise<void>;
}

function setup(name: 'postgresql' | 'mariadb', options: { sessionVariables?: Record<string, number> } = {}): Setup {
  const prismaLog = new StatementLog();
  const poolLog: Setup['poolLog'] = [];
  const note = async <T>(sql: string, prepared: boolean, run: () => Promise<T>) => {
    const entry: Setup['poolLog'][number] = { sql, prepared };
    poolLog.push(entry);
    try {
      return await run();
    } catch (error) {
      entry.failed = String((error as { errno?: unknown; code?: unknown }).errno ?? (error as { code?: unknown }).code);
      throw error;
    }
  };
  if (name === 'postgresql') {
    const pool = new pg.Pool({ connectionString: services.postgres.url, max: 10 });
    const client = new PostgresClient({ adapter: countStatements(new PrismaPg(pool), prismaLog) });
    const counted = { query: (c: { name?: string; text: string; values: unknown[] }) => note(c.text, c.name !== undefined, () => pool.query(c)) };
    return { pool, client, prismaLog, poolLog, counted, close: async () => { await client.$disconnect(); await pool.end(); } };
  }
  const pool = mariadb.createPool({ ...mariadbOptions(services.mariadb.url, 10), ...(options.sessionVariables ? { sessionVariables: options.sessionVariables } : {}) });
  const client = new MysqlClient({ adapter: countStatements(new PrismaMariaDb(pool), prismaLog) }) as unknown as PrismaLike;
  const counted = {
    execute: (sql: string, values: unknown[]) => note(sql, true, () => pool.execute(sql, values)),
    query: (sql: string, values: unknown[]) => note(sql, false, () => pool.query(sql, values)),
  };
  return { pool, client, prismaLog, poolLog, counted, close: async () => { await client.$disconnect(); await pool.end(); } };
}

const newTable = () => `oncely_p_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
const kind = (sql: string) => /^\s*([A-Za-z]+)/.exec(sql)?.[1]?.toUpperCase();
const call = () => ({ tenant: 't', operation: 'charge', key: randomUUID(), input: { amount: 1 } });
const closers: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const close of closers) await close();
});

for (const db of testDatabases().filter((d) => d.name !== 'sqlite')) {
  const name = db.name as 'postgresql' | 'mariadb';

  describe(`PrismaStore with pool on ${name}`, () => {
    const s = setup(name);
    const table = newTable();
    const ready = applyMigration(s.client, db.provider, { table, dropExisting: true });
    closers.push(async () => {
      await ready; // started at collection, also when a filter skips every test here
      await s.client.$executeRawUnsafe(`DROP TABLE IF EXISTS ${table}`);
      await s.close();
    });
    const claimKind = name === 'postgresql' ? 'WITH' : 'INSERT';

    // The real driver pool itself, as a user passes it: the whole store contract.
    runStoreContract({
      name: `PrismaStore with pool (${name})`,
      store: async () => {
        await ready;
        return new PrismaStore({ client: s.client, table, pool: s.pool });
      },
      describe,
      it,
    });

    if (name === 'postgresql') {
      // With notify, completions and releases are the NOTIFYing statements: prepared on the pool too.
      // The listener takes its one connection from the same pool.
      let notifying: PrismaStore | undefined;
      closers.unshift(async () => {
        await notifying?.close();
      });
      runStoreContract({
        name: 'PrismaStore with pool and notify (postgresql)',
        store: async () => {
          await ready;
          notifying ??= new PrismaStore({ client: s.client, table, pool: s.pool, notify: { pool: s.pool as pg.Pool } });
          return notifying;
        },
        describe,
        it,
      });
    }

    it('lease mode: the claim and the completion go to the pool, prepared; a replay is one prepared statement; nothing through Prisma', async () => {
      await ready;
      const engine = new Idempotency({ store: new PrismaStore({ client: s.client, table, pool: s.counted }) });
      await engine.execute(call(), () => 'warm-up');
      const c = call();
      s.poolLog.length = 0;
      s.prismaLog.reset();
      expect((await engine.execute(c, () => 'done')).replayed).toBe(false);
      expect(s.poolLog.map((e) => [kind(e.sql), e.prepared])).toEqual([[claimKind, true], ['UPDATE', true]]);
      s.poolLog.length = 0;
      const replay = await engine.execute(c, () => 'never');
      expect(replay.replayed && replay.outcome).toEqual({ ok: true, value: 'done' });
      expect(s.poolLog.map((e) => [kind(e.sql), e.prepared])).toEqual([[claimKind, true]]);
      expect(s.prismaLog.count).toBe(0);
    });

    it('transactional mode keeps to the Prisma transaction: begin, claim, savepoint, completion, commit; nothing on the pool', async () => {
      await ready;
      const engine = new Idempotency({ store: new PrismaStore({ client: s.client, table, pool: s.counted }), transactional: true });
      await engine.execute(call(), () => 'warm-up');
      const c = call();
      s.poolLog.length = 0;
      s.prismaLog.reset();
      expect((await engine.execute(c, () => 'done')).replayed).toBe(false);
      // PostgreSQL runs READ COMMITTED without asking and claims with the plain INSERT there (store.ts).
      const expected = db.name === 'postgresql' ? ['BEGIN', 'INSERT'] : ['BEGIN', 'SET TRANSACTION', claimKind];
      expect(s.prismaLog.kinds()).toEqual([...expected, 'SAVEPOINT', 'UPDATE', 'COMMIT']);
      expect(s.poolLog).toEqual([]);
    });

    it('both paths write and read the same rows (numbers beyond 32 bits, NULLs, steps)', async () => {
      await ready;
      const viaPool = new PrismaStore({ client: s.client, table, pool: s.pool });
      const viaPrisma = new PrismaStore({ client: s.client, table });
      const far = 2 ** 52 + 7; // a BIGINT the drivers decode as string (pg) or bigint (mariadb)
      for (const [writer, reader] of [[viaPool, viaPrisma], [viaPrisma, viaPool]] as const) {
        const record = sampleRecord({ fence: 2_000_000_000, leaseExpiresAt: null, expiresAt: far, response: null });
        expect(await writer.createOrGet(record)).toEqual({ created: true });
        expect(await reader.get(record)).toEqual(record);
        expect(await reader.createOrGet({ ...record, token: randomUUID() })).toEqual({ created: false, existing: record });
        const held = sampleRecord({ leaseExpiresAt: far - 1 });
        await writer.create(held);
        const step = { index: 0, name: 'charge', kind: 'database' as const, result: 'v"ok"', completedAt: 5 };
        expect(await writer.recordStep(held, held.token, step, far)).toBe(true);
        expect(await reader.loadSteps(held, held.token)).toEqual([step]);
        expect(await reader.complete(held, held.token, { response: 'r', completedAt: 6, expiresAt: far })).toBe(true);
        expect(await writer.get(held)).toEqual({ ...held, status: 'completed', response: 'r', leaseExpiresAt: null, updatedAt: 6, expiresAt: far });
      }
    });

    it('an unfit table is refused with the same configuration error on both paths', async () => {
      const missing = newTable();
      const viaPool = await new PrismaStore({ client: s.client, table: missing, pool: s.pool }).verify().catch((e: unknown) => e);
      const viaPrisma = await new PrismaStore({ client: s.client, table: missing }).verify().catch((e: unknown) => e);
      expect(viaPool).toBeInstanceOf(ConfigurationError);
      expect((viaPool as Error).message).toBe((viaPrisma as Error).message);
      expect((viaPool as Error).message).toContain(`the table "${missing}" cannot keep distinct idempotency keys apart: the table does not exist`);
    });
  });
}

describe('PrismaStore pool option: configuration', () => {
  const client = { $executeRawUnsafe: async () => 0, $queryRawUnsafe: async () => [] as never };
  it('refuses a pool on SQLite, and an object that is not the provider\'s pool, naming what it needs', () => {
    expect(() => new PrismaStore({ client, provider: 'sqlite', pool: new pg.Pool() })).toThrow(
      'PrismaStore: `pool` is for PostgreSQL (pg) and MySQL/MariaDB (mariadb); this store\'s provider is "sqlite". Leave it out.',
    );
    expect(() => new PrismaStore({ client, provider: 'postgresql', pool: {} as never })).toThrow(
      'PrismaStore: `pool` must be the pg.Pool your PrismaPg adapter uses (an object with query()).',
    );
    expect(() => new PrismaStore({ client, provider: 'mysql', pool: new pg.Pool() as never })).toThrow(
      'PrismaStore: `pool` must be the mariadb Pool your PrismaMariaDb adapter uses (an object with execute() and query()).',
    );
  });
});

if (testDatabases().some((d) => d.name === 'postgresql')) {
  describe('PrismaStore with pool: database unreachable', () => {
    it('a pool on a dead port answers 503 over HTTP, like the Prisma path on one; the work never runs', async () => {
      const dead = () => new pg.Pool({ host: '127.0.0.1', port: 1, user: 'postgres', database: 'test', connectionTimeoutMillis: 2000 });
      const deadPool = dead();
      const healthy = new PostgresClient({ adapter: new PrismaPg({ connectionString: services.postgres.url, max: 2 }) });
      const deadClient = new PostgresClient({ adapter: new PrismaPg(dead()) });
      const t = initTRPC.context<{ req: unknown; res: unknown }>().create();
      let runs = 0;
      const router = (store: PrismaStore) =>
        t.router({ pay: t.procedure.use(createIdempotencyMiddleware({ store, getTenant: () => 't' })).input((raw) => raw as { n: number }).mutation(() => ++runs) });
      const servers = [
        createHTTPServer({ router: router(new PrismaStore({ client: healthy, pool: deadPool })), basePath: '/trpc/', createContext: ({ req, res }) => ({ req, res }) }),
        createHTTPServer({ router: router(new PrismaStore({ client: deadClient })), basePath: '/trpc/', createContext: ({ req, res }) => ({ req, res }) }),
      ];
      try {
        const answers = [];
        for (const server of servers) {
          await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
          const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/trpc/pay`;
          const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'idempotency-key': randomUUID() }, body: '{"n":1}' });
          const body = (await response.json()) as { error: { data: { code: string }; message: string } };
          answers.push({ status: response.status, retryAfter: response.headers.get('retry-after'), message: body.error.message });
        }
        const expected = { status: 503, retryAfter: '1', message: 'The idempotency store could not be reached. Retry the request.' };
        expect(answers).toEqual([expected, expected]);
        expect(runs).toBe(0);
      } finally {
        for (const server of servers) await new Promise((resolve) => server.close(resolve));
        await healthy.$disconnect();
        await deadClient.$disconnect();
        await deadPool.end();
      }
    });
  });
}

if (testDatabases().some((d) => d.name === 'mariadb')) {
  describe('PrismaStore with pool: transient conflicts', () => {
    it('MariaDB: a completion that waited out a row lock (1205) is retried on the pool and succeeds once the lock goes', async () => {
      // innodb_lock_wait_timeout = 1 s on the store's connections: a real lock wait timeout, quickly.
      const s = setup('mariadb', { sessionVariables: { innodb_lock_wait_timeout: 1 } });
      const holder = await mariadb.createConnection(mariadbOptions(services.mariadb.url, 1));
      const table = newTable();
      try {
        await applyMigration(s.client, 'mysql', { table, dropExisting: true });
        const store = new PrismaStore({ client: s.client, table, pool: s.counted });
        const record = sampleRecord();
        expect(await store.create(record)).toBe(true);
        await holder.beginTransaction();
        await holder.query(`SELECT * FROM \`${table}\` WHERE \`key\` = ? FOR UPDATE`, [record.key]);
        setTimeout(() => void holder.commit(), 1500);
        s.poolLog.length = 0;
        expect(await store.complete(record, record.token, { response: 'done', completedAt: 1, expiresAt: record.expiresAt })).toBe(true);
        const completes = s.poolLog.filter((e) => kind(e.sql) === 'UPDATE');
        expect(completes[0]!.failed).toBe('1205');
        expect(completes.at(-1)!.failed).toBeUndefined();
        expect(completes.slice(1, -1).every((e) => e.failed === '1205')).toBe(true);
        expect((await store.get(record))?.status).toBe('completed');
      } finally {
        await holder.end();
        await s.client.$executeRawUnsafe(`DROP TABLE IF EXISTS \`${table}\``);
        await s.close();
      }
    }, 30_000);
  });
}
