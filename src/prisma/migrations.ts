import { ConfigurationError } from '../core/errors.js';
import type { InteractiveTransaction, PrismaClientLike, Provider } from './client.js';
import { inspectTable, tableProblemError } from './schema-check.js';
import { databaseErrorCode } from './transient.js';

/**
 * The SQL of prisma/<provider>/migrations, embedded so that it can be applied without the Prisma
 * CLI (tests, examples, machines where `prisma migrate` cannot run). A test keeps it identical to
 * the shipped migration files.
 */
export const MIGRATION_NAME = '20261124000000_oncely';

export const migrationSql: Record<Provider, string> = {
  postgresql: "-- CreateTable\nCREATE TABLE \"oncely_idempotency\" (\n    \"id\" BIGSERIAL NOT NULL,\n    \"tenant\" TEXT NOT NULL,\n    \"operation\" TEXT NOT NULL,\n    \"key\" TEXT NOT NULL,\n    \"status\" TEXT NOT NULL,\n    \"fingerprint\" TEXT NOT NULL,\n    \"token\" TEXT NOT NULL,\n    \"fence\" INTEGER NOT NULL,\n    \"lease_expires_at\" BIGINT,\n    \"response\" TEXT,\n    \"created_at\" BIGINT NOT NULL,\n    \"updated_at\" BIGINT NOT NULL,\n    \"expires_at\" BIGINT NOT NULL,\n\n    CONSTRAINT \"oncely_idempotency_pkey\" PRIMARY KEY (\"id\")\n);\n\n-- CreateIndex\nCREATE UNIQUE INDEX \"oncely_idempotency_scope_key\" ON \"oncely_idempotency\"(\"tenant\", \"operation\", \"key\");\n\n-- CreateIndex\nCREATE INDEX \"oncely_idempotency_expires_at_idx\" ON \"oncely_idempotency\"(\"expires_at\");\n",
  mysql: "-- CreateTable\n-- utf8mb4_bin: keys, tenants and operations compare byte for byte (\"abc\" and \"ABC\" are two keys).\nCREATE TABLE `oncely_idempotency` (\n    `id` BIGINT NOT NULL AUTO_INCREMENT,\n    `tenant` VARCHAR(191) NOT NULL,\n    `operation` VARCHAR(191) NOT NULL,\n    `key` VARCHAR(255) NOT NULL,\n    `status` VARCHAR(16) NOT NULL,\n    `fingerprint` VARCHAR(64) NOT NULL,\n    `token` VARCHAR(64) NOT NULL,\n    `fence` INTEGER NOT NULL,\n    `lease_expires_at` BIGINT NULL,\n    `response` LONGTEXT NULL,\n    `created_at` BIGINT NOT NULL,\n    `updated_at` BIGINT NOT NULL,\n    `expires_at` BIGINT NOT NULL,\n\n    UNIQUE INDEX `oncely_idempotency_scope_key`(`tenant`, `operation`, `key`),\n    INDEX `oncely_idempotency_expires_at_idx`(`expires_at`),\n    PRIMARY KEY (`id`)\n) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;\n",
  sqlite: "-- CreateTable\nCREATE TABLE \"oncely_idempotency\" (\n    \"id\" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,\n    \"tenant\" TEXT NOT NULL,\n    \"operation\" TEXT NOT NULL,\n    \"key\" TEXT NOT NULL,\n    \"status\" TEXT NOT NULL,\n    \"fingerprint\" TEXT NOT NULL,\n    \"token\" TEXT NOT NULL,\n    \"fence\" INTEGER NOT NULL,\n    \"lease_expires_at\" BIGINT,\n    \"response\" TEXT,\n    \"created_at\" BIGINT NOT NULL,\n    \"updated_at\" BIGINT NOT NULL,\n    \"expires_at\" BIGINT NOT NULL\n);\n\n-- CreateIndex\nCREATE UNIQUE INDEX \"oncely_idempotency_scope_key\" ON \"oncely_idempotency\"(\"tenant\", \"operation\", \"key\");\n\n-- CreateIndex\nCREATE INDEX \"oncely_idempotency_expires_at_idx\" ON \"oncely_idempotency\"(\"expires_at\");\n",
};

