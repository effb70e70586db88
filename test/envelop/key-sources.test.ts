import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/index.js';
import type { UseIdempotencyOptions } from '../../src/envelop/options.js';
import { type GqlRequest, PAY, type Reply, type YogaApp, newKey, post, startYogaApp } from './helpers.js';

// The key-source options, in process on MemoryStore: each source can be turned off with false, the
// precedence is fixed (getKey, header, extension, then argument, directive), header names compare
// in any case and replays echo the configured one. Every app requires a key (the default), so a
// source that is not read shows as a 400 without the resolver running.

const tenant = (ctx: { request: Request }) => ctx.request.headers.get('x-tenant') ?? 'public';
const derivedKey = (ctx: { request: Request }) => ctx.request.headers.get('x-derived-key');

const PAY_WITH_INPUT_KEY = /* GraphQL */ `
  mutation Pay($orderId: String!, $amount: Int!, $key: String) {
    pay(input: { orderId: $orderId, amount: $amount, idempotencyKey: $key }) { id }
  }
`;
const chargeByArgument = (key: string) => ({ query: `mutation { charge(orderId: "a", amount: 1, idempotencyKey: "${key}") { id } }` });
const chargeByDirective = (key: string) => ({ query: `mutation { charge(orderId: "d", amount: 1) @idempotent(key: "${key}") { id } }` });

/** Executions of both test mutations so far. */
const executions = (app: YogaApp) => app.calls.pay + app.calls.charge;

/** One request, sent twice to `app`: the two replies and how many executions they caused. */
async function twice(app: YogaApp, body: GqlRequest, headers: Record<string, string> = {}) {
  const before = executions(app);
  const first = await post(app, body, headers);
  const again = await post(app, body, headers);
  return { first, again, ran: executions(app) - before };
}

function expectMissing(reply: Reply, message: string) {
  expect(reply.status).toBe(400);
  expect(reply.json.errors).toHaveLength(1);
  expect(reply.json.errors[0].extensions.code).toBe('IDEMPOTENCY_KEY_MISSING');
  expect(reply.json.errors[0].message).toBe(message);
}

