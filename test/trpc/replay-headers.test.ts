import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseBatchKeysHeader, parseReplayedCallsHeader } from '../../src/trpc/index.js';
import { MemoryStore } from '../../src/index.js';
import { type Adapter, Counter, type TrpcApp, buildRouter, client, startTrpcApp } from './harness.js';

// The class behind issue 11, defect 8 (replays must echo their key): for any batch, the replay
// headers name exactly the calls that were replayed, each with the key it was keyed with, and a
// single call's replay carries its key; nothing else is marked.

const uid = () => randomUUID().slice(0, 8);
// The headers are the adapter's: MemoryStore. The fetch adapter runs in process; standalone and
// express write them on their Node `res`, over real HTTP.

/** One call of a batch: was it done before, and does it send its key in the header or the input field? */
const call = fc.record({ before: fc.boolean(), inInput: fc.boolean() });

describe('property: replay headers name exactly the replayed calls and their keys', () => {
  const store = { store: new MemoryStore() };

  for (const adapter of ['standalone', 'fetch', 'express'] as Adapter[]) {
    describe(`${adapter} adapter`, () => {
      const counter = new Counter();
      let server: TrpcApp;
      beforeAll(async () => {
        server = await startTrpcApp(buildRouter({ store: store.store }, counter, { superjson: false }), adapter);
      });
      afterAll(() => server?.close());

      it('batches of 1-5 calls, any of them replayed, keys from header or input field', async () => {
        await fc.assert(
          fc.asyncProperty(fc.array(call, { minLength: 1, maxLength: 5 }), async (calls) => {
            const label = uid();
            const keys = calls.map(() => `k-${uid()}`);
            const input = (i: number) => ({ label: `${label}-${i}`, at: new Date(i) });
            const single = client(server, 'http', false);
            for (const [i, c] of calls.entries()) {
              if (!c.before) continue;
              await single.trpc.create.mutate(input(i), { context: { key: keys[i] } });
            }
            const { trpc, seen } = client(server, 'batch', false);
            await Promise.all(
              calls.map((c, i) =>
                c.inInput
                  ? trpc.create.mutate({ ...input(i), idempotencyKey: keys[i] })
                  : trpc.create.mutate(input(i), { context: { key: keys[i] } }),
              ),
            );
            expect(seen).toHaveLength(1);
            const replayed = new Map(calls.flatMap((c, i) => (c.before ? [[i, keys[i]!] as const] : [])));
            const headers = seen[0]!.headers;
            expect(parseReplayedCallsHeader(headers.get('idempotent-replayed-calls'))).toEqual(new Set(replayed.keys()));
            const echoed = headers.get('idempotency-keys');
            if (replayed.size === 0) expect(echoed).toBeNull();
            else expect(parseBatchKeysHeader(echoed ?? '')).toEqual(replayed);
            expect(headers.get('idempotent-replayed')).toBeNull();
            expect(headers.get('idempotency-key')).toBeNull();
            for (const i of calls.keys()) expect(counter.of(`${label}-${i}`)).toBe(1);

            // The same calls one by one, now all done: each replay carries its own key.
            for (const [i, c] of calls.entries()) {
              const one = client(server, 'http', false);
              if (c.inInput) await one.trpc.create.mutate({ ...input(i), idempotencyKey: keys[i] });
              else await one.trpc.create.mutate(input(i), { context: { key: keys[i] } });
              expect(one.seen[0]!.headers.get('idempotent-replayed')).toBe('true');
              expect(one.seen[0]!.headers.get('idempotency-key')).toBe(keys[i]);
              expect(one.seen[0]!.headers.get('idempotent-replayed-calls')).toBeNull();
            }
          }),
          { numRuns: 12 },
        );
      });
    });
  }
});
