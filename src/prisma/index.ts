export { PrismaStore } from './store.js';
export type { PrismaStoreOptions } from './store.js';
export type { DriverPoolLike, MariaDbPoolLike, PgQueryPoolLike } from './pool.js';
export type { PgListenerClientLike, PgNotification, PgPoolLike, PrismaNotifyOptions } from './notify.js';
export { detectProvider } from './client.js';
export type { PrismaClientLike, Provider, TransactionClientOf } from './client.js';
export { applyMigration, MIGRATION_NAME, MIGRATIONS, migrationSql, migrationStatements, STEPS_MIGRATION_NAME, stepsMigrationSql } from './migrations.js';
export type { MigrationResult } from './migrations.js';
export { databaseErrorCode, isTransientConflict } from './transient.js';
