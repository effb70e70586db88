import { describe, expect, it } from 'vitest';
import { GLOBAL_TENANT, IdempotencyError, MemoryStore, StoreUnavailableError, createIdempotency } from '../../src/index.js';
import type { IdempotencyStore } from '../../src/index.js';
import { type HttpIdempotencyOptions, idempotencyOf, idempotent } from '../../src/http/index.js';
import { conformanceTarget } from './support/target.js';
import { type Send, answer, request } from './support/requests.js';

function target(options: Partial<HttpIdempotencyOptions> = {}) {
  const store = new MemoryStore();
  const t = conformanceTarget({ store, ...options } as HttpIdempotencyOptions);
  const send = async (send: Send) => answer(await t.fetch(request(send)));
  return { ...t, store, send };
}

describe('oncely/http: keys', () => {
  it('answers 400 problem details when the key is missing, and runs nothing', async () => {
    const t = target();
    const a = await t.send({ body: { amount: 1 } });
    expect(a.status).toBe(400);
    expect(a.headers['content-type']).toBe('application/problem+json');
    expect(a.json).toEqual({ type: 'tag:oncely,2026:idempotency-key-missing', title: 'Idempotency key missing', status: 400, detail: expect.any(String), code: 'IDEMPOTENCY_KEY_MISSING' });
    expect(t.executions()).toBe(0);
  });

  it.each(['"abc', '"a\\bc"', '"abc" x', '"abc",', '"abc";', '"abc";X=1', '"a\tb"', '""', '"  "', '"é"'])('answers 400 for the malformed or invalid key %j, and runs nothing', async (key) => {
    const t = target();
    const a = await t.send({ key, body: { amount: 1 } });
    expect(a.status).toBe(400);
    expect(a.json.code).toBe('IDEMPOTENCY_KEY_INVALID');
    expect(t.executions()).toBe(0);
  });

  it('takes "abc", abc, padded forms and sf parameters as the same key', async () => {
    const t = target();
    const first = await t.send({ key: '"abc"', body: { amount: 1 } });
    expect(first.status).toBe(201);
    for (const key of ['abc', '  abc ', ' "abc" ', '"abc";v=1;flag', '"abc"; a="x\\"y"; b=?1; c=-1.5; d=:AQ==:']) {
      const again = await t.send({ key, body: { amount: 1 } });
      expect(again.headers['idempotent-replayed'], key).toBe('true');
      expect(again.text).toBe(first.text);
    }
    expect(t.executions()).toBe(1);
  });

  it('unescapes \\" and \\\\ in sf-strings: "a\\"b" is the bare key a"b', async () => {
    const t = target();
    await t.send({ key: '"a\\"b\\\\c"', body: { amount: 1 } });
    const again = await t.send({ key: 'a"b\\c', body: { amount: 1 } });
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(t.executions()).toBe(1);
  });

  it('keys differing only by case are different keys', async () => {
    const t = target();
    await t.send({ key: 'Key-A', body: { amount: 1 } });
    const other = await t.send({ key: 'key-a', body: { amount: 1 } });
    expect(other.headers['idempotent-replayed']).toBeUndefined();
    expect(t.executions()).toBe(2);
  });

  it('uses the configured header, any case', async () => {
    const t = target({ header: 'X-Request-Key' });
    const a = await t.send({ headers: { 'x-request-key': 'k' }, body: { amount: 1 } });
    const b = await t.send({ headers: { 'X-REQUEST-KEY': 'k' }, body: { amount: 1 } });
    expect(a.status).toBe(201);
    expect(b.headers['idempotent-replayed']).toBe('true');
    expect((await t.send({ key: 'k', body: { amount: 1 } })).status).toBe(400);
  });
});

