import { ConfigurationError } from '../core/errors.js';
import type { InteractiveTransaction, PrismaClientLike, Provider } from './client.js';
import { findTableProblems, tableProblemError } from './schema-check.js';
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

/** Splits a migration into statements (no statement in ours contains a semicolon). */
export function migrationStatements(provider: Provider): string[] {
  return migrationSql[provider]
    .split(';')
    .map((statement) => statement.replace(/^\s*--.*$/gm, '').trim())
    .filter(Boolean);
}

/** What applyMigration did. */
export interface MigrationResult {
  table: string;
  /** "created": the table was made now; "unchanged": it was already there and fit, nothing was done. */
  action: 'created' | 'unchanged';
}

/**
 * Creates oncely's table through the client, for databases where `prisma migrate` does not run.
 * Safe to run at every start-up: an existing table is checked (see PrismaStore's `verifyTable`)
 * and left alone, and concurrent runs do not fail each other. `table` renames the table and its
 * indexes (default "oncely_idempotency"). With `dropExisting`, drops the table first (tests only:
 * it deletes every record).
 */
export async function applyMigration(
  client: PrismaClientLike,
  provider: Provider,
  options: { dropExisting?: boolean; table?: string } = {},
): Promise<MigrationResult> {
  const table = options.table ?? 'oncely_idempotency';
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,40}$/.test(table)) throw new ConfigurationError(`applyMigration: "${table}" is not a plain table name.`);
  if (options.dropExisting) await client.$executeRawUnsafe(`DROP TABLE IF EXISTS ${table}`);
  // PostgreSQL and SQLite create the table and its indexes in one transaction, so that a
  // concurrent migrator never sees a table without its unique index (and refuses it as unfit);
  // on PostgreSQL an advisory lock also queues concurrent migrators behind the first. MySQL and
  // MariaDB commit every DDL statement, but there the one CREATE TABLE carries its indexes.
  const transaction = client.$transaction as InteractiveTransaction | undefined;
  if (provider === 'mysql' || typeof transaction !== 'function') return migrate(client, provider, table);
  const inTransaction: InteractiveTransaction = transaction.bind(client);
  return inTransaction((tx) => migrate(tx, provider, table), { timeout: 60_000, maxWait: 30_000 });
}

async function migrate(client: PrismaClientLike, provider: Provider, table: string): Promise<MigrationResult> {
  if (provider === 'postgresql') await client.$queryRawUnsafe(`SELECT pg_advisory_xact_lock(hashtext($1))::text`, `oncely migrate ${table}`);
  const before = await findTableProblems(client, provider, table);
  const missing = before.length === 1 && before[0] === 'the table does not exist';
  if (!missing) {
    if (before.length > 0) throw tableProblemError(provider, table, before);
    return { table, action: 'unchanged' };
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
  return { table, action: 'created' };
}

const CONCURRENTLY_CREATED = new Set([
  '23505', // PostgreSQL unique_violation (on a system catalog)
  '42P07', // PostgreSQL duplicate_table (also raised for a duplicate index name)
  '1050', // MySQL/MariaDB ER_TABLE_EXISTS_ERROR
  '1061', // MySQL/MariaDB ER_DUP_KEYNAME
]);
