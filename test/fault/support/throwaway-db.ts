/**
 * Throwaway PostgreSQL and MariaDB servers of a test's own: a data directory in a temp folder, a
 * free loopback port, trust / empty-password root access, a `test` database. The fault tests stop
 * and restart THESE, never the machine's own database servers (the machine-servers guard in
 * test/support/machine-servers-guard.ts checks that after every run).
 *
 * - start(kind): initdb / mariadb-install-db into a new temp folder, start the server, create `test`.
 * - stop('clean'): the shutdown a service manager does (PostgreSQL: SIGINT, fast shutdown, like
 *   `pg_ctl stop -m fast`; MariaDB: SIGTERM); stop('kill'): SIGKILL to the whole process group.
 *   Either way it returns once every process of the server is gone and the port is closed.
 * - restart(): the SAME data directory on the SAME port (clients reconnect to the URL they had).
 * - destroy(): SIGKILL and remove the folder. Also done by a process 'exit' handler, and a later
 *   start() removes what a killed test process left behind (see sweepOrphans).
 *
 * As root the servers run as the `postgres` / `mysql` user (PostgreSQL refuses root); the temp
 * folder is chowned to that user. The binaries are found under /usr/lib/postgresql/<newest>/bin,
 * /usr/sbin or on PATH; ONCELY_PG_BINDIR, ONCELY_MARIADBD and ONCELY_MARIADB_INSTALL_DB override.
 */
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { chownSync, closeSync, existsSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { PrismaMariaDb } from '@prisma/adapter-mariadb';
import { PrismaPg } from '@prisma/adapter-pg';
import mariadb from 'mariadb';
import pg from 'pg';
import { mariadbOptions } from '../../../examples/shared/mariadb.js';
import { PrismaClient as MysqlClient } from '../../../generated/mysql/client.js';
import { PrismaClient as PostgresClient } from '../../../generated/postgresql/client.js';
import type { PrismaLike, TestDatabase } from '../../support/databases.js';
import { servicesRequired } from '../../support/services.js';

const run = promisify(execFile);

export type ThrowawayKind = 'postgresql' | 'mariadb';

const DIR_PREFIX = 'oncely-throwaway-db-';

/**
 * Where the temp folders go: the OS temp folder, unless we are root and the server's user could not
 * reach it (e.g. TMPDIR under /root); then /tmp.
 */
function baseDir(): string {
  const dir = tmpdir();
  if (process.getuid?.() !== 0) return dir;
  for (let d = dir; ; d = dirname(d)) {
    try {
      if ((statSync(d).mode & 0o001) === 0) return '/tmp';
    } catch {
      return '/tmp';
    }
    if (dirname(d) === d) return dir;
  }
}

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

interface Binaries {
  /** initdb / mariadb-install-db */
  init: string;
  /** postgres / mariadbd */
  server: string;
}

function postgresBinaries(): Binaries | string {
  let bindir = process.env.ONCELY_PG_BINDIR;
  if (!bindir && existsSync('/usr/lib/postgresql')) {
    const versions = readdirSync('/usr/lib/postgresql')
      .filter((v) => existsSync(`/usr/lib/postgresql/${v}/bin/initdb`))
      .sort((a, b) => Number(b) - Number(a));
    if (versions[0]) bindir = `/usr/lib/postgresql/${versions[0]}/bin`;
  }
  const init = bindir ? join(bindir, 'initdb') : onPath('initdb');
  const server = bindir ? join(bindir, 'postgres') : onPath('postgres');
  if (!init || !existsSync(init)) return `initdb not found (looked in ${bindir ?? '/usr/lib/postgresql/*/bin and PATH'}; set ONCELY_PG_BINDIR)`;
  if (!server || !existsSync(server)) return `postgres not found next to ${init}`;
  return { init, server };
}

function mariadbBinaries(): Binaries | string {
  const server = process.env.ONCELY_MARIADBD ?? [onPath('mariadbd'), '/usr/sbin/mariadbd', onPath('mysqld'), '/usr/sbin/mysqld'].find((p) => p && existsSync(p));
  const init = process.env.ONCELY_MARIADB_INSTALL_DB ?? [onPath('mariadb-install-db'), '/usr/bin/mariadb-install-db', onPath('mysql_install_db')].find((p) => p && existsSync(p));
  if (!server || !existsSync(server)) return 'mariadbd not found (looked in PATH and /usr/sbin; set ONCELY_MARIADBD)';
  if (!init || !existsSync(init)) return 'mariadb-install-db not found (looked in PATH and /usr/bin; set ONCELY_MARIADB_INSTALL_DB)';
  return { init, server };
}

function binaries(kind: ThrowawayKind): Binaries | string {
  return kind === 'postgresql' ? postgresBinaries() : mariadbBinaries();
}

/** Why this machine cannot run a throwaway `kind` server, or undefined when it can. */
export function throwawayUnavailable(kind: ThrowawayKind): string | undefined {
  const found = binaries(kind);
  if (typeof found === 'string') return found;
  if (process.getuid?.() === 0 && osUser(kind) === undefined) return `running as root and there is no ${kind === 'postgresql' ? 'postgres' : 'mysql'} or nobody user to run the server as`;
  return undefined;
}

/**
 * Announces loudly that the tests on a throwaway `kind` server cannot run here; under CI the caller
 * turns the returned message into a failing test (never a silent skip).
 */
export function announceUnavailable(kind: ThrowawayKind, reason: string): string {
  const message = `oncely fault tests: cannot start a throwaway ${kind} server on this machine (${reason}); THE DATABASE-STOP TEST FOR ${kind.toUpperCase()} DOES NOT RUN (connection cuts fall back to the machine's server when it runs).`;
  const line = '!'.repeat(100);
  console.warn(`\n${line}\n${message}${servicesRequired ? ' CI requires them.' : ''}\n${line}\n`);
  return message;
}

/** The OS user to run the server as when we are root (undefined when not root or none exists). */
function osUser(kind: ThrowawayKind): { uid: number; gid: number; name: string } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  for (const name of [kind === 'postgresql' ? 'postgres' : 'mysql', 'nobody']) {
    try {
      const uid = Number(execFileSync('id', ['-u', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
      const gid = Number(execFileSync('id', ['-g', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
      if (Number.isInteger(uid) && Number.isInteger(gid)) return { uid, gid, name };
    } catch {
      // no such user: try the next
    }
  }
  return undefined;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function commandLine(pid: number): string {
  try {
    return execFileSync('ps', ['-o', 'args=', '-p', String(pid)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return '';
  }
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** SIGKILL to a server's process group, verified by its command line (never a reused pid of something else). */
function killServerGroup(pid: number, dir: string): void {
  if (!alive(pid) || !commandLine(pid).includes(dir)) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
}

/**
 * Removes the throwaway servers and folders of test processes that died without cleaning up
 * (SIGKILLed worker, Ctrl-C). Only folders with our prefix whose owner process is gone.
 */
export function sweepOrphans(): void {
  let entries: string[];
  try {
    entries = readdirSync(baseDir()).filter((name) => name.startsWith(DIR_PREFIX));
  } catch {
    return;
  }
  for (const name of entries) {
    const dir = join(baseDir(), name);
    let owner: { owner: number; pid?: number } | undefined;
    try {
      owner = JSON.parse(readFileSync(join(dir, 'owner.json'), 'utf8'));
    } catch {
      continue; // being created right now, or not ours
    }
    if (!owner || alive(owner.owner)) continue;
    if (owner.pid) killServerGroup(owner.pid, dir);
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const done = (open: boolean) => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

export class ThrowawayDatabase {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private destroyed = false;
  /** Milliseconds the first start took (init + server up + `test` created), for the test log. */
  startupMs = 0;

  private constructor(
    readonly kind: ThrowawayKind,
    readonly dir: string,
    readonly port: number,
    private readonly bin: Binaries,
    private readonly user: { uid: number; gid: number; name: string } | undefined,
  ) {}

  /** Initialises a data directory in a new temp folder and starts the server on a free loopback port. */
  static async start(kind: ThrowawayKind): Promise<ThrowawayDatabase> {
    const started = Date.now();
    sweepOrphans();
    const bin = binaries(kind);
    if (typeof bin === 'string') throw new Error(`throwaway ${kind}: ${bin}`);
    const user = osUser(kind);
    const dir = mkdtempSync(join(baseDir(), `${DIR_PREFIX}${kind}-`));
    writeFileSync(join(dir, 'owner.json'), JSON.stringify({ owner: process.pid }));
    if (user) chownSync(dir, user.uid, user.gid);
    const db = new ThrowawayDatabase(kind, dir, await freePort(), bin, user);
    process.once('exit', () => db.destroySync());
    try {
      await db.initialise();
      await db.restart();
      await db.createTestDatabase();
    } catch (error) {
      db.destroySync();
      throw new Error(`throwaway ${kind} did not start: ${(error as Error).message}`);
    }
    db.startupMs = Date.now() - started;
    return db;
  }

  get url(): string {
    return this.kind === 'postgresql' ? `postgresql://postgres@127.0.0.1:${this.port}/test` : `mariadb://root@127.0.0.1:${this.port}/test`;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The server's process id (the postmaster / mariadbd), while it runs. */
  get pid(): number | undefined {
    return this.running ? this.child?.pid : undefined;
  }

  /** This server as a TestDatabase, for the fault harness (freshTables, bizRows, recordsOf). */
  testDatabase(): TestDatabase & { name: ThrowawayKind } {
    const url = this.url;
    return this.kind === 'postgresql'
      ? { name: 'postgresql', provider: 'postgresql', url, client: () => new PostgresClient({ adapter: new PrismaPg({ connectionString: url, max: 20 }) }) }
      : {
          name: 'mariadb',
          provider: 'mysql',
          url,
          client: () => new MysqlClient({ adapter: new PrismaMariaDb(mariadbOptions(url, 20)) }) as unknown as PrismaLike,
        };
  }

  private get dataDir(): string {
    return join(this.dir, 'data');
  }

  private get logFile(): string {
    return join(this.dir, 'server.log');
  }

  private logTail(lines = 30): string {
    try {
      return readFileSync(this.logFile, 'utf8').split('\n').slice(-lines).join('\n');
    } catch {
      return '(no server log)';
    }
  }

  private spawnOptions() {
    return this.user ? { uid: this.user.uid, gid: this.user.gid } : {};
  }

  private async initialise(): Promise<void> {
    const args =
      this.kind === 'postgresql'
        ? ['-D', this.dataDir, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync']
        : [
            '--no-defaults',
            `--datadir=${this.dataDir}`,
            '--auth-root-authentication-method=normal',
            '--skip-test-db',
            '--skip-name-resolve',
          ];
    try {
      await run(this.bin.init, args, { ...this.spawnOptions(), cwd: this.dir, timeout: 120_000 });
    } catch (error) {
      const e = error as { message: string; stdout?: string; stderr?: string };
      throw new Error(`${this.bin.init} failed: ${e.message}\n${e.stdout ?? ''}\n${e.stderr ?? ''}`);
    }
  }

  private serverArgs(): string[] {
    if (this.kind === 'postgresql') {
      return [
        '-D', this.dataDir,
        '-p', String(this.port),
        '-k', this.dir,
        '-c', 'listen_addresses=127.0.0.1',
        // A test database: durability against an OS crash is not the subject (a killed server
        // process loses nothing committed either way).
        '-c', 'fsync=off',
        '-c', 'full_page_writes=off',
        '-c', 'max_connections=200',
      ];
    }
    return [
      '--no-defaults',
      `--datadir=${this.dataDir}`,
      `--port=${this.port}`,
      `--socket=${join(this.dir, 'mariadbd.sock')}`,
      `--pid-file=${join(this.dir, 'mariadbd.pid')}`,
      '--bind-address=127.0.0.1',
      '--skip-name-resolve',
      '--skip-log-bin',
      // As the machine's server is configured (Debian's 50-server.cnf).
      '--character-set-server=utf8mb4',
      '--collation-server=utf8mb4_general_ci',
      '--innodb-flush-log-at-trx-commit=2',
      '--innodb-buffer-pool-size=64M',
      '--max-connections=200',
    ];
  }

  /** Starts the server on the same data directory and port and waits until it answers queries. */
  async restart(timeoutMs = 60_000): Promise<void> {
    if (this.destroyed) throw new Error('throwaway database already destroyed');
    if (this.running) return;
    if (await portOpen(this.port)) throw new Error(`port ${this.port} is taken by something else`);
    const log = openSync(this.logFile, 'a');
    const child = spawn(this.bin.server, this.serverArgs(), {
      ...this.spawnOptions(),
      cwd: this.dir,
      // Its own process group: stop('kill') takes the postmaster's backends with it.
      detached: true,
      stdio: ['ignore', log, log],
    });
    closeSync(log);
    child.on('error', () => undefined); // reported by the readiness timeout with the log
    this.exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    this.child = child;
    writeFileSync(join(this.dir, 'owner.json'), JSON.stringify({ owner: process.pid, pid: child.pid }));
    const deadline = Date.now() + timeoutMs;
    let last: unknown;
    while (Date.now() < deadline) {
      if (!this.running) throw new Error(`${this.kind} exited during start-up (${child.exitCode ?? child.signalCode}):\n${this.logTail()}`);
      try {
        await this.query('SELECT 1', this.kind === 'postgresql' ? 'postgres' : null);
        return;
      } catch (error) {
        last = error;
      }
      await sleep(100);
    }
    throw new Error(`${this.kind} on port ${this.port} did not answer within ${timeoutMs} ms: ${String(last)}\n${this.logTail()}`);
  }

  /**
   * Stops the server and waits until every process of it is gone and the port is closed.
   * 'clean': what a service manager sends (PostgreSQL SIGINT = fast shutdown, MariaDB SIGTERM);
   * 'kill': SIGKILL to the process group (a crash).
   */
  async stop(how: 'clean' | 'kill' = 'clean', timeoutMs = 60_000): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    const pid = child.pid!;
    if (how === 'kill') process.kill(-pid, 'SIGKILL');
    else child.kill(this.kind === 'postgresql' ? 'SIGINT' : 'SIGTERM');
    const deadline = Date.now() + timeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
    const outcome = await Promise.race([this.exited.then(() => 'exited' as const), timedOut]);
    clearTimeout(timer);
    if (outcome === 'timeout') throw new Error(`${this.kind} (pid ${pid}) did not stop within ${timeoutMs} ms:\n${this.logTail()}`);
    // The postmaster's children (or anything else of the group) must be gone too before a restart.
    while (Date.now() < deadline && (alive(-pid) || (await portOpen(this.port)))) await sleep(50);
  }

  /** SIGKILL and remove the temp folder (idempotent). */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    if (this.running) await this.stop('kill').catch(() => undefined);
    this.destroySync();
  }

  /** Synchronous clean-up for process 'exit' handlers. */
  private destroySync(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    const pid = this.child?.pid;
    if (pid !== undefined && alive(pid)) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
      for (let i = 0; i < 100 && alive(-pid); i++) sleepSync(50);
    }
    for (let i = 0; i < 10; i++) {
      try {
        rmSync(this.dir, { recursive: true, force: true });
        return;
      } catch {
        sleepSync(100); // a dying server may still be writing
      }
    }
  }

  /** One statement on a fresh connection (database: `test` unless given; null: none, MariaDB only). */
  async query(sql: string, database: string | null = 'test'): Promise<unknown[]> {
    if (this.kind === 'postgresql') {
      const client = new pg.Client({ host: '127.0.0.1', port: this.port, user: 'postgres', database: database ?? 'test', connectionTimeoutMillis: 5000 });
      client.on('error', () => undefined);
      await client.connect();
      try {
        return (await client.query(sql)).rows;
      } finally {
        await client.end().catch(() => undefined);
      }
    }
    const connection = await mariadb.createConnection({ host: '127.0.0.1', port: this.port, user: 'root', ...(database ? { database } : {}), connectTimeout: 5000 });
    try {
      return await connection.query(sql);
    } finally {
      await connection.end().catch(() => undefined);
    }
  }

  private async createTestDatabase(): Promise<void> {
    if (this.kind === 'postgresql') await this.query('CREATE DATABASE test', 'postgres');
    else await this.query('CREATE DATABASE IF NOT EXISTS test', null);
    const rows = (await this.query(this.kind === 'postgresql' ? 'SHOW data_directory' : 'SELECT @@datadir AS data_directory')) as { data_directory: string }[];
    // Belt and braces: the server we talk to is the one in our temp folder.
    if (!rows[0]?.data_directory.startsWith(this.dir)) throw new Error(`port ${this.port} answers from ${rows[0]?.data_directory}, not from ${this.dir}`);
  }
}