describe('oncely/http: replay', () => {
  it('replays status and body byte for byte with Idempotent-Replayed: true and the allowlisted headers only', async () => {
    const t = target();
    const first = await t.send({ key: 'r1', body: { amount: 7 } });
    expect(first.status).toBe(201);
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    expect(first.headers['set-cookie']).toMatch(/^s=/);
    const again = await t.send({ key: 'r1', body: { amount: 7 } });
    expect(again.status).toBe(201);
    expect(again.bytes).toEqual(first.bytes);
    expect(again.headers).toEqual({
      'content-type': 'application/json',
      location: first.headers.location,
      etag: first.headers.etag,
      'idempotent-replayed': 'true',
    });
    expect(t.executions()).toBe(1);
  });

  it('replays the headers added by replayHeaders, never Set-Cookie even when listed', async () => {
    const t = target({ replayHeaders: ['X-Execution', 'Set-Cookie'] });
    const first = await t.send({ key: 'r2', body: { amount: 7 } });
    const again = await t.send({ key: 'r2', body: { amount: 7 } });
    expect(again.headers['x-execution']).toBe(first.headers['x-execution']);
    expect(again.headers['set-cookie']).toBeUndefined();
  });

  it('replays a binary body byte for byte', async () => {
    const bytes = new Uint8Array([0, 255, 254, 0x80, 0xc3, 0x28, 10, 13]);
    let runs = 0;
    const handler = idempotent(async () => {
      runs += 1;
      return new Response(bytes, { status: 200, headers: { 'Content-Type': 'application/octet-stream' } });
    }, { store: new MemoryStore() });
    const first = await answer(await handler(request({ key: 'bin', body: 'x' })));
    const again = await answer(await handler(request({ key: 'bin', body: 'x' })));
    expect(first.bytes).toEqual(bytes);
    expect(again.bytes).toEqual(bytes);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(runs).toBe(1);
  });

  it('replays an answer without a body (204) and a redirect (303)', async () => {
    for (const status of [204, 303]) {
      let runs = 0;
      const handler = idempotent(async () => {
        runs += 1;
        return new Response(null, { status, headers: status === 303 ? { Location: '/next' } : {} });
      }, { store: new MemoryStore() });
      await handler(request({ key: 'k', body: {} }));
      const again = await answer(await handler(request({ key: 'k', body: {} })));
      expect(again.status).toBe(status);
      expect(again.bytes.byteLength).toBe(0);
      if (status === 303) expect(again.headers.location).toBe('/next');
      expect(runs).toBe(1);
    }
  });
});

describe('oncely/http: fingerprint', () => {
  it('answers 422 for the same key with another body, method or path', async () => {
    const t = target({ methods: ['POST', 'PATCH', 'PUT'] });
    expect((await t.send({ key: 'f1', body: { amount: 1 }, path: '/orders?x=1' })).status).toBe(201);
    for (const other of [
      { body: { amount: 2 }, path: '/orders?x=1' },
      { body: { amount: 1 }, path: '/orders?x=2' },
      { body: { amount: 1 }, path: '/payments?x=1' },
      { body: { amount: 1 }, path: '/orders?x=1', method: 'PATCH' },
      { body: { amount: 1 }, path: '/orders?x=1', method: 'PUT' },
    ]) {
      const a = await t.send({ key: 'f1', ...other });
      expect(a.status, JSON.stringify(other)).toBe(422);
      expect(a.json.code).toBe('IDEMPOTENCY_KEY_REUSED');
      expect(a.headers['content-type']).toBe('application/problem+json');
    }
    expect(t.executions()).toBe(1);
  });

  it('fingerprints JSON canonically: key order and whitespace do not matter, for +json types too', async () => {
    const t = target();
    await t.send({ key: 'c1', body: '{"amount":3,"meta":{"a":1,"b":[1,2]}}', contentType: 'application/json' });
    for (const [body, contentType] of [
      ['{ "meta" : { "b" : [ 1 , 2 ] , "a" : 1 } ,\n "amount" : 3 }', 'application/json'],
      ['{"meta":{"b":[1,2],"a":1},"amount":3}', 'application/json; charset=utf-8'],
      ['{"meta":{"b":[1,2],"a":1},"amount":3.0}', 'application/vnd.api+json'],
    ] as const) {
      const a = await t.send({ key: 'c1', body, contentType });
      expect(a.headers['idempotent-replayed'], `${contentType} ${body}`).toBe('true');
    }
    expect((await t.send({ key: 'c1', body: '{"amount":3,"meta":{"a":1,"b":[2,1]}}', contentType: 'application/json' })).status).toBe(422);
    expect(t.executions()).toBe(1);
  });

  it('fingerprints other bodies by their bytes (whitespace matters), and JSON that does not parse too', async () => {
    const t = target();
    await t.send({ key: 'b1', body: 'a b', contentType: 'text/plain' });
    expect((await t.send({ key: 'b1', body: 'a b', contentType: 'text/plain' })).headers['idempotent-replayed']).toBe('true');
    expect((await t.send({ key: 'b1', body: 'a  b', contentType: 'text/plain' })).status).toBe(422);
    await t.send({ key: 'b2', body: '{"amount":', contentType: 'application/json' });
    expect((await t.send({ key: 'b2', body: '{"amount":', contentType: 'application/json' })).headers['idempotent-replayed']).toBe('true');
    expect((await t.send({ key: 'b2', body: '{"amount": ', contentType: 'application/json' })).status).toBe(422);
    await t.send({ key: 'b3', body: new Uint8Array([1, 2, 3]), contentType: 'application/octet-stream' });
    expect((await t.send({ key: 'b3', body: new Uint8Array([1, 2, 4]), contentType: 'application/octet-stream' })).status).toBe(422);
  });

  it('answers 400 for a JSON body too deep to fingerprint, and runs nothing', async () => {
    const t = target();
    const deep = `${'['.repeat(300)}${']'.repeat(300)}`;
    const a = await t.send({ key: 'deep', body: deep, contentType: 'application/json' });
    expect(a.status).toBe(400);
    expect(a.json.code).toBe('IDEMPOTENCY_PAYLOAD_INVALID');
    expect(t.executions()).toBe(0);
  });
});

