/**
 * package.json declares express ^4.17.0 || ^5.0.0; the main suite runs Express 5. Here oncely/express
 * (src/) runs on this folder's Express 4 (its own package.json and lockfile, installed by
 * scripts/compat-install.mjs) over real HTTP servers with PrismaStore on every test database
 * (SQLite always; PostgreSQL and MariaDB when up, always in CI), with express.json() before the
 * middleware and without any body parser; then runHttpConformance on SQLite.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { ErrorRequestHandler, Express, RequestHandler } from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { idempotency } from '../../../src/express/index.js';
import { DEFAULT_REPLAY_HEADERS } from '../../../src/http/index.js';
import { GLOBAL_TENANT, createIdempotency, type Idempotency } from '../../../src/index.js';
import { runHttpConformance } from '../../../src/testing/index.js';
import { type PrismaLike, freshStore, testDatabases } from '../../support/databases.js';
import { express, expressEntry, expressVersion, fixtureDir } from './express-4.js';
import { type Answer as Sent, answerHeaders, post as postTo } from '../../http/support/requests.js';
import { type Served, serve, serveTarget } from './target.js';

const post = (origin: string, path: string, key: string | null, body: unknown, contentType?: string): Promise<Sent> => postTo(origin, key, body, contentType, path);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('the Express under test', () => {
  it("is this folder's Express 4, as its lockfile pins it", () => {
    const lock = JSON.parse(readFileSync(`${fixtureDir}package-lock.json`, 'utf8')) as { packages: Record<string, { version: string }> };
    expect(expressVersion).toMatch(/^4\./);
    expect(expressVersion).toBe(lock.packages['node_modules/express']!.version);
    expect(expressEntry.startsWith(`${fixtureDir}node_modules/express/`)).toBe(true);
    // Express 4's own API, gone in 5: the module loaded is 4, whatever its package.json says.
    expect(typeof (express.application as unknown as { del?: unknown }).del).toBe('function');
    expect(typeof (express.request as unknown as { param?: unknown }).param).toBe('function');
  });
});

const allowlist = new Set(DEFAULT_REPLAY_HEADERS.map((name) => name.toLowerCase()));

/** What a replay of `first` carries: its allowlisted headers, Express's own X-Powered-By (on every answer), Idempotent-Replayed. */
function replayHeadersOf(first: Sent): Record<string, string> {
  const kept = Object.entries(answerHeaders(first.headers)).filter(([name]) => allowlist.has(name));
  return { ...Object.fromEntries(kept), 'x-powered-by': 'Express', 'idempotent-replayed': 'true' };
}

/** Handlers answering through each of Express 4's response methods, each counting its runs. */
function responsesApp(guard: RequestHandler, parseJson: boolean) {
  const runs: Record<string, number> = {};
  const run = (name: string) => (runs[name] = (runs[name] ?? 0) + 1);
  const app: Express = express();
  if (parseJson) app.use(express.json());
  app.post('/send', guard, (_req, res) => {
    const n = run('send');
    res.set('X-Run', String(n)).cookie('session', `secret-${n}`).status(200).send(`<p>order ${n}</p>`);
  });
  app.post('/json', guard, (req, res) => {
    res.status(201).json({ run: run('json'), received: req.body as unknown });
  });
  app.post('/write', guard, async (_req, res) => {
    const n = run('write');
    res.status(202).type('text/plain');
    res.write(`run ${n}:`);
    await sleep(20);
    res.write(' partial,');
    await sleep(20);
    res.end(' done');
  });
  app.post('/end', guard, (_req, res) => {
    const n = run('end');
    res.status(201).location(`/orders/${n}`).end();
  });
  app.post('/bytes', guard, (_req, res) => {
    // Not UTF-8: stored as base64, replayed as the same bytes.
    res.type('application/octet-stream').send(Buffer.from([0xff, 0x00, 0xfe, run('bytes')]));
  });
  // Parsers after the middleware: they find the body read (body-parser 1.x skips a request marked `_body`).
  app.post('/echo', guard, express.json(), express.text(), (req, res) => {
    const body: unknown = req.body;
    const kind = Buffer.isBuffer(body) ? `buffer:${body.toString('utf8')}` : typeof body === 'string' ? `string:${body}` : JSON.stringify(body);
    res.status(201).json({ kind, run: run('echo') });
  });
  app.post('/throw', guard, () => {
    run('throw');
    throw new Error('the handler failed on purpose');
  });
  app.use(((_error, _req, res, _next) => void res.status(500).json({ error: 'internal' })) as ErrorRequestHandler);
  return { app, runs: (name: string) => runs[name] ?? 0 };
}

