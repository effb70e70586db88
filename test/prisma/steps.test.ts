import { randomUUID } from 'node:crypto';
import { sampleRecord } from '../../src/testing/index.js';
import { afterAll, describe, expect, it } from 'vitest';
import type { StepRecord } from '../../src/core/store.js';
import type { IdempotencyError, IdempotencyRecord } from '../../src/index.js';
import { Idempotency } from '../../src/index.js';
import { PrismaStore, STEPS_MIGRATION_NAME, applyMigration, migrationStatements } from '../../src/prisma/index.js';
import { type PrismaLike, type TestDatabase, freshStore, testDatabases } from '../support/databases.js';

const clients: PrismaLike[] = [];
afterAll(async () => {
  await Promise.all(clients.map((c) => c.$disconnect()));
});

const T0 = Date.UTC(2026, 0, 1);
const tableName = () => `oncely_s_${randomUUID().replaceAll('-', '').slice(0, 12)}`;

/** A table as the first release made it: the base migration only, no steps column. */
async function createOldTable(db: TestDatabase, client: PrismaLike, table: string) {
  await client.$executeRawUnsafe(`DROP TABLE IF EXISTS ${table}`);
  for (const statement of migrationStatements(db.provider)) await client.$executeRawUnsafe(statement.replaceAll('oncely_idempotency', table));
}

async function hasStepsColumn(db: TestDatabase, client: PrismaLike, table: string): Promise<boolean> {
  const rows =
    db.provider === 'sqlite'
      ? await client.$queryRawUnsafe<{ name: string }[]>(`PRAGMA table_info("${table}")`)
      : db.provider === 'postgresql'
        ? await client.$queryRawUnsafe<{ name: string }[]>(`SELECT column_name AS name FROM information_schema.columns WHERE table_name = $1`, table)
        : await client.$queryRawUnsafe<{ name: string }[]>(`SELECT COLUMN_NAME AS name FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?`, table);
  return rows.some((r) => r.name === 'steps');
}

const recordFor = (overrides: Partial<IdempotencyRecord> = {}): IdempotencyRecord => sampleRecord({ tenant: 't', operation: 'checkout', ...overrides });

const step = (index: number, name: string, result: string, kind: StepRecord['kind'] = 'external'): StepRecord => ({ index, name, kind, result, completedAt: T0 + index });

async function configurationError(promise: Promise<unknown>): Promise<IdempotencyError> {
  const error = (await promise.then(() => undefined, (e: unknown) => e)) as IdempotencyError | undefined;
  if (!error) throw new Error('expected a rejection');
  return error;
}

