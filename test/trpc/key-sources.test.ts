import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/index.js';
import type { CallOptions } from '../../src/trpc/index.js';
import { type CallContext, Counter, type Ctx, type RichInput, type TrpcApp, buildRouter, client, failure, startTrpcApp, uid } from './harness.js';

// The key-source options, in process through the fetch adapter on MemoryStore: each source can be
// turned off with false, getKey is asked first and falls back on undefined or null, header names
// compare in any case and replays echo the configured one. The procedure requires a key (the
// default), so a source that is not read shows as BAD_REQUEST without the procedure running.

const derivedKey = ({ ctx }: CallOptions) => ((ctx as Ctx).req as Request).headers.get('x-derived-key');

describe('tRPC key sources', () => {
  const store = new MemoryStore();
  const counter = new Counter();
  const apps = new Map<string, TrpcApp>();
  const app = (name: string) => apps.get(name) as TrpcApp;
  const configs = {
    defaults: {},
    noHeader: { header: false },
    noBatchHeader: { batchHeader: false },
    noInputField: { inputField: false },
    derived: { getKey: derivedKey },
    renamed: { header: 'X-Request-Key', batchHeader: 'X-Request-Keys', inputField: 'requestKey' },
  } as const;

  beforeAll(async () => {
    for (const [name, options] of Object.entries(configs)) apps.set(name, await startTrpcApp(buildRouter({ store }, counter, { superjson: false, options })));
  });
  afterAll(async () => {
    await Promise.all([...apps.values()].map((a) => a.close()));
  });

  /** Calls `create` twice with the same input and context; the second answer's headers. */
  async function twice(name: string, link: 'http' | 'batch', input: RichInput, context: CallContext) {
    const { trpc, seen } = client(app(name), link, false);
    const first = await trpc.create.mutate(input, { context });
    const again = await trpc.create.mutate(input, { context });
    return { first, again, headers: (seen.at(-1) as { headers: Headers }).headers };
  }

  async function expectMissing(name: string, link: 'http' | 'batch', input: RichInput, context: CallContext) {
    const { trpc } = client(app(name), link, false);
    const error = await failure(trpc.create.mutate(input, { context }));
    expect(error.data?.code).toBe('BAD_REQUEST');
    expect(error.data?.oncelyCode).toBe('IDEMPOTENCY_KEY_MISSING');
    expect(counter.of(input.label)).toBe(0);
  }

  const cases = [
    { off: 'noHeader', link: 'http', send: (key: string) => ({ input: {}, context: { key } }) },
    { off: 'noBatchHeader', link: 'batch', send: (key: string) => ({ input: {}, context: { key } }) },
    { off: 'noInputField', link: 'http', send: (key: string) => ({ input: { idempotencyKey: key }, context: {} }) },
  ] as const;

  for (const { off, link, send } of cases) {
    it(`${off}: the source, turned off with false, is not read`, async () => {
      const keyed = send(`k-${uid()}`);
      const label = uid();
      const done = await twice('defaults', link, { label, at: new Date(1), ...keyed.input }, keyed.context);
      expect(done.again).toEqual(done.first);
      expect(counter.of(label)).toBe(1);

      await expectMissing(off, link, { label: uid(), at: new Date(1), ...keyed.input }, keyed.context);
    });
  }

  it('getKey is asked first: its key wins over the input field and the header', async () => {
    const derived = `d-${uid()}`;
    const label = uid();
    const { trpc, seen } = client(app('derived'), 'http', false);
    const first = await trpc.create.mutate({ label, at: new Date(2), idempotencyKey: `i-${uid()}` }, { context: { key: `h-${uid()}`, rawHeaders: { 'x-derived-key': derived } } });
    expect(first.key).toBe(derived);
    // The same derived key alone replays (the input field is not part of the fingerprint).
    const again = await trpc.create.mutate({ label, at: new Date(2) }, { context: { rawHeaders: { 'x-derived-key': derived } } });
    expect(again).toEqual(first);
    expect(seen.at(-1)?.headers.get('idempotency-key')).toBe(derived);
    expect(counter.of(label)).toBe(1);
  });

  it('getKey returning null falls back to the input field and the headers', async () => {
    const byInput = uid();
    const inputKey = `i-${uid()}`;
    const input = await twice('derived', 'http', { label: byInput, at: new Date(3), idempotencyKey: inputKey }, {});
    expect(input.again).toEqual(input.first);
    expect(input.first.key).toBe(inputKey);
    expect(counter.of(byInput)).toBe(1);
    for (const link of ['http', 'batch'] as const) {
      const label = uid();
      const key = `h-${uid()}`;
      const done = await twice('derived', link, { label, at: new Date(3) }, { key });
      expect(done.again).toEqual(done.first);
      expect(done.first.key).toBe(key);
      expect(counter.of(label)).toBe(1);
    }
  });

  it('reads renamed headers in any case and echoes the key in them; the default names are not read', async () => {
    const label = uid();
    const key = `k-${uid()}`;
    const single = await twice('renamed', 'http', { label, at: new Date(4) }, { rawHeaders: { 'x-REQUEST-key': key } });
    expect(single.again).toEqual(single.first);
    expect(single.headers.get('idempotent-replayed')).toBe('true');
    expect(single.headers.get('x-request-key')).toBe(key);
    expect(single.headers.get('idempotency-key')).toBeNull();
    expect(counter.of(label)).toBe(1);

    const batch = uid();
    const batchKey = `b-${uid()}`;
    const batched = await twice('renamed', 'batch', { label: batch, at: new Date(4) }, { rawHeaders: { 'X-Request-KEYS': JSON.stringify({ 0: batchKey }) } });
    expect(batched.again).toEqual(batched.first);
    expect(batched.headers.get('idempotent-replayed-calls')).toBe('0');
    expect(batched.headers.get('x-request-keys')).toBe(JSON.stringify({ 0: batchKey }));

    const field = uid();
    const byField = await twice('renamed', 'http', { label: field, at: new Date(4), requestKey: `f-${uid()}` } as RichInput, {});
    expect(byField.again).toEqual(byField.first);
    expect(counter.of(field)).toBe(1);

    await expectMissing('renamed', 'http', { label: uid(), at: new Date(4) }, { key: `k-${uid()}` });
    await expectMissing('renamed', 'batch', { label: uid(), at: new Date(4) }, { key: `k-${uid()}` });
    await expectMissing('renamed', 'http', { label: uid(), at: new Date(4), idempotencyKey: `k-${uid()}` }, {});
  });
});
