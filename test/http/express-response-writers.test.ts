import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/index.js';
import { idempotency } from '../../src/express/index.js';
import { type Served, serveExpress } from './support/servers.js';

// The ways an Express handler can write its answer, each stored once and replayed byte for byte.
const servers: Served[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function send(origin: string, path: string, key: string) {
  const response = await fetch(`${origin}${path}`, { method: 'POST', redirect: 'manual', headers: { 'Idempotency-Key': key, 'Content-Type': 'application/json' }, body: '{}' });
  const body = new Uint8Array(await response.arrayBuffer());
  return { status: response.status, replayed: response.headers.get('idempotent-replayed'), type: response.headers.get('content-type'), location: response.headers.get('location'), etag: response.headers.get('etag'), body: Buffer.from(body).toString('hex') };
}

describe('oncely/express: response writers', () => {
  const runs = new Map<string, number>();
  const count = (path: string) => runs.set(path, (runs.get(path) ?? 0) + 1);
  const app = express();
  app.use(express.json(), idempotency({ store: new MemoryStore() }));
  app.post('/write-head', (req, res) => { count(req.path); res.writeHead(201, { 'Content-Type': 'text/csv', ETag: '"e1"' }); res.end('a,b'); });
  app.post('/redirect', (req, res) => { count(req.path); res.redirect(303, '/orders/1'); });
  app.post('/send-status', (req, res) => { count(req.path); res.sendStatus(202); });
  app.post('/end-callback', (req, res) => { count(req.path); res.status(201); res.end(() => undefined); });
  app.post('/end-chunk-callback', (req, res) => { count(req.path); res.status(201); res.end('done', () => undefined); });
  app.post('/end-hex', (req, res) => { count(req.path); res.status(201).type('application/octet-stream'); res.end('ff00fe', 'hex'); });
  app.post('/write-hex', (req, res) => { count(req.path); res.status(201).type('application/octet-stream'); res.write('ff', 'hex'); res.write('ab', () => undefined); res.end(); });

  it.each([
    ['/write-head', { status: 201, type: 'text/csv', etag: '"e1"', body: Buffer.from('a,b').toString('hex') }],
    ['/redirect', { status: 303, location: '/orders/1' }],
    ['/send-status', { status: 202, body: Buffer.from('Accepted').toString('hex') }],
    ['/end-callback', { status: 201, body: '' }],
    ['/end-chunk-callback', { status: 201, body: Buffer.from('done').toString('hex') }],
    ['/end-hex', { status: 201, body: 'ff00fe' }],
    ['/write-hex', { status: 201, body: 'ff' + Buffer.from('ab').toString('hex') }],
  ])('%s: the first answer is replayed as written, and the handler ran once', async (path, expected) => {
    const served = await serveExpress(app);
    servers.push(served);
    const first = await send(served.origin, path, `key${path}`);
    const retry = await send(served.origin, path, `key${path}`);
    expect(first).toMatchObject({ ...expected, replayed: null });
    expect(retry).toEqual({ ...first, replayed: 'true' });
    expect(runs.get(path)).toBe(1);
  });
});
