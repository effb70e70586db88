import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { GLOBAL_TENANT, Idempotency, type IdempotencyError } from '../../src/index.js';
import { PrismaStore, applyMigration, migrationStatements } from '../../src/prisma/index.js';
import { type PrismaLike, type TestDatabase, freshStore, testDatabases } from '../support/databases.js';

const clients: PrismaLike[] = [];
afterAll(async () => {
  await Promise.all(clients.map((c) => c.$disconnect()));
});

function tableName() {
  return `oncely_c_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
}

/** Creates a table from the shipped migration with its text changed, as other tools would create it. */
async function createVariant(db: TestDatabase, client: PrismaLike, table: string, change: (sql: string) => string) {
  await client.$executeRawUnsafe(`DROP TABLE IF EXISTS ${table}`);
  for (const statement of migrationStatements(db.provider)) {
    const sql = change(statement.replaceAll('oncely_idempotency', table));
    if (sql.trim()) await client.$executeRawUnsafe(sql);
  }
}

async function expectRefused(store: PrismaStore, pattern: RegExp) {
  const engine = new Idempotency({ store, heartbeat: false });
  let runs = 0;
  const error = (await engine.run({ tenant: 't', operation: 'op', key: 'k' }, () => ++runs).catch((e: unknown) => e)) as IdempotencyError;
  expect(error.code).toBe('IDEMPOTENCY_CONFIGURATION');
  expect(error.status).toBe(500);
  expect(error.message).toMatch(pattern);
  expect(runs).toBe(0);
  await expect(store.verify()).rejects.toThrow(pattern);
}

for (const db of testDatabases()) {
  describe(`table check and scope injectivity on ${db.name}`, () => {
    const client = db.client();
    clients.push(client);

    it('distinct tenants that a collation or driver could merge keep separate records on the shipped table', async () => {
      const { store } = await freshStore(db, client);
      const engine = new Idempotency({ store, heartbeat: false });
      const long = `acme-${'#'.repeat(250)}`;
      const tenants = ['acme', 'acme ', 'ACME', 'acme\0', 'acme\0x', '\uD800', '\uFFFD', long, `${long.slice(0, 126)}#${'a'.repeat(64)}`];
      let runs = 0;
      for (const tenant of tenants) {
        for (const operation of ['op', 'op ', 'OP']) {
          const value = await engine.run({ tenant, operation, key: 'same-key', input: 1 }, () => ({ tenant, operation, n: ++runs }));
          expect(value).toEqual({ tenant, operation, n: runs });
        }
      }
      expect(runs).toBe(tenants.length * 3);
      // And each replays its own result.
      for (const tenant of tenants) {
        const again = await engine.execute({ tenant, operation: 'op', key: 'same-key', input: 1 }, () => ({ n: -1 }));
        expect(again.replayed).toBe(true);
        expect((again.outcome as unknown as { value: { tenant: string } }).value.tenant).toBe(tenant);
      }
      // Keys differing by case are two keys.
      for (const key of ['abc', 'ABC', 'Abc']) expect(await engine.run({ tenant: GLOBAL_TENANT, operation: 'op', key }, () => key)).toBe(key);
    });

    it('refuses a table without the unique index over (tenant, operation, key)', async () => {
      const table = tableName();
      await createVariant(db, client, table, (sql) => (/UNIQUE/.test(sql) && !/CREATE TABLE/.test(sql) ? '' : sql.replace(/,\s*UNIQUE INDEX `[^`]+`\([^)]*\)/, '')));
      await expectRefused(new PrismaStore({ client, table }), /no unique index over exactly \(tenant, operation, key\)/);
    });

    it('refuses a missing table with the command that creates it', async () => {
      await expectRefused(new PrismaStore({ client, table: tableName() }), /does not exist.*applyMigration/);
    });

    it('applyMigration is safe to re-run, also concurrently, and says what it did', async () => {
      const table = tableName();
      await client.$executeRawUnsafe(`DROP TABLE IF EXISTS ${table}`);
      expect(await applyMigration(client, db.provider, { table })).toEqual({ table, action: 'created' });
      expect(await applyMigration(client, db.provider, { table })).toEqual({ table, action: 'unchanged' });
      // Several rounds of racing migrations: on PostgreSQL a race inside CREATE ... IF NOT EXISTS
      // surfaces as a catalog unique violation (seen in about one run of twenty with one round).
      for (let round = 0; round < 4; round++) {
        const other = tableName();
        const results = await Promise.all(Array.from({ length: 6 }, () => applyMigration(client, db.provider, { table: other })));
        expect(results.filter((r) => r.action === 'created').length).toBeGreaterThanOrEqual(1);
        expect(results.every((r) => r.table === other && (r.action === 'created' || r.action === 'unchanged'))).toBe(true);
        await new PrismaStore({ client, table: other }).verify();
      }
    });

    if (db.provider === 'mysql') {
      it('refuses the case-insensitive table prisma migrate creates, naming the ALTER TABLE fix', async () => {
        const table = tableName();
        // What `prisma migrate` writes for the shipped oncely.prisma: the database's default collation.
        await createVariant(db, client, table, (sql) => sql.replace('COLLATE utf8mb4_bin', 'COLLATE utf8mb4_unicode_ci'));
        const store = new PrismaStore({ client, table });
        await expectRefused(store, /collation utf8mb4_unicode_ci.*ALTER TABLE `[^`]+` CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_bin/);
        // Without the check the hazard is real: "abc" and "ABC" share one record.
        const unchecked = new Idempotency({ store: new PrismaStore({ client, table, verifyTable: false }), heartbeat: false });
        await unchecked.run({ tenant: 't', operation: 'op', key: 'abc' }, () => 'first');
        expect((await unchecked.execute({ tenant: 't', operation: 'op', key: 'ABC' }, () => 'second')).replayed).toBe(true);
        // The fix the message names makes the store accept it.
        await client.$executeRawUnsafe(`ALTER TABLE \`${table}\` CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
        await client.$executeRawUnsafe(`DELETE FROM \`${table}\``);
        await new PrismaStore({ client, table }).verify();
      });

      it('refuses a prefix unique index and a latin1 column', async () => {
        const prefix = tableName();
        await createVariant(db, client, prefix, (sql) => sql.replace('(`tenant`, `operation`, `key`)', '(`tenant`(20), `operation`(20), `key`(20))'));
        await expectRefused(new PrismaStore({ client, table: prefix }), /no unique index/);
        const latin = tableName();
        await createVariant(db, client, latin, (sql) => sql.replace('DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin', 'DEFAULT CHARACTER SET latin1 COLLATE latin1_bin'));
        await expectRefused(new PrismaStore({ client, table: latin }), /character set latin1/);
      });
    }

    if (db.provider === 'sqlite') {
      it('refuses NOCASE columns and a non-TEXT tenant column', async () => {
        const nocase = tableName();
        await createVariant(db, client, nocase, (sql) => sql.replace('"key" TEXT NOT NULL', '"key" TEXT NOT NULL COLLATE NOCASE'));
        await expectRefused(new PrismaStore({ client, table: nocase }), /no unique index/);
        const numeric = tableName();
        await createVariant(db, client, numeric, (sql) => sql.replace('"tenant" TEXT NOT NULL', '"tenant" NUMERIC NOT NULL'));
        await expectRefused(new PrismaStore({ client, table: numeric }), /column tenant is declared NUMERIC/);
      });
    }

    if (db.provider === 'postgresql') {
      it('refuses a nondeterministic (case-insensitive) collation', async () => {
        await client.$executeRawUnsafe(
          `DO $$ BEGIN CREATE COLLATION IF NOT EXISTS oncely_test_ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false); END $$`,
        );
        const table = tableName();
        await createVariant(db, client, table, (sql) => sql.replace('"key" TEXT NOT NULL', '"key" TEXT COLLATE oncely_test_ci NOT NULL'));
        await expectRefused(new PrismaStore({ client, table }), /nondeterministic collation/);
      });
    }
  });
}
