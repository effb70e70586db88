import { type MigrationResult, STEPS_MIGRATION_NAME, applyMigration } from '../prisma/migrations.js';
import { inspectTable } from '../prisma/schema-check.js';
import type { CommandIo } from './io.js';
import { connect } from './sql-client.js';
import { EXIT } from './usage.js';

export interface MigrateCommand {
  databaseUrl: string;
  table: string;
  statusOnly: boolean;
  json: boolean;
}

/** What --status lists as an upgrade to apply: fit tables work without it. */
const STEPS_UPGRADE = `the steps column (migration ${STEPS_MIGRATION_NAME}), which steps (step / databaseStep) need: run oncely migrate`;

/**
 * oncely migrate: applies the shipped migrations (created; upgraded when a table made by an
 * earlier one got the later ones; unchanged when the table is already there, fit and complete);
 * with --status only reports whether the table is there and fit (exit 0 / 1) and which upgrades
 * are left to apply (a fit table without them still works: exit 0).
 */
export async function migrateCommand(command: MigrateCommand, io: CommandIo): Promise<number> {
  const connection = await connect(command.databaseUrl);
  try {
    if (command.statusOnly) {
      const { problems, stepsColumn } = await inspectTable(connection, connection.provider, command.table);
      const upgrades = problems.length === 0 && !stepsColumn ? [STEPS_UPGRADE] : [];
      if (command.json) io.out(JSON.stringify({ table: command.table, provider: connection.provider, fit: problems.length === 0, problems, upgrades }));
      else if (problems.length === 0) {
        io.out(
          `table ${command.table} (${connection.provider}): fit (columns, unique index over tenant, operation, key${connection.provider === 'mysql' ? ', utf8mb4_bin' : ''})` +
            upgrades.map((u) => `\n  upgrade to apply: ${u}`).join(''),
        );
      } else io.out(`table ${command.table} (${connection.provider}): not fit\n${problems.map((p) => `  - ${p}`).join('\n')}`);
      return problems.length === 0 ? EXIT.ok : EXIT.failure;
    }
    const result = await applyMigration(connection, connection.provider, { table: command.table });
    if (command.json) io.out(JSON.stringify({ table: result.table, provider: connection.provider, action: result.action }));
    else io.out(MESSAGES[result.action](result.table, connection.provider));
    return EXIT.ok;
  } finally {
    await connection.close();
  }
}

const MESSAGES: Record<MigrationResult['action'], (table: string, provider: string) => string> = {
  created: (table, provider) => `table ${table} created (${provider})`,
  upgraded: (table, provider) => `table ${table} upgraded (${provider}): added the steps column (migration ${STEPS_MIGRATION_NAME})`,
  unchanged: (table) => `table ${table} unchanged: already there and fit`,
};
