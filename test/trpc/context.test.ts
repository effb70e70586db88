import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { createHTTPServer } from '@trpc/server/adapters/standalone';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/index.js';
import { type CallContext, Counter, type TrpcApp, type TestRouter, buildRouter, client, failure, uid } from './harness.js';

// What the middleware does when createContext did not keep the request: it cannot read the key
// header, so a required key must not be reported as missing (the client did send it).


/** A standalone server whose createContext returns what `context(req)` makes of the request. */
async function serveWith(router: TestRouter, context: (req: { headers: Record<string, unknown> }) => object): Promise<TrpcApp> {
  const server = createHTTPServer({ router, basePath: '/trpc/', createContext: ({ req }) => ({ tenant: 'tenant-a', ...context(req) }) as never });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/trpc`,
    fetch: (input, init) => fetch(input, init),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}

// MemoryStore: nothing here depends on the database. Over real HTTP on the standalone adapter: the
// subject is what its createContext hands the middleware (Node's req and its headers object).

describe('tRPC middleware with a context that carries no request headers', () => {
  const store = { store: new MemoryStore() };
  const counter = new Counter();
  let bare: TrpcApp;
  let headersOnly: TrpcApp;
  let noHeaderSources: TrpcApp;
  beforeAll(async () => {
    bare = await serveWith(buildRouter({ store: store.store }, counter, { superjson: false }), () => ({}));
    headersOnly = await serveWith(buildRouter({ store: store.store }, counter, { superjson: false }), (req) => ({ headers: req.headers }));
    noHeaderSources = await serveWith(
      buildRouter({ store: store.store }, counter, { superjson: false, options: { header: false, batchHeader: false } }),
      () => ({}),
    );
  });
  afterAll(async () => {
    await Promise.all([bare, headersOnly, noHeaderSources].map((s) => s?.close()));
  });

  it('answers a configuration error naming the fix, not "key required", when the key header cannot be read', async () => {
    for (const link of ['http', 'batch'] as const) {
      const { trpc } = client(bare, link, false);
      const label = uid();
      for (const context of [{ key: `k-${uid()}` }, {}] satisfies CallContext[]) {
        const error = await failure(trpc.create.mutate({ label, at: new Date(1) }, { context }));
        expect(error.data?.code).toBe('INTERNAL_SERVER_ERROR');
        expect(error.data?.httpStatus).toBe(500);
        expect(error.data?.oncelyCode).toBe('IDEMPOTENCY_CONFIGURATION');
        expect(error.message).toContain('createContext');
        expect(error.message).toContain('`req`');
        expect(error.message).toContain('`headers`');
        expect(error.message).toContain('idempotencyKey');
        expect(error.message).toContain('getKey');
        expect(error.message).not.toContain('is required');
      }
      expect(counter.of(label)).toBe(0);
    }
  });

  it('still works with the key in the input field, and runs an optional procedure without a key', async () => {
    const { trpc } = client(bare, 'http', false);
    const label = uid();
    const idempotencyKey = `k-${uid()}`;
    const first = await trpc.create.mutate({ label, at: new Date(2), idempotencyKey });
    const again = await trpc.create.mutate({ label, at: new Date(2), idempotencyKey });
    expect(again).toEqual(first);
    expect(counter.of(label)).toBe(1);
    const optional = uid();
    expect(await trpc.optionalKey.mutate({ label: optional })).toEqual({ run: 1, keyed: false });
  });

  it('reads the key from ctx.headers when the context keeps the headers instead of req', async () => {
    const { trpc, seen } = client(headersOnly, 'http', false);
    const label = uid();
    const key = `k-${uid()}`;
    const first = await trpc.create.mutate({ label, at: new Date(3) }, { context: { key } });
    const again = await trpc.create.mutate({ label, at: new Date(3) }, { context: { key } });
    expect(again).toEqual(first);
    expect(counter.of(label)).toBe(1);
    // No `res` in this context: nowhere to put the replay headers, and no error for it.
    expect(seen[1]!.headers.get('idempotent-replayed')).toBeNull();
    const missing = await failure(trpc.create.mutate({ label: uid(), at: new Date(3) }));
    expect(missing.data?.oncelyCode).toBe('IDEMPOTENCY_KEY_MISSING');
  });

  it('keeps "key required" (400) when the headers are not a key source', async () => {
    const { trpc } = client(noHeaderSources, 'http', false);
    const missing = await failure(trpc.create.mutate({ label: uid(), at: new Date(4) }, { context: { key: `k-${uid()}` } }));
    expect(missing.data?.code).toBe('BAD_REQUEST');
    expect(missing.data?.oncelyCode).toBe('IDEMPOTENCY_KEY_MISSING');
  });
});