describe('oncely/http: in progress', () => {
  it('answers 409 with Retry-After while the first runs (reject), then replays', async () => {
    const t = target({ retryAfterSeconds: 2 });
    const first = t.send({ key: 'p1', body: { amount: 1, delayMs: 150 } });
    await new Promise((resolve) => setTimeout(resolve, 40));
    const dup = await t.send({ key: 'p1', body: { amount: 1, delayMs: 150 } });
    expect(dup.status).toBe(409);
    expect(dup.headers['retry-after']).toBe('2');
    expect(dup.json.code).toBe('IDEMPOTENCY_KEY_IN_USE');
    const done = await first;
    const later = await t.send({ key: 'p1', body: { amount: 1, delayMs: 150 } });
    expect(later.bytes).toEqual(done.bytes);
    expect(t.executions()).toBe(1);
  });

  it('waits for the first answer (wait) and replays it', async () => {
    const t = target({ inProgress: 'wait' });
    const answers = await Promise.all([0, 30, 60].map(async (delay) => {
      await new Promise((resolve) => setTimeout(resolve, delay));
      return t.send({ key: 'w1', body: { amount: 1, delayMs: 150 } });
    }));
    expect(answers.map((a) => a.status)).toEqual([201, 201, 201]);
    expect(answers[1]!.bytes).toEqual(answers[0]!.bytes);
    expect(answers[2]!.headers['idempotent-replayed']).toBe('true');
    expect(t.executions()).toBe(1);
  });
});