/** The second migration: the nullable `steps` column (multi-step mutations). Old tables work without it. */
export const STEPS_MIGRATION_NAME = '20261126000000_oncely_steps';

export const stepsMigrationSql: Record<Provider, string> = {
  postgresql: "-- AlterTable\n-- Steps of multi-step mutations (ClaimContext.step / databaseStep): a JSON array, NULL when none.\nALTER TABLE \"oncely_idempotency\" ADD COLUMN \"steps\" TEXT;\n",
  mysql: "-- AlterTable\n-- Steps of multi-step mutations (ClaimContext.step / databaseStep): a JSON array, NULL when none.\nALTER TABLE `oncely_idempotency` ADD COLUMN `steps` LONGTEXT NULL;\n",
  sqlite: "-- AlterTable\n-- Steps of multi-step mutations (ClaimContext.step / databaseStep): a JSON array, NULL when none.\nALTER TABLE \"oncely_idempotency\" ADD COLUMN \"steps\" TEXT;\n",
};

/** Every shipped migration, in the order they apply. */
export const MIGRATIONS: readonly { name: string; sql: Record<Provider, string> }[] = [
  { name: MIGRATION_NAME, sql: migrationSql },
  { name: STEPS_MIGRATION_NAME, sql: stepsMigrationSql },
];

/** Splits a migration (default: the base one, which creates the table) into statements (no statement in ours contains a semicolon). */
export function migrationStatements(provider: Provider, name: string = MIGRATION_NAME): string[] {
  const migration = MIGRATIONS.find((m) => m.name === name);
  if (!migration) throw new ConfigurationError(`migrationStatements: no migration named "${name}" (known: ${MIGRATIONS.map((m) => m.name).join(', ')}).`);
  return migration.sql[provider]
    .split(';')
    .map((statement) => statement.replace(/^\s*--.*$/gm, '').trim())
    .filter(Boolean);
}

/** What applyMigration did. */
export interface MigrationResult {
  table: string;
  /**
   * "created": the table was made now (with every migration); "upgraded": it was there and fit,
   * and the later migrations (the `steps` column) were added now; "unchanged": it was already
   * there, fit and complete, nothing was done.
   */
  action: 'created' | 'upgraded' | 'unchanged';
}

/**
 * Creates oncely's table through the client, for databases where `prisma migrate` does not run,
 * and adds what later migrations add (the `steps` column) to a table made by an earlier one.
 * Safe to run at every start-up: an existing table is checked (see PrismaStore's `verifyTable`)
 * and otherwise left alone, and concurrent runs do not fail each other. `table` renames the table
 * and its indexes (default "oncely_idempotency"). With `dropExisting`, drops the table first
 * (tests only: it deletes every record).
 */
export async function applyMigration(
  client: PrismaClientLike,
  provider: Provider,
  options: { dropExisting?: boolean; table?: string } = {},
): Promise<MigrationResult> {
  const table = options.table ?? 'oncely_idempotency';
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,40}$/.test(table)) throw new ConfigurationError(`applyMigration: "${table}" is not a plain table name.`);
  if (options.dropExisting) await client.$executeRawUnsafe(`DROP TABLE IF EXISTS ${table}`);
  // One migrator at a time, so that each reports what it did and none sees a half-made table:
  // PostgreSQL and SQLite migrate in one transaction (on PostgreSQL under an advisory lock too), so
  // a concurrent migrator never sees a table without its unique index or its steps column. MySQL
  // and MariaDB commit every DDL statement; there a named lock (GET_LOCK) queues the migrators,
  // taken inside a transaction only to keep one pooled connection for the lock's lifetime.
  const transaction = client.$transaction as InteractiveTransaction | undefined;
  if (typeof transaction !== 'function') return migrate(client, provider, table);
  const inTransaction: InteractiveTransaction = transaction.bind(client);
  return inTransaction((tx) => migrate(tx, provider, table), { timeout: 60_000, maxWait: 30_000 });
}

