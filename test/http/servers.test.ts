/**
 * oncely/http, oncely/hono and oncely/express over real HTTP servers, with PrismaStore on every
 * test database (SQLite always; PostgreSQL and MariaDB when up, always in CI): the wire behaviour
 * end to end, streamed bodies over sockets, and a race of 50 same-key requests.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HttpIdempotencyOptions } from '../../src/http/index.js';
import { createIdempotency, type Idempotency } from '../../src/index.js';
import { freshStore, testDatabases } from '../support/databases.js';
import { expressTarget } from './support/express-target.js';
import { honoTarget } from './support/hono-target.js';
import { type Served, serveExpress, serveFetchHandler, serveHono } from './support/servers.js';
import { answerHeaders, post } from './support/requests.js';
import { conformanceTarget } from './support/target.js';

type ServerKind = 'fetch on node:http' | 'hono on @hono/node-server' | 'express with express.json()' | 'express reading the body itself';
const kinds: ServerKind[] = ['fetch on node:http', 'hono on @hono/node-server', 'express with express.json()', 'express reading the body itself'];

interface Running {
  origin: string;
  executions(): number;
  close(): Promise<void>;
}

async function start(kind: ServerKind, options: HttpIdempotencyOptions<any>): Promise<Running> {
  let served: Served;
  let executions: () => number;
  if (kind === 'fetch on node:http') {
    const target = conformanceTarget(options);
    served = await serveFetchHandler(target.fetch);
    executions = target.executions;
  } else if (kind === 'hono on @hono/node-server') {
    const target = honoTarget(options);
    served = await serveHono(target.app);
    executions = target.executions;
  } else {
    const target = expressTarget(options, { parseJson: kind === 'express with express.json()' });
    served = await serveExpress(target.app);
    executions = target.executions;
  }
  return { origin: served.origin, executions, close: served.close };
}

for (const db of testDatabases()) {
  describe(`over HTTP, PrismaStore on ${db.name}`, () => {
    let setup: Awaited<ReturnType<typeof freshStore>>;
    let engine: Idempotency;
    let waitEngine: Idempotency;
    beforeAll(async () => {
      setup = await freshStore(db);
      engine = createIdempotency({ store: setup.store, retryAfterSeconds: 3 });
      waitEngine = createIdempotency({ store: setup.store, inProgress: 'wait', waitTimeout: '20s' });
    });
    afterAll(async () => {
      await setup?.client.$disconnect();
    });

    for (const kind of kinds) {
      describe(kind, () => {
        let server: Running;
        let waiting: Running;
        beforeAll(async () => {
          server = await start(kind, { engine, operation: `http-${kind}` });
          waiting = await start(kind, { engine: waitEngine, operation: `http-wait-${kind}` });
        });
        afterAll(async () => {
          await server?.close();
          await waiting?.close();
        });

        it('400 without a key or with a malformed one; "abc" and abc are one key; replay byte for byte, allowlisted headers only', async () => {
          const before = server.executions();
          const missing = await post(server.origin, null, { amount: 1 });
          expect(missing.status).toBe(400);
          expect(missing.headers['content-type']).toBe('application/problem+json');
          expect(missing.json.code).toBe('IDEMPOTENCY_KEY_MISSING');
          const malformed = await post(server.origin, '"abc', { amount: 1 });
          expect(malformed.status).toBe(400);
          expect(malformed.json.code).toBe('IDEMPOTENCY_KEY_INVALID');
          expect(server.executions()).toBe(before);

          const key = randomUUID();
          const first = await post(server.origin, `"${key}"`, { amount: 12, note: 'x' });
          expect(first.status).toBe(201);
          expect(first.headers['set-cookie']).toMatch(/^s=/);
          expect(first.headers['x-execution']).toBeDefined();
          expect(first.headers['idempotent-replayed']).toBeUndefined();
          const again = await post(server.origin, key, { note: 'x', amount: 12 });
          expect(again.status).toBe(201);
          expect(again.bytes).toEqual(first.bytes);
          expect(again.headers['idempotent-replayed']).toBe('true');
          expect(again.headers['set-cookie']).toBeUndefined();
          expect(again.headers['x-execution']).toBeUndefined();
          const { 'set-cookie': _s, 'x-execution': _x, ...kept } = answerHeaders(first.headers);
          expect(answerHeaders(again.headers)).toEqual({ ...kept, 'idempotent-replayed': 'true' });
          expect(server.executions()).toBe(before + 1);
        });

        it('422 for the key with another body or path', async () => {
          const key = randomUUID();
          await post(server.origin, key, { amount: 1 });
          const body = await post(server.origin, key, { amount: 2 });
          expect(body.status).toBe(422);
          expect(body.json).toMatchObject({ status: 422, code: 'IDEMPOTENCY_KEY_REUSED' });
          expect((await post(server.origin, key, { amount: 1 }, 'application/json', '/orders?again=1')).status).toBe(422);
        });

        it('non-JSON bodies by their bytes', async () => {
          const key = randomUUID();
          const first = await post(server.origin, key, 'plain text', 'text/plain');
          expect(first.status).toBe(201);
          expect((await post(server.origin, key, 'plain text', 'text/plain')).headers['idempotent-replayed']).toBe('true');
          expect((await post(server.origin, key, 'plain  text', 'text/plain')).status).toBe(422);
        });

        it('409 with Retry-After while the first runs; wait mode answers with the first answer', async () => {
          const key = randomUUID();
          const first = post(server.origin, key, { amount: 1, delayMs: 400 });
          await new Promise((resolve) => setTimeout(resolve, 150));
          const dup = await post(server.origin, key, { amount: 1, delayMs: 400 });
          expect(dup.status).toBe(409);
          expect(dup.headers['retry-after']).toBe('3');
          expect(dup.json.code).toBe('IDEMPOTENCY_KEY_IN_USE');
          expect((await first).status).toBe(201);

          const waitKey = randomUUID();
          const firstWait = post(waiting.origin, waitKey, { amount: 1, delayMs: 400 });
          await new Promise((resolve) => setTimeout(resolve, 150));
          const waited = await post(waiting.origin, waitKey, { amount: 1, delayMs: 400 });
          const original = await firstWait;
          expect(waited.status).toBe(201);
          expect(waited.bytes).toEqual(original.bytes);
          expect(waited.headers['idempotent-replayed']).toBe('true');
        });

        it('5xx is not stored (a retry runs); a deterministic 4xx is', async () => {
          const before = server.executions();
          const key = randomUUID();
          expect((await post(server.origin, key, { amount: 1, status: 503 })).status).toBe(503);
          const retry = await post(server.origin, key, { amount: 1, status: 503 });
          expect(retry.headers['idempotent-replayed']).toBeUndefined();
          expect(server.executions()).toBe(before + 2);
          const gone = randomUUID();
          const first = await post(server.origin, gone, { amount: 1, status: 404 });
          const again = await post(server.origin, gone, { amount: 1, status: 404 });
          expect(again.status).toBe(404);
          expect(again.bytes).toEqual(first.bytes);
          expect(again.headers['idempotent-replayed']).toBe('true');
          expect(server.executions()).toBe(before + 3);
        });

        it('a streamed body is stored once complete; a failing stream stores nothing and a retry runs', async () => {
          const before = server.executions();
          const key = randomUUID();
          const streamed = await post(server.origin, key, { amount: 5, stream: true });
          expect(streamed.status).toBe(201);
          expect(streamed.json).toMatchObject({ amount: 5 });
          const replay = await post(server.origin, key, { amount: 5, stream: true });
          expect(replay.bytes).toEqual(streamed.bytes);
          expect(replay.headers['idempotent-replayed']).toBe('true');
          expect(server.executions()).toBe(before + 1);

          const failing = randomUUID();
          await expect(post(server.origin, failing, { amount: 5, fail: true })).rejects.toThrow();
          // The release happens as the server sees the broken stream: give it a moment over the socket.
          await new Promise((resolve) => setTimeout(resolve, 100));
          await expect(post(server.origin, failing, { amount: 5, fail: true })).rejects.toThrow();
          expect(server.executions()).toBe(before + 3);
        });

        it('50 same-key requests at once: exactly one execution (reject: the rest 409 or replay; wait: all the same answer)', async () => {
          for (const running of [server, waiting]) {
            const before = running.executions();
            const key = randomUUID();
            const answers = await Promise.all(Array.from({ length: 50 }, () => post(running.origin, key, { amount: 50, delayMs: 50 })));
            expect(running.executions()).toBe(before + 1);
            const fresh = answers.filter((a) => a.status === 201 && a.headers['idempotent-replayed'] === undefined);
            expect(fresh).toHaveLength(1);
            for (const a of answers) {
              if (running === waiting) expect(a.status).toBe(201);
              else expect([201, 409]).toContain(a.status);
              if (a.status === 201) expect(a.bytes).toEqual(fresh[0]!.bytes);
            }
          }
        });
      });
    }
  });
}