describe('oncely/http: which answers are stored', () => {
  it.each([500, 502, 503, 408, 409, 425, 429, 401, 403, 423])('does not store %i: the key is released and a retry runs', async (status) => {
    const t = target();
    const first = await t.send({ key: 's', body: { amount: 1, status } });
    expect(first.status).toBe(status);
    const again = await t.send({ key: 's', body: { amount: 1, status } });
    expect(again.headers['idempotent-replayed']).toBeUndefined();
    expect(t.executions()).toBe(2);
  });

  it.each([200, 201, 202, 301, 400, 402, 404, 405, 410, 422])('stores %i and replays it', async (status) => {
    const t = target();
    const first = await t.send({ key: 's', body: { amount: 1, status } });
    const again = await t.send({ key: 's', body: { amount: 1, status } });
    expect(again.status).toBe(status);
    expect(again.bytes).toEqual(first.bytes);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(t.executions()).toBe(1);
  });

  it('an answer too large to store reaches the first client whole; retries get 500 IDEMPOTENCY_RESPONSE_NOT_STORABLE and nothing runs again', async () => {
    let runs = 0;
    const big = 'x'.repeat(5000);
    const handler = idempotent(async () => {
      runs += 1;
      return new Response(big, { status: 201 });
    }, { store: new MemoryStore(), maxResponseBytes: 1000 });
    const first = await answer(await handler(request({ key: 'big', body: {} })));
    expect(first.status).toBe(201);
    expect(first.text).toBe(big);
    const again = await answer(await handler(request({ key: 'big', body: {} })));
    expect(again.status).toBe(500);
    expect(again.json.code).toBe('IDEMPOTENCY_RESPONSE_NOT_STORABLE');
    expect(runs).toBe(1);
  });

  it('releases the key when the handler throws, so a retry runs', async () => {
    let runs = 0;
    const handler = idempotent(async () => {
      runs += 1;
      if (runs === 1) throw new Error('boom');
      return new Response('ok', { status: 201 });
    }, { store: new MemoryStore() });
    await expect(handler(request({ key: 't', body: {} }))).rejects.toThrow('boom');
    expect((await answer(await handler(request({ key: 't', body: {} })))).status).toBe(201);
    expect(runs).toBe(2);
  });

  it('answers 503 problem details with Retry-After when the store is down, and runs nothing', async () => {
    const broken = new Proxy(new MemoryStore(), {
      get(store, name, receiver) {
        const value = Reflect.get(store, name, receiver);
        if (typeof value !== 'function') return value;
        return () => Promise.reject(new Error('connection refused'));
      },
    }) as IdempotencyStore;
    let runs = 0;
    const handler = idempotent(async () => {
      runs += 1;
      return new Response('ok');
    }, { store: broken });
    const a = await answer(await handler(request({ key: 'down', body: {} })));
    expect(a.status).toBe(503);
    expect(a.json.code).toBe('IDEMPOTENCY_STORE_UNAVAILABLE');
    expect(a.headers['retry-after']).toBe('1');
    expect(runs).toBe(0);
    expect(new StoreUnavailableError(null)).toBeInstanceOf(IdempotencyError);
  });
});

describe('oncely/http: streamed bodies', () => {
  it('passes chunks on as they come and stores the body once complete', async () => {
    const t = target();
    const started = Date.now();
    const response = await t.fetch(request({ key: 'st', body: { amount: 4, stream: true } }));
    const reader = response.body!.getReader();
    const first = await reader.read();
    const firstAt = Date.now() - started;
    expect(first.done).toBe(false);
    // While the body still streams, the key is held: a duplicate gets 409.
    expect((await t.send({ key: 'st', body: { amount: 4, stream: true } })).status).toBe(409);
    const chunks = [first.value!];
    for (;;) {
      const next = await reader.read();
      if (next.done) break;
      chunks.push(next.value);
    }
    // The last chunk came at least one 20 ms gap after the first (the read of the second one may
    // start before the response is returned, so not both gaps need to show here).
    expect(Date.now() - started - firstAt).toBeGreaterThanOrEqual(15);
    const whole = new TextDecoder().decode(Buffer.concat(chunks));
    const again = await t.send({ key: 'st', body: { amount: 4, stream: true } });
    expect(again.text).toBe(whole);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(t.executions()).toBe(1);
  });

  it('stores nothing when the stream fails, and a retry runs', async () => {
    const t = target();
    const failed = await t.fetch(request({ key: 'sf', body: { amount: 4, fail: true } }));
    await expect(failed.text()).rejects.toThrow();
    const retry = await t.fetch(request({ key: 'sf', body: { amount: 4, fail: true } }));
    expect(retry.headers.get('idempotent-replayed')).toBeNull();
    await expect(retry.text()).rejects.toThrow();
    expect(t.executions()).toBe(2);
  });

  it('stores nothing when the client cancels the body, and a retry runs', async () => {
    const t = target();
    const response = await t.fetch(request({ key: 'sc', body: { amount: 4, stream: true } }));
    const reader = response.body!.getReader();
    await reader.read();
    await reader.cancel();
    const retry = await t.send({ key: 'sc', body: { amount: 4, stream: true } });
    expect(retry.status).toBe(201);
    expect(retry.headers['idempotent-replayed']).toBeUndefined();
    expect(t.executions()).toBe(2);
  });
});

