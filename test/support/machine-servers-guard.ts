/**
 * Global setup of both vitest configs: the promise that the tests leave the machine's own
 * PostgreSQL, MariaDB and Redis running as they found them (not stopped, not restarted, not
 * reconfigured). Setup records each reachable server's identity; teardown reads it again and
 * fails the run, naming the server and what changed, when it differs.
 *
 * - PostgreSQL: pg_postmaster_start_time() (changes on every restart), pg_conf_load_time()
 *   (changes on a reload), the server-wide settings a new session sees.
 * - MariaDB: the start time (now - Uptime, second precision, 2 s tolerance), the process id from
 *   @@pid_file when readable, the global variables.
 * - Redis: run_id (new on every start), process_id, CONFIG GET *.
 *
 * The fault suite's database stops and restarts run on throwaway servers of its own
 * (test/fault/support/throwaway-db.ts); this guard is the check that nothing else does.
 */
import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import mariadb from 'mariadb';
import pg from 'pg';
import { portOpen, services } from './services.js';

export interface Identity {
  /** What names this server instance; a difference means it was stopped and started. */
  instance: Record<string, string>;
  /** How it is configured; a difference means someone reconfigured it. */
  settings: Record<string, string>;
  /** For the report. */
  summary: string;
}

export type ServerKind = 'PostgreSQL' | 'MariaDB' | 'Redis';
export type Probe = { name: ServerKind; host: string; port: number; url: string };

// Settings that move on their own (counters, positions) and are no configuration.
const VOLATILE = new Set(['gtid_binlog_pos', 'gtid_binlog_state', 'gtid_current_pos', 'gtid_slave_pos', 'timestamp', 'rand_seed1', 'rand_seed2', 'last_insert_id', 'insert_id', 'identity', 'warning_count', 'error_count', 'pseudo_thread_id']);

function readPidFile(path: string | undefined): string {
  if (!path) return 'unknown';
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return 'unreadable';
  }
}

async function postgres(connectionString: string): Promise<Identity> {
  const url = new URL(connectionString);
  const client = new pg.Client({ connectionString, database: 'postgres', connectionTimeoutMillis: 5000 });
  client.on('error', () => undefined);
  await client.connect();
  try {
    const [row] = (
      await client.query<{ started: Date; loaded: Date }>('SELECT pg_postmaster_start_time() AS started, pg_conf_load_time() AS loaded')
    ).rows;
    // A reload (pg_reload_conf, SIGHUP) is a reconfiguration: pg_conf_load_time() moves.
    const settings: Record<string, string> = { 'pg_conf_load_time()': row!.loaded.toISOString() };
    for (const s of (await client.query<{ name: string; setting: string }>("SELECT name, setting FROM pg_settings WHERE source NOT IN ('client', 'session')")).rows) {
      if (!VOLATILE.has(s.name)) settings[s.name] = s.setting ?? '';
    }
    let pid = 'unknown';
    try {
      const dataDir = (await client.query<{ data_directory: string }>('SHOW data_directory')).rows[0]?.data_directory;
      pid = readPidFile(dataDir && `${dataDir}/postmaster.pid`).split('\n')[0] ?? 'unknown';
    } catch {
      // not a superuser: the start time is identity enough
    }
    const started = row!.started.toISOString();
    return {
      instance: { 'pg_postmaster_start_time()': started, 'postmaster pid': pid },
      settings,
      summary: `PostgreSQL ${url.host} (postmaster pid ${pid}, started ${started})`,
    };
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function mariadbIdentity(connectionString: string): Promise<Identity> {
  const url = new URL(connectionString);
  const connection = await mariadb.createConnection({
    host: url.hostname,
    port: Number(url.port || 3306),
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
    connectTimeout: 5000,
  });
  try {
    const [status] = await connection.query("SHOW GLOBAL STATUS LIKE 'Uptime'");
    const uptime = Number(status.Value);
    const settings: Record<string, string> = {};
    for (const v of (await connection.query('SHOW GLOBAL VARIABLES')) as { Variable_name: string; Value: string }[]) {
      if (!VOLATILE.has(v.Variable_name)) settings[v.Variable_name] = String(v.Value);
    }
    const started = Math.round(Date.now() / 1000 - uptime);
    const pid = readPidFile(settings.pid_file);
    return {
      // The start time has second precision and is computed from two clocks: compared with a
      // tolerance below, hence kept apart from the exact fields.
      instance: { 'pid (from @@pid_file)': pid, 'started (now - Uptime)': String(started) },
      settings,
      summary: `MariaDB ${url.host} (pid ${pid}, started ${new Date(started * 1000).toISOString()})`,
    };
  } finally {
    await connection.end().catch(() => undefined);
  }
}

async function redis(connectionString: string): Promise<Identity> {
  const url = new URL(connectionString);
  const client = new Redis(connectionString, { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 5000, enableOfflineQueue: false });
  client.on('error', () => undefined);
  await client.connect();
  try {
    const info = Object.fromEntries(
      (await client.info('server'))
        .split('\r\n')
        .filter((line) => line.includes(':'))
        .map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 1)]),
    );
    const config = (await client.config('GET', '*')) as string[];
    const settings: Record<string, string> = {};
    for (let i = 0; i + 1 < config.length; i += 2) settings[config[i]!] = config[i + 1]!;
    return {
      instance: { run_id: info.run_id ?? '', process_id: info.process_id ?? '' },
      settings,
      summary: `Redis ${url.host} (pid ${info.process_id}, run_id ${String(info.run_id).slice(0, 12)}…)`,
    };
  } finally {
    client.disconnect();
  }
}

