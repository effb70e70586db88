import { ConfigurationError } from '../core/errors.js';
import type { IdempotencyRecord, RecordScope, RecordStatus } from '../core/record.js';
import type { Completion, CreateOrGet, StepRecord, TransactionScope, TransactionalStore } from '../core/store.js';
import { type InteractiveTransaction, type PrismaClientLike, type Provider, type TransactionClientOf, clientIsolationLevel, detectProvider, isD1Client } from './client.js';
import { type Statements, buildStatements } from './dialect.js';
import { type DriverPoolLike, poolRunner } from './pool.js';
import { type StatementRunner, prismaRunner, queryingClient } from './runner.js';
import { ChangeListener } from './change-listener.js';
import { type PrismaNotifyOptions, changeId, resolveNotify } from './notify.js';
import { STEPS_MIGRATION_NAME } from './migrations.js';
import { inspectTable, tableProblemError } from './schema-check.js';
import { parseSteps, stepCountPatterns, stepElement } from './steps.js';
import { databaseErrorCode, isTransientConflict, retryTransient } from './transient.js';

const WORK_SAVEPOINT = 'oncely_work';

// Prisma's own error there ("does not support interactive transactions") would surface as a 503
// the client retries forever; this names the limit and what runs instead.
const D1_NO_TRANSACTIONS =
  'PrismaStore: Cloudflare D1 (@prisma/adapter-d1) has no interactive transactions, so transactional mode (`transactional: true`) ' +
  'and database steps (`databaseStep`) cannot run on it. Use lease mode (the default) and `step()`; see docs/workers.md.';

/** A transaction rolled back because its claim statement deadlocked (see transaction()). */
class ClaimConflict extends Error {
  constructor(cause: unknown) {
    super('oncely: the claim deadlocked', { cause });
  }
}

export interface PrismaStoreOptions<TClient extends PrismaClientLike = PrismaClientLike> {
  /** Your PrismaClient, or a transaction client. Its type types the transaction handle (`tx`). */
  client: TClient;
  /** Database provider. Default: read from the client (`_activeProvider`); required if it cannot be read. */
  provider?: Provider;
  /** Table name, optionally schema-qualified ("billing.oncely_idempotency"). Default "oncely_idempotency". */
  table?: string;
  /**
   * Transactional mode: limits of the interactive transaction. Defaults: timeout 30 s (the whole
   * operation must finish within it), maxWait 10 s (waiting for a pool connection).
   */
  transaction?: { timeout?: number; maxWait?: number };
  /**
   * Check once, before the first statement, that the table keeps distinct keys apart: a unique
   * index over (tenant, operation, key) comparing byte for byte (on MySQL/MariaDB: utf8mb4_bin).
   * An unfit table fails every call with IDEMPOTENCY_CONFIGURATION naming the fix. Default true.
   */
  verifyTable?: boolean;
  /**
   * PostgreSQL only: wake duplicates waiting for a held key (`inProgress: "wait"`) in other
   * processes at once, by LISTEN/NOTIFY, instead of polling. Costs one database connection per
   * store (opened on the first wait, closed by `close()`); completions and releases then notify in
   * the same statement. Enable it on every store writing to the table: a waiter is woken by the
   * holder's store. Without it, waiters poll with backoff (10 ms up to 250 ms).
   */
  notify?: PrismaNotifyOptions;
  /**
   * Lease mode: the driver pool your Prisma adapter already uses (the `pg.Pool` you give
   * `new PrismaPg(pool)`, or the `mariadb` Pool you give `new PrismaMariaDb(pool)`). The store's own
   * statements (claim, completion, release, renew, steps, purge) then go to it as prepared
   * statements instead of through Prisma's raw-query path: the same SQL, a fraction of the cost. No
   * extra connections: it shares the pool's. Transactional mode (`transaction`) keeps using the
   * Prisma transaction client, whose connection the claim must share with your writes. It must
   * reach the same database as `client`. Not for SQLite.
   */
  pool?: DriverPoolLike;
}

/** What a store shares with the stores bound to its transactions. */
interface Shared {
  check: SharedChecks;
  claimConflict: { seen: boolean };
  listener: ChangeListener | undefined;
}

