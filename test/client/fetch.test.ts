import { randomUUID } from 'node:crypto';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { idempotentFetch } from '../../src/client/index.js';
import { GLOBAL_TENANT, Idempotency, isIdempotencyError } from '../../src/index.js';
import type { PrismaLike } from '../support/databases.js';
import { freshStore, testDatabases } from '../support/databases.js';

// A plain HTTP endpoint on the core engine over the SQLite Prisma store, with a switch that drops
// the connection after the work ran (the response never reaches the client).
describe('idempotentFetch against a real HTTP server', () => {
  let server: Server;
  let url: string;
  let client: PrismaLike;
  const executions = new Map<string, number>();
  let dropNext = 0;

  beforeAll(async () => {
    const db = testDatabases().find((d) => d.name === 'sqlite')!;
    const fresh = await freshStore(db);
    client = fresh.client;
    const engine = new Idempotency({ store: fresh.store });
    server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const body = JSON.parse(Buffer.concat(chunks).toString() || '{}');
      try {
        const execution = await engine.execute(
          { tenant: GLOBAL_TENANT, operation: 'POST /charges', key: req.headers['idempotency-key'], input: body },
          () => {
            executions.set(body.ref, (executions.get(body.ref) ?? 0) + 1);
            return { id: `ch_${randomUUID().slice(0, 6)}`, amount: body.amount };
          },
        );
        if (dropNext > 0) {
          dropNext--;
          req.socket.destroy();
          return;
        }
        res.writeHead(201, { 'content-type': 'application/json', ...(execution.replayed ? { 'idempotent-replayed': 'true' } : {}) });
        res.end(JSON.stringify(execution.outcome.ok ? execution.outcome.value : null));
      } catch (error) {
        const status = isIdempotencyError(error) ? error.status : 500;
        res.writeHead(status, { 'content-type': 'application/json', ...(isIdempotencyError(error) && error.retryAfter ? { 'retry-after': String(error.retryAfter) } : {}) });
        res.end(JSON.stringify({ code: isIdempotencyError(error) ? error.code : 'INTERNAL' }));
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/charges`;
  });

  afterAll(async () => {
    server?.close();
    await client?.$disconnect();
  });

  const post = (body: object, key?: string) =>
    idempotentFetch(url, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }, { key, backoffMs: 20 });

  it('retries a dropped response with the same key and gets the original result, run once', async () => {
    dropNext = 2;
    const ref = randomUUID();
    const response = await post({ ref, amount: 500 });
    expect(response.status).toBe(201);
    expect(response.replayed).toBe(true);
    expect(executions.get(ref)).toBe(1);
    // A later manual re-submit with the same key replays the same charge.
    const again = await post({ ref, amount: 500 }, response.idempotencyKey);
    expect(await again.json()).toEqual(await response.json());
    expect(executions.get(ref)).toBe(1);
  });

  it('gives each call its own key when none is passed', async () => {
    const ref = randomUUID();
    const [a, b] = await Promise.all([post({ ref, amount: 1 }), post({ ref, amount: 1 })]);
    expect(a.idempotencyKey).not.toBe(b.idempotencyKey);
    expect(executions.get(ref)).toBe(2);
  });

  it('returns a definitive refusal without retrying', async () => {
    const key = randomUUID();
    await post({ ref: randomUUID(), amount: 1 }, key);
    const refused = await post({ ref: randomUUID(), amount: 2 }, key);
    expect(refused.status).toBe(422);
    expect(await refused.json()).toEqual({ code: 'IDEMPOTENCY_KEY_REUSED' });
  });
});
