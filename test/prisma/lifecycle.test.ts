import { afterAll, describe, expect, it } from 'vitest';
import { Idempotency } from '../../src/index.js';
import { type PrismaLike, freshStore, testDatabases } from '../support/databases.js';

const clients: PrismaLike[] = [];
afterAll(async () => {
  await Promise.all(clients.map((c) => c.$disconnect()));
});

type Tx = { $executeRawUnsafe(sql: string, ...values: unknown[]): Promise<number> };

for (const db of testDatabases()) {
  describe(`begin / commit / release in transactional mode on ${db.name}`, () => {
    const client = db.client();
    clients.push(client);
    const p = db.provider === 'postgresql' ? '$1' : '?';
    const insert = (tx: unknown, id: string) => (tx as Tx).$executeRawUnsafe(`INSERT INTO lifecycle_rows (id) VALUES (${p})`, id);
    const count = async (id: string) => {
      const rows = await client.$queryRawUnsafe<{ n: unknown }[]>(`SELECT COUNT(*) AS n FROM lifecycle_rows WHERE id = ${p}`, id);
      return Number(rows[0]?.n);
    };
    const ready = client.$executeRawUnsafe('CREATE TABLE IF NOT EXISTS lifecycle_rows (id VARCHAR(120) NOT NULL PRIMARY KEY)');

    it('the transaction stays open between begin and commit: writes through tx commit with the stored result', async () => {
      await ready;
      const { store } = await freshStore(db, client);
      const engine = new Idempotency({ store, transactional: true });
      const id = `lc-${Date.now()}-${Math.random()}`;
      const claim = await engine.begin<string>({ tenant: 't', operation: 'op', key: id, input: 1 });
      if (claim.replayed) throw new Error('expected a claim');
      expect(claim.context.tx).toBeDefined();
      // The work runs later, as an adapter's later hook would run it.
      await new Promise((resolve) => setTimeout(resolve, 20));
      await insert(claim.context.tx, id);
      expect((await claim.commit({ ok: true, value: 'done' })).stored).toBe(true);
      expect(await count(id)).toBe(1);
      const replay = await engine.begin<string>({ tenant: 't', operation: 'op', key: id, input: 1 });
      expect(replay.replayed && replay.execution.outcome).toEqual({ ok: true, value: 'done' });
    });

    it('a deterministic failure undoes the writes and is stored; release and an unexpected failure roll everything back', async () => {
      await ready;
      const { store } = await freshStore(db, client);
      const engine = new Idempotency({ store, transactional: true });
      const declined = `lc-declined-${Date.now()}-${Math.random()}`;
      const claim = await engine.begin({ tenant: 't', operation: 'op', key: declined, input: 1 });
      if (claim.replayed) throw new Error('expected a claim');
      await insert(claim.context.tx, declined);
      expect((await claim.commit({ ok: false, error: Object.assign(new Error('declined'), { status: 402 }) })).stored).toBe(true);
      expect(await count(declined)).toBe(0);
      const replay = await engine.begin({ tenant: 't', operation: 'op', key: declined, input: 1 });
      expect(replay.replayed && (replay.execution.outcome as { error: Error }).error.message).toBe('declined');
      for (const finish of ['release', 'fail'] as const) {
        const id = `lc-${finish}-${Date.now()}-${Math.random()}`;
        const claim = await engine.begin({ tenant: 't', operation: 'op', key: id, input: 1 });
        if (claim.replayed) throw new Error('expected a claim');
        await insert(claim.context.tx, id);
        if (finish === 'release') await claim.release();
        else expect((await claim.commit({ ok: false, error: new Error('provider timeout') })).stored).toBe(false);
        expect(await count(id)).toBe(0);
        const next = await engine.begin({ tenant: 't', operation: 'op', key: id, input: 1 });
        expect(next.replayed).toBe(false);
        if (!next.replayed) await next.release();
      }
    });

    it('a codec that throws while a success is committed closes the transaction at once: the key is free again', async () => {
      const { store } = await freshStore(db, client);
      let failing = true;
      const codec = {
        encode: (text: string) => {
          if (failing) throw new Error('key vault unreachable');
          return text;
        },
        decode: (text: string) => text,
      };
      const engine = new Idempotency({ store, transactional: true, codec });
      const id = `lc-codec-${Date.now()}-${Math.random()}`;
      const claim = await engine.begin({ tenant: 't', operation: 'op', key: id, input: 1 });
      if (claim.replayed) throw new Error('expected a claim');
      await insert(claim.context.tx, id);
      await expect(claim.commit({ ok: true, value: 'done' })).rejects.toThrow('key vault unreachable');
      expect(await count(id)).toBe(0);
      // Left open, the transaction would hold the claim (and on SQLite the database) until its 30 s timeout.
      failing = false;
      const started = performance.now();
      const next = await engine.begin({ tenant: 't', operation: 'op', key: id, input: 1 });
      expect(performance.now() - started).toBeLessThan(5000);
      expect(next.replayed).toBe(false);
      if (!next.replayed) await next.release();
    });
  });
}