/** Look-ups made once per store and shared with the stores bound to its transactions. */
interface SharedChecks {
  verified?: Promise<void>;
  /** provider "mysql": whether the server is MariaDB (which has INSERT ... RETURNING). */
  mariadb?: Promise<boolean>;
  /** provider "postgresql": whether new connections run READ COMMITTED unless told otherwise. */
  readCommitted?: Promise<boolean>;
  /** Whether the table has the steps column; a "no" is asked again after STEPS_RECHECK_MS. */
  steps?: { present: Promise<boolean>; absent?: boolean; at: number };
}

// A table may get the steps column while stores run (applyMigration in another process): a store
// that found none looks again this long after, so that its takeOver starts clearing steps.
const STEPS_RECHECK_MS = 30_000;

// "The column does not exist", as each database says it.
const UNDEFINED_COLUMN = new Set(['42703', '1054']); // PostgreSQL undefined_column, MySQL ER_BAD_FIELD_ERROR

interface Row {
  tenant: string;
  operation: string;
  key: string;
  status: string;
  fingerprint: string;
  token: string;
  // Numbers as the driver decodes BIGINT/INTEGER: number, bigint, or (pg) a decimal string.
  fence: number | bigint | string;
  lease_expires_at: number | bigint | string | null;
  response: string | null;
  created_at: number | bigint | string;
  updated_at: number | bigint | string;
  expires_at: number | bigint | string;
}

/** A record's columns in the order of the insert statements' placeholders (see dialect.ts). */
function insertValues(r: IdempotencyRecord): unknown[] {
  return [r.tenant, r.operation, r.key, r.status, r.fingerprint, r.token, r.fence, r.leaseExpiresAt, r.response, r.createdAt, r.updatedAt, r.expiresAt];
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}(\.[A-Za-z_][A-Za-z0-9_]{0,62})?$/;

/**
 * Idempotency records in a SQL table through Prisma (PostgreSQL, MySQL/MariaDB, SQLite).
 *
 * Each method is one parameterized statement. A claim is one INSERT that skips duplicates instead
 * of failing, so it never aborts a PostgreSQL transaction it runs in; every later change is an
 * UPDATE or DELETE guarded by the claim's token.
 */
export class PrismaStore<TClient extends PrismaClientLike = PrismaClientLike> implements TransactionalStore<TransactionClientOf<TClient>> {
  readonly provider: Provider;
  readonly table: string;
  private readonly options: PrismaStoreOptions<TClient>;
  private readonly client: TClient;
  private readonly sql: Statements;
  // Where the statements go: the pool (lease mode with `pool`), else the client (see runner.ts).
  private readonly db: StatementRunner;
  // Shared with the stores bound to transactions (withClient), so the table is checked once.
  private readonly check: SharedChecks;
  // Inside a transaction: set when a claim statement (create, get, takeOver) failed with a
  // transient conflict. Those run before the work, so the whole transaction may run again.
  private readonly claimConflict: { seen: boolean } | undefined;
  // The LISTEN side of `notify`, shared with the stores bound to transactions; closed by its owner.
  private readonly listener: ChangeListener | undefined;
  private readonly ownsListener: boolean;
  /** With `notify` only: the engine polls when a store has no waitForChange. */
  readonly waitForChange?: (scope: RecordScope, timeoutMs: number) => Promise<void>;

  constructor(options: PrismaStoreOptions<TClient>, shared?: Shared) {
    if (!options?.client || typeof options.client.$executeRawUnsafe !== 'function') {
      throw new ConfigurationError('PrismaStore needs `client`: a PrismaClient or a transaction client.');
    }
    const provider = options.provider ?? detectProvider(options.client);
    if (!provider) {
      throw new ConfigurationError('PrismaStore could not tell the database provider; pass provider: "postgresql" | "mysql" | "sqlite".');
    }
    const table = options.table ?? 'oncely_idempotency';
    if (!IDENTIFIER.test(table)) throw new ConfigurationError(`PrismaStore: "${table}" is not a plain table name.`);
    // `transaction` only configures transactional mode, which D1 cannot run: refuse it up front.
    if (options.transaction !== undefined && isD1Client(options.client)) throw new ConfigurationError(D1_NO_TRANSACTIONS);
    this.client = options.client;
    this.options = options;
    this.provider = provider;
    this.table = table;
    this.sql = buildStatements(provider, table);
    this.db = options.pool === undefined ? prismaRunner(options.client) : poolRunner(options.pool, provider);
    this.check = shared?.check ?? {};
    this.claimConflict = shared?.claimConflict;
    this.ownsListener = !shared && options.notify !== undefined;
    this.listener = shared ? shared.listener : options.notify !== undefined ? new ChangeListener(resolveNotify(options.notify, provider)) : undefined;
    const listener = this.listener;
    if (listener) this.waitForChange = (scope, timeoutMs) => listener.wait(changeId(this.table, scope), timeoutMs);
  }