for (const db of testDatabases()) {
  describe(`steps on ${db.name}`, () => {
    const client = db.client();
    clients.push(client);

    it('an old table keeps working without the steps column; a step call on it names the migration', async () => {
      const table = tableName();
      await createOldTable(db, client, table);
      const store = new PrismaStore({ client, table });
      await store.verify();
      // Claims, takeovers, completions and replays work as before.
      const record = recordFor();
      expect(await store.create(record)).toBe(true);
      const taker = { ...record, token: randomUUID(), fence: 2, leaseExpiresAt: T0 + 200_000 };
      expect(await store.takeOver(taker, record.token, T0 + 60_000)).toBe(true);
      const engine = new Idempotency({ store, heartbeat: false });
      const call = { tenant: 't', operation: 'op', key: randomUUID(), input: 1 };
      expect(await engine.run(call, () => 'done')).toBe('done');
      expect((await engine.execute(call, () => 'never')).replayed).toBe(true);
      // Steps are refused with the migration's name, on the store and on its transaction scope.
      for (const attempt of [store.loadSteps(taker, taker.token), store.recordStep(taker, taker.token, step(0, 'charge', '"ch_1"'), T0 + 300_000)]) {
        const error = await configurationError(attempt);
        expect(error.code).toBe('IDEMPOTENCY_CONFIGURATION');
        expect(error.message).toContain(`no "steps" column`);
        expect(error.message).toContain(STEPS_MIGRATION_NAME);
        expect(error.message).toContain(`applyMigration(prisma, '${db.provider}')`);
      }
      const inTransaction = await configurationError(store.transaction((scope) => scope.recordStep!(taker, taker.token, step(0, 'charge', '"x"'), T0 + 300_000)));
      expect(inTransaction.code).toBe('IDEMPOTENCY_CONFIGURATION');
      // Without the table check, the database's own "no such column" is turned into the same error.
      const unchecked = new PrismaStore({ client, table, verifyTable: false });
      expect((await configurationError(unchecked.loadSteps(taker, taker.token))).message).toContain(STEPS_MIGRATION_NAME);
      expect((await store.get(taker))?.token).toBe(taker.token);
    });

    it('applyMigration upgrades an old table once: upgraded, then unchanged; the records stay', async () => {
      const table = tableName();
      await createOldTable(db, client, table);
      const record = recordFor();
      expect(await new PrismaStore({ client, table }).create(record)).toBe(true);
      expect(await hasStepsColumn(db, client, table)).toBe(false);
      expect(await applyMigration(client, db.provider, { table })).toEqual({ table, action: 'upgraded' });
      expect(await applyMigration(client, db.provider, { table })).toEqual({ table, action: 'unchanged' });
      expect(await hasStepsColumn(db, client, table)).toBe(true);
      const store = new PrismaStore({ client, table });
      expect(await store.get(record)).toEqual(record);
      expect(await store.loadSteps(record, record.token)).toEqual([]);
      expect(await store.recordStep(record, record.token, step(0, 'charge', '"ch_1"'), T0 + 90_000)).toBe(true);
      expect(await store.loadSteps(record, record.token)).toEqual([step(0, 'charge', '"ch_1"')]);
    });

    it('4 concurrent migrators of an old table: exactly one upgrades it, the others find it unchanged (5 rounds)', async () => {
      for (let round = 0; round < 5; round++) {
        const table = tableName();
        await createOldTable(db, client, table);
        const results = await Promise.all(Array.from({ length: 4 }, () => applyMigration(client, db.provider, { table })));
        expect(results.map((r) => r.action).sort()).toEqual(['unchanged', 'unchanged', 'unchanged', 'upgraded']);
        expect(await hasStepsColumn(db, client, table)).toBe(true);
      }
    });

    it("a step on a table that lost the column after the store's check fails with the database's error turned into the migration's name", async () => {
      const { store, table } = await freshStore(db, client);
      const record = recordFor();
      await store.create(record);
      expect(await store.loadSteps(record, record.token)).toEqual([]);
      await client.$executeRawUnsafe(`ALTER TABLE ${table} DROP COLUMN steps`);
      const error = await configurationError(store.recordStep(record, record.token, step(0, 'charge', '1'), T0 + 70_000));
      expect(error.code).toBe('IDEMPOTENCY_CONFIGURATION');
      expect(error.message).toContain(STEPS_MIGRATION_NAME);
      // The store now knows: takeOver uses the statement without the column and still works.
      const taker = { ...record, token: randomUUID(), fence: 2 };
      expect(await store.takeOver(taker, record.token, T0 + 60_000)).toBe(true);
    });

    it('a fresh table gets the column at once: created, then unchanged', async () => {
      const table = tableName();
      await client.$executeRawUnsafe(`DROP TABLE IF EXISTS ${table}`);
      expect(await applyMigration(client, db.provider, { table })).toEqual({ table, action: 'created' });
      expect(await hasStepsColumn(db, client, table)).toBe(true);
      expect(await applyMigration(client, db.provider, { table })).toEqual({ table, action: 'unchanged' });
    });

    it('records steps in order, fenced by token and index, renewing the lease in the same statement', async () => {
      const { store } = await freshStore(db, client);
      const record = recordFor({ expiresAt: T0 + 100_000 });
      await store.create(record);
      // Results that SQL JSON parsers refuse or mangle are stored as they are.
      const odd = JSON.stringify({ s: '\uD800 \u0000 {"index":1,"name":"x"} %_\\ é🧾', n: 1 });
      expect(await store.recordStep(record, randomUUID(), step(0, 'charge', odd), T0 + 70_000)).toBe(false);
      expect(await store.recordStep(record, record.token, step(1, 'charge', odd), T0 + 70_000)).toBe(false);
      expect(await store.recordStep(record, record.token, step(0, 'charge', odd), T0 + 70_000)).toBe(true);
      expect(await store.recordStep(record, record.token, step(0, 'again', '1'), T0 + 70_000)).toBe(false);
      expect(await store.recordStep(record, record.token, step(1, '{"index":2,"name":', '2', 'database'), T0 + 150_000)).toBe(true);
      expect(await store.recordStep(record, record.token, step(3, 'skip', '3'), T0 + 150_000)).toBe(false);
      expect(await store.loadSteps(record, record.token)).toEqual([step(0, 'charge', odd), step(1, '{"index":2,"name":', '2', 'database')]);
      expect(await store.loadSteps(record, randomUUID())).toBeNull();
      const stored = await store.get(record);
      expect(stored).toMatchObject({ leaseExpiresAt: T0 + 150_000, updatedAt: T0 + 1, expiresAt: T0 + 150_000 });
      for (let index = 2; index < 12; index++) expect(await store.recordStep(record, record.token, step(index, `s${index}`, `${index}`), T0 + 150_000)).toBe(true);
      expect((await store.loadSteps(record, record.token))?.map((s) => s.index)).toEqual(Array.from({ length: 12 }, (_, i) => i));
      // A completed record is no longer held: no step is recorded on it.
      expect(await store.complete(record, record.token, { response: '{}', completedAt: T0 + 2, expiresAt: T0 + 200_000 })).toBe(true);
      expect(await store.recordStep(record, record.token, step(12, 'late', '1'), T0 + 150_000)).toBe(false);
      expect(await store.loadSteps(record, record.token)).toBeNull();
    });

    it('takeOver keeps the steps after a lease ran out and clears them for an expired record, deciding from the stored expiry', async () => {
      const { store } = await freshStore(db, client);
      const record = recordFor({ leaseExpiresAt: T0 + 1_000, expiresAt: T0 + 100_000 });
      await store.create(record);
      await store.recordStep(record, record.token, step(0, 'charge', '"ch_1"'), T0 + 1_000);
      const resumer = { ...record, token: randomUUID(), fence: 2, leaseExpiresAt: T0 + 61_000 };
      expect(await store.takeOver(resumer, record.token, T0 + 1_000)).toBe(true);
      expect(await store.loadSteps(resumer, resumer.token)).toEqual([step(0, 'charge', '"ch_1"')]);
      // Past the retention: a new logical operation starts with no steps, even though the caller
      // passes the stored createdAt (it decides nothing).
      const fresh = { ...record, token: randomUUID(), fence: 3, leaseExpiresAt: T0 + 200_000, expiresAt: T0 + 400_000 };
      expect(await store.takeOver(fresh, resumer.token, T0 + 100_000)).toBe(true);
      expect(await store.loadSteps(fresh, fresh.token)).toEqual([]);
      expect(await store.recordStep(fresh, fresh.token, step(0, 'charge', '"ch_2"'), T0 + 200_000)).toBe(true);
      // release and purge take the steps with the record.
      expect(await store.release(fresh, fresh.token)).toBe(true);
      expect(await store.get(fresh)).toBeNull();
      const again = recordFor({ key: record.key });
      expect(await store.create(again)).toBe(true);
      expect(await store.loadSteps(again, again.token)).toEqual([]);
    });

    it('a checkout that failed after two steps resumes on retry at the third: each step and its writes happen once', async () => {
      const { store } = await freshStore(db, client);
      const engine = new Idempotency({ store, heartbeat: false });
      const customer = `c_${randomUUID()}`;
      const call = { tenant: 't', operation: 'checkout', key: randomUUID(), input: { customer } };
      const runs = { createOrder: 0, charge: 0, markPaid: 0 };
      let failAfterCharge = true;
      const checkout = () =>
        engine.execute(call, async (claim) => {
          const order = await claim.databaseStep('createOrder', async (tx) => {
            runs.createOrder++;
            const id = `ord_${randomUUID()}`;
            await (tx as PrismaLike).order.create({ data: { id, customer, item: 'coffee', quantity: 1, amount: 450, status: 'placed' } });
            return { id };
          });
          const charge = await claim.step('charge', ({ key }) => {
            runs.charge++;
            return { chargeId: `ch_${key.slice(0, 8)}` };
          });
          if (failAfterCharge) throw new Error('crashed after the charge');
          await claim.databaseStep('markPaid', async (tx) => {
            runs.markPaid++;
            await (tx as PrismaLike).order.update({ where: { id: order.id }, data: { status: 'paid' } });
          });
          return { order: order.id, charge: charge.chargeId };
        });
      const failed = await checkout();
      expect(failed.outcome.ok).toBe(false);
      failAfterCharge = false;
      const resumed = await checkout();
      expect(resumed).toMatchObject({ replayed: false, reclaimed: true, outcome: { ok: true } });
      expect(runs).toEqual({ createOrder: 1, charge: 1, markPaid: 1 });
      const orders = await client.order.findMany({ where: { customer } });
      expect(orders.map((o) => o.status)).toEqual(['paid']);
      expect(resumed.outcome.ok && resumed.outcome.value).toEqual({ order: orders[0]!.id, charge: expect.stringMatching(/^ch_/) });
      expect((await checkout()).replayed).toBe(true);
    });

    it("a database step's writes and its recorded step commit together, and roll back together when recordStep is fenced out", async () => {
      const { store, table } = await freshStore(db, client);
      const otherClient = db.client();
      clients.push(otherClient);
      const other = new PrismaStore({ client: otherClient, table });
      const record = recordFor({ leaseExpiresAt: T0 + 1_000 });
      await store.create(record);
      const customer = `c_${randomUUID()}`;
      const order = (id: string) => ({ id, customer, item: 'coffee', quantity: 1, amount: 450, status: 'placed' });

      // Committed: the order and step 0.
      await store.transaction(async (scope, tx) => {
        await (tx as PrismaLike).order.create({ data: order(`ord_${randomUUID()}`) });
        if (!(await scope.recordStep!(record, record.token, step(0, 'createOrder', '"ord"', 'database'), T0 + 1_000))) throw new Error('fenced');
      });
      expect(await client.order.count({ where: { customer } })).toBe(1);
      expect(await store.loadSteps(record, record.token)).toHaveLength(1);

      // Fenced out: another process takes the claim over while the holder's step runs. The
      // holder's recordStep changes nothing, and its order goes with the rolled-back transaction.
      // SQLite has one writer at a time: there the takeover runs just before the transaction
      // (it would wait for it otherwise); the server databases take over from another connection
      // after the holder wrote its order.
      const taker = { ...record, token: randomUUID(), fence: 2, leaseExpiresAt: T0 + 61_000 };
      if (db.provider === 'sqlite') expect(await other.takeOver(taker, record.token, T0 + 1_000)).toBe(true);
      let recorded: boolean | undefined;
      const attempt = store.transaction(async (scope, tx) => {
        await (tx as PrismaLike).order.create({ data: order(`ord_${randomUUID()}`) });
        if (db.provider !== 'sqlite') expect(await other.takeOver(taker, record.token, T0 + 1_000)).toBe(true);
        recorded = await scope.recordStep!(record, record.token, step(1, 'markPaid', '"paid"', 'database'), T0 + 2_000);
        if (!recorded) throw new Error('lease lost');
      });
      await expect(attempt).rejects.toThrow('lease lost');
      expect(recorded).toBe(false);
      expect(await client.order.count({ where: { customer } })).toBe(1);
      expect(await store.loadSteps(taker, taker.token)).toEqual([step(0, 'createOrder', '"ord"', 'database')]);
      expect(await store.get(record)).toMatchObject({ token: taker.token, leaseExpiresAt: T0 + 61_000 });
    });
  });
}
