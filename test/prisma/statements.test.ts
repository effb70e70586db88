import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { Idempotency } from '../../src/index.js';
import type { PrismaLike } from '../support/databases.js';
import { freshStore, testDatabases } from '../support/databases.js';
import { countedClient } from '../support/counted-client.js';

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
    // What transactional mode adds around the claim (SQLite takes no isolation level).
    const begin = db.name === 'sqlite' ? ['BEGIN'] : ['BEGIN', 'SET TRANSACTION'];

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
      expect(log.kinds()).toEqual([...begin, claimKind, 'SAVEPOINT', 'UPDATE', 'COMMIT']);
      log.reset();
      expect((await engine.execute(c, () => 'never')).replayed).toBe(true);
      expect(log.kinds()).toEqual([...begin, claimKind, 'COMMIT']);
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
