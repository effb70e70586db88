/**
 * Child-process servers (test/fault/support/server.ts) and the helpers the fault tests share:
 * tables of their own per test file, requests over real HTTP, reading records and business rows.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { applyMigration } from '../../../src/prisma/index.js';
import type { PrismaLike, TestDatabase } from '../../support/databases.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const serverScript = fileURLToPath(new URL('./server.ts', import.meta.url));

const bundles = new Map<string, Promise<string>>();

/**
 * A server script bundled once per test file (packages stay external, so they resolve from the
 * repository's node_modules): a bundled child starts in about a second, tsx would take three.
 */
function serverBundle(script: string): Promise<string> {
  let bundled = bundles.get(script);
  if (!bundled) {
    bundled = (async () => {
      const { build } = await import('esbuild');
      const name = script.split('/').pop()!.replace(/\.ts$/, '');
      const outfile = `${root}test-artifacts/fault/${name}-${process.pid}.mjs`;
      await build({ entryPoints: [script], bundle: true, platform: 'node', format: 'esm', packages: 'external', outfile, logLevel: 'warning' });
      process.once('exit', () => rmSync(outfile, { force: true }));
      return outfile;
    })();
    bundles.set(script, bundled);
  }
  return bundled;
}

export interface ServerEnv {
  DATABASE_URL: string;
  ONCELY_TABLE: string;
  BIZ_TABLE: string;
  ADAPTER?: 'yoga' | 'trpc' | 'both';
  TRPC_TRANSACTIONAL?: '1' | '0';
  TRANSACTIONAL?: '1' | '0';
  LEASE_MS?: string;
  RETENTION_MS?: string;
  HOOK?: 'after-claim' | 'during' | 'after-write';
  HOOK_KEY?: string;
  HOOK_MS?: string;
  ACQUIRE_TIMEOUT_MS?: string;
}

export interface ChildServer {
  proc: ChildProcess;
  port: number;
  url: string;
  /** Every stdout/stderr line so far. */
  lines: string[];
  /** Resolves with the first line (past or future) matching `pattern`; rejects after `timeoutMs`. */
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** SIGKILL: no cleanup, no rollback by the process itself, sockets closed by the kernel. */
  kill(): Promise<void>;
  exited: Promise<void>;
}

const running = new Set<ChildServer>();

/** Starts a server process (test/fault/support/server.ts) and waits until it listens (bounded). */
export function startServer(env: ServerEnv, timeoutMs = 30_000): Promise<ChildServer> {
  return startScript(serverScript, { ...env }, timeoutMs);
}

/** Starts a process of `script` (bundled), which prints `LISTENING <port>`, and waits until it listens. */
export async function startScript(script: string, env: Record<string, string | undefined>, timeoutMs = 30_000): Promise<ChildServer> {
  const proc = spawn(process.execPath, [await serverBundle(script)], {
    cwd: root,
    env: { ...process.env, ...env, NODE_ENV: 'production' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const waiters: { pattern: RegExp; resolve: (line: string) => void }[] = [];
  const onData = (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n').filter(Boolean)) {
      lines.push(line);
      if (process.env.ONCELY_FAULT_VERBOSE) console.log(`[server ${proc.pid}] ${line}`);
      for (const waiter of [...waiters]) {
        if (waiter.pattern.test(line)) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve(line);
        }
      }
    }
  };
  proc.stdout?.on('data', onData);
  proc.stderr?.on('data', onData);
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const waitForLine = (pattern: RegExp, ms = 15_000) =>
    new Promise<string>((resolve, reject) => {
      const seen = lines.find((line) => pattern.test(line));
      if (seen) return resolve(seen);
      const timer = setTimeout(() => {
        waiters.splice(waiters.indexOf(waiter), 1);
        reject(new Error(`server ${proc.pid}: no line matching ${pattern} within ${ms} ms. Output:\n${lines.join('\n')}`));
      }, ms);
      const waiter = {
        pattern,
        resolve: (line: string) => {
          clearTimeout(timer);
          resolve(line);
        },
      };
      waiters.push(waiter);
    });
  const server: ChildServer = {
    proc,
    port: 0,
    url: '',
    lines,
    waitForLine,
    exited,
    kill: async () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      await exited;
      running.delete(server);
    },
  };
  running.add(server);
  const listening = await Promise.race([
    waitForLine(/^LISTENING \d+/, timeoutMs),
    exited.then(() => {
      throw new Error(`server exited before listening:\n${lines.join('\n')}`);
    }),
  ]);
  server.port = Number(listening.split(' ')[1]);
  server.url = `http://127.0.0.1:${server.port}`;
  return server;
}

/** Kills every server still running (afterAll). */
export async function killAllServers(): Promise<void> {
  await Promise.all([...running].map((server) => server.kill()));
}