  /** The same store on another client, e.g. the transaction client of `$transaction`. */
  withClient<TOther extends PrismaClientLike>(client: TOther): PrismaStore<TOther> {
    return this.inTransaction(client, { seen: false });
  }

  private inTransaction<TOther extends PrismaClientLike>(client: TOther, claimConflict: { seen: boolean }): PrismaStore<TOther> {
    // No pool: a transaction's statements must run on its own connection.
    const { pool: _pool, ...options } = this.options;
    return new PrismaStore<TOther>({ ...options, client, provider: this.provider, table: this.table }, { check: this.check, claimConflict, listener: this.listener });
  }

  /**
   * Resolves once the table is known to be fit (see `verifyTable`); rejects with a
   * ConfigurationError naming the fix when it is not. Called before the first statement; call it
   * at start-up to fail early.
   */
  verify(): Promise<void> {
    if (this.options.verifyTable === false) return Promise.resolve();
    if (!this.check.verified) {
      const verified = inspectTable(queryingClient(this.db), this.provider, this.table).then(({ problems, stepsColumn }) => {
        if (problems.length > 0) throw tableProblemError(this.provider, this.table, problems);
        // The same look-up answers the steps question: no extra statement for it.
        this.check.steps ??= { present: Promise.resolve(stepsColumn), absent: !stepsColumn, at: Date.now() };
      });
      this.check.verified = verified;
      // A failed look-up (database down) is tried again next time; an unfit table stays refused.
      verified.catch((error: unknown) => {
        if (!(error instanceof ConfigurationError) && this.check.verified === verified) this.check.verified = undefined;
      });
    }
    return this.check.verified;
  }

  /**
   * One statement, after the table check. Outside a transaction a deadlock or serialization failure
   * is retried with bounded backoff (the database rolled the statement back); inside one it rolled
   * the transaction back, so it is the caller's to retry.
   */
  /** Transactional mode: the point after the claim that undoWork() returns to. */
  async markWork(): Promise<void> {
    await this.client.$executeRawUnsafe(`SAVEPOINT ${WORK_SAVEPOINT}`);
  }

  /** Transactional mode: undoes the work's writes, keeping the claim (see TransactionScope). */
  async undoWork(): Promise<void> {
    await this.client.$executeRawUnsafe(`ROLLBACK TO SAVEPOINT ${WORK_SAVEPOINT}`);
  }

  private async run<T>(statement: () => PromiseLike<T>, beforeWork = false): Promise<T> {
    await this.verify();
    if (!this.claimConflict) return retryTransient(statement);
    try {
      return await statement();
    } catch (error) {
      if (beforeWork && isTransientConflict(error)) this.claimConflict.seen = true;
      throw error;
    }
  }

