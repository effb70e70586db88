import type { Provider } from './client.js';
import { CHANGE_CHANNEL } from './notify.js';

const COLUMNS = [
  'tenant',
  'operation',
  'key',
  'status',
  'fingerprint',
  'token',
  'fence',
  'lease_expires_at',
  'response',
  'created_at',
  'updated_at',
  'expires_at',
] as const;

/** Every statement the Prisma store runs, written once per provider. */
export interface Statements {
  insert: string;
  /**
   * createOrGet in one statement: inserts the record unless the scope has one, and returns the row
   * the scope now holds (the new one, or the existing one unchanged). On "mysql" it is MariaDB's
   * form (INSERT ... RETURNING); MySQL has no RETURNING and never runs it.
   */
  insertOrSelect: string;
  select: string;
  takeOver: string;
  /**
   * takeOver on a table with the steps column: clears the steps when the replaced record was
   * expired at `now` (a new logical operation), keeps them after a lease ran out (the taker
   * resumes them). One more parameter, `now`, first.
   */
  takeOverClearingSteps: string;
  /** The steps of the record held with a token: zero rows when the token no longer holds it. */
  loadSteps: string;
  /**
   * Appends one step (serialized by steps.ts) to the record held with a token, renewing its lease
   * in the same statement; changes nothing unless exactly `index` steps are recorded.
   */
  recordStep: string;
  renew: string;
  complete: string;
  release: string;
  /**
   * PostgreSQL: complete and release that also NOTIFY (see notify.ts) in the same statement, only
   * when a row changed; one more parameter, the record's change id. Delivered at commit.
   */
  notifying?: { complete: string; release: string };
  purge: string;
  countExpired: string;
}

