/**
 * Wait mode on the real Prisma stores: duplicates in this process are woken by the holder's
 * completion, not by the poll (the SQL stores have no change notifications of their own).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { Idempotency, type IdempotencyStore } from '../../src/index.js';
import { localWaiterCount } from '../../src/core/local-waiters.js';
import type { RecordScope } from '../../src/core/record.js';
import { type PrismaLike, freshStore, testDatabases } from '../support/databases.js';

const clients: PrismaLike[] = [];
afterAll(async () => {
  await Promise.all(clients.map((c) => c.$disconnect()));
});

/**
 * The real store, plus a waitForChange that never hears of anything and resolves only at its
 * timeout (as a notifying store whose message got lost): a waiter that did not wait for it out
 * was woken in-process. Counts the waits that ran to their timeout.
 */
function withSilentNotifications(store: IdempotencyStore): IdempotencyStore & { waits: number; timedOut: number } {
  const silent = {
    waits: 0,
    timedOut: 0,
    create: store.create.bind(store),
    ...(store.createOrGet ? { createOrGet: store.createOrGet.bind(store) } : {}),
    get: store.get.bind(store),
    takeOver: store.takeOver.bind(store),
    renew: store.renew.bind(store),
    complete: store.complete.bind(store),
    release: store.release.bind(store),
    purgeExpired: store.purgeExpired.bind(store),
    async waitForChange(_scope: RecordScope, timeoutMs: number) {
      silent.waits++;
      await new Promise((resolve) => setTimeout(resolve, timeoutMs));
      silent.timedOut++;
    },
  };
  return silent;
}

for (const db of testDatabases()) {
  describe(`local waiters on ${db.name}`, () => {
    const ready = (async () => {
      const fresh = await freshStore(db);
      clients.push(fresh.client);
      return fresh.store;
    })();

    it('200 same-key callers in wait mode: the work runs once and all 200 get its result', async () => {
      const store = await ready;
      const engine = new Idempotency({ store, inProgress: 'wait', waitTimeout: 30_000 });
      const c = { tenant: 't', operation: 'op', key: randomUUID(), input: { amount: 5 } };
      let runs = 0;
      const all = await Promise.all(
        Array.from({ length: 200 }, () =>
          engine.execute(c, async () => {
            runs++;
            await new Promise((resolve) => setTimeout(resolve, 50));
            return { id: `ch_${runs}`, at: new Date(0) };
          }),
        ),
      );
      expect(runs).toBe(1);
      expect(all.filter((e) => !e.replayed).length).toBe(1);
      for (const execution of all) expect(execution.outcome).toEqual({ ok: true, value: { id: 'ch_1', at: new Date(0) } });
      expect(localWaiterCount(store)).toEqual({ scopes: 0, waiters: 0 });
    });

    it('a waiter is woken by the holder’s commit, not by the end of its wait', async () => {
      const store = withSilentNotifications(await ready);
      const engine = new Idempotency({ store, heartbeat: false });
      const c = { tenant: 't', operation: 'op', key: randomUUID(), input: 1 };
      const holder = await engine.begin<string>(c);
      if (holder.replayed) throw new Error('expected a claim');
      const waiter = engine.execute({ ...c, inProgress: 'wait', waitTimeout: 30_000 }, () => 'dup');
      while (store.waits === 0) await new Promise((resolve) => setTimeout(resolve, 1));
      await holder.commit({ ok: true, value: 'first' });
      expect(await waiter).toMatchObject({ replayed: true, outcome: { ok: true, value: 'first' } });
      // Woken by the holder: its one wait (capped at 1 s) had not run out.
      expect(store.waits).toBe(1);
      expect(store.timedOut).toBe(0);
    });
  });
}
