/**
 * PrismaStore `notify` on PostgreSQL: a duplicate waiting in this process (B) for a key held by
 * another process (A, notify-holder.ts) is woken by A's NOTIFY, not by its poll.
 *
 * Wake-ups are told from polls without timing luck: the waiters' stores set `recheck` far above
 * the engine's own cap (1 s between reads while waiting), A commits ~50 ms into the wait, so a
 * waiter answered by a read is answered either by the notification (about when A commits) or by
 * the poll (about a second later), and its claim reads are counted (woken: exactly one re-read).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigurationError, Idempotency } from '../../src/index.js';
import { PrismaStore } from '../../src/prisma/index.js';
import type { PgPoolLike, PrismaNotifyOptions } from '../../src/prisma/notify.js';
import { countedClient } from '../support/counted-client.js';
import { freshStore, testDatabases } from '../support/databases.js';
import { services } from '../support/services.js';

const postgres = testDatabases().find((db) => db.name === 'postgresql');
const url = services.postgres.url;
const LISTEN = 'LISTEN "oncely_changes"';

const now = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const giveUp = performance.now() + timeoutMs;
  while (!(await condition())) {
    if (performance.now() > giveUp) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

interface HolderEvent {
  event: string;
  key: string;
  at: number;
  error?: string;
}

/** Process A: a child running notify-holder.ts through tsx. */
class Holder {
  private readonly seen: HolderEvent[] = [];
  private readonly pending: { match: (e: HolderEvent) => boolean; resolve: (e: HolderEvent) => void }[] = [];

  private constructor(private readonly child: ChildProcess) {
    let buffered = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      buffered += chunk;
      let newline: number;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const event = JSON.parse(buffered.slice(0, newline)) as HolderEvent;
        buffered = buffered.slice(newline + 1);
        if (event.event === 'failed') throw new Error(`holder failed on ${event.key}: ${event.error}`);
        const waiting = this.pending.findIndex((p) => p.match(event));
        if (waiting >= 0) this.pending.splice(waiting, 1)[0]!.resolve(event);
        else this.seen.push(event);
      }
    });
  }

  static async start(table: string, applicationName: string): Promise<Holder> {
    const script = fileURLToPath(new URL('./notify-holder.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', script, `${url}?application_name=${applicationName}`, table], { stdio: ['pipe', 'pipe', 'inherit'] });
    const holder = new Holder(child);
    await holder.next('ready', '');
    return holder;
  }

  send(command: { cmd: string; key: string; value?: string; inTx?: boolean }): void {
    this.child.stdin!.write(`${JSON.stringify(command)}\n`);
  }

  next(event: string, key: string): Promise<HolderEvent> {
    const match = (e: HolderEvent) => e.event === event && e.key === key;
    const at = this.seen.findIndex(match);
    if (at >= 0) return Promise.resolve(this.seen.splice(at, 1)[0]!);
    return new Promise((resolve) => this.pending.push({ match, resolve }));
  }

  async begin(key: string, inTx = false): Promise<void> {
    this.send({ cmd: 'begin', key, inTx });
    await this.next('held', key);
  }

  async stop(): Promise<void> {
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.stdin!.end();
    await exited;
  }
}