export function buildStatements(provider: Provider, table: string): Statements {
  const q = provider === 'mysql' ? (id: string) => `\`${id}\`` : (id: string) => `"${id}"`;
  let n = 0;
  // PostgreSQL numbers its placeholders; MySQL and SQLite take "?" in order.
  const p = provider === 'postgresql' ? () => `$${++n}` : () => '?';
  const reset = () => {
    n = 0;
  };
  const t = table
    .split('.')
    .map((part) => q(part))
    .join('.');
  const cols = COLUMNS.map(q).join(', ');
  const scope = () => `${q('tenant')} = ${p()} AND ${q('operation')} = ${p()} AND ${q('key')} = ${p()}`;

  reset();
  const values = COLUMNS.map(() => p()).join(', ');
  const insert =
    provider === 'mysql'
      ? // Lengths are validated before this runs, so IGNORE can only skip the duplicate-key case.
        `INSERT IGNORE INTO ${t} (${cols}) VALUES (${values})`
      : // DO NOTHING instead of failing: a failed INSERT would abort the caller's PostgreSQL transaction.
        `INSERT INTO ${t} (${cols}) VALUES (${values}) ON CONFLICT (${q('tenant')}, ${q('operation')}, ${q('key')}) DO NOTHING`;

  // Same parameters as insert; PostgreSQL's read reuses $1..$3 (tenant, operation, key).
  const conflict = `(${q('tenant')}, ${q('operation')}, ${q('key')})`;
  const insertOrSelect =
    provider === 'postgresql'
      ? // The read sees the statement's snapshot: a row committed by a concurrent claim after it
        // started may be invisible (zero rows); the store then reads again with a plain select.
        `WITH ${q('inserted')} AS (INSERT INTO ${t} (${cols}) VALUES (${values}) ON CONFLICT ${conflict} DO NOTHING RETURNING ${cols}) ` +
        `SELECT ${cols} FROM ${q('inserted')} UNION ALL SELECT ${cols} FROM ${t} WHERE ${q('tenant')} = $1 AND ${q('operation')} = $2 AND ${q('key')} = $3 ` +
        `AND NOT EXISTS (SELECT 1 FROM ${q('inserted')})`
      : provider === 'mysql'
        ? // MariaDB returns the existing row of a duplicate; the no-op assignment changes nothing
          // (0 affected rows) and, unlike IGNORE, turns no other error into a warning.
          `INSERT INTO ${t} (${cols}) VALUES (${values}) ON DUPLICATE KEY UPDATE ${q('token')} = ${q('token')} RETURNING ${cols}`
        : // SQLite returns no row for DO NOTHING; a no-op DO UPDATE returns the existing row as it is.
          `INSERT INTO ${t} (${cols}) VALUES (${values}) ON CONFLICT ${conflict} DO UPDATE SET ${q('token')} = ${q('token')} RETURNING ${cols}`;

  reset();
  const select = `SELECT ${cols} FROM ${t} WHERE ${scope()}`;

  // With the steps column, takeOver also decides from the stored expires_at whether the steps go
  // (expired: a new logical operation) or stay (a lease ran out: the taker resumes them). MySQL
  // assigns left to right, so steps comes before expires_at changes.
  const takeOverStatement = (clearSteps: boolean) => {
    reset();
    const steps = clearSteps ? `${q('steps')} = CASE WHEN ${q('expires_at')} <= ${p()} THEN NULL ELSE ${q('steps')} END, ` : '';
    return (
      `UPDATE ${t} SET ${steps}${q('status')} = 'in_progress', ${q('fingerprint')} = ${p()}, ${q('token')} = ${p()}, ${q('fence')} = ${p()}, ` +
      `${q('lease_expires_at')} = ${p()}, ${q('response')} = NULL, ${q('created_at')} = ${p()}, ${q('updated_at')} = ${p()}, ${q('expires_at')} = ${p()} ` +
      `WHERE ${scope()} AND ${q('token')} = ${p()} AND (${q('expires_at')} <= ${p()} OR (${q('status')} = 'in_progress' AND ${q('lease_expires_at')} <= ${p()}))`
    );
  };
  const takeOver = takeOverStatement(false);
  const takeOverClearingSteps = takeOverStatement(true);

  reset();
  const loadSteps = `SELECT ${q('steps')} FROM ${t} WHERE ${scope()} AND ${q('token')} = ${p()} AND ${q('status')} = 'in_progress'`;

  // The count check reads the text the store wrote (see steps.ts) instead of parsing JSON, which
  // MariaDB refuses for some strings JSON.stringify writes (lone surrogates: "\ud800").
  reset();
  const steps = q('steps');
  const head =
    provider === 'mysql'
      ? `CONCAT(SUBSTRING(${steps}, 1, CHAR_LENGTH(${steps}) - 1), ',')`
      : `substr(${steps}, 1, length(${steps}) - 1) || ','`;
  const prefix = `CASE WHEN COALESCE(${steps}, '') = '' THEN '[' ELSE ${head} END`;
  const appended = provider === 'mysql' ? `CONCAT(${prefix}, ${p()}, ']')` : `${prefix} || ${p()} || ']'`;
  const recordStep =
    `UPDATE ${t} SET ${steps} = ${appended}, ${q('lease_expires_at')} = ${p()}, ` +
    `${q('expires_at')} = CASE WHEN ${q('expires_at')} < ${p()} THEN ${p()} ELSE ${q('expires_at')} END, ${q('updated_at')} = ${p()} ` +
    `WHERE ${scope()} AND ${q('token')} = ${p()} AND ${q('status')} = 'in_progress' AND COALESCE(${steps}, '') LIKE ${p()} AND COALESCE(${steps}, '') NOT LIKE ${p()}`;

  reset();
  const renew =
    `UPDATE ${t} SET ${q('lease_expires_at')} = ${p()}, ${q('expires_at')} = CASE WHEN ${q('expires_at')} < ${p()} THEN ${p()} ELSE ${q('expires_at')} END, ${q('updated_at')} = ${p()} ` +
    `WHERE ${scope()} AND ${q('token')} = ${p()} AND ${q('status')} = 'in_progress'`;

  reset();
  const complete =
    `UPDATE ${t} SET ${q('status')} = 'completed', ${q('response')} = ${p()}, ${q('lease_expires_at')} = NULL, ${q('updated_at')} = ${p()}, ${q('expires_at')} = ${p()} ` +
    `WHERE ${scope()} AND ${q('token')} = ${p()} AND ${q('status')} = 'in_progress'`;
  const completeId = p(); // the change id when notifying (PostgreSQL)

  reset();
  const release = `DELETE FROM ${t} WHERE ${scope()} AND ${q('token')} = ${p()} AND ${q('status')} = 'in_progress'`;
  const releaseId = p();

  reset();
  const expired = () => {
    const now = p();
    const now2 = p();
    return `${q('expires_at')} <= ${now} AND (${q('status')} = 'completed' OR ${q('lease_expires_at')} <= ${now2})`;
  };
  const purge =
    provider === 'mysql'
      ? `DELETE FROM ${t} WHERE ${expired()} ORDER BY ${q('expires_at')} LIMIT ${p()}`
      : provider === 'postgresql'
        ? // SKIP LOCKED: the purge never waits for (or makes wait) a claim touching the same rows.
          `DELETE FROM ${t} WHERE ${q('id')} IN (SELECT ${q('id')} FROM ${t} WHERE ${expired()} ORDER BY ${q('expires_at')} LIMIT ${p()} FOR UPDATE SKIP LOCKED)`
        : `DELETE FROM ${t} WHERE ${q('id')} IN (SELECT ${q('id')} FROM ${t} WHERE ${expired()} ORDER BY ${q('expires_at')} LIMIT ${p()})`;

  reset();
  const countExpired = `SELECT COUNT(*) AS ${q('n')} FROM ${t} WHERE ${expired()}`;

  // Rows counted as "n", so the store reads how many changed (0 or 1) like an affected-row count.
  const notify = (statement: string, id: string) =>
    `WITH ${q('changed')} AS (${statement} RETURNING 1) SELECT COUNT(pg_notify('${CHANGE_CHANNEL}', ${id}))::int AS ${q('n')} FROM ${q('changed')}`;
  const notifying = provider === 'postgresql' ? { complete: notify(complete, completeId), release: notify(release, releaseId) } : undefined;

  return { insert, insertOrSelect, select, takeOver, takeOverClearingSteps, loadSteps, recordStep, renew, complete, release, ...(notifying ? { notifying } : {}), purge, countExpired };
}