describe('key sources', () => {
  const store = new MemoryStore();
  const apps = new Map<string, YogaApp>();
  const app = (name: string) => apps.get(name) as YogaApp;
  const configs: Record<string, Partial<UseIdempotencyOptions>> = {
    defaults: {},
    noHeader: { header: false },
    noExtension: { extension: false },
    noArgument: { argument: false },
    noInputArgument: { inputArgument: false },
    noDirective: { directive: false },
    derived: { getKey: derivedKey },
    renamed: { header: 'X-Request-Key', extension: 'requestKey' },
  };

  beforeAll(async () => {
    for (const [name, options] of Object.entries(configs)) apps.set(name, await startYogaApp({ store, getTenant: tenant, ...options }));
  });
  afterAll(async () => {
    await Promise.all([...apps.values()].map((a) => a.close()));
  });

  // Each case: the source's request, keyed and replayed by the default plugin; refused as keyless
  // by the plugin with that source turned off (the message names only the sources still read).
  const cases: { off: string; request: (key: string) => [GqlRequest, Record<string, string>]; missing: string }[] = [
    {
      off: 'noHeader',
      request: (key) => [{ query: PAY, variables: { orderId: 'h', amount: 1 } }, { 'Idempotency-Key': key }],
      missing: 'Mutation.pay needs an idempotency key; send one in extensions.idempotencyKey, the idempotencyKey argument, @idempotent(key: "...").',
    },
    {
      off: 'noExtension',
      request: (key) => [{ query: PAY, variables: { orderId: 'e', amount: 1 }, extensions: { idempotencyKey: key } }, {}],
      missing: 'Mutation.pay needs an idempotency key; send one in the Idempotency-Key header, the idempotencyKey argument, @idempotent(key: "...").',
    },
    {
      off: 'noArgument',
      request: (key) => [chargeByArgument(key), {}],
      missing: 'Mutation.charge needs an idempotency key; send one in the Idempotency-Key header, extensions.idempotencyKey, @idempotent(key: "...").',
    },
    {
      off: 'noInputArgument',
      request: (key) => [{ query: PAY_WITH_INPUT_KEY, variables: { orderId: 'i', amount: 1, key } }, {}],
      missing: 'Mutation.pay needs an idempotency key; send one in the Idempotency-Key header, extensions.idempotencyKey, the idempotencyKey argument, @idempotent(key: "...").',
    },
    {
      off: 'noDirective',
      request: (key) => [chargeByDirective(key), {}],
      missing: 'Mutation.charge needs an idempotency key; send one in the Idempotency-Key header, extensions.idempotencyKey, the idempotencyKey argument.',
    },
  ];

  for (const { off, request, missing } of cases) {
    it(`${off}: the source, turned off with false, is not read`, async () => {
      const [body, headers] = request(newKey());
      const keyed = await twice(app('defaults'), body, headers);
      expect(keyed.ran).toBe(1);
      expect(keyed.again.status).toBe(200);
      expect(keyed.again.headers.get('idempotent-replayed')).toBe('true');

      const refused = await twice(app(off), body, headers);
      expect(refused.ran).toBe(0);
      expectMissing(refused.first, missing);
    });
  }

  it('inputArgument: false still reads the argument at the top level', async () => {
    const keyed = await twice(app('noInputArgument'), chargeByArgument(newKey()));
    expect(keyed.ran).toBe(1);
    expect(keyed.again.json.extensions).toEqual({ idempotency: { replayedFields: ['charge'] } });
  });

  it('header: false still echoes the key of a replay in Idempotency-Key', async () => {
    const key = newKey();
    const keyed = await twice(app('noHeader'), { query: PAY, variables: { orderId: 'x', amount: 1 }, extensions: { idempotencyKey: key } });
    expect(keyed.ran).toBe(1);
    expect(keyed.again.headers.get('idempotency-key')).toBe(key);
  });

  it('reads a renamed header in any case and echoes the key in it; the default names are not read', async () => {
    const key = newKey();
    const keyed = await twice(app('renamed'), { query: PAY, variables: { orderId: 'r', amount: 1 } }, { 'x-REQUEST-key': key });
    expect(keyed.ran).toBe(1);
    expect(keyed.again.headers.get('idempotent-replayed')).toBe('true');
    expect(keyed.again.headers.get('x-request-key')).toBe(key);
    expect(keyed.again.headers.get('idempotency-key')).toBeNull();

    const byExtension = await twice(app('renamed'), { query: PAY, variables: { orderId: 'r2', amount: 1 }, extensions: { requestKey: newKey() } });
    expect(byExtension.ran).toBe(1);

    const message = 'Mutation.pay needs an idempotency key; send one in the X-Request-Key header, extensions.requestKey, the idempotencyKey argument, @idempotent(key: "...").';
    const oldHeader = await twice(app('renamed'), { query: PAY, variables: { orderId: 'r3', amount: 1 } }, { 'Idempotency-Key': newKey() });
    const oldExtension = await twice(app('renamed'), { query: PAY, variables: { orderId: 'r3', amount: 1 }, extensions: { idempotencyKey: newKey() } });
    expect(oldHeader.ran + oldExtension.ran).toBe(0);
    expectMissing(oldHeader.first, message);
    expectMissing(oldExtension.first, message);
  });

  describe('getKey', () => {
    it('is asked first: its key wins over the header', async () => {
      const derived = newKey('derived');
      const header = newKey('header');
      const body = { query: PAY, variables: { orderId: 'g1', amount: 1 } };
      const before = executions(app('derived'));
      const first = await post(app('derived'), body, { 'x-derived-key': derived, 'Idempotency-Key': header });
      // The same derived key alone replays; the header's key alone is a new operation.
      const sameDerived = await post(app('derived'), body, { 'x-derived-key': derived });
      expect(sameDerived.text).toBe(first.text);
      expect(sameDerived.headers.get('idempotency-key')).toBe(derived);
      expect(executions(app('derived'))).toBe(before + 1);
      const headerOnly = await post(app('derived'), body, { 'Idempotency-Key': header });
      expect(headerOnly.headers.get('idempotent-replayed')).toBeNull();
      expect(headerOnly.json.data.pay.id).not.toBe(first.json.data.pay.id);
      expect(executions(app('derived'))).toBe(before + 2);
    });

    it('returning null falls back to the header and the extension', async () => {
      const byHeader = await twice(app('derived'), { query: PAY, variables: { orderId: 'g2', amount: 1 } }, { 'Idempotency-Key': newKey() });
      const byExtension = await twice(app('derived'), { query: PAY, variables: { orderId: 'g3', amount: 1 }, extensions: { idempotencyKey: newKey() } });
      expect(byHeader.ran).toBe(1);
      expect(byExtension.ran).toBe(1);
      expect(byHeader.again.headers.get('idempotent-replayed')).toBe('true');
      expect(byExtension.again.headers.get('idempotent-replayed')).toBe('true');
    });

    it('keys the whole operation over field arguments; without it, the arguments key each field', async () => {
      const [k1, k2] = [newKey(), newKey()];
      const body = {
        query: `mutation {
          a: charge(orderId: "g4", amount: 1, idempotencyKey: "${k1}") { id }
          b: charge(orderId: "g4", amount: 2, idempotencyKey: "${k2}") { id }
        }`,
      };
      const derived = app('derived');
      const before = derived.calls.charge;
      const operation = await twice(derived, body, { 'x-derived-key': newKey() });
      expect(operation.ran).toBe(2);
      expect(operation.again.text).toBe(operation.first.text);
      expect(operation.again.headers.get('idempotent-replayed')).toBe('true');
      // The field keys were never claimed: a new derived key runs both fields again...
      await post(derived, body, { 'x-derived-key': newKey() });
      expect(derived.calls.charge).toBe(before + 4);
      // ...and without one, each field is keyed by its argument (first time: runs; then replays).
      const fields = await twice(derived, body);
      expect(fields.ran).toBe(2);
      expect(fields.again.json.extensions).toEqual({ idempotency: { replayedFields: ['a', 'b'] } });
    });

    it('may be async', async () => {
      const asyncApp = await startYogaApp({ store, getTenant: tenant, getKey: async (ctx: { request: Request }) => derivedKey(ctx) });
      try {
        const keyed = await twice(asyncApp, { query: PAY, variables: { orderId: 'g5', amount: 1 } }, { 'x-derived-key': newKey() });
        expect(keyed.ran).toBe(1);
        expect(keyed.again.headers.get('idempotent-replayed')).toBe('true');
      } finally {
        await asyncApp.close();
      }
    });
  });
});
