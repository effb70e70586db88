// The Hono example on Bun (examples/hono-bun): the shop runs as a real Bun process (Bun.serve,
// PrismaStore on a SQLite file), the fake provider as another, so its counts outlive the shop.
// Retries one after another, all at once and across a SIGKILL of the shop charge the provider
// once per Idempotency-Key and get the first answer back with `Idempotent-Replayed: true`. The
// provider never deduplicates: it counts, and an unguarded control route shows the count moving.
//
// Bun is the npm package's binary (node_modules/.bin/bun, what `npx bun` runs), spawned directly so
// that SIGKILL reaches Bun itself rather than an npx wrapper. If Bun cannot start, every test fails.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Client, createClient } from '@libsql/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProviderCounts } from '../../examples/hono-bun/provider.ts';
import { type Answer, answer, assertReplayedAnswers } from '../support/checkout-answers.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const bunBinary = join(root, 'node_modules', '.bin', 'bun');
const exampleDir = join(root, 'examples', 'hono-bun');
const databaseFile = join(tmpdir(), `oncely-hono-bun-${process.pid}-${randomUUID()}.db`);
/** Short, so that a key held by a killed shop is taken over within the test (heartbeat: lease / 3). */
const LEASE = '2s';

interface BunProcess {
  child: ChildProcess;
  url: string;
  output: () => string;
}