/** Reads what identifies the server at `url` and how it is configured. */
export function readIdentity(kind: ServerKind, url: string): Promise<Identity> {
  return kind === 'PostgreSQL' ? postgres(url) : kind === 'MariaDB' ? mariadbIdentity(url) : redis(url);
}

const probes: Probe[] = [
  { name: 'PostgreSQL', ...services.postgres },
  { name: 'MariaDB', ...services.mariadb },
  { name: 'Redis', ...services.redis },
];

function differences(before: Record<string, string>, after: Record<string, string>): string[] {
  const out: string[] = [];
  for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
    if (before[key] === after[key]) continue;
    if (key === 'started (now - Uptime)' && before[key] && after[key] && Math.abs(Number(before[key]) - Number(after[key])) <= 2) continue;
    out.push(`${key}: ${before[key] ?? '(unset)'} -> ${after[key] ?? '(unset)'}`);
  }
  return out;
}

/** The identity of every server of `list` whose port is open (an Error when it cannot be read). */
export async function snapshot(list: Probe[] = probes): Promise<Map<string, Identity | Error>> {
  const seen = new Map<string, Identity | Error>();
  for (const probe of list) {
    if (!(await portOpen(probe.host, probe.port))) continue;
    seen.set(probe.name, await readIdentity(probe.name, probe.url).catch((error: unknown) => (error instanceof Error ? error : new Error(String(error)))));
  }
  return seen;
}

/** Compares two snapshots: the problems found, and one line per server watched. */
export function compare(before: Map<string, Identity | Error>, after: Map<string, Identity | Error>): { problems: string[]; watched: string[] } {
  const problems: string[] = [];
  const watched: string[] = [];
  for (const [name, was] of before) {
    if (was instanceof Error) {
      watched.push(`${name}: port open but not readable before the run (${was.message}); not watched`);
      continue;
    }
    const now = after.get(name);
    if (now === undefined) problems.push(`${name} was running before the tests and is not reachable after them (stopped?). Before: ${was.summary}`);
    else if (now instanceof Error) problems.push(`${name} was running before the tests and cannot be read after them: ${now.message}`);
    else {
      const restarted = differences(was.instance, now.instance);
      const reconfigured = differences(was.settings, now.settings);
      const settingsChanged = `${reconfigured.slice(0, 10).join('; ')}${reconfigured.length > 10 ? ` (+${reconfigured.length - 10} more)` : ''}`;
      if (restarted.length > 0) {
        problems.push(`${name} was restarted or replaced during the tests: ${restarted.join('; ')}${reconfigured.length > 0 ? `; settings now differ: ${settingsChanged}` : ''}`);
      } else if (reconfigured.length > 0) problems.push(`${name} was reconfigured during the tests: ${settingsChanged}`);
      if (restarted.length + reconfigured.length === 0) watched.push(`${now.summary}: untouched`);
    }
  }
  return { problems, watched };
}

export default async function setup() {
  const before = await snapshot();
  return async function teardown() {
    const after = await snapshot();
    const { problems, watched } = compare(before, after);
    if (problems.length > 0) {
      const line = '!'.repeat(100);
      const message = `oncely tests: THE MACHINE'S OWN DATABASE SERVERS WERE TOUCHED.\n- ${problems.join('\n- ')}`;
      console.error(`\n${line}\n${message}\n${line}\n`);
      // Vitest reports an error thrown by a global teardown but still exits 0: set the code too.
      process.exitCode = 1;
      throw new Error(message);
    }
    console.log(`[machine-servers guard] ${watched.length > 0 ? watched.join('; ') : 'no machine database server was running; nothing to watch'}`);
  };
}
