/**
 * Limits and secrecy at HTTP level, through the adapters' engine options: maxResponseBytes, a codec
 * that encrypts stored responses at rest, retention (expired records never replay; the purge keeps
 * the table bounded), and tenants (same key, two tenants: two runs; a mismatch never reveals the
 * stored response).
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { Idempotency } from '../../src/core/engine.js';
import { freshStore, testDatabases } from '../support/databases.js';
import { type Apps, codeOf, rawRequest, startApps } from './support.js';

const db = testDatabases()[0]!; // SQLite: these tests are about the adapters' options, not the store
const JSON_HEADER: [string, string] = ['Content-Type', 'application/json'];
const yogaBody = (variables: Record<string, unknown> = {}) =>
  JSON.stringify({ query: 'mutation Pay($n: String, $b: Int) { pay(amount: 1, note: $n, big: $b) { run secret big } }', variables });

let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.reverse()) await fn();
  cleanup = [];
});

async function setup(engine: Record<string, unknown> = {}) {
  const s = await freshStore(db);
  const apps = await startApps(s.store, { engine });
  cleanup.push(async () => {
    await apps.close();
    await s.client.$executeRawUnsafe(`DROP TABLE IF EXISTS ${s.table}`);
    await s.client.$disconnect();
  });
  const rows = () => s.client.$queryRawUnsafe<{ response: string | null; expires_at: bigint | number }[]>(`SELECT response, expires_at FROM ${s.table}`);
  return { ...s, apps, rows };
}

const send = (apps: Apps, app: 'yoga' | 'trpc', key: string, variables: Record<string, unknown> = {}, tenant = 'acme') =>
  rawRequest(app === 'yoga' ? apps.yoga : apps.trpc, [JSON_HEADER, ['Idempotency-Key', key], ['X-Tenant', tenant]], app === 'yoga' ? yogaBody(variables) : JSON.stringify(variables));

describe('limits and secrecy over HTTP', () => {
  it('maxResponseBytes: an oversized result runs once; retries get IDEMPOTENCY_RESPONSE_NOT_STORABLE, never a second run', async () => {
    const { apps } = await setup({ maxResponseBytes: 2000 });
    for (const app of ['yoga', 'trpc'] as const) {
      const vars = app === 'yoga' ? { b: 5000 } : { big: 5000 };
      const first = await send(apps, app, `big-${app}`, vars);
      expect(first.status, first.body).toBe(200);
      const retry = await send(apps, app, `big-${app}`, vars);
      expect(retry.status).toBe(500);
      expect(codeOf(retry)).toBe(app === 'yoga' ? 'IDEMPOTENCY_RESPONSE_NOT_STORABLE' : 'INTERNAL_SERVER_ERROR');
      expect(apps.runs[app]).toBe(1);
      // A small result under the same limit is stored and replayed as usual.
      const small = await send(apps, app, `small-${app}`, {});
      expect((await send(apps, app, `small-${app}`, {})).json).toEqual(small.json);
      expect(apps.runs[app]).toBe(2);
    }
  });

  it('codec: stored responses are encrypted at rest and replayed decrypted', async () => {
    const secret = randomBytes(32);
    const codec = {
      encode: (text: string) => {
        const iv = randomBytes(12);
        const cipher = createCipheriv('aes-256-gcm', secret, iv);
        const body = Buffer.concat([cipher.update(text, 'utf8'), cipher.final()]);
        return Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64');
      },
      decode: (text: string) => {
        const raw = Buffer.from(text, 'base64');
        const decipher = createDecipheriv('aes-256-gcm', secret, raw.subarray(0, 12));
        decipher.setAuthTag(raw.subarray(12, 28));
        return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
      },
    };
    const { apps, rows } = await setup({ codec });
    for (const app of ['yoga', 'trpc'] as const) {
      const first = await send(apps, app, `enc-${app}`);
      const replay = await send(apps, app, `enc-${app}`);
      expect(replay.json).toEqual(first.json);
      expect(first.body).toContain('card-4242-1');
    }
    const stored = await rows();
    expect(stored).toHaveLength(2);
    for (const row of stored) expect(row.response).not.toContain('card-4242');
  });

  it('retention: an expired record never replays (the key runs again), and the purge empties the table', async () => {
    const s = await freshStore(db);
    const apps = await startApps(s.store, { engine: { retention: 300, lease: 200 } });
    // The purge job: any engine on the same store (e.g. the `oncely purge` CLI or a sweeper).
    const engine = new Idempotency({ store: s.store });
    cleanup.push(async () => {
      await apps.close();
      await s.client.$executeRawUnsafe(`DROP TABLE IF EXISTS ${s.table}`);
      await s.client.$disconnect();
    });
    for (let i = 0; i < 40; i++) await send(apps, i % 2 ? 'yoga' : 'trpc', `ret-${i}`);
    const first = await send(apps, 'yoga', 'ret-0-y');
    expect((await send(apps, 'yoga', 'ret-0-y')).json).toEqual(first.json);
    await new Promise((resolve) => setTimeout(resolve, 400));
    const after = await send(apps, 'yoga', 'ret-0-y');
    expect(after.status).toBe(200);
    expect(after.json.data.pay.run).not.toBe(first.json.data.pay.run); // ran again: no stale replay
    await new Promise((resolve) => setTimeout(resolve, 400));
    const count = async () => Number((await s.client.$queryRawUnsafe<{ n: bigint | number }[]>(`SELECT COUNT(*) AS n FROM ${s.table}`))[0]!.n);
    expect(await count()).toBe(41);
    expect(await engine.purgeExpired({ batchSize: 7 })).toBe(41);
    expect(await count()).toBe(0);
  });

  it('tenants: the same key from two tenants runs twice; a mismatch answer never carries the stored response', async () => {
    const { apps } = await setup();
    for (const app of ['yoga', 'trpc'] as const) {
      const a = await send(apps, app, `shared-${app}`, {}, 'tenant-a');
      const b = await send(apps, app, `shared-${app}`, {}, 'tenant-b');
      expect(apps.runs[app]).toBe(2);
      expect(b.json).not.toEqual(a.json);
      expect((await send(apps, app, `shared-${app}`, {}, 'tenant-a')).json).toEqual(a.json);
      const other = app === 'yoga' ? { n: 'different' } : { note: 'different' };
      const mismatch = await send(apps, app, `shared-${app}`, other, 'tenant-a');
      expect(mismatch.status).toBe(422);
      expect(mismatch.body).not.toContain('card-4242');
      expect(apps.runs[app]).toBe(2);
    }
  });
});
