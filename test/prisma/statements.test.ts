import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { Idempotency } from '../../src/index.js';
import type { PrismaLike } from '../support/databases.js';
import { freshStore, testDatabases } from '../support/databases.js';
import { countedClient } from '../support/counted-client.js';
import { StatementLog, countStatements } from '../support/statement-counter.js';
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient as PostgresClient } from '../../generated/postgresql/client.js';

// Statements per call as the database sees them (the driver adapter's traffic), after a warm-up
// call that runs the once-per-store look-ups (table check, MariaDB detection).
const clients: PrismaLike[] = [];
afterAll(async () => {
  await Promise.all(clients.map((c) => c.$disconnect()));
});

const call = () => ({ tenant: 't', operation: 'charge', key: randomUUID(), input: { amount: 1 } });

for (const db of testDatabases()) {
  describe(`statements per call on ${db.name}`, () => {
    const { client, log } = countedClient(db);
    clients.push(client);
    const ready = freshStore(db, client);
    const claimKind = db.name === 'postgresql' ? 'WITH' : 'INSERT';
    // What transactional mode adds around the claim: MySQL/MariaDB (REPEATABLE READ by default)
    // is asked for READ COMMITTED; PostgreSQL already runs it here; SQLite takes no level.
    const begin = db.name === 'mariadb' ? ['BEGIN', 'SET TRANSACTION'] : ['BEGIN'];
    // In a transaction PostgreSQL claims with the plain INSERT and reads only after a conflict.
    const txClaim = db.name === 'postgresql' ? ['INSERT'] : [claimKind];
    const txReplayClaim = db.name === 'postgresql' ? ['INSERT', 'SELECT'] : [claimKind];

    it('lease mode: a first execution runs the claim and the completion (2), a replay runs the claim (1)', async () => {
      const { store } = await ready;
      const engine = new Idempotency({ store });
      await engine.execute(call(), () => 'warm-up');
      const c = call();
      log.reset();
      const first = await engine.execute(c, () => 'done');
      expect(first.replayed).toBe(false);
      expect(log.kinds()).toEqual([claimKind, 'UPDATE']);
      log.reset();
      const replay = await engine.execute(c, () => 'never');
      expect(replay.replayed && replay.outcome).toEqual({ ok: true, value: 'done' });
      expect(log.kinds()).toEqual([claimKind]);
    });

    it('transactional mode: begin, claim, savepoint, completion, commit; a replay: begin, claim, commit', async () => {
      const { store } = await ready;
      const engine = new Idempotency({ store, transactional: true });
      await engine.execute(call(), () => 'warm-up');
      const c = call();
      log.reset();
      expect((await engine.execute(c, () => 'done')).replayed).toBe(false);
      expect(log.kinds()).toEqual([...begin, ...txClaim, 'SAVEPOINT', 'UPDATE', 'COMMIT']);
      log.reset();
      expect((await engine.execute(c, () => 'never')).replayed).toBe(true);
      expect(log.kinds()).toEqual([...begin, ...txReplayClaim, 'COMMIT']);
    });

    it('a replay of a record another request is still holding costs one statement too (reject mode: 409)', async () => {
      const { store } = await ready;
      const engine = new Idempotency({ store });
      await engine.execute(call(), () => 'warm-up');
      const c = call();
      const held = await engine.begin(c);
      if (held.replayed) throw new Error('expected a claim');
      log.reset();
      await expect(engine.begin(c)).rejects.toMatchObject({ code: 'IDEMPOTENCY_KEY_IN_USE' });
      expect(log.kinds()).toEqual([claimKind]);
      await held.release();
    });
  });
}

describe.runIf(testDatabases().some((db) => db.name === 'postgresql'))('transactional mode on PostgreSQL connections that default to another isolation level', () => {
  const pg = testDatabases().find((db) => db.name === 'postgresql')!;

  for (const level of ['repeatable read', 'serializable']) {
    it(`asks for READ COMMITTED when new connections run ${level}, and a same-key race still runs once`, async () => {
      const log = new StatementLog();
      // The connection string's startup option sets this client's connections only, not the server.
      const client = new PostgresClient({
        adapter: countStatements(new PrismaPg({ connectionString: pg.url, max: 20, options: `-c default_transaction_isolation=${level.replace(' ', '\\ ')}` }), log),
      });
      clients.push(client);
      const { store } = await freshStore(pg, client);
      const engine = new Idempotency({ store, transactional: true, inProgress: 'wait', waitTimeout: '20s' });
      await engine.execute(call(), () => 'warm-up');
      const c = call();
      log.reset();
      await engine.execute(c, () => 'done');
      expect(log.kinds()).toEqual(['BEGIN', 'SET TRANSACTION', 'INSERT', 'SAVEPOINT', 'UPDATE', 'COMMIT']);

      let runs = 0;
      const raced = call();
      const answers = await Promise.all(
        Array.from({ length: 12 }, () =>
          engine.execute(raced, async () => {
            runs += 1;
            await new Promise((resolve) => setTimeout(resolve, 30));
            return 'once';
          }),
        ),
      );
      expect(runs).toBe(1);
      expect(answers.map((a) => a.outcome)).toEqual(Array(12).fill({ ok: true, value: 'once' }));
      expect(answers.filter((a) => a.replayed)).toHaveLength(11);
    });
  }
});
