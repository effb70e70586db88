import { ConfigurationError } from '../core/errors.js';
import type { PrismaClientLike, Provider } from './client.js';

/**
 * Checks, once per store, that the table can keep oncely's promise that distinct (tenant,
 * operation, key) triples never share a record, whoever created the table: a unique index over
 * exactly those three columns, comparing them byte for byte. `prisma migrate` on MySQL/MariaDB
 * creates the columns in the database's default collation, usually case-insensitive: "abc" and
 * "ABC" would be one key. Refusing to start says so before any record is shared.
 */
export type TableProblem = string;

const SCOPE_COLUMNS = ['tenant', 'operation', 'key'] as const;
// Byte-wise collations. PAD SPACE ones (utf8mb4_bin) are fine: no stored tenant, operation or key
// ends in a space (the core stores such names in a digest form and refuses such keys).
const MYSQL_BINARY_COLLATIONS = new Set(['utf8mb4_bin', 'utf8mb4_nopad_bin', 'utf8mb4_0900_bin']);
const MIN_WIDTH: Record<(typeof SCOPE_COLUMNS)[number], number> = { tenant: 191, operation: 191, key: 255 };

/** What the table check reads with: a client, or the store's driver pool (runner.ts). */
export type TableReader = Pick<PrismaClientLike, '$queryRawUnsafe'>;

interface Rows<T> {
  (sql: string, ...values: unknown[]): Promise<T[]>;
}

/** Lists what is wrong with the table; empty when it is fit. A missing table is one problem. */
export async function findTableProblems(client: TableReader, provider: Provider, table: string): Promise<TableProblem[]> {
  return (await inspectTable(client, provider, table)).problems;
}

/** What the table check found: the problems, and whether the optional columns are there. */
export interface TableInspection {
  problems: TableProblem[];
  /** The `steps` column (migration 20261126000000_oncely_steps) exists: steps can be recorded. */
  stepsColumn: boolean;
}

/** The table check, also telling whether the optional `steps` column exists (same look-ups). */
export async function inspectTable(client: TableReader, provider: Provider, table: string): Promise<TableInspection> {
  const query = (<T>(sql: string, ...values: unknown[]) => client.$queryRawUnsafe<T[]>(sql, ...values)) as Rows<never>;
  const [schema, name] = table.includes('.') ? (table.split('.') as [string, string]) : [undefined, table];
  const columns: string[] = [];
  const problems = await (provider === 'postgresql'
    ? postgresProblems(query, schema, name, columns)
    : provider === 'mysql'
      ? mysqlProblems(query, schema, name, columns)
      : sqliteProblems(query, schema, name, columns));
  return { problems, stepsColumn: columns.includes(STEPS_COLUMN) };
}

export const STEPS_COLUMN = 'steps';

function hasScopeIndex(indexes: { columns: string[]; ok: boolean }[]): boolean {
  return indexes.some((index) => index.ok && index.columns.length === 3 && SCOPE_COLUMNS.every((c) => index.columns.includes(c)));
}

const NO_UNIQUE_INDEX = 'no unique index over exactly (tenant, operation, key): duplicates could both claim a key';

async function postgresProblems(query: Rows<never>, schema: string | undefined, name: string, seen: string[]): Promise<TableProblem[]> {
  const regclass = schema ? `"${schema}"."${name}"` : `"${name}"`;
  const columns: { column: string; type: string; deterministic: boolean | null }[] = await query(
    `SELECT a.attname AS "column", t.typname AS "type", c.collisdeterministic AS "deterministic"
       FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid LEFT JOIN pg_collation c ON c.oid = a.attcollation
      WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped`,
    regclass,
  );
  if (columns.length === 0) return ['the table does not exist'];
  seen.push(...columns.map((c) => c.column));
  const problems = columnProblems(columns.map((c) => c.column));
  for (const c of columns) {
    if (!isScopeColumn(c.column)) continue;
    if (c.type !== 'text' && c.type !== 'varchar') problems.push(`column ${c.column} is ${c.type}, not text: it may not compare byte for byte`);
    else if (c.deterministic === false) problems.push(`column ${c.column} has a nondeterministic collation, which compares distinct strings equal`);
  }
  const indexes: { columns: string[]; unique: boolean; partial: boolean; deterministic: boolean | null }[] = await query(
    `SELECT array(SELECT a.attname::text FROM unnest(i.indkey) k(n) JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.n) AS "columns",
            i.indisunique AS "unique", i.indpred IS NOT NULL AS "partial",
            (SELECT bool_and(c.collisdeterministic) FROM unnest(i.indcollation) ic(oid) JOIN pg_collation c ON c.oid = ic.oid) AS "deterministic"
       FROM pg_index i WHERE i.indrelid = to_regclass($1)`,
    regclass,
  );
  if (!hasScopeIndex(indexes.map((i) => ({ columns: i.columns, ok: i.unique && !i.partial && i.deterministic !== false })))) problems.push(NO_UNIQUE_INDEX);
  return problems;
}

