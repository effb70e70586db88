// Creates the Worker's tables in a D1 database: oncely's shipped SQLite migrations (the same SQL
// as prisma/sqlite/migrations, embedded in oncely/prisma), then the example's own table. With
// wrangler you would apply the same files with `wrangler d1 migrations apply`.
import { readFileSync } from 'node:fs';
import type { D1Database } from '@cloudflare/workers-types';
import { MIGRATIONS, migrationStatements } from 'oncely/prisma';

const exampleSql = readFileSync(new URL('./migrations/0001_provider_charges.sql', import.meta.url), 'utf8');

export async function applyWorkerMigrations(db: D1Database): Promise<void> {
  const statements = [
    ...MIGRATIONS.flatMap((migration) => migrationStatements('sqlite', migration.name)),
    ...exampleSql.split(';').map((statement) => statement.replace(/^\s*--.*$/gm, '').trim()).filter(Boolean),
  ];
  // One statement per prepare(): D1's exec() splits on newlines, which these statements contain.
  for (const statement of statements) await db.prepare(statement).run();
}
