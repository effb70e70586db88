import { Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/index.js';
import { type HonoIdempotencyOptions, idempotency } from '../../src/hono/index.js';
import { idempotencyOf } from '../../src/http/index.js';
import { answer, request, type Send } from './support/requests.js';

function app(options: Partial<HonoIdempotencyOptions> = {}) {
  const hono = new Hono();
  let runs = 0;
  const seen: unknown[] = [];
  hono.post('/orders', idempotency({ store: new MemoryStore(), ...options } as HonoIdempotencyOptions), async (c) => {
    runs += 1;
    const body = await c.req.json<{ fail?: string }>();
    seen.push({ key: c.get('idempotency')?.key, viaRequest: idempotencyOf(c.req.raw)?.key, body });
    if (body.fail === 'http') throw new HTTPException(404, { message: 'no such order' });
    if (body.fail === 'error') throw new Error('boom');
    c.header('X-Trace', String(runs));
    c.header('Cache-Control', 'no-store');
    return c.json({ run: runs }, 201);
  });
  const send = async (s: Send) => answer(await hono.fetch(request(s)));
  return { hono, send, runs: () => runs, seen };
}

describe('oncely/hono', () => {
  it('replays the handler\'s answer with Idempotent-Replayed, allowlisted headers only; the handler sees its claim', async () => {
    const a = app();
    const first = await a.send({ key: '"h1"', body: { x: 1 } });
    expect(first.status).toBe(201);
    expect(first.headers['x-trace']).toBe('1');
    const again = await a.send({ key: 'h1', body: { x: 1 } });
    expect(again.bytes).toEqual(first.bytes);
    expect(again.headers).toEqual({ 'content-type': first.headers['content-type'], 'cache-control': 'no-store', 'idempotent-replayed': 'true' });
    expect(a.runs()).toBe(1);
    expect(a.seen).toEqual([{ key: 'h1', viaRequest: 'h1', body: { x: 1 } }]);
  });

  it('stores an HTTPException 404 (deterministic) and releases an unexpected error answered 500', async () => {
    const a = app();
    expect((await a.send({ key: 'e1', body: { fail: 'http' } })).status).toBe(404);
    const again = await a.send({ key: 'e1', body: { fail: 'http' } });
    expect(again.status).toBe(404);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(a.runs()).toBe(1);
    expect((await a.send({ key: 'e2', body: { fail: 'error' } })).status).toBe(500);
    expect((await a.send({ key: 'e2', body: { fail: 'error' } })).headers['idempotent-replayed']).toBeUndefined();
    expect(a.runs()).toBe(3);
  });

  it('answers problems without running the handler (400, 422)', async () => {
    const a = app();
    const missing = await a.send({ body: { x: 1 } });
    expect(missing.status).toBe(400);
    expect(missing.headers['content-type']).toBe('application/problem+json');
    await a.send({ key: 'r', body: { x: 1 } });
    expect((await a.send({ key: 'r', body: { x: 2 } })).json.code).toBe('IDEMPOTENCY_KEY_REUSED');
    expect(a.runs()).toBe(1);
  });

  it('works after a middleware that read the body first (Hono\'s body cache), and the handler still reads it', async () => {
    const hono = new Hono();
    let runs = 0;
    hono.post(
      '/orders',
      async (c, next) => {
        await c.req.json();
        await next();
      },
      idempotency({ store: new MemoryStore() }),
      async (c) => {
        runs += 1;
        return c.json({ got: await c.req.json(), runs }, 201);
      },
    );
    const send = async (body: string) => answer(await hono.fetch(request({ key: 'v', body, contentType: 'application/json' })));
    const first = await send('{"a":1,"b":2}');
    expect(first.json).toEqual({ got: { a: 1, b: 2 }, runs: 1 });
    expect((await send('{ "b": 2, "a": 1 }')).headers['idempotent-replayed']).toBe('true');
    expect((await send('{"a":1,"b":3}')).status).toBe(422);
    expect(runs).toBe(1);
  });

  it('gives tenant and operation callbacks the Hono Context', async () => {
    const a = app({ tenant: (c) => c.req.header('x-account') ?? 'anonymous', operation: (c) => `POST ${c.req.path}` });
    await a.send({ key: 't', body: { x: 1 }, headers: { 'x-account': 'a' } });
    expect((await a.send({ key: 't', body: { x: 1 }, headers: { 'x-account': 'b' } })).headers['idempotent-replayed']).toBeUndefined();
    expect((await a.send({ key: 't', body: { x: 1 }, headers: { 'x-account': 'a' } })).headers['idempotent-replayed']).toBe('true');
    expect(a.runs()).toBe(2);
  });

  it('passes GET through', async () => {
    const hono = new Hono();
    hono.get('/orders', idempotency({ store: new MemoryStore() }), (c) => c.text('list'));
    expect(await (await hono.request('/orders')).text()).toBe('list');
  });
});