async function mysqlProblems(query: Rows<never>, schema: string | undefined, name: string, seen: string[]): Promise<TableProblem[]> {
  const columns: { column: string; type: string; charset: string | null; collation: string | null; width: number | bigint | null }[] = await query(
    `SELECT COLUMN_NAME AS \`column\`, DATA_TYPE AS \`type\`, CHARACTER_SET_NAME AS \`charset\`, COLLATION_NAME AS \`collation\`, CHARACTER_MAXIMUM_LENGTH AS \`width\`
       FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = COALESCE(?, DATABASE()) AND TABLE_NAME = ?`,
    schema ?? null,
    name,
  );
  if (columns.length === 0) return ['the table does not exist'];
  seen.push(...columns.map((c) => c.column));
  const problems = columnProblems(columns.map((c) => c.column));
  for (const c of columns) {
    if (!isScopeColumn(c.column)) continue;
    if (c.type.toLowerCase() !== 'varchar') problems.push(`column ${c.column} is ${c.type}, not VARCHAR`);
    if (c.charset !== 'utf8mb4') problems.push(`column ${c.column} has character set ${c.charset}, not utf8mb4: other characters would be replaced and merge names`);
    if (!c.collation || !MYSQL_BINARY_COLLATIONS.has(c.collation)) {
      problems.push(`column ${c.column} has collation ${c.collation}, which compares distinct strings equal (case, accents); it needs utf8mb4_bin`);
    }
    if (Number(c.width ?? 0) < MIN_WIDTH[c.column]) problems.push(`column ${c.column} holds ${c.width} characters, fewer than ${MIN_WIDTH[c.column]}`);
  }
  const indexRows: { index: string; nonUnique: number | bigint | string; column: string; subPart: number | bigint | null }[] = await query(
    `SELECT INDEX_NAME AS \`index\`, NON_UNIQUE AS \`nonUnique\`, COLUMN_NAME AS \`column\`, SUB_PART AS \`subPart\`
       FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = COALESCE(?, DATABASE()) AND TABLE_NAME = ?`,
    schema ?? null,
    name,
  );
  const byName = new Map<string, { columns: string[]; ok: boolean }>();
  for (const row of indexRows) {
    const index = byName.get(row.index) ?? { columns: [], ok: true };
    index.columns.push(row.column);
    // A prefix index (SUB_PART) compares only the first characters: long keys would merge.
    index.ok &&= Number(row.nonUnique) === 0 && row.subPart === null;
    byName.set(row.index, index);
  }
  if (!hasScopeIndex([...byName.values()])) problems.push(NO_UNIQUE_INDEX);
  return problems;
}

async function sqliteProblems(query: Rows<never>, schema: string | undefined, name: string, seen: string[]): Promise<TableProblem[]> {
  const prefix = schema ? `"${schema}".` : '';
  const columns: { name: string; type: string }[] = await query(`PRAGMA ${prefix}table_info("${name}")`);
  if (columns.length === 0) return ['the table does not exist'];
  seen.push(...columns.map((c) => c.name));
  const problems = columnProblems(columns.map((c) => c.name));
  for (const c of columns) {
    // Without TEXT affinity SQLite turns "01" and "1" into the same integer.
    if (isScopeColumn(c.name) && (!/CHAR|CLOB|TEXT/i.test(c.type) || /INT/i.test(c.type))) {
      problems.push(`column ${c.name} is declared ${c.type || 'without a type'}, not TEXT: SQLite may convert names that look like numbers`);
    }
  }
  const list: { name: string; unique: number | bigint; partial: number | bigint }[] = await query(`PRAGMA ${prefix}index_list("${name}")`);
  const indexes: { columns: string[]; ok: boolean }[] = [];
  for (const index of list) {
    if (Number(index.unique) !== 1 || Number(index.partial) !== 0) continue;
    const info: { name: string | null; coll: string; key: number | bigint }[] = await query(`PRAGMA ${prefix}index_xinfo("${index.name}")`);
    const keyColumns = info.filter((c) => Number(c.key) === 1);
    indexes.push({ columns: keyColumns.map((c) => c.name ?? ''), ok: keyColumns.every((c) => c.coll.toUpperCase() === 'BINARY') });
  }
  if (!hasScopeIndex(indexes)) problems.push(`${NO_UNIQUE_INDEX} (with the BINARY collation)`);
  return problems;
}

const REQUIRED_COLUMNS = ['tenant', 'operation', 'key', 'status', 'fingerprint', 'token', 'fence', 'lease_expires_at', 'response', 'created_at', 'updated_at', 'expires_at'];

function columnProblems(present: string[]): TableProblem[] {
  const missing = REQUIRED_COLUMNS.filter((c) => !present.includes(c));
  return missing.length ? [`columns missing: ${missing.join(', ')}`] : [];
}

function isScopeColumn(column: string): column is (typeof SCOPE_COLUMNS)[number] {
  return (SCOPE_COLUMNS as readonly string[]).includes(column);
}

/** The error a store raises for an unfit table: what is wrong and how to fix it. */
export function tableProblemError(provider: Provider, table: string, problems: TableProblem[]): ConfigurationError {
  const fix =
    problems.length === 1 && problems[0] === 'the table does not exist'
      ? `Create it: apply the migration shipped in node_modules/oncely/prisma/${provider}/migrations (prisma migrate deploy), or call applyMigration(prisma, '${provider}') once at start-up.`
      : provider === 'mysql'
        ? `Fix: ALTER TABLE \`${table}\` CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_bin; and make sure UNIQUE INDEX (tenant, operation, key) exists (tables created by prisma migrate from oncely.prisma get the database's default collation: add that statement to the migration, or use the migration shipped in node_modules/oncely/prisma/mysql/migrations).`
        : `Fix: recreate it from the migration shipped in node_modules/oncely/prisma/${provider}/migrations.`;
  return new ConfigurationError(
    `oncely: the table "${table}" cannot keep distinct idempotency keys apart: ${problems.join('; ')}. ${fix} (PrismaStore option verifyTable: false skips this check.)`,
  );
}
