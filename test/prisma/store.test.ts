import { randomUUID } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Idempotency, KeyInUseError } from '../../src/index.js';
import { MIGRATIONS, MIGRATION_NAME, PrismaStore, STEPS_MIGRATION_NAME, applyMigration, detectProvider, migrationSql, stepsMigrationSql } from '../../src/prisma/index.js';
import { type PrismaLike, type TestDatabase, freshStore, testDatabases } from '../support/databases.js';

describe('shipped Prisma files', () => {
  it.each(['postgresql', 'mysql', 'sqlite'] as const)('embeds the %s migrations exactly as shipped, and ships no other', (provider) => {
    const file = readFileSync(`prisma/${provider}/migrations/${MIGRATION_NAME}/migration.sql`, 'utf8');
    expect(migrationSql[provider]).toBe(file);
    expect(MIGRATIONS.map((m) => m.name)).toEqual([MIGRATION_NAME, STEPS_MIGRATION_NAME]);
    for (const migration of MIGRATIONS) {
      expect(migration.sql[provider]).toBe(readFileSync(`prisma/${provider}/migrations/${migration.name}/migration.sql`, 'utf8'));
    }
    expect(stepsMigrationSql[provider]).toMatch(/^ALTER TABLE \S+ ADD COLUMN \S+steps\S+ (TEXT|LONGTEXT NULL);$/m);
    const shipped = readdirSync(`prisma/${provider}/migrations`, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
    expect(shipped.sort()).toEqual(MIGRATIONS.map((m) => m.name));
  });

  it('refuses clients it cannot use, with a clear message', () => {
    expect(() => new PrismaStore({ client: {} as never })).toThrow(/client/);
    expect(() => new PrismaStore({ client: { $executeRawUnsafe: async () => 0, $queryRawUnsafe: async () => [] as never } })).toThrow(/provider/);
    expect(() => new PrismaStore({ client: { $executeRawUnsafe: async () => 0, $queryRawUnsafe: async () => [] as never }, provider: 'sqlite', table: 'x; DROP TABLE y' })).toThrow(/table name/);
  });
});

for (const db of testDatabases()) {
  describe(`PrismaStore on ${db.name}`, () => {
    let client: PrismaLike;
    let store: PrismaStore;
    let table: string;
    beforeAll(async () => {
      ({ client, store, table } = await freshStore(db));
    });
    afterAll(async () => {
      await client?.$disconnect();
    });

    it('detects the provider from the generated client', () => {
      expect(detectProvider(client)).toBe(db.provider);
    });

    it('matches the Prisma model: the generated client reads and writes the migrated table', async () => {
      // The model is mapped to "oncely_idempotency"; give it a table of its own on this database.
      const own = db.client();
      const modelTable = 'oncely_idempotency';
      await applyMigration(own, db.provider, { dropExisting: true, table: modelTable });
      const data = {
        tenant: 'acct', operation: 'op', key: randomUUID(), status: 'completed', fingerprint: 'f'.repeat(64), token: randomUUID(),
        fence: 3, leaseExpiresAt: null, response: 'é'.repeat(70_000), createdAt: 1n, updatedAt: 2n, expiresAt: 9_999_999_999_999n,
        steps: null,
      };
      const created = await own.oncelyIdempotencyRecord.create({ data });
      expect(created).toMatchObject(data);
      const found = await own.oncelyIdempotencyRecord.findUnique({
        where: { tenant_operation_key: { tenant: 'acct', operation: 'op', key: data.key } },
      });
      expect(found).toMatchObject(data);
      // And the store reads what the model wrote.
      const viaStore = await new PrismaStore({ client: own }).get({ tenant: 'acct', operation: 'op', key: data.key });
      expect(viaStore).toMatchObject({ fence: 3, expiresAt: 9_999_999_999_999, response: data.response });
      await own.$disconnect();
    });

    it('claims inside a caller transaction without breaking it, even when the key exists', async () => {
      const engine = new Idempotency({ store });
      const key = randomUUID();
      await engine.execute({ tenant: 't', operation: 'op', key, input: 1 }, () => 'outside');
      const result = await client.$transaction(async (tx) => {
        const txEngine = new Idempotency({ store: store.withClient(tx) });
        const replay = await txEngine.execute({ tenant: 't', operation: 'op', key, input: 1 }, () => 'inside');
        // On PostgreSQL a failed INSERT would have aborted the transaction: this statement proves it did not.
        const rows = await tx.$queryRawUnsafe<unknown[]>(`SELECT 1 AS one`);
        return { replay, rows };
      });
      expect(result.replay).toMatchObject({ replayed: true, outcome: { ok: true, value: 'outside' } });
      expect(result.rows).toHaveLength(1);
    });

    describe('transactional mode', () => {
      it('commits the claim, the business write and the result together', async () => {
        const engine = new Idempotency({ store, transactional: true });
        const key = randomUUID();
        const orderId = `ord_${randomUUID()}`;
        const first = await engine.execute({ tenant: 't', operation: 'placeOrder', key, input: { item: 'coffee' } }, async (claim) => {
          const tx = claim.tx as PrismaLike;
          return tx.order.create({ data: { id: orderId, customer: 'c', item: 'coffee', quantity: 1, amount: 450, status: 'placed' } });
        });
        expect(first.replayed).toBe(false);
        const replay = await engine.execute({ tenant: 't', operation: 'placeOrder', key, input: { item: 'coffee' } }, () => {
          throw new Error('must not run');
        });
        expect(replay.replayed).toBe(true);
        expect(replay.outcome).toEqual(first.outcome);
        expect(await client.order.count({ where: { id: orderId } })).toBe(1);
      });

      it('rolls back the business write and the claim when the work fails, so a retry runs', async () => {
        const engine = new Idempotency({ store, transactional: true });
        const key = randomUUID();
        const orderId = `ord_${randomUUID()}`;
        const failed = await engine.execute({ tenant: 't', operation: 'placeOrder', key }, async (claim) => {
          await (claim.tx as PrismaLike).order.create({ data: { id: orderId, customer: 'c', item: 'x', quantity: 1, amount: 1, status: 'placed' } });
          throw new Error('payment provider down');
        });
        expect(failed).toMatchObject({ replayed: false, stored: false, outcome: { ok: false } });
        expect(await client.order.count({ where: { id: orderId } })).toBe(0);
        expect(await store.get({ tenant: 't', operation: 'placeOrder', key })).toBeNull();
        const retry = await engine.execute({ tenant: 't', operation: 'placeOrder', key }, () => 'ran again');
        expect(retry.outcome).toEqual({ ok: true, value: 'ran again' });
      });

      it('runs the work once for 20 concurrent duplicates; the others replay after the commit', async () => {
        const engine = new Idempotency({ store, transactional: true, inProgress: 'wait', waitTimeout: 20_000 });
        const key = randomUUID();
        let executions = 0;
        const settled = await Promise.allSettled(
          Array.from({ length: 20 }, () =>
            engine.execute({ tenant: 't', operation: 'placeOrder', key, input: { n: 1 } }, async (claim) => {
              executions++;
              await new Promise((r) => setTimeout(r, 100));
              const id = `ord_${randomUUID()}`;
              await (claim.tx as PrismaLike).order.create({ data: { id, customer: key, item: 'coffee', quantity: 1, amount: 450, status: 'placed' } });
              return id;
            }),
          ),
        );
        const failures = settled.filter((s) => s.status === 'rejected').map((s) => String((s as PromiseRejectedResult).reason));
        expect(failures).toEqual([]);
        expect(executions).toBe(1);
        expect(await client.order.count({ where: { customer: key } })).toBe(1);
        const values = settled.map((s) => (s as PromiseFulfilledResult<{ outcome: unknown }>).value.outcome);
        expect(new Set(values.map((v) => JSON.stringify(v))).size).toBe(1);
      });
    });

    it('gives 409 to a duplicate of a claim held by another process (lease mode, two clients)', async () => {
      const other = db.client();
      const engineA = new Idempotency({ store });
      const engineB = new Idempotency({ store: new PrismaStore({ client: other, table }) });
      const key = randomUUID();
      // A holds the claim until B's attempt is answered: no timing, however loaded the machine.
      let claimed!: () => void;
      const holding = new Promise<void>((resolve) => (claimed = resolve));
      let finish!: () => void;
      const gate = new Promise<void>((resolve) => (finish = resolve));
      const first = engineA.execute({ tenant: 't', operation: 'op', key }, async () => {
        claimed();
        await gate;
        return 'a';
      });
      await holding;
      await expect(engineB.execute({ tenant: 't', operation: 'op', key }, () => 'b')).rejects.toBeInstanceOf(KeyInUseError);
      finish();
      expect((await first).outcome).toEqual({ ok: true, value: 'a' });
      expect((await engineB.execute({ tenant: 't', operation: 'op', key }, () => 'b')).replayed).toBe(true);
      await other.$disconnect();
    });
  });
}

export type { TestDatabase };