  /**
   * Runs `fn` in one interactive transaction with a store bound to it. READ COMMITTED on PostgreSQL
   * and MySQL: a duplicate blocked on the unique index sees the committed record once it is let
   * through. SQLite serializes transactions.
   */
  async transaction<R>(fn: (store: TransactionScope, tx: TransactionClientOf<TClient>) => Promise<R>): Promise<R> {
    if (isD1Client(this.client)) throw new ConfigurationError(D1_NO_TRANSACTIONS);
    const begin = this.client.$transaction as InteractiveTransaction | undefined;
    if (typeof begin !== 'function') {
      throw new ConfigurationError('PrismaStore: transactional mode needs a full PrismaClient (with $transaction), not a transaction client.');
    }
    const run = begin.bind(this.client) as InteractiveTransaction;
    // Asking for the level costs a statement per transaction: left out only where a transaction
    // given none is known to start READ COMMITTED (no client default, and the connections' default).
    const setLevel =
      this.provider === 'mysql' || (this.provider === 'postgresql' && !(clientIsolationLevel(this.client) === null && (await this.readCommittedByDefault())));
    const options = {
      timeout: this.options.transaction?.timeout ?? 30_000,
      maxWait: this.options.transaction?.maxWait ?? 10_000,
      ...(setLevel ? { isolationLevel: 'ReadCommitted' } : {}),
    };
    return retryTransient(
      async () => {
        const claimConflict = { seen: false };
        try {
          // tx is what this client's $transaction hands out: TransactionClientOf<TClient> by definition.
          return await run<R>((tx) => fn(this.inTransaction(tx, claimConflict), tx as TransactionClientOf<TClient>), options);
        } catch (error) {
          // The database rolled back a transaction whose claim deadlocked: the work never ran, so
          // it may start again. Anything later (the work's writes, the completion) is the client's
          // to retry: it surfaces as 503.
          throw claimConflict.seen ? new ClaimConflict(error) : error;
        }
      },
      { retryIf: (error) => error instanceof ClaimConflict },
    ).catch((error: unknown) => {
      throw error instanceof ClaimConflict ? error.cause : error;
    });
  }

  /**
   * PostgreSQL: whether a transaction starts READ COMMITTED without asking (the server default,
   * unless the server, database, role or connection string changed
   * default_transaction_isolation). Asked once per store; a failed look-up is asked again.
   */
  private readCommittedByDefault(): Promise<boolean> {
    if (!this.check.readCommitted) {
      const asked = this.run(() => this.db.once<{ v: string }>("SELECT current_setting('default_transaction_isolation') AS v", [])).then(
        (rows) => rows[0]?.v === 'read committed',
      );
      this.check.readCommitted = asked;
      asked.catch(() => {
        if (this.check.readCommitted === asked) this.check.readCommitted = undefined;
      });
    }
    return this.check.readCommitted;
  }

  async create(r: IdempotencyRecord): Promise<boolean> {
    const count = await this.run(() => this.db.count(this.sql.insert, insertValues(r)), true);
    return count === 1;
  }

  /**
   * One statement where the database can (PostgreSQL, SQLite, MariaDB: see `insertOrSelect`);
   * on MySQL, and on PostgreSQL when the row it met was committed after the statement's snapshot,
   * `create` then `get`. Inside a PostgreSQL transaction also `create` then `get`: statements
   * there go unprepared through Prisma, and PostgreSQL plans the plain INSERT in a fraction of the
   * time it takes for the combined one (0.28 against 0.45 ms here), so a first execution is
   * cheaper and a replay, which reads after it, dearer.
   */
  createOrGet(r: IdempotencyRecord): Promise<CreateOrGet> {
    return this.watched(r, () => this.insertOrRead(r), (result) => (result.created ? null : result.existing));
  }

  private async insertOrRead(r: IdempotencyRecord): Promise<CreateOrGet> {
    const separate = this.provider === 'mysql' ? !(await this.isMariaDb()) : this.provider === 'postgresql' && this.claimConflict !== undefined;
    if (separate) {
      if (await this.create(r)) return { created: true };
      return { created: false, existing: await this.read(r) };
    }
    const rows = await this.run(() => this.db.rows<Row>(this.sql.insertOrSelect, insertValues(r)), true);
    const row = rows[0];
    if (!row) return { created: false, existing: await this.read(r) };
    // The token is new to this claim: the row carries it only if this statement inserted it.
    return row.token === r.token ? { created: true } : { created: false, existing: toRecord(row) };
  }

  /** Asked once per store (a failed look-up is asked again): MariaDB says so in its version. */
  private isMariaDb(): Promise<boolean> {
    if (!this.check.mariadb) {
      const asked = this.run(() => this.db.once<{ v: string }>('SELECT VERSION() AS v', [])).then((rows) => /mariadb/i.test(String(rows[0]?.v)));
      this.check.mariadb = asked;
      asked.catch(() => {
        if (this.check.mariadb === asked) this.check.mariadb = undefined;
      });
    }
    return this.check.mariadb;
  }

