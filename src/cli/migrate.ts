import { applyMigration } from '../prisma/migrations.js';
import { findTableProblems } from '../prisma/schema-check.js';
import type { CommandIo } from './io.js';
import { connect } from './sql-client.js';
import { EXIT } from './usage.js';

export interface MigrateCommand {
  databaseUrl: string;
  table: string;
  statusOnly: boolean;
  json: boolean;
}

/**
 * oncely migrate: applies the shipped migration (created, or unchanged when the table is already
 * there and fit); with --status only reports whether the table is there and fit (exit 0 / 1).
 */
export async function migrateCommand(command: MigrateCommand, io: CommandIo): Promise<number> {
  const connection = await connect(command.databaseUrl);
  try {
    if (command.statusOnly) {
      const problems = await findTableProblems(connection, connection.provider, command.table);
      if (command.json) io.out(JSON.stringify({ table: command.table, provider: connection.provider, fit: problems.length === 0, problems }));
      else if (problems.length === 0) io.out(`table ${command.table} (${connection.provider}): fit (columns, unique index over tenant, operation, key${connection.provider === 'mysql' ? ', utf8mb4_bin' : ''})`);
      else io.out(`table ${command.table} (${connection.provider}): not fit\n${problems.map((p) => `  - ${p}`).join('\n')}`);
      return problems.length === 0 ? EXIT.ok : EXIT.failure;
    }
    const result = await applyMigration(connection, connection.provider, { table: command.table });
    if (command.json) io.out(JSON.stringify({ table: result.table, provider: connection.provider, action: result.action }));
    else io.out(result.action === 'created' ? `table ${result.table} created (${connection.provider})` : `table ${result.table} unchanged: already there and fit`);
    return EXIT.ok;
  } finally {
    await connection.close();
  }
}