const children: ChildProcess[] = [];
let provider: BunProcess;
let shop: BunProcess;
let shopPort: number;
let db: Client;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Starts `script` under Bun and waits until `readyPath` answers 200; fails loudly with Bun's output otherwise. */
async function startBun(script: string, env: Record<string, string>, port: number, readyPath: string): Promise<BunProcess> {
  if (!existsSync(bunBinary)) throw new Error(`BUN CANNOT START: ${bunBinary} is missing (bun is a devDependency: npm install)`);
  let output = '';
  const child = spawn(bunBinary, [join(exampleDir, script)], { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  let exited: string | undefined;
  let spawnError: Error | undefined;
  child.once('exit', (code, signal) => (exited = `exit code ${code}, signal ${signal}`));
  child.once('error', (error) => (spawnError = error));
  const url = `http://127.0.0.1:${port}`;
  const until = Date.now() + 20_000;
  for (;;) {
    if (spawnError) throw new Error(`BUN CANNOT START (${script}): ${spawnError.message}`);
    if (exited) throw new Error(`BUN CANNOT START (${script}): Bun ended before answering (${exited}). Its output:\n${output}`);
    try {
      const response = await fetch(new URL(readyPath, url));
      if (response.status === 200) return { child, url, output: () => output };
    } catch {
      // Not listening yet.
    }
    if (Date.now() > until) throw new Error(`BUN CANNOT START (${script}): no answer on ${url}${readyPath} after 20 s. Its output:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function startShop(): Promise<BunProcess> {
  const env = { PORT: String(shopPort), DATABASE_URL: `file:${databaseFile}`, PROVIDER_URL: provider.url, LEASE };
  return startBun('server.ts', env, shopPort, '/provider/charges');
}

async function killHard(process: BunProcess): Promise<void> {
  if (process.child.exitCode !== null || process.child.signalCode !== null) return;
  const exited = new Promise((resolve) => process.child.once('exit', resolve));
  process.child.kill('SIGKILL');
  await exited;
}

beforeAll(async () => {
  const providerPort = await freePort();
  provider = await startBun('provider-server.ts', { PROVIDER_PORT: String(providerPort) }, providerPort, '/charges');
  shopPort = await freePort();
  shop = await startShop();
  db = createClient({ url: `file:${databaseFile}` });
});

afterAll(async () => {
  // Even when a test failed: no Bun process outlives the file.
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  db?.close();
  for (const suffix of ['', '-wal', '-shm', '-journal']) rmSync(databaseFile + suffix, { force: true });
});

function checkout(key: string, body: { order: string; amount: number }, options: { path?: string; headers?: Record<string, string> } = {}): Promise<Response> {
  return fetch(new URL(options.path ?? '/checkout', shop.url), {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'Idempotency-Key': key, ...options.headers },
    body: JSON.stringify(body),
  });
}

/** The provider's counts, as the shop's GET route shows them. */
async function counts(): Promise<ProviderCounts> {
  const response = await fetch(new URL('/provider/charges', shop.url));
  if (response.status !== 200) throw new Error(`GET /provider/charges answered ${response.status}`);
  return (await response.json()) as ProviderCounts;
}

/** The provider's counts, asked directly (works while the shop is down). */
async function countsAtProvider(): Promise<ProviderCounts> {
  return (await (await fetch(new URL('/charges', provider.url))).json()) as ProviderCounts;
}

function providerKeyOf(a: Answer): string {
  const key = (JSON.parse(a.body) as { providerKey?: unknown }).providerKey;
  if (typeof key !== 'string') throw new Error(`no providerKey in ${a.body}`);
  return key;
}

/** Throws unless the provider received exactly one charge request per order and per provider key. */
function assertOneCharge(c: ProviderCounts, orders: { order: string; providerKey: string }[]): void {
  for (const { order, providerKey } of orders) {
    const byOrder = c.byOrder[order] ?? 0;
    const byKey = c.byKey[providerKey] ?? 0;
    if (byOrder !== 1 || byKey !== 1) throw new Error(`${order}: the provider received ${byOrder} charge requests for the order, ${byKey} under its provider key; expected exactly 1`);
  }
}

/** The shared check, and the example's own: its answers are JSON. */
function assertSameAnswerReplayed(answers: Answer[]): Answer {
  const original = assertReplayedAnswers(answers);
  expect(original.contentType).toMatch(/^application\/json/);
  return original;
}

interface RecordRow {
  status: string;
  fence: number;
  steps: string | null;
}

/** oncely's record of a key, read from the SQLite file (only while the shop is down or idle). */
async function recordOf(key: string): Promise<RecordRow | undefined> {
  const result = await db.execute({ sql: 'SELECT status, fence, steps FROM oncely_idempotency WHERE operation = ? AND "key" = ?', args: ['checkout', key] });
  const row = result.rows[0];
  return row ? { status: String(row.status), fence: Number(row.fence), steps: row.steps === null ? null : String(row.steps) } : undefined;
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** What a client does after losing its connection: retry with the same key until the shop answers (not 409). */
async function retryUntilAnswered(key: string, body: { order: string; amount: number }): Promise<Answer> {
  return until(
    `an answer for ${key}`,
    async () => {
      const a = await answer(await checkout(key, body));
      return a.status === 409 ? undefined : a;
    },
    20_000,
  );
}

/**
 * Kills the shop (SIGKILL) once `ready` holds for the order's first request, restarts it on the
 * same database and port, retries the key until answered. Returns the first request's fate and the answers.
 */
async function killMidRequestAndRetry(key: string, body: { order: string; amount: number }, hooks: Record<string, string>, ready: () => Promise<boolean | undefined>) {
  const first = checkout(key, body, { headers: hooks }).then(
    (r) => `answered ${r.status}`,
    (error: Error) => `failed: ${error.message}`,
  );
  await until(`the first request of ${key} in flight`, async () => ((await ready()) ? true : undefined));
  const killed = shop;
  await killHard(killed);
  expect(await first, 'the client lost its connection').toMatch(/^failed/);
  const heldByTheDead = await recordOf(key);
  shop = await startShop();
  const retried = await retryUntilAnswered(key, body);
  const replay = await answer(await checkout(key, body));
  return { heldByTheDead, retried, replay, after: await recordOf(key) };
}

describe('Hono example on Bun (Bun.serve, PrismaStore on SQLite)', () => {
  it('runs on Bun', () => {
    expect(shop.output()).toMatch(/shop listening on http:\/\/127\.0\.0\.1:\d+ \(Bun 1\.\d+\.\d+/);
  });

  it('5 sequential retries of one key: one charge, the same answer replayed every time', async () => {
    const key = `seq-${randomUUID()}`;
    const body = { order: `order-${randomUUID()}`, amount: 1250 };
    const answers: Answer[] = [];
    for (let i = 0; i < 5; i++) answers.push(await answer(await checkout(key, body)));
    expect(answers[0]!.replayed).toBeNull();
    const original = assertSameAnswerReplayed(answers);
    assertOneCharge(await counts(), [{ order: body.order, providerKey: providerKeyOf(original) }]);
  });

  it('20 concurrent retries of one key while the first runs: one charge, all get its answer', async () => {
    const key = `conc-${randomUUID()}`;
    const body = { order: `order-${randomUUID()}`, amount: 990 };
    const responses = await Promise.all(Array.from({ length: 20 }, () => checkout(key, body, { headers: { 'X-Provider-Delay-Ms': '300' } })));
    const original = assertSameAnswerReplayed(await Promise.all(responses.map(answer)));
    assertOneCharge(await counts(), [{ order: body.order, providerKey: providerKeyOf(original) }]);
  });

  it('8 keys x 6 concurrent retries: one charge per key, a distinct provider key per key', async () => {
    const orders = Array.from({ length: 8 }, (_, i) => ({ key: `many-${i}-${randomUUID()}`, body: { order: `order-${i}-${randomUUID()}`, amount: 100 + i } }));
    const perKey = await Promise.all(
      orders.map(async ({ key, body }) => Promise.all((await Promise.all(Array.from({ length: 6 }, () => checkout(key, body, { headers: { 'X-Provider-Delay-Ms': '50' } })))).map(answer))),
    );
    const originals = perKey.map(assertSameAnswerReplayed);
    const providerKeys = originals.map(providerKeyOf);
    expect(new Set(providerKeys).size, 'one provider key per Idempotency-Key').toBe(orders.length);
    assertOneCharge(await counts(), orders.map(({ body }, i) => ({ order: body.order, providerKey: providerKeys[i]! })));
  });

  it('the same key with another body: 422 problem details, no second charge', async () => {
    const key = `reuse-${randomUUID()}`;
    const body = { order: `order-${randomUUID()}`, amount: 500 };
    const first = await answer(await checkout(key, body));
    expect(first.status).toBe(201);
    const reused = await checkout(key, { ...body, amount: 501 });
    expect(reused.status).toBe(422);
    expect(reused.headers.get('Content-Type')).toMatch(/^application\/problem\+json/);
    expect(reused.headers.get('Idempotent-Replayed')).toBeNull();
    expect(await reused.json()).toMatchObject({ status: 422, code: 'IDEMPOTENCY_KEY_REUSED' });
    assertOneCharge(await counts(), [{ order: body.order, providerKey: providerKeyOf(first) }]);
  });

  it('SIGKILL while the charge is in flight: after the restart the retry takes the key over and re-sends the charge under the same provider key', async () => {
    const key = `kill-in-flight-${randomUUID()}`;
    const body = { order: `order-${randomUUID()}`, amount: 4200 };
    // The provider counts the charge, then holds its answer back: the shop dies waiting for it.
    const run = await killMidRequestAndRetry(key, body, { 'X-Provider-Delay-Ms': '5000' }, async () => (await countsAtProvider()).byOrder[body.order] === 1);
    // The dead shop held the key and had recorded no step: it cannot know whether the charge landed.
    expect(run.heldByTheDead).toMatchObject({ status: 'in_progress', fence: 1, steps: null });
    expect(run.retried.status).toBe(201);
    expect(run.retried.replayed, 'the retry ran the checkout (nothing had been stored)').toBeNull();
    expect(run.after).toMatchObject({ status: 'completed', fence: 2 });
    assertSameAnswerReplayed([run.retried, run.replay]);
    // At least once at the provider: the in-flight request and the takeover's, both under the one
    // provider key oncely derived for this Idempotency-Key. A provider honouring its own
    // Idempotency-Key (as payment providers do) charges once; ours counts both requests.
    const providerKey = providerKeyOf(run.retried);
    const c = await counts();
    expect(c.byKey[providerKey], 'both requests under one provider key').toBe(2);
    expect(c.byOrder[body.order]).toBe(2);
    expect(Object.keys(c.byKey).filter((k) => k === providerKey)).toHaveLength(1);
  });

  it('SIGKILL after the charge step was recorded: the takeover reuses the recorded charge, one charge request', async () => {
    const key = `kill-after-charge-${randomUUID()}`;
    const body = { order: `order-${randomUUID()}`, amount: 4300 };
    // The charge returns at once and is recorded; the shop then works on for 10 s and is killed meanwhile.
    const run = await killMidRequestAndRetry(key, body, { 'X-Work-After-Charge-Ms': '10000' }, async () => {
      // The shop logs once step() returned, i.e. once the step's record is written (the shop then
      // works on for 10 s). The file is read only once the shop is dead: a reader's lock could make
      // the live shop's writes fail with SQLITE_BUSY (rollback journal).
      return shop.output().includes(`order ${body.order}: charge `);
    });
    expect(run.heldByTheDead).toMatchObject({ status: 'in_progress', fence: 1 });
    expect(run.heldByTheDead?.steps, 'the charge step was recorded before the kill').not.toBeNull();
    expect(JSON.parse(run.heldByTheDead!.steps!)).toEqual([expect.objectContaining({ index: 0, name: 'charge', kind: 'external' })]);
    expect(run.retried.status).toBe(201);
    expect(run.retried.replayed).toBeNull();
    expect(run.after).toMatchObject({ status: 'completed', fence: 2 });
    assertSameAnswerReplayed([run.retried, run.replay]);
    assertOneCharge(await counts(), [{ order: body.order, providerKey: providerKeyOf(run.retried) }]);
  });

  it('control: the same checkout without oncely charges once per request, and the check above catches it', async () => {
    const key = `control-${randomUUID()}`;
    const body = { order: `order-${randomUUID()}`, amount: 100 };
    const responses = await Promise.all(Array.from({ length: 5 }, () => checkout(key, body, { path: '/unguarded/checkout', headers: { 'X-Provider-Delay-Ms': '50' } })));
    const answers = await Promise.all(responses.map(answer));
    expect(answers.map((a) => a.status)).toEqual([201, 201, 201, 201, 201]);
    expect(answers.every((a) => a.replayed === null)).toBe(true);
    expect(new Set(answers.map((a) => a.body)).size, 'five different answers').toBe(5);
    const c = await counts();
    expect(c.byOrder[body.order]).toBe(5);
    expect(() => assertOneCharge(c, [{ order: body.order, providerKey: providerKeyOf(answers[0]!) }])).toThrow(/received 5 charge requests/);
    expect(() => assertSameAnswerReplayed(answers)).toThrow();
  });
});
