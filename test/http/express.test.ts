import net from 'node:net';
import express, { type Express } from 'express';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryStore, validateKey } from '../../src/index.js';
import { type ExpressIdempotencyOptions, idempotency, idempotencyOf } from '../../src/express/index.js';
import { parseKeyHeader } from '../../src/http/index.js';
import { type Served, serveExpress } from './support/servers.js';

const servers: Served[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function start(app: Express): Promise<string> {
  const served = await serveExpress(app);
  servers.push(served);
  return served.origin;
}

async function post(origin: string, key: string | null, body: string, contentType: string, path = '/orders') {
  const headers: Record<string, string> = { 'Content-Type': contentType };
  if (key !== null) headers['Idempotency-Key'] = key;
  const response = await fetch(`${origin}${path}`, { method: 'POST', headers, body });
  return { status: response.status, headers: Object.fromEntries(response.headers), text: await response.text() };
}

/** An app echoing what the handler found in req.body, counting runs. */
function echoApp(before: express.RequestHandler[], options: Partial<ExpressIdempotencyOptions> = {}, after: express.RequestHandler[] = []) {
  let runs = 0;
  const app = express();
  app.post('/orders', ...before, idempotency({ store: new MemoryStore(), ...options } as ExpressIdempotencyOptions), ...after, (req, res) => {
    runs += 1;
    const body: unknown = req.body;
    const kind = Buffer.isBuffer(body) ? `buffer:${body.toString('utf8')}` : typeof body === 'string' ? `string:${body}` : JSON.stringify(body);
    res.status(201).json({ kind, run: runs, key: idempotencyOf(req)?.key, local: res.locals.idempotency?.key });
  });
  return { app, runs: () => runs };
}

describe('oncely/express: the request body', () => {
  it('without a parser: reads the body, leaves parsed JSON in req.body, and a later express.json() leaves it', async () => {
    const e = echoApp([], {}, [express.json()]);
    const origin = await start(e.app);
    const first = await post(origin, 'j', '{"a":1,"b":[1,2]}', 'application/json');
    expect(first.status).toBe(201);
    expect(JSON.parse(first.text)).toEqual({ kind: '{"a":1,"b":[1,2]}', run: 1, key: 'j', local: 'j' });
    const again = await post(origin, 'j', '{ "b": [1, 2], "a": 1 }', 'application/json');
    expect(again.text).toBe(first.text);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect((await post(origin, 'j', '{"a":2,"b":[1,2]}', 'application/json')).status).toBe(422);
    expect(e.runs()).toBe(1);
  });

  it('without a parser: other bodies are bytes, left in req.body as a Buffer', async () => {
    const e = echoApp([]);
    const origin = await start(e.app);
    const first = await post(origin, 'b', 'a b', 'text/plain');
    expect(JSON.parse(first.text).kind).toBe('buffer:a b');
    expect((await post(origin, 'b', 'a b', 'text/plain')).headers['idempotent-replayed']).toBe('true');
    expect((await post(origin, 'b', 'a  b', 'text/plain')).status).toBe(422);
    expect(e.runs()).toBe(1);
  });

  it('after express.text() and express.urlencoded(): fingerprints what they parsed', async () => {
    const text = echoApp([express.text()]);
    const textOrigin = await start(text.app);
    expect(JSON.parse((await post(textOrigin, 't', 'hello', 'text/plain')).text).kind).toBe('string:hello');
    expect((await post(textOrigin, 't', 'hello', 'text/plain')).headers['idempotent-replayed']).toBe('true');
    expect((await post(textOrigin, 't', 'hello!', 'text/plain')).status).toBe(422);
    const form = echoApp([express.urlencoded({ extended: false })]);
    const formOrigin = await start(form.app);
    await post(formOrigin, 'f', 'a=1&b=2', 'application/x-www-form-urlencoded');
    expect((await post(formOrigin, 'f', 'b=2&a=1', 'application/x-www-form-urlencoded')).headers['idempotent-replayed']).toBe('true');
    expect((await post(formOrigin, 'f', 'a=1&b=3', 'application/x-www-form-urlencoded')).status).toBe(422);
    expect(form.runs()).toBe(1);
  });
});

describe('oncely/express: the answer', () => {
  it('replays res.send byte for byte with its Content-Type and ETag, not its other headers', async () => {
    let runs = 0;
    const app = express();
    app.post('/orders', express.json(), idempotency({ store: new MemoryStore() }), (_req, res) => {
      runs += 1;
      res.set('X-Run', String(runs)).cookie('session', 'secret').status(200).send('<p>done</p>');
    });
    const origin = await start(app);
    const first = await post(origin, 's', '{}', 'application/json');
    const again = await post(origin, 's', '{}', 'application/json');
    expect(again.text).toBe('<p>done</p>');
    expect(again.headers['content-type']).toBe(first.headers['content-type']);
    expect(again.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(again.headers.etag).toBe(first.headers.etag);
    expect(again.headers['x-run']).toBeUndefined();
    expect(again.headers['set-cookie']).toBeUndefined();
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(runs).toBe(1);
  });

  it('an error passed to next() (500) releases the key: a retry runs', async () => {
    let runs = 0;
    const app = express();
    app.post('/orders', express.json(), idempotency({ store: new MemoryStore() }), (_req, _res, next) => {
      runs += 1;
      next(new Error('boom'));
    });
    app.use(((_error, _req, res, _next) => void res.status(500).json({ error: 'internal' })) as express.ErrorRequestHandler);
    const origin = await start(app);
    expect((await post(origin, 'x', '{}', 'application/json')).status).toBe(500);
    expect((await post(origin, 'x', '{}', 'application/json')).status).toBe(500);
    expect(runs).toBe(2);
  });

  it('a client that goes away mid-answer releases the key: a retry runs', async () => {
    let runs = 0;
    const app = express();
    app.post('/orders', express.json(), idempotency({ store: new MemoryStore() }), async (_req, res) => {
      runs += 1;
      res.status(201).setHeader('Content-Type', 'text/plain');
      res.write('first ');
      await new Promise((resolve) => setTimeout(resolve, 300));
      res.end('last');
    });
    const origin = await start(app);
    const controller = new AbortController();
    const response = await fetch(`${origin}/orders`, { method: 'POST', headers: { 'Idempotency-Key': 'gone', 'Content-Type': 'application/json' }, body: '{}', signal: controller.signal });
    const reader = response.body!.getReader();
    await reader.read();
    controller.abort();
    await new Promise((resolve) => setTimeout(resolve, 100));
    const retry = await post(origin, 'gone', '{}', 'application/json');
    expect(retry.status).toBe(201);
    expect(retry.headers['idempotent-replayed']).toBeUndefined();
    expect(retry.text).toBe('first last');
    expect(runs).toBe(2);
  });
});

describe('oncely/express: hostile key headers over a raw socket', () => {
  /** Sends one request with the header value as raw bytes (latin1); resolves with the status code. */
  function rawPost(origin: string, value: string): Promise<number> {
    const { hostname, port } = new URL(origin);
    return new Promise((resolve, reject) => {
      const socket = net.connect(Number(port), hostname);
      let received = '';
      socket.on('data', (chunk) => {
        received += chunk.toString('latin1');
        const match = /^HTTP\/1\.1 (\d{3})/.exec(received);
        if (match && received.includes('\r\n\r\n')) {
          socket.destroy();
          resolve(Number(match[1]));
        }
      });
      socket.on('error', reject);
      socket.on('close', () => {
        const match = /^HTTP\/1\.1 (\d{3})/.exec(received);
        if (match) resolve(Number(match[1]));
        else reject(new Error(`no answer: ${JSON.stringify(received)}`));
      });
      const body = '{}';
      socket.end(Buffer.from(`POST /orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\nIdempotency-Key: ${value}\r\n\r\n${body}`, 'latin1'));
    });
  }

  it('never a 500, never an execution for an invalid key', async () => {
    let runs = 0;
    const app = express();
    app.post('/orders', express.json(), idempotency({ store: new MemoryStore() }), (_req, res) => {
      runs += 1;
      res.status(201).end();
    });
    const origin = await start(app);
    const piece = fc.oneof(
      fc.constantFrom('"', '\\', ' ', '\t', '\0', ';', 'a', 'é', '\x7f', '\x01', ';v=1', 'k'),
      fc.string({ unit: 'grapheme-ascii', maxLength: 3 }),
      fc.constant('y'.repeat(200)),
    );
    let refused = 0;
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(piece, { maxLength: 8 }).map((parts) => parts.join('')), async (value) => {
        if (/[\r\n]/.test(value)) return;
        const before = runs;
        const status = await rawPost(origin, value);
        expect(status).not.toBe(500);
        // What Express hands over: Node trims spaces and tabs around the value, and keeps latin1 text.
        const seen = value.replace(/^[ \t]+|[ \t]+$/g, '');
        let valid = true;
        try {
          validateKey(parseKeyHeader(seen));
        } catch {
          valid = false;
        }
        // Node's parser refuses control characters (400) before any middleware: invalid keys as well.
        if (status === 400 && runs === before && !valid) {
          refused += 1;
          return;
        }
        expect(valid, `status ${status} for ${JSON.stringify(value)}`).toBe(true);
        expect(status).toBe(201);
        accepted += 1;
      }),
      { numRuns: 300 },
    );
    // Both sides were generated: the property is not vacuous.
    expect(refused).toBeGreaterThan(20);
    expect(accepted).toBeGreaterThan(20);
  });
});

describe('oncely/express: a chunk Node refuses (from review)', () => {
  it('throws to the handler as without oncely, stores nothing, and the retry runs', async () => {
    let runs = 0;
    const app = express();
    app.post('/orders', idempotency({ store: new MemoryStore() }), (_req, res) => {
      runs += 1;
      if (runs === 1) {
        res.status(201);
        res.end(new Uint16Array([0x4141]) as unknown as Uint8Array);
        return;
      }
      res.status(201).send('ok');
    });
    app.use(((error, _req, res, _next) => {
      res.status(500).send(`handler error: ${(error as Error).message.slice(0, 20)}`);
    }) as express.ErrorRequestHandler);
    const origin = await start(app);
    const first = await post(origin, 'u16', '{}', 'application/json');
    expect(first.status).toBe(500);
    const retry = await post(origin, 'u16', '{}', 'application/json');
    expect(retry.status).toBe(201);
    expect(retry.text).toBe('ok');
    expect(retry.headers['idempotent-replayed']).toBeUndefined();
    expect(runs).toBe(2);
  });
});