async function migrate(client: PrismaClientLike, provider: Provider, table: string): Promise<MigrationResult> {
  const lock = `oncely migrate ${table}`;
  if (provider === 'postgresql') await client.$queryRawUnsafe(`SELECT pg_advisory_xact_lock(hashtext($1))::text`, lock);
  if (provider === 'mysql') {
    const rows = await client.$queryRawUnsafe<{ locked: number | bigint | null }[]>('SELECT GET_LOCK(?, 30) AS locked', lock);
    if (Number(rows[0]?.locked) !== 1) throw new ConfigurationError(`applyMigration: another migrator of "${table}" held its lock for 30 s; try again.`);
    try {
      return await migrateLocked(client, provider, table);
    } finally {
      await client.$queryRawUnsafe('SELECT RELEASE_LOCK(?) AS released', lock);
    }
  }
  return migrateLocked(client, provider, table);
}

async function migrateLocked(client: PrismaClientLike, provider: Provider, table: string): Promise<MigrationResult> {
  const before = await inspectTable(client, provider, table);
  const missing = before.problems.length === 1 && before.problems[0] === 'the table does not exist';
  if (!missing) {
    if (before.problems.length > 0) throw tableProblemError(provider, table, before.problems);
    if (before.stepsColumn) return { table, action: 'unchanged' };
    return { table, action: (await addStepsColumn(client, provider, table)) ? 'upgraded' : 'unchanged' };
  }
  for (const statement of migrationStatements(provider)) {
    // IF NOT EXISTS: two processes migrating at once must not fail each other.
    const guarded = statement.replace(/^CREATE (UNIQUE )?(TABLE|INDEX) /, 'CREATE $1$2 IF NOT EXISTS ');
    try {
      await client.$executeRawUnsafe(guarded.replaceAll('oncely_idempotency', table));
    } catch (error) {
      // Without the lock (a transaction client was given), PostgreSQL's IF NOT EXISTS can lose a
      // race with another migrator and fail on its own catalogs; MySQL's can report the table.
      if (!CONCURRENTLY_CREATED.has(databaseErrorCode(error) ?? '')) throw error;
    }
  }
  await addStepsColumn(client, provider, table);
  return { table, action: 'created' };
}

/** Applies the steps migration; false when a concurrent migrator (without the lock) added the column first. */
async function addStepsColumn(client: PrismaClientLike, provider: Provider, table: string): Promise<boolean> {
  for (const statement of migrationStatements(provider, STEPS_MIGRATION_NAME)) {
    try {
      await client.$executeRawUnsafe(statement.replaceAll('oncely_idempotency', table));
    } catch (error) {
      if (CONCURRENTLY_ADDED.has(databaseErrorCode(error) ?? '') || /duplicate column name/i.test(String((error as Error)?.message))) return false;
      throw error;
    }
  }
  return true;
}

const CONCURRENTLY_CREATED = new Set([
  '23505', // PostgreSQL unique_violation (on a system catalog)
  '42P07', // PostgreSQL duplicate_table (also raised for a duplicate index name)
  '1050', // MySQL/MariaDB ER_TABLE_EXISTS_ERROR
  '1061', // MySQL/MariaDB ER_DUP_KEYNAME
]);

const CONCURRENTLY_ADDED = new Set([
  '42701', // PostgreSQL duplicate_column
  '1060', // MySQL/MariaDB ER_DUP_FIELDNAME
  // SQLite says "duplicate column name" with the generic SQLITE_ERROR: matched by its message.
]);