describe('oncely/http: whole bodies are sent as bytes', () => {
  it('stores an answer whose body is whole at once before returning it, and sends it as a fixed body', async () => {
    const t = target();
    const response = await t.fetch(request({ key: 'fixed', body: { amount: 5 } }));
    // Not read yet, and already stored: the retry replays instead of meeting a claim in progress.
    const retry = await t.send({ key: 'fixed', body: { amount: 5 } });
    expect(retry.headers['idempotent-replayed']).toBe('true');
    const first = await answer(response);
    expect(retry.text).toBe(first.text);
    expect(t.executions()).toBe(1);
  });

  it('keeps a body that is still coming a stream: returned before it is stored', async () => {
    const t = target();
    const response = await t.fetch(request({ key: 'coming', body: { amount: 6, stream: true } }));
    const duplicate = await t.send({ key: 'coming', body: { amount: 6, stream: true } });
    expect(duplicate.status).toBe(409);
    await answer(response);
    expect((await t.send({ key: 'coming', body: { amount: 6, stream: true } })).headers['idempotent-replayed']).toBe('true');
    expect(t.executions()).toBe(1);
  });
});

describe('oncely/http: answers that cannot be kept (from review)', () => {
  it('gives the key back for Response.error() (status 0 cannot be replayed): the retry runs', async () => {
    const store = new MemoryStore();
    let runs = 0;
    const handler = idempotent(async () => (++runs === 1 ? Response.error() : new Response('ok', { status: 201 })), { store });
    const first = await handler(request({ key: 'err', body: {} }));
    expect(first.type).toBe('error');
    const retry = await answer(await handler(request({ key: 'err', body: {} })));
    expect(retry.status).toBe(201);
    expect(retry.headers['idempotent-replayed']).toBeUndefined();
    expect(runs).toBe(2);
  });

  it('gives the key back when the handler returns a Response whose body was already read', async () => {
    const store = new MemoryStore();
    const cached = new Response('hello', { status: 201 });
    await cached.text();
    let runs = 0;
    const handler = idempotent(async () => (++runs === 1 ? cached : new Response('fresh', { status: 201 })), { store });
    await expect(handler(request({ key: 'used', body: {} }))).rejects.toThrow();
    const retry = await answer(await handler(request({ key: 'used', body: {} })));
    expect(retry.status).toBe(201);
    expect(retry.text).toBe('fresh');
    expect(runs).toBe(2);
  });
});

describe('oncely/http: JSON bodies that parse alike only by losing something (from review)', () => {
  it.each([
    ['{"id":12345678901234567890}', '{"id":12345678901234567891}'],
    ['{"x":1e400}', '{"x":2e400}'],
    ['{"x":1e-400}', '{"x":2e-400}'],
    ['{"x":0.1000000000000000055511151231257827}', '{"x":0.1}'],
  ])('%s then %s with one key: 422, not a replay', async (first, second) => {
    const t = target();
    expect((await t.send({ key: 'lossy', body: first, contentType: 'application/json' })).status).toBe(201);
    const again = await t.send({ key: 'lossy', body: second, contentType: 'application/json' });
    expect(again.status).toBe(422);
    expect(t.executions()).toBe(1);
  });

  it('still compares exact JSON canonically (key order, whitespace, 1.50 and 1.5)', async () => {
    const t = target();
    expect((await t.send({ key: 'exact', body: '{"a":1.50,"b":[1,2]}', contentType: 'application/json' })).status).toBe(201);
    const again = await t.send({ key: 'exact', body: '{ "b": [1, 2], "a": 1.5 }', contentType: 'application/json' });
    expect(again.headers['idempotent-replayed']).toBe('true');
  });
});

describe('oncely/http: the request signal (runtimes that abort it when the client leaves, such as workerd)', () => {
  const signalled = (send: Send, controller: AbortController) => new Request(request(send), { signal: controller.signal });

  it('gives the key back at once when the signal aborts mid-stream: the reader gets an error, a retry runs', async () => {
    const t = target();
    const controller = new AbortController();
    const response = await t.fetch(signalled({ key: 'sa', body: { amount: 4, stream: true } }, controller));
    const reader = response.body!.getReader();
    await reader.read();
    controller.abort(new Error('client left'));
    await expect(reader.read()).rejects.toThrow('client left');
    const retry = await t.send({ key: 'sa', body: { amount: 4, stream: true } });
    expect(retry.status).toBe(201);
    expect(retry.headers['idempotent-replayed']).toBeUndefined();
    expect(t.executions()).toBe(2);
  });

  it('changes nothing when the signal aborts after the answer was stored', async () => {
    const t = target();
    const controller = new AbortController();
    const first = await answer(await t.fetch(signalled({ key: 'sb', body: { amount: 4, stream: true } }, controller)));
    controller.abort();
    const retry = await t.send({ key: 'sb', body: { amount: 4, stream: true } });
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(retry.text).toBe(first.text);
    expect(t.executions()).toBe(1);
  });
});