describe.skipIf(!postgres)('PrismaStore notify (LISTEN/NOTIFY) across processes', () => {
  const db = postgres!;
  const { client, log } = countedClient(db);
  const admin = new pg.Client({ connectionString: url });
  const pools: pg.Pool[] = [];
  const stores: PrismaStore[] = [];
  let table: string;
  let holder: Holder;
  const holderApp = `oncely_a_${randomUUID().slice(0, 8)}`;

  beforeAll(async () => {
    table = (await freshStore(db, client)).table;
    await admin.connect();
    holder = await Holder.start(table, holderApp);
  }, 60_000);

  afterAll(async () => {
    await holder?.stop();
    await Promise.all(stores.map((s) => s.close()));
    await Promise.all(pools.map((p) => p.end()));
    await admin.end();
    await client.$disconnect();
  });

  const call = (key: string) => ({ tenant: 't', operation: 'charge', key, input: { amount: 1 } });
  /** The claim statements B sent since log.reset(): its reads of the record while waiting. */
  const claimReads = () => log.statements.filter((sql) => sql.startsWith('WITH "inserted"')).length;

  /** B's store and wait-mode engine; `notify` given as a connection string named `app` unless set. */
  function waiter(notify?: PrismaNotifyOptions) {
    const app = `oncely_b_${randomUUID().slice(0, 8)}`;
    const store = new PrismaStore({ client, table, notify: notify ?? { connectionString: `${url}?application_name=${app}`, recheck: '10s' } });
    stores.push(store);
    return { app, store, engine: new Idempotency({ store, inProgress: 'wait', waitTimeout: 30_000 }) };
  }

  /** The LISTEN connections named `app`, by pid. */
  async function listeners(app: string): Promise<number[]> {
    const rows = await admin.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND query = $2', [app, LISTEN]);
    return rows.rows.map((r) => r.pid);
  }

  /** Until `app`'s listener connection is LISTENing (plus a moment for the store to hear so). */
  async function listening(app: string): Promise<void> {
    await until(async () => (await listeners(app)).length === 1, `${app} listening`);
    await sleep(50);
  }

  /**
   * A holds `key`; B waits for it through `engine`; ~50 ms into the wait A commits (or releases).
   * Returns B's execution, when it was answered, and A's "sending" instant.
   */
  async function round(engine: Idempotency, key: string, finish: 'commit' | 'release' = 'commit') {
    await holder.begin(key);
    log.reset();
    let runs = 0;
    const answered = engine.execute(call(key), () => `B ran ${++runs}`).then((execution) => ({ execution, at: now() }));
    await until(() => claimReads() >= 1, 'B reading the held record');
    await sleep(50);
    holder.send({ cmd: finish, key, value: 'from A' });
    const sending = await holder.next('sending', key);
    const { execution, at } = await answered;
    return { execution, latency: at - sending.at, reads: claimReads(), runs };
  }

  it('refuses notify off PostgreSQL and malformed notify options with a ConfigurationError', () => {
    for (const provider of ['sqlite', 'mysql'] as const) {
      expect(() => new PrismaStore({ client, table, provider, notify: { connectionString: url } })).toThrow(ConfigurationError);
      expect(() => new PrismaStore({ client, table, provider, notify: { connectionString: url } })).toThrow(/`notify` needs PostgreSQL/);
    }
    const malformed: [unknown, RegExp][] = [
      [null, /must be \{ connectionString \} or \{ pool \}/],
      [{}, /must be a postgres:\/\/ or postgresql:\/\/ URL/],
      [{ connectionString: 'mysql://root@localhost/test' }, /must be a postgres:\/\/ or postgresql:\/\/ URL/],
      [{ pool: {} }, /notify.pool must be a pg Pool/],
      [{ pool: new pg.Pool(), connectionString: url }, /not both/],
      [{ connectionString: url, recheck: 0 }, /recheck must be more than 0/],
      [{ connectionString: url, recheck: 'soon' }, /notify.recheck must be a non-negative number/],
    ];
    for (const [notify, message] of malformed) {
      expect(() => new PrismaStore({ client, table, provider: 'postgresql', notify: notify as PrismaNotifyOptions })).toThrow(message);
    }
  });

  it('without notify the store has no waitForChange (the engine polls), and close() is a no-op', async () => {
    const store = new PrismaStore({ client, table });
    expect(store.waitForChange).toBeUndefined();
    await expect(store.close()).resolves.toBeUndefined();
  });

  it('the first wait opens one listener connection shared by all waiters; a store that never waits opens none', async () => {
    const { app, engine } = waiter();
    expect(await listeners(app)).toEqual([]); // lazily: nothing before the first wait
    const keys = Array.from({ length: 20 }, () => randomUUID());
    for (const key of keys) await holder.begin(key);
    const answers = Promise.all(keys.map((key) => engine.execute(call(key), () => 'B ran')));
    await listening(app);
    for (const key of keys) holder.send({ cmd: 'commit', key, value: `A ${key}` });
    const executions = await answers;
    expect(executions.map((e) => e.replayed && e.outcome)).toEqual(keys.map((key) => ({ ok: true, value: `A ${key}` })));
    expect((await listeners(app)).length).toBe(1);
    expect(await listeners(holderApp)).toEqual([]); // A only notifies
  });

  it('a waiter in another process is woken by the completion: one re-read, at once, not at the poll', async () => {
    const { app, engine } = waiter();
    await round(engine, randomUUID()); // opens the listener
    await listening(app);
    for (let i = 0; i < 5; i++) {
      const { execution, latency, reads } = await round(engine, randomUUID());
      expect(execution).toMatchObject({ replayed: true, outcome: { ok: true, value: 'from A' } });
      expect(reads).toBe(2); // the read that found it held, and the one after the wake-up
      expect(latency).toBeLessThan(500); // the poll would answer ~950 ms after A's commit
    }
  });

  it('a release wakes the waiter, which claims the key and runs the work once', async () => {
    const { app, engine } = waiter();
    await round(engine, randomUUID());
    await listening(app);
    const { execution, latency, reads, runs } = await round(engine, randomUUID(), 'release');
    expect(execution).toMatchObject({ replayed: false, outcome: { ok: true, value: 'B ran 1' } });
    expect(runs).toBe(1);
    expect(reads).toBe(2); // found it held; after the wake-up, claimed it
    expect(latency).toBeLessThan(500);
  });

  it('a completion inside a transaction wakes the waiter at its commit, not before', async () => {
    const { app, engine } = waiter();
    await round(engine, randomUUID());
    await listening(app);
    const key = randomUUID();
    await holder.begin(key, true);
    log.reset();
    let answeredAt: number | undefined;
    const answered = engine.execute(call(key), () => 'B ran').then((execution) => {
      answeredAt = now();
      return execution;
    });
    await until(() => claimReads() === 1, 'B reading the held record');
    await sleep(50);
    holder.send({ cmd: 'commit', key, value: 'from A in a transaction' });
    await holder.next('inside', key); // the UPDATE and its pg_notify ran; the transaction is open
    await sleep(150); // a NOTIFY sent at the statement would have arrived by now (a few ms)
    expect(answeredAt).toBeUndefined();
    expect(claimReads()).toBe(1); // no wake-up (it would have re-read) before the commit
    holder.send({ cmd: 'end-tx', key });
    const committed = await holder.next('committed', key);
    expect(await answered).toMatchObject({ replayed: true, outcome: { ok: true, value: 'from A in a transaction' } });
    expect(claimReads()).toBe(2);
    expect(answeredAt! - committed.at).toBeLessThan(500);
  });

  it('a completion landing while the waiter’s read is on its way back still wakes it (the read is marked at its start)', async () => {
    const app = `oncely_b_${randomUUID().slice(0, 8)}`;
    // B's client, with the answer of one chosen claim read held back after the database ran it.
    let hold: Promise<void> | undefined;
    let held = false;
    const slowReads = {
      $executeRawUnsafe: (sql: string, ...values: unknown[]) => client.$executeRawUnsafe(sql, ...values),
      $queryRawUnsafe: async <T>(sql: string, ...values: unknown[]): Promise<T> => {
        const rows = await client.$queryRawUnsafe<T>(sql, ...values);
        if (hold && sql.startsWith('WITH "inserted"')) {
          held = true;
          await hold;
        }
        return rows;
      },
    };
    const store = new PrismaStore({ client: slowReads, provider: 'postgresql', table, notify: { connectionString: `${url}?application_name=${app}`, recheck: '10s' } });
    stores.push(store);
    const engine = new Idempotency({ store, inProgress: 'wait', waitTimeout: 30_000 });
    await round(engine, randomUUID());
    await listening(app);

    const key = randomUUID();
    await holder.begin(key);
    let letGo!: () => void;
    hold = new Promise((resolve) => (letGo = resolve));
    log.reset();
    const answered = engine.execute(call(key), () => 'B ran').then((execution) => ({ execution, at: now() }));
    await until(() => held, 'the read held back');
    hold = undefined;
    holder.send({ cmd: 'commit', key, value: 'committed behind the read' });
    await holder.next('committed', key);
    await sleep(100); // the notification has arrived; the read still says "in progress"
    const releasedAt = now();
    letGo();
    const { execution, at } = await answered;
    expect(execution).toMatchObject({ replayed: true, outcome: { ok: true, value: 'committed behind the read' } });
    expect(claimReads()).toBe(2);
    expect(at - releasedAt).toBeLessThan(500); // without the mark it would sleep until the 1 s poll
  });

  it('with notify, a first execution is still 2 statements and a replay 1; a release is 1 (each NOTIFYing in the statement)', async () => {
    const { store } = waiter();
    const engine = new Idempotency({ store });
    await engine.execute(call(randomUUID()), () => 'warm-up');
    const key = randomUUID();
    log.reset();
    await engine.execute(call(key), () => 'done');
    expect(log.kinds()).toEqual(['WITH', 'WITH']);
    expect(log.statements[1]).toContain('pg_notify');
    log.reset();
    expect((await engine.execute(call(key), () => 'never')).replayed).toBe(true);
    expect(log.kinds()).toEqual(['WITH']);
    const held = await engine.begin(call(randomUUID()));
    if (held.replayed) throw new Error('expected a claim');
    log.reset();
    await held.release();
    expect(log.kinds()).toEqual(['WITH']);
    expect(log.statements[0]).toMatch(/^WITH "changed" AS \(DELETE .*pg_notify/);
  });

  it('the listener connection killed: waiters are answered by polling meanwhile, then the listener reconnects', async () => {
    const pool = new pg.Pool({ connectionString: url, max: 2 });
    pools.push(pool);
    let refuse = false;
    let refused = 0;
    const pids: number[] = [];
    const gated: PgPoolLike = {
      async connect() {
        if (refuse) {
          refused++;
          throw new Error('refused by the test');
        }
        const connection = await pool.connect();
        const { rows } = await connection.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
        pids.push(rows[0]!.pid);
        return connection;
      },
    };
    const { engine } = waiter({ pool: gated, recheck: '10s' });
    await round(engine, randomUUID());
    await until(() => pids.length === 1, 'the first listener connection');
    const killed = pids[0]!;

    refuse = true;
    await admin.query('SELECT pg_terminate_backend($1)', [killed]);
    const key = randomUUID();
    await holder.begin(key);
    const answered = engine.execute(call(key), () => 'B ran').then((execution) => ({ execution, at: now() }));
    await until(() => refused >= 1, 'a refused reconnection');
    holder.send({ cmd: 'commit', key, value: 'while the listener is down' });
    const sending = await holder.next('sending', key);
    const { execution, at } = await answered;
    expect(execution).toMatchObject({ replayed: true, outcome: { ok: true, value: 'while the listener is down' } });
    expect(at - sending.at).toBeLessThan(500); // the fallback poll (100 ms steps), not the engine's 1 s cap
    expect(pids).toEqual([killed]);

    refuse = false;
    await round(engine, randomUUID()); // the wait reconnects (after the backoff of the refusals)
    await until(() => pids.length === 2, 'the listener reconnecting');
    expect(pids[1]).not.toBe(killed);
    await sleep(50);
    const { execution: after, latency, reads } = await round(engine, randomUUID());
    expect(after).toMatchObject({ replayed: true, outcome: { ok: true, value: 'from A' } });
    expect(reads).toBe(2); // woken by the new connection's notification
    expect(latency).toBeLessThan(500);
    expect(pool.totalCount).toBe(1); // the killed connection was let go
  });

  it('a listener that cannot connect never fails a request: waiters are answered by polling', async () => {
    const { engine } = waiter({ connectionString: 'postgresql://postgres@127.0.0.1:1/test', recheck: '10s' });
    for (let i = 0; i < 2; i++) {
      const { execution, latency } = await round(engine, randomUUID());
      expect(execution).toMatchObject({ replayed: true, outcome: { ok: true, value: 'from A' } });
      expect(latency).toBeLessThan(500);
    }
  });

  it('store.close() closes the listener connection; waits after it poll and open none', async () => {
    const { app, store, engine } = waiter();
    await round(engine, randomUUID());
    await listening(app);
    await store.close();
    await until(async () => (await listeners(app)).length === 0, 'the listener connection gone', 5000);
    const { execution, latency } = await round(engine, randomUUID());
    expect(execution).toMatchObject({ replayed: true, outcome: { ok: true, value: 'from A' } });
    expect(latency).toBeLessThan(500);
    expect(await listeners(app)).toEqual([]);

    const pool = new pg.Pool({ connectionString: url, max: 2 });
    pools.push(pool);
    const pooled = waiter({ pool, recheck: '10s' });
    await round(pooled.engine, randomUUID());
    await until(() => pool.totalCount === 1 && pool.idleCount === 0, 'the pool lending the listener its connection');
    await pooled.store.close();
    expect(pool.totalCount).toBe(0); // destroyed, not returned LISTENing to the pool
  });
});