  get(scope: RecordScope): Promise<IdempotencyRecord | null> {
    return this.watched(scope, () => this.read(scope), (record) => record);
  }

  /**
   * A read the engine may follow with waitForChange: with `notify`, the listener learns when it
   * began, so a change announced while it ran still ends the wait (see ChangeListener).
   */
  private async watched<T>(scope: RecordScope, read: () => Promise<T>, found: (result: T) => IdempotencyRecord | null): Promise<T> {
    const listener = this.listener;
    if (!listener) return read();
    const id = changeId(this.table, scope);
    const mark = listener.beginRead(id);
    let inProgress = false;
    try {
      const result = await read();
      inProgress = found(result)?.status === 'in_progress';
      return result;
    } finally {
      listener.endRead(id, mark, inProgress);
    }
  }

  private async read(scope: RecordScope): Promise<IdempotencyRecord | null> {
    const rows = await this.run(() => this.db.rows<Row>(this.sql.select, [scope.tenant, scope.operation, scope.key]), true);
    const row = rows[0];
    return row ? toRecord(row) : null;
  }

  async takeOver(r: IdempotencyRecord, expectedToken: string, now: number): Promise<boolean> {
    await this.verify();
    // A table with the steps column clears or keeps them in the same statement (see dialect.ts).
    const clearing = await this.stepsColumn();
    const values = [r.fingerprint, r.token, r.fence, r.leaseExpiresAt, r.createdAt, r.updatedAt, r.expiresAt, r.tenant, r.operation, r.key, expectedToken, now, now];
    const count = await this.run(() => (clearing ? this.db.count(this.sql.takeOverClearingSteps, [now, ...values]) : this.db.count(this.sql.takeOver, values)), true);
    return count === 1;
  }

  /** The steps of the record held with `token`, in order; null when `token` no longer holds it. */
  async loadSteps(scope: RecordScope, token: string): Promise<StepRecord[] | null> {
    await this.requireStepsColumn();
    const rows = await this.stepStatement(() => this.db.rows<{ steps: string | null }>(this.sql.loadSteps, [scope.tenant, scope.operation, scope.key, token]));
    const row = rows[0];
    return row ? parseSteps(row.steps) : null;
  }

  /**
   * Appends `step` to the record held with `token` and renews its lease, in one UPDATE; false when
   * the token no longer holds it or the record does not have exactly `step.index` steps. Called on
   * the store bound to a transaction, it commits or rolls back with the step's own writes.
   */
  async recordStep(scope: RecordScope, token: string, step: StepRecord, leaseExpiresAt: number): Promise<boolean> {
    await this.requireStepsColumn();
    const { previous, next } = stepCountPatterns(step.index);
    const values = [stepElement(step), leaseExpiresAt, leaseExpiresAt, leaseExpiresAt, step.completedAt, scope.tenant, scope.operation, scope.key, token, previous, next];
    const count = await this.stepStatement(() => this.db.count(this.sql.recordStep, values));
    return count === 1;
  }

  /** Whether the table has the steps column (the table check's answer when it ran). */
  private stepsColumn(): Promise<boolean> {
    const known = this.check.steps;
    if (known && !(known.absent && Date.now() - known.at >= STEPS_RECHECK_MS)) return known.present;
    const entry: NonNullable<SharedChecks['steps']> = { present: Promise.resolve(false), at: Date.now() };
    entry.present = retryTransient(() => inspectTable(queryingClient(this.db), this.provider, this.table)).then(({ stepsColumn }) => {
      entry.absent = !stepsColumn;
      return stepsColumn;
    });
    this.check.steps = entry;
    // A failed look-up (database down) is asked again next time.
    entry.present.catch(() => {
      if (this.check.steps === entry) this.check.steps = undefined;
    });
    return entry.present;
  }

  private async requireStepsColumn(): Promise<void> {
    await this.verify();
    if (!(await this.stepsColumn())) throw this.noStepsColumn();
  }

