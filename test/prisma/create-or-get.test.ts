import { randomUUID } from 'node:crypto';
import { sampleRecord } from '../../src/testing/index.js';
import { afterAll, describe, expect, it } from 'vitest';
import type { IdempotencyRecord } from '../../src/index.js';
import { PrismaStore } from '../../src/prisma/index.js';
import { countedClient } from '../support/counted-client.js';
import { type PrismaLike, freshStore, testDatabases } from '../support/databases.js';

// createOrGet meeting a claim that another transaction has inserted but not yet committed: the
// statement waits on the unique index, then must answer with what the holder decided. On
// PostgreSQL the row committed after the statement's snapshot is invisible to its read, so the
// store reads again (a second statement); MariaDB's duplicate-key path reads the committed row.
const clients: PrismaLike[] = [];
afterAll(async () => {
  await Promise.all(clients.map((c) => c.$disconnect()));
});

const T0 = Date.UTC(2026, 0, 1);
const recordFor = (overrides: Partial<IdempotencyRecord> = {}): IdempotencyRecord => sampleRecord({ tenant: 't', operation: 'charge', ...overrides });

for (const db of testDatabases().filter((d) => d.name !== 'sqlite')) {
  describe(`createOrGet against an uncommitted claim on ${db.name}`, () => {
    const { client, log } = countedClient(db);
    const holderClient = db.client();
    const observer = db.client();
    clients.push(client, holderClient, observer);
    const ready = freshStore(db, client);

    // Resolves once a statement on `table` waits for a lock (other test files share the server).
    const blockedOnLock = async (table: string, attempt: Promise<unknown>) => {
      let settled: string | undefined;
      attempt.then((value) => (settled = `resolved ${JSON.stringify(value)}`), (error: unknown) => (settled = `rejected ${String(error)}`));
      const sql =
        db.provider === 'postgresql'
          ? `SELECT COUNT(*) AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND position($1 in query) > 0`
          : `SELECT COUNT(*) AS n FROM information_schema.INNODB_TRX WHERE trx_state = 'LOCK WAIT' AND LOCATE(?, trx_query) > 0`;
      for (let i = 0; i < 300; i++) {
        const rows = await observer.$queryRawUnsafe<{ n: unknown }[]>(sql, table);
        if (Number(rows[0]?.n) > 0) return;
        if (settled) throw new Error(`createOrGet did not wait for the holder: it ${settled}`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      // Under load MariaDB's INNODB_TRX has been seen not to list the waiting statement; a
      // createOrGet still pending after all those looks is blocked on the holder all the same
      // (nothing else can hold it up: the table check and server detection ran in the warm-up).
      if (settled) throw new Error(`createOrGet did not wait for the holder: it ${settled}`);
    };

    /** Holds `record` inserted in an open transaction until the returned finish(commit) is called. */
    const hold = async (table: string, record: IdempotencyRecord) => {
      let finish!: (commit: boolean) => void;
      const decided = new Promise<boolean>((resolve) => {
        finish = resolve;
      });
      let inserted!: () => void;
      const insertedNow = new Promise<void>((resolve) => {
        inserted = resolve;
      });
      const done = holderClient
        .$transaction(async (tx) => {
          expect(await new PrismaStore({ client: tx, table, provider: db.provider }).create(record)).toBe(true);
          inserted();
          if (!(await decided)) throw new Error('roll back');
        }, { timeout: 20_000 })
        .catch((error: unknown) => {
          if ((error as Error).message !== 'roll back') throw error;
        });
      await insertedNow;
      return { finish, done };
    };

    it('the holder commits: the waiting createOrGet returns the committed record', async () => {
      const { store, table } = await ready;
      await store.createOrGet(recordFor()); // warm-up: table check, server detection
      const record = recordFor();
      const holder = await hold(table, record);
      log.reset();
      const attempt = store.createOrGet({ ...record, token: randomUUID(), fingerprint: 'b'.repeat(64) });
      await blockedOnLock(table, attempt);
      holder.finish(true);
      await holder.done;
      expect(await attempt).toEqual({ created: false, existing: record });
      expect(log.kinds()).toEqual(db.provider === 'postgresql' ? ['WITH', 'SELECT'] : ['INSERT']);
    });

    it('the holder rolls back: the waiting createOrGet inserts its own record', async () => {
      const { store, table } = await ready;
      await store.createOrGet(recordFor());
      const record = recordFor();
      const holder = await hold(table, record);
      log.reset();
      const mine = { ...record, token: randomUUID() };
      const attempt = store.createOrGet(mine);
      await blockedOnLock(table, attempt);
      holder.finish(false);
      await holder.done;
      expect(await attempt).toEqual({ created: true });
      expect(log.kinds()).toEqual([db.provider === 'postgresql' ? 'WITH' : 'INSERT']);
      expect(await store.get(record)).toEqual(mine);
    });
  });
}