describe('oncely/http: pass-through, scope and context', () => {
  it('passes other methods through without a key, storing nothing', async () => {
    const t = target();
    const get = await answer(await t.fetch(request({ method: 'GET' })));
    expect(get).toMatchObject({ status: 200, json: { executions: 0 } });
    const put = await t.send({ method: 'PUT', body: { amount: 1 } });
    expect(put.status).toBe(201);
    expect((await t.send({ method: 'PUT', body: { amount: 1 }, key: 'ignored' })).headers['idempotent-replayed']).toBeUndefined();
    expect(t.executions()).toBe(2);
  });

  it('runs a request without a key unprotected when required is false', async () => {
    const t = target({ required: false });
    expect((await t.send({ body: { amount: 1 } })).status).toBe(201);
    expect((await t.send({ body: { amount: 1 } })).status).toBe(201);
    expect(t.executions()).toBe(2);
  });

  it('keeps the keys of different tenants and operations apart', async () => {
    const t = target({ tenant: (r) => r.headers.get('x-tenant') ?? GLOBAL_TENANT, operation: (r) => new URL(r.url).pathname.split('/')[1]! });
    await t.send({ key: 'k', body: { amount: 1 }, headers: { 'x-tenant': 'a' } });
    expect((await t.send({ key: 'k', body: { amount: 1 }, headers: { 'x-tenant': 'b' } })).headers['idempotent-replayed']).toBeUndefined();
    expect((await t.send({ key: 'k', body: { amount: 1 }, headers: { 'x-tenant': 'a' } })).headers['idempotent-replayed']).toBe('true');
    expect(t.executions()).toBe(2);
  });

  it('gives the handler its claim (idempotencyOf) and passes the other arguments through', async () => {
    const engine = createIdempotency({ store: new MemoryStore() });
    const seen: unknown[] = [];
    const handler = idempotent(async (req: Request, env: { name: string }, ctx: number) => {
      const claim = idempotencyOf(req);
      seen.push(claim?.key, claim?.fence, claim?.deriveKey('charge'), env.name, ctx, await req.json());
      return Response.json({ ok: true }, { status: 201 });
    }, { engine });
    await handler(request({ key: '"ctx-key"', body: { a: 1 } }), { name: 'env' }, 7);
    expect(seen.slice(0, 2)).toEqual(['ctx-key', 1]);
    expect(seen[2]).toMatch(/.+/);
    expect(seen.slice(3)).toEqual(['env', 7, { a: 1 }]);
  });

  it('throws misconfigurations instead of answering: a tenant callback returning nothing, a body read before', async () => {
    const handler = idempotent(async () => new Response('ran'), { store: new MemoryStore(), tenant: () => '' });
    await expect(handler(request({ key: 'k', body: {} }))).rejects.toMatchObject({ code: 'IDEMPOTENCY_CONFIGURATION' });
    const plain = idempotent(async () => new Response('ran'), { store: new MemoryStore() });
    const read = request({ key: 'k', body: {} });
    await read.text();
    await expect(plain(read)).rejects.toThrow(/body was read before/);
  });

  it('refuses bad options at creation', () => {
    expect(() => idempotent(async () => new Response(), {} as HttpIdempotencyOptions)).toThrow(/store/);
    expect(() => idempotent(async () => new Response(), { store: new MemoryStore(), header: 'bad header' })).toThrow(/header/);
    expect(() => idempotent(async () => new Response(), { store: new MemoryStore(), operation: '' })).toThrow(/operation/);
    expect(() => idempotent(async () => new Response(), { store: new MemoryStore(), engine: createIdempotency({ store: new MemoryStore() }) } as never)).toThrow(/either/);
  });
});
