/**
 * Stops and starts the local PostgreSQL and MariaDB servers for the fault tests, and cuts single
 * connections. Only the fault suite uses this (vitest.fault.config.ts runs it after the main suite,
 * one file at a time), because a stopped database breaks every test running at the same time.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { promisify } from 'node:util';
import { servicesRequired } from '../../support/services.js';

const run = promisify(execFile);

export type ServerDatabase = 'postgresql' | 'mariadb';

const MARIADBD = '/usr/sbin/mariadbd';

function postgresVersion(): string | undefined {
  try {
    return readdirSync('/etc/postgresql')[0];
  } catch {
    return undefined;
  }
}

/** Why this machine cannot stop `db`, or undefined when it can. */
export function cannotControl(db: ServerDatabase): string | undefined {
  if (process.getuid?.() !== 0) return 'the tests do not run as root';
  if (db === 'postgresql') {
    if (!existsSync('/usr/bin/pg_ctlcluster')) return 'pg_ctlcluster is missing';
    if (!postgresVersion()) return 'no cluster under /etc/postgresql';
    if (!existsSync('/usr/bin/pg_isready')) return 'pg_isready is missing';
  } else {
    if (!existsSync(MARIADBD)) return `${MARIADBD} is missing`;
    if (!existsSync('/sbin/start-stop-daemon') && !existsSync('/usr/sbin/start-stop-daemon')) return 'start-stop-daemon is missing';
  }
  return undefined;
}

/**
 * Announces loudly that the database-stopping tests cannot run here; under CI that is a failure
 * (the caller turns the returned message into a failing test).
 */
export function announceUncontrollable(db: ServerDatabase, reason: string): string {
  const message = `oncely fault tests: cannot stop and start ${db} on this machine (${reason}); THE DATABASE-STOP TESTS FOR ${db.toUpperCase()} DO NOT RUN.`;
  const line = '!'.repeat(100);
  console.warn(`\n${line}\n${message}${servicesRequired ? ' CI requires them.' : ''}\n${line}\n`);
  return message;
}

async function ready(db: ServerDatabase): Promise<boolean> {
  try {
    if (db === 'postgresql') await run('pg_isready', ['-h', '127.0.0.1', '-p', '5432'], { timeout: 5000 });
    else await run('mariadb-admin', ['-h127.0.0.1', '-uroot', 'ping'], { timeout: 5000 });
    return true;
  } catch {
    return false;
  }
}

async function waitFor(db: ServerDatabase, up: boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if ((await ready(db)) === up) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`${db} did not ${up ? 'come up' : 'go down'} within ${timeoutMs} ms`);
}

export async function stopDatabase(db: ServerDatabase): Promise<void> {
  if (db === 'postgresql') {
    await run('pg_ctlcluster', ['--skip-systemctl-redirect', postgresVersion()!, 'main', 'stop'], { timeout: 60_000 });
  } else {
    await run('start-stop-daemon', ['--stop', '--exec', MARIADBD, '--retry', '10'], { timeout: 60_000 });
  }
  await waitFor(db, false);
}

/** Starts the database (no-op when it runs) and waits until it accepts connections. */
export async function startDatabase(db: ServerDatabase): Promise<void> {
  if (await ready(db)) return;
  if (db === 'postgresql') {
    await run('pg_ctlcluster', ['--skip-systemctl-redirect', postgresVersion()!, 'main', 'start'], { timeout: 60_000 }).catch(() => undefined);
  } else {
    await run('start-stop-daemon', ['--start', '--oknodo', '--background', '--exec', MARIADBD], { timeout: 60_000 }).catch(() => undefined);
  }
  await waitFor(db, true);
}