for (const db of testDatabases()) {
  describe(`oncely/express on Express ${expressVersion}, PrismaStore on ${db.name}`, () => {
    let setup: Awaited<ReturnType<typeof freshStore>>;
    let engine: Idempotency;
    beforeAll(async () => {
      setup = await freshStore(db);
      engine = createIdempotency({ store: setup.store, retryAfterSeconds: 3 });
    });
    afterAll(async () => {
      await setup?.client.$disconnect();
    });

    for (const parseJson of [true, false]) {
      describe(parseJson ? 'express.json() before the middleware' : 'no body parser', () => {
        let target: Served;
        let responses: ReturnType<typeof responsesApp>;
        let responsesServer: Omit<Served, 'executions'>;
        beforeAll(async () => {
          target = await serveTarget({ engine, operation: `express4-orders-${parseJson}` }, parseJson);
          responses = responsesApp(idempotency({ engine, operation: `express4-responses-${parseJson}` }), parseJson);
          responsesServer = await serve(responses.app);
        });
        afterAll(async () => {
          await target?.close();
          await responsesServer?.close();
        });

        it('runs first, then replays the same bytes with Idempotent-Replayed: true and only the allowlisted headers', async () => {
          const before = target.executions();
          const key = randomUUID();
          const first = await post(target.origin, '/orders', key, { amount: 12, note: 'x' });
          expect(first.status).toBe(201);
          expect(first.json).toMatchObject({ amount: 12 });
          expect(first.headers['set-cookie']).toMatch(/^s=/);
          expect(first.headers['x-execution']).toBeDefined();
          expect(first.headers['idempotent-replayed']).toBeUndefined();
          const again = await post(target.origin, '/orders', key, { note: 'x', amount: 12 });
          expect(again.status).toBe(201);
          expect(again.bytes).toEqual(first.bytes);
          expect(again.headers['set-cookie']).toBeUndefined();
          expect(again.headers['x-execution']).toBeUndefined();
          expect(answerHeaders(again.headers)).toEqual(replayHeadersOf(first));
          expect(again.headers.location).toBe(first.headers.location);
          expect(again.headers.etag).toBe(first.headers.etag);
          expect(target.executions()).toBe(before + 1);
        });

        // Each route answers through another response method; `status` is its first answer's.
        const routes = [
          { path: '/send', status: 200, what: 'res.send' },
          { path: '/json', status: 201, what: 'res.json' },
          { path: '/write', status: 202, what: 'res.write + res.end' },
          { path: '/end', status: 201, what: 'res.status(201).end()' },
          { path: '/bytes', status: 200, what: 'res.send(Buffer), not UTF-8' },
        ] as const;
        for (const route of routes) {
          it(`${route.what}: stored as written, replayed byte for byte`, async () => {
            const key = randomUUID();
            const body = { item: 'bagel', quantity: 2 };
            const first = await post(responsesServer.origin, route.path, key, body);
            const again = await post(responsesServer.origin, route.path, key, body);
            expect(first.status).toBe(route.status);
            expect(first.headers['idempotent-replayed']).toBeUndefined();
            expect(again.status).toBe(route.status);
            expect(again.bytes).toEqual(first.bytes);
            expect(answerHeaders(again.headers)).toEqual(replayHeadersOf(first));
            expect(responses.runs(route.path.slice(1))).toBe(1);
          });
        }

        it('res.send: the Content-Type with its charset and the ETag Express made are replayed; X-Run and the cookie are not', async () => {
          const key = randomUUID();
          const first = await post(responsesServer.origin, '/send', key, {});
          const again = await post(responsesServer.origin, '/send', key, {});
          expect(again.text).toBe(first.text);
          expect(first.headers['content-type']).toBe('text/html; charset=utf-8');
          expect(again.headers['content-type']).toBe('text/html; charset=utf-8');
          expect(first.headers.etag).toMatch(/^W\//);
          expect(again.headers.etag).toBe(first.headers.etag);
          expect(first.headers['x-run']).toBeDefined();
          expect(first.headers['set-cookie']).toMatch(/^session=secret-/);
          expect(again.headers['x-run']).toBeUndefined();
          expect(again.headers['set-cookie']).toBeUndefined();
        });

        it('the handler finds the JSON body in req.body (parsed by express.json() or by the middleware)', async () => {
          const answer = await post(responsesServer.origin, '/json', randomUUID(), { item: 'tea', quantity: 3 });
          expect(answer.json.received).toEqual({ item: 'tea', quantity: 3 });
        });

        it('req.body for the handler: parsed JSON, or the bytes of another type as a Buffer; parsers after the middleware leave it', async () => {
          const json = await post(responsesServer.origin, '/echo', randomUUID(), { a: 1, b: [1, 2] });
          expect(json.json.kind).toBe('{"a":1,"b":[1,2]}');
          const text = await post(responsesServer.origin, '/echo', randomUUID(), 'a b', 'text/plain');
          expect(text.json.kind).toBe('buffer:a b');
        });

        it('422 for the key with another JSON body, other text bytes, or another path; nothing runs', async () => {
          const before = target.executions();
          const key = randomUUID();
          expect((await post(target.origin, '/orders', key, { amount: 1 })).status).toBe(201);
          const other = await post(target.origin, '/orders', key, { amount: 2 });
          expect(other.status).toBe(422);
          expect(other.headers['content-type']).toBe('application/problem+json');
          expect(other.json).toMatchObject({ status: 422, code: 'IDEMPOTENCY_KEY_REUSED' });
          expect((await post(target.origin, '/orders?again=1', key, { amount: 1 })).status).toBe(422);
          // Not JSON: express.json() skips it (Express 4's body-parser leaves `{}` in req.body), so it goes by its bytes.
          const text = randomUUID();
          expect((await post(target.origin, '/orders', text, 'plain text', 'text/plain')).status).toBe(201);
          expect((await post(target.origin, '/orders', text, 'plain text', 'text/plain')).headers['idempotent-replayed']).toBe('true');
          expect((await post(target.origin, '/orders', text, 'plain  text', 'text/plain')).status).toBe(422);
          expect(target.executions()).toBe(before + 2);
        });

        it('409 with Retry-After for a duplicate while the first runs; the retry after it gets the first answer', async () => {
          const key = randomUUID();
          const first = post(target.origin, '/orders', key, { amount: 1, delayMs: 400 });
          await sleep(150);
          const duplicate = await post(target.origin, '/orders', key, { amount: 1, delayMs: 400 });
          expect(duplicate.status).toBe(409);
          expect(duplicate.headers['retry-after']).toBe('3');
          expect(duplicate.json.code).toBe('IDEMPOTENCY_KEY_IN_USE');
          const original = await first;
          expect(original.status).toBe(201);
          const retry = await post(target.origin, '/orders', key, { amount: 1, delayMs: 400 });
          expect(retry.bytes).toEqual(original.bytes);
          expect(retry.headers['idempotent-replayed']).toBe('true');
        });

        it('30 same-key requests at once: one execution; the rest 409 or the same answer replayed', async () => {
          const before = target.executions();
          const key = randomUUID();
          const answers = await Promise.all(Array.from({ length: 30 }, () => post(target.origin, '/orders', key, { amount: 30, delayMs: 50 })));
          expect(target.executions()).toBe(before + 1);
          const fresh = answers.filter((a) => a.status === 201 && a.headers['idempotent-replayed'] === undefined);
          expect(fresh).toHaveLength(1);
          for (const a of answers) {
            expect([201, 409]).toContain(a.status);
            if (a.status === 201) expect(a.bytes).toEqual(fresh[0]!.bytes);
          }
        });

        it('a 500 is not stored: the retry runs again (an answered 500, and an error thrown in the handler)', async () => {
          const before = target.executions();
          const key = randomUUID();
          expect((await post(target.origin, '/orders', key, { amount: 1, status: 500 })).status).toBe(500);
          const retry = await post(target.origin, '/orders', key, { amount: 1, status: 500 });
          expect(retry.status).toBe(500);
          expect(retry.headers['idempotent-replayed']).toBeUndefined();
          expect(target.executions()).toBe(before + 2);
          // The key is free: the next try may succeed, and that answer is the one kept.
          const ok = await post(target.origin, '/orders', key, { amount: 1 });
          expect(ok.status).toBe(201);
          expect((await post(target.origin, '/orders', key, { amount: 1 })).bytes).toEqual(ok.bytes);
          expect(target.executions()).toBe(before + 3);

          const thrown = randomUUID();
          expect((await post(responsesServer.origin, '/throw', thrown, {})).status).toBe(500);
          expect((await post(responsesServer.origin, '/throw', thrown, {})).status).toBe(500);
          expect(responses.runs('throw')).toBe(2);
        });
      });
    }
  });
}

// runHttpConformance against the conformance target on Express 4, PrismaStore on SQLite; keys
// scoped per client by the X-Client header, so the per-client test runs too.
const sqlite = testDatabases().find((db) => db.name === 'sqlite');
if (!sqlite) throw new Error('SQLite is always available');
const CLIENTS = [{ 'x-client': 'alice' }, { 'x-client': 'bob' }] as const;
for (const parseJson of [true, false]) {
  for (const inProgress of ['reject', 'wait'] as const) {
    const name = `oncely/express on Express ${expressVersion}${parseJson ? ' after express.json()' : ''}, PrismaStore on sqlite`;
    describe(name, () => {
      let served: Served | undefined;
      let client: PrismaLike | undefined;
      beforeAll(async () => {
        const fresh = await freshStore(sqlite);
        client = fresh.client;
        served = await serveTarget({ store: fresh.store, inProgress, tenant: (req) => req.get('x-client') ?? GLOBAL_TENANT }, parseJson);
      });
      afterAll(async () => {
        await served?.close();
        await client?.$disconnect();
      });
      runHttpConformance({ name, url: () => `${served?.origin}/orders`, inProgress, clients: CLIENTS, problemCodes: true, describe, it });
    });
  }
}