/** Fresh tables for one test file: the idempotency table and a business table. */
export async function freshTables(db: TestDatabase, client: PrismaLike) {
  const suffix = randomUUID().replaceAll('-', '').slice(0, 10);
  const table = `oncely_f_${suffix}`;
  const biz = `fault_biz_${suffix}`;
  await applyMigration(client, db.provider, { table, dropExisting: true });
  await client.$executeRawUnsafe(`DROP TABLE IF EXISTS ${biz}`);
  await client.$executeRawUnsafe(
    `CREATE TABLE ${biz} (id VARCHAR(64) NOT NULL PRIMARY KEY, tenant VARCHAR(191) NOT NULL, op_key VARCHAR(255) NOT NULL, order_id VARCHAR(191) NOT NULL, amount INTEGER NOT NULL, state VARCHAR(16) NOT NULL, fence INTEGER NOT NULL)`,
  );
  // Clean-up only. SQLite answers SQLITE_LOCKED while a statement of this connection is still
  // being finalized (seen right after a soak): try again briefly instead of failing the test.
  const dropOne = async (name: string) => {
    for (let attempt = 1; ; attempt++) {
      try {
        await client.$executeRawUnsafe(`DROP TABLE IF EXISTS ${name}`);
        return;
      } catch (error) {
        if (attempt >= 10 || !/SQLITE_(LOCKED|BUSY)/.test(String((error as Error)?.message))) throw error;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  };
  const drop = async () => {
    await dropOne(biz);
    await dropOne(table);
  };
  return { table, biz, drop };
}

export interface BizRow {
  id: string;
  tenant: string;
  op_key: string;
  order_id: string;
  amount: number;
  state: string;
  fence: number;
}

const ph = (db: TestDatabase, n: number) => (db.provider === 'postgresql' ? `$${n}` : '?');
const quoteKey = (db: TestDatabase) => (db.provider === 'mysql' ? '`key`' : '"key"');

export async function bizRows(db: TestDatabase, client: PrismaLike, biz: string, key?: string): Promise<BizRow[]> {
  const rows =
    key === undefined
      ? await client.$queryRawUnsafe<BizRow[]>(`SELECT * FROM ${biz}`)
      : await client.$queryRawUnsafe<BizRow[]>(`SELECT * FROM ${biz} WHERE op_key = ${ph(db, 1)}`, key);
  return rows.map((row) => ({ ...row, amount: Number(row.amount), fence: Number(row.fence) }));
}

export interface RawRecord {
  tenant: string;
  operation: string;
  key: string;
  status: string;
  token: string;
  fence: number;
  lease_expires_at: number | null;
  expires_at: number;
  response: string | null;
}

/** The idempotency records of a key, read with plain SQL. */
export async function recordsOf(db: TestDatabase, client: PrismaLike, table: string, key: string): Promise<RawRecord[]> {
  const rows = await client.$queryRawUnsafe<RawRecord[]>(`SELECT * FROM ${table} WHERE ${quoteKey(db)} = ${ph(db, 1)}`, key);
  return rows.map((row) => ({
    ...row,
    fence: Number(row.fence),
    lease_expires_at: row.lease_expires_at === null ? null : Number(row.lease_expires_at),
    expires_at: Number(row.expires_at),
  }));
}

export async function countRows(client: PrismaLike, table: string): Promise<number> {
  const rows = await client.$queryRawUnsafe<{ n: number | bigint }[]>(`SELECT COUNT(*) AS n FROM ${table}`);
  return Number(rows[0]?.n ?? 0);
}

export interface HttpAnswer {
  status: number;
  headers: Headers;
  text: string;
  json: any;
}

async function answer(response: Response): Promise<HttpAnswer> {
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json };
}

export const PAY_MUTATION = 'mutation Pay($orderId: String!, $amount: Int!) { pay(orderId: $orderId, amount: $amount) { id orderId amount fence pid chargeKey } }';

/** One GraphQL `pay` with an Idempotency-Key header. */
export async function payYoga(
  baseUrl: string,
  key: string,
  args: { orderId: string; amount: number },
  options: { tenant?: string; signal?: AbortSignal; timeoutMs?: number } = {},
): Promise<HttpAnswer> {
  const response = await fetch(`${baseUrl}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'idempotency-key': key, 'x-tenant': options.tenant ?? 'acme' },
    body: JSON.stringify({ query: PAY_MUTATION, variables: args }),
    signal: options.signal ?? AbortSignal.timeout(options.timeoutMs ?? 20_000),
  });
  return answer(response);
}

/** One tRPC `pay` with an Idempotency-Key header. */
export async function payTrpc(
  baseUrl: string,
  key: string,
  args: { orderId: string; amount: number },
  options: { tenant?: string; signal?: AbortSignal; timeoutMs?: number } = {},
): Promise<HttpAnswer> {
  const response = await fetch(`${baseUrl}/trpc/pay`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'idempotency-key': key, 'x-tenant': options.tenant ?? 'acme' },
    body: JSON.stringify(args),
    signal: options.signal ?? AbortSignal.timeout(options.timeoutMs ?? 20_000),
  });
  return answer(response);
}

/** The error code of a GraphQL or tRPC error answer. */
export function errorCode(a: HttpAnswer): string | undefined {
  return a.json?.errors?.[0]?.extensions?.code ?? a.json?.error?.data?.code ?? a.json?.error?.json?.data?.code;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Retries `fn` until it returns a truthy value or `timeoutMs` passes (bounded polling). */
export async function until<T>(fn: () => Promise<T | undefined | null | false>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await fn();
      if (value) return value;
    } catch (error) {
      last = error;
    }
    await sleep(100);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}