  /** A step statement; "no such column" (the column was dropped, or the check was skipped) names the migration. */
  private async stepStatement<T>(statement: () => PromiseLike<T>): Promise<T> {
    try {
      return await this.run(statement);
    } catch (error) {
      const code = databaseErrorCode(error);
      if ((code && UNDEFINED_COLUMN.has(code)) || /no such column/i.test(String((error as Error)?.message))) {
        this.check.steps = { present: Promise.resolve(false), absent: true, at: Date.now() };
        throw this.noStepsColumn(error);
      }
      throw error;
    }
  }

  private noStepsColumn(cause?: unknown): ConfigurationError {
    const error = new ConfigurationError(
      `oncely: the table "${this.table}" has no "steps" column, which steps (step / databaseStep) need: apply migration ${STEPS_MIGRATION_NAME} ` +
        `(prisma migrate deploy with the migrations shipped in node_modules/oncely/prisma/${this.provider}/migrations, ` +
        `or applyMigration(prisma, '${this.provider}'), or npx oncely migrate). Tables without it keep working for everything else.`,
    );
    if (cause !== undefined) Object.defineProperty(error, 'cause', { value: cause, enumerable: false });
    return error;
  }

  async renew(scope: RecordScope, token: string, leaseExpiresAt: number, now: number): Promise<boolean> {
    const values = [leaseExpiresAt, leaseExpiresAt, leaseExpiresAt, now, scope.tenant, scope.operation, scope.key, token];
    const count = await this.run(() => this.db.count(this.sql.renew, values));
    return count === 1;
  }

  async complete(scope: RecordScope, token: string, c: Completion): Promise<boolean> {
    if (this.listener && this.sql.notifying) {
      const { complete } = this.sql.notifying;
      const id = changeId(this.table, scope);
      return this.notifying(() => this.db.rows<{ n: number }>(complete, [c.response, c.completedAt, c.expiresAt, scope.tenant, scope.operation, scope.key, token, id]));
    }
    const values = [c.response, c.completedAt, c.expiresAt, scope.tenant, scope.operation, scope.key, token];
    const count = await this.run(() => this.db.count(this.sql.complete, values));
    return count === 1;
  }

  async release(scope: RecordScope, token: string): Promise<boolean> {
    if (this.listener && this.sql.notifying) {
      const { release } = this.sql.notifying;
      const id = changeId(this.table, scope);
      return this.notifying(() => this.db.rows<{ n: number }>(release, [scope.tenant, scope.operation, scope.key, token, id]));
    }
    const count = await this.run(() => this.db.count(this.sql.release, [scope.tenant, scope.operation, scope.key, token]));
    return count === 1;
  }

  /** A completion or release that notifies in the same statement: true when it changed the record. */
  private async notifying(statement: () => PromiseLike<{ n: number }[]>): Promise<boolean> {
    const rows = await this.run(statement);
    return Number(rows[0]?.n ?? 0) === 1;
  }

  /**
   * Closes what the store opened itself: the `notify` listener connection (waits then poll). Never
   * your PrismaClient or pool. A no-op on stores bound to a transaction (withClient).
   */
  async close(): Promise<void> {
    if (this.ownsListener) await this.listener?.close();
  }

  async purgeExpired(now: number, limit: number): Promise<number> {
    return this.run(() => this.db.count(this.sql.purge, [now, now, limit]));
  }

  /** How many records purgeExpired would delete at `now` (dry runs, monitoring). */
  async countExpired(now: number): Promise<number> {
    const rows = await this.run(() => this.db.rows<{ n: number | bigint | string }>(this.sql.countExpired, [now, now]));
    return Number(rows[0]?.n ?? 0);
  }
}

function toRecord(row: Row): IdempotencyRecord {
  return {
    tenant: row.tenant,
    operation: row.operation,
    key: row.key,
    status: row.status as RecordStatus,
    fingerprint: row.fingerprint,
    token: row.token,
    fence: Number(row.fence),
    leaseExpiresAt: row.lease_expires_at === null ? null : Number(row.lease_expires_at),
    response: row.response,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
    expiresAt: Number(row.expires_at),
  };
}
