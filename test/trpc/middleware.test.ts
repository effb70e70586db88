import { TRPCClientError } from '@trpc/client';
import superjson from 'superjson';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Idempotency, MemoryStore } from '../../src/index.js';
import { parseBatchKeysHeader, serializerFromTransformer } from '../../src/trpc/index.js';
import { type Adapter, type CallContext, Counter, type TrpcApp, buildRouter, client, failure, startTrpcApp, uid } from './harness.js';

// Adapter behaviour on MemoryStore: what is tested here happens in the middleware, the same on every
// store (the database matrix is in transactional.test.ts and test/prisma/). The full specs run in
// process, through the fetch adapter's handler (no socket), with and without a transformer. The
// Node adapters (standalone, express) write the replay headers and statuses on their own `res`:
// over real HTTP, the specs whose subject is the answer's headers and status (`http: true`).
const configs: { adapter: Adapter; superjson: boolean; transformerSerializer?: boolean; http?: boolean }[] = [
  { adapter: 'fetch', superjson: true },
  { adapter: 'fetch', superjson: false },
  { adapter: 'fetch', superjson: true, transformerSerializer: true },
  { adapter: 'standalone', superjson: true, http: true },
  { adapter: 'express', superjson: false, http: true },
];


describe('tRPC middleware', () => {
  const store = { store: new MemoryStore() };

  for (const cfg of configs) {
    describe(`${cfg.adapter} adapter${cfg.http ? ' over HTTP' : ', in process'}, ${cfg.superjson ? 'superjson' : 'no transformer'}${cfg.transformerSerializer ? ', serializerFromTransformer' : ''}`, () => {
      const counter = new Counter();
      let server: TrpcApp;
      // Over HTTP, only the specs about the answer's headers and status; the rest are in process.
      const spec = cfg.http ? ((() => undefined) as unknown as typeof it) : it;
      beforeAll(async () => {
        const options = cfg.transformerSerializer ? { serializer: serializerFromTransformer(superjson) } : {};
        server = await startTrpcApp(buildRouter({ store: store.store }, counter, { superjson: cfg.superjson, options }), cfg.adapter);
      });
      afterAll(() => server.close());

      for (const link of ['http', 'batch'] as const) {
        const c = () => client(server, link, cfg.superjson);
        const replayMarker = (headers: Headers) =>
          link === 'http' ? headers.get('idempotent-replayed') : headers.get('idempotent-replayed-calls');
        const expectedMarker = link === 'http' ? 'true' : '0';
        const keyEcho = (headers: Headers) => (link === 'http' ? headers.get('idempotency-key') : headers.get('idempotency-keys'));

        describe(`${link === 'http' ? 'httpLink' : 'httpBatchLink'}`, () => {
          it('replays the stored result, deep-equal, without running the procedure again', async () => {
            const { trpc, seen } = c();
            const label = uid();
            const key = `k-${uid()}`;
            const input = { label, at: new Date('2024-02-29T12:00:00.000Z'), rich: cfg.superjson };
            const first = await trpc.create.mutate(input, { context: { key } satisfies CallContext });
            const second = await trpc.create.mutate(input, { context: { key } satisfies CallContext });
            expect(second).toEqual(first);
            expect(counter.of(label)).toBe(1);
            expect(first.key).toBe(key);
            expect(first.charge).toMatch(/^oncely_/);
            if (cfg.superjson) {
              const rich = second as unknown as { at: Date; tags: Set<string>; totals: Map<string, bigint> };
              expect(rich.at).toBeInstanceOf(Date);
              expect(rich.tags).toBeInstanceOf(Set);
              expect(rich.totals.get('cents')).toBe(12_345_678_901_234_567_890n);
            }
            expect(replayMarker(seen[0]!.headers)).toBeNull();
            expect(replayMarker(seen[1]!.headers)).toBe(expectedMarker);
            // The replay echoes its key, like Yoga: one call in Idempotency-Key, a batch's replayed
            // calls in Idempotency-Keys (the request header's format, replayed calls only).
            expect(keyEcho(seen[0]!.headers)).toBeNull();
            expect(keyEcho(seen[1]!.headers)).toBe(link === 'http' ? key : JSON.stringify({ 0: key }));
            expect(seen[1]!.headers.get(link === 'http' ? 'idempotency-keys' : 'idempotency-key')).toBeNull();
          });

          spec('answers UNPROCESSABLE_CONTENT when the key comes back with another input', async () => {
            const { trpc } = c();
            const key = `k-${uid()}`;
            const label = uid();
            await trpc.create.mutate({ label, at: new Date(1) }, { context: { key } });
            const error = await failure(trpc.create.mutate({ label, at: new Date(2) }, { context: { key } }));
            expect(error.data?.code).toBe('UNPROCESSABLE_CONTENT');
            expect(error.data?.httpStatus).toBe(422);
            expect(error.data?.oncelyCode).toBe('IDEMPOTENCY_KEY_REUSED');
            expect(counter.of(label)).toBe(1);
          });

          spec('takes the key from the input field and leaves it out of the fingerprint', async () => {
            const { trpc } = c();
            const label = uid();
            const key = `k-${uid()}`;
            const first = await trpc.create.mutate({ label, at: new Date(5), idempotencyKey: key });
            // Same key by header, same payload without the field: the same operation.
            const second = await trpc.create.mutate({ label, at: new Date(5) }, { context: { key } });
            expect(second).toEqual(first);
            expect(counter.of(label)).toBe(1);
          });

          spec('refuses missing and invalid keys with BAD_REQUEST, without running', async () => {
            const { trpc } = c();
            const label = uid();
            const missing = await failure(trpc.create.mutate({ label, at: new Date(1) }));
            expect(missing.data?.code).toBe('BAD_REQUEST');
            expect(missing.data?.oncelyCode).toBe('IDEMPOTENCY_KEY_MISSING');
            const invalid = await failure(trpc.create.mutate({ label, at: new Date(1) }, { context: { key: 'x'.repeat(256) } }));
            expect(invalid.data?.code).toBe('BAD_REQUEST');
            expect(invalid.data?.oncelyCode).toBe('IDEMPOTENCY_KEY_INVALID');
            const inputKey = await failure(trpc.create.mutate({ label, at: new Date(1), idempotencyKey: 42 as unknown as string }));
            expect(inputKey.data?.oncelyCode).toBe('IDEMPOTENCY_KEY_INVALID');
            expect(counter.of(label)).toBe(0);
          });

          it('answers CONFLICT with a retry hint while the first call runs, then replays', async () => {
            const { trpc, seen } = c();
            const label = uid();
            const key = `k-${uid()}`;
            const first = trpc.slow.mutate({ label, ms: 400 }, { context: { key } });
            await new Promise((r) => setTimeout(r, 100));
            const conflict = await failure(client(server, link, cfg.superjson).trpc.slow.mutate({ label, ms: 400 }, { context: { key } }));
            expect(conflict.data?.code).toBe('CONFLICT');
            expect(conflict.data?.httpStatus).toBe(409);
            expect(conflict.data?.oncelyCode).toBe('IDEMPOTENCY_KEY_IN_USE');
            expect(conflict.data?.retryAfter).toBe(1);
            const original = await first;
            const replay = await trpc.slow.mutate({ label, ms: 400 }, { context: { key } });
            expect(replay).toEqual(original);
            expect(counter.of(label)).toBe(1);
            expect(replayMarker(seen.at(-1)!.headers)).toBe(expectedMarker);
          });

          spec('replays a deterministic TRPCError with the same code, message and data', async () => {
            const { trpc } = c();
            const label = uid();
            const key = `k-${uid()}`;
            const first = await failure(trpc.fail.mutate({ label, code: 'NOT_FOUND' }, { context: { key } }));
            const second = await failure(trpc.fail.mutate({ label, code: 'NOT_FOUND' }, { context: { key } }));
            expect(first.data?.code).toBe('NOT_FOUND');
            expect(second.message).toBe(first.message);
            expect(second.data?.code).toBe('NOT_FOUND');
            expect(second.data?.httpStatus).toBe(404);
            expect(second.data?.details).toEqual({ run: 1, field: 'quantity' });
            expect(second.data?.details).toEqual(first.data?.details);
            expect(counter.of(label)).toBe(1);
          });

          spec('releases the key on retryable errors (INTERNAL_SERVER_ERROR, CONFLICT, UNAUTHORIZED)', async () => {
            const { trpc } = c();
            for (const code of ['INTERNAL_SERVER_ERROR', 'CONFLICT', 'UNAUTHORIZED'] as const) {
              const label = uid();
              const key = `k-${uid()}`;
              await failure(trpc.fail.mutate({ label, code }, { context: { key } }));
              const second = await failure(trpc.fail.mutate({ label, code }, { context: { key } }));
              expect(second.data?.code).toBe(code);
              expect(second.message).toContain('(run 2)');
              expect(counter.of(label)).toBe(2);
            }
          });

          spec('keeps tenants apart: the same key in two tenants is two operations', async () => {
            const { trpc } = c();
            const label = uid();
            const key = `k-${uid()}`;
            const input = { label, at: new Date(9) };
            const a = await trpc.create.mutate(input, { context: { key, tenant: 'tenant-a' } });
            const b = await trpc.create.mutate(input, { context: { key, tenant: 'tenant-b' } });
            const a2 = await trpc.create.mutate(input, { context: { key, tenant: 'tenant-a' } });
            expect(b.run).toBe(2);
            expect(a2).toEqual(a);
            expect(b.charge).not.toBe(a.charge);
            expect(counter.of(label)).toBe(2);
          });

          spec('leaves queries untouched: no key needed, never replayed', async () => {
            const { trpc, seen } = c();
            const label = uid();
            const one = await trpc.read.query({ label });
            const two = await trpc.read.query({ label });
            expect(one).toEqual({ run: 1, guarded: false });
            expect(two).toEqual({ run: 2, guarded: false });
            expect(seen.every((s) => replayMarker(s.headers) === null)).toBe(true);
          });

          spec('runs an optional procedure without a key, and guards it with one', async () => {
            const { trpc } = c();
            const label = uid();
            expect(await trpc.optionalKey.mutate({ label })).toEqual({ run: 1, keyed: false });
            const key = `k-${uid()}`;
            const keyed = await trpc.optionalKey.mutate({ label }, { context: { key } });
            expect(await trpc.optionalKey.mutate({ label }, { context: { key } })).toEqual(keyed);
            expect(keyed).toEqual({ run: 2, keyed: true });
          });
        });
      }

      it('mixes new, replayed and conflicting calls in one httpBatchLink batch', async () => {
        const label = uid();
        const done = `k-${uid()}`;
        const running = `k-${uid()}`;
        const fresh = `k-${uid()}`;
        const input = { label, at: new Date(3) };
        const single = client(server, 'http', cfg.superjson).trpc;
        const old = await single.create.mutate(input, { context: { key: done } });
        const inFlight = single.slow.mutate({ label: `${label}-slow`, ms: 500 }, { context: { key: running } });
        await new Promise((r) => setTimeout(r, 100));

        const { trpc, seen } = client(server, 'batch', cfg.superjson);
        const [replayed, created, conflicting] = await Promise.allSettled([
          trpc.create.mutate(input, { context: { key: done } }),
          trpc.create.mutate({ ...input, label: `${label}-new` }, { context: { key: fresh } }),
          trpc.slow.mutate({ label: `${label}-slow`, ms: 500 }, { context: { key: running } }),
        ]);
        expect(seen).toHaveLength(1); // one HTTP request
        expect(replayed).toEqual({ status: 'fulfilled', value: old });
        expect(created.status).toBe('fulfilled');
        expect(conflicting.status).toBe('rejected');
        expect(((conflicting as PromiseRejectedResult).reason as TRPCClientError<any>).data?.code).toBe('CONFLICT');
        expect(seen[0]!.headers.get('idempotent-replayed-calls')).toBe('0');
        expect(seen[0]!.headers.get('idempotent-replayed')).toBeNull();
        expect(parseBatchKeysHeader(seen[0]!.headers.get('idempotency-keys') ?? '')).toEqual(new Map([[0, done]]));
        expect(seen[0]!.headers.get('idempotency-key')).toBeNull();
        await inFlight;
        expect(counter.of(label)).toBe(1);
        expect(counter.of(`${label}-new`)).toBe(1);
        expect(counter.of(`${label}-slow`)).toBe(1);
      });

      it('lists every replayed call of a batch, and refuses one key for several calls', async () => {
        const label = uid();
        const keys = [`k-${uid()}`, `k-${uid()}`, `k-${uid()}`];
        const input = (i: number) => ({ label: `${label}-${i}`, at: new Date(i) });
        const single = client(server, 'http', cfg.superjson).trpc;
        await single.create.mutate(input(0), { context: { key: keys[0] } });
        await single.create.mutate(input(2), { context: { key: keys[2] } });
        const { trpc, seen } = client(server, 'batch', cfg.superjson);
        await Promise.all(keys.map((key, i) => trpc.create.mutate(input(i), { context: { key } })));
        expect(seen[0]!.headers.get('idempotent-replayed-calls')).toBe('0,2');
        expect(parseBatchKeysHeader(seen[0]!.headers.get('idempotency-keys') ?? '')).toEqual(new Map([[0, keys[0]], [2, keys[2]]]));

        const shared = await Promise.allSettled([
          trpc.create.mutate(input(5), { context: { rawHeaders: { 'idempotency-key': 'one-for-all' } } }),
          trpc.create.mutate(input(6), { context: {} }),
        ]);
        for (const result of shared) {
          expect(((result as PromiseRejectedResult).reason as TRPCClientError<any>).data?.code).toBe('BAD_REQUEST');
        }
      });

      it('answers BAD_REQUEST, never 500, to a malformed Idempotency-Keys header', async () => {
        const { trpc } = client(server, 'batch', cfg.superjson);
        for (const raw of ['[1,2]', '{"0":5}', '{"00":"k"}', 'not json', '{"-1":"k"}']) {
          const error = await failure(trpc.create.mutate({ label: uid(), at: new Date(1) }, { context: { rawHeaders: { 'idempotency-keys': raw } } }));
          expect(error.data?.code).toBe('BAD_REQUEST');
          expect(error.data?.httpStatus).toBe(400);
        }
        // Queries in the same kind of request are untouched by the header.
        expect((await trpc.read.query({ label: uid() }, { context: { rawHeaders: { 'idempotency-keys': 'junk' } } })).run).toBe(1);
      });
    });
  }

  it('50 parallel duplicates run the procedure once; with inProgress "wait" all get the same result', async () => {
    const counter = new Counter();
    // An existing engine instance, shared: the middleware must accept one.
    const engine = new Idempotency({ store: store.store, lease: '5s', inProgress: 'wait', waitTimeout: '20s' });
    const server = await startTrpcApp(buildRouter({ engine }, counter, { superjson: true }));
    try {
      const { trpc, seen } = client(server, 'http', true);
      const key = `k-${uid()}`;
      const label = uid();
      const results = await Promise.all(
        Array.from({ length: 50 }, () => trpc.slow.mutate({ label, ms: 300 }, { context: { key } })),
      );
      expect(counter.of(label)).toBe(1);
      for (const result of results) expect(result).toEqual(results[0]);
      expect(seen.filter((s) => s.headers.get('idempotent-replayed') === 'true')).toHaveLength(49);
    } finally {
      await server.close();
    }
  });

  it('50 parallel duplicates in reject mode: one execution, the rest CONFLICT or replay', async () => {
    const counter = new Counter();
    const server = await startTrpcApp(buildRouter({ store: store.store }, counter, { superjson: false }));
    try {
      const { trpc } = client(server, 'http', false);
      const key = `k-${uid()}`;
      const label = uid();
      const results = await Promise.allSettled(Array.from({ length: 50 }, () => trpc.slow.mutate({ label, ms: 300 }, { context: { key } })));
      expect(counter.of(label)).toBe(1);
      // In process, all 50 claim attempts land while the first call's 300 ms run: exactly one
      // runs, the 49 others are told CONFLICT (none comes late enough to be a replay).
      const ok = results.filter((r) => r.status === 'fulfilled');
      expect(ok).toHaveLength(1);
      const conflicts = results.filter((r) => r.status === 'rejected' && (r.reason as TRPCClientError<any>).data?.code === 'CONFLICT');
      expect(conflicts).toHaveLength(49);
    } finally {
      await server.close();
    }
  });
});
