import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/index.js';
import { newKey, post, startYogaApp, type YogaApp } from './helpers.js';

// Adapter behaviour, in process on MemoryStore (Yoga's own fetch, no socket): field keys are read,
// fingerprinted and replayed by the plugin, the same on every store.

const tenant = (ctx: { request: Request }) => ctx.request.headers.get('x-tenant') ?? 'public';

const PAY_WITH_INPUT_KEY = /* GraphQL */ `
  mutation Pay($orderId: String!, $amount: Int!, $key: String) {
    pay(input: { orderId: $orderId, amount: $amount, idempotencyKey: $key }) { id orderId amount chargeKey }
  }
`;

describe('field-level keys', () => {
  let server: YogaApp;
  let strict: YogaApp;

  beforeAll(async () => {
    const store = new MemoryStore();
    server = await startYogaApp({ store, getTenant: tenant, required: false });
    strict = await startYogaApp({ store, getTenant: tenant, required: ({ fieldName }) => fieldName === 'pay' });
  });
  afterAll(async () => {
    await Promise.all([server, strict].map((s) => s?.close()));
  });

  it('takes the key from the argument inside input, leaves it out of the fingerprint, replays with markers', async () => {
    const key = newKey();
    const before = server.calls.pay;
    const first = await post(server, { query: PAY_WITH_INPUT_KEY, variables: { orderId: 'f1', amount: 10, key } });
    const again = await post(server, { query: PAY_WITH_INPUT_KEY, variables: { amount: 10, key, orderId: 'f1' } });
    expect(server.calls.pay).toBe(before + 1);
    expect(again.status).toBe(200);
    expect(again.json.data).toEqual(first.json.data);
    expect(first.json.extensions).toBeUndefined();
    expect(again.json.extensions).toEqual({ idempotency: { replayedFields: ['pay'] } });
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.headers.get('idempotency-key')).toBe(key);

    // Same arguments under another key: a new operation. Same key, other amount: refused on the field.
    const other = await post(server, { query: PAY_WITH_INPUT_KEY, variables: { orderId: 'f1', amount: 10, key: newKey() } });
    expect(other.json.data.pay.id).not.toBe(first.json.data.pay.id);
    const reused = await post(server, { query: PAY_WITH_INPUT_KEY, variables: { orderId: 'f1', amount: 11, key } });
    expect(reused.status).toBe(422);
    expect(reused.json.errors[0]).toMatchObject({ path: ['pay'], extensions: { code: 'IDEMPOTENCY_KEY_REUSED' } });
    expect(server.calls.pay).toBe(before + 2);
  });

  it('takes keys from a top-level argument and from the @idempotent directive', async () => {
    const k1 = newKey();
    const k2 = newKey();
    const query = `mutation {
        byArg: charge(orderId: "d", amount: 5, idempotencyKey: "${k1}") { id }
        byDirective: charge(orderId: "d", amount: 5) @idempotent(key: "${k2}") { id }
      }`;
    const before = server.calls.charge;
    const first = await post(server, { query });
    const again = await post(server, { query });
    expect(server.calls.charge).toBe(before + 2);
    expect(again.json.data).toEqual(first.json.data);
    expect(first.json.data.byArg.id).not.toBe(first.json.data.byDirective.id);
    expect(again.json.extensions.idempotency.replayedFields).toEqual(['byArg', 'byDirective']);
  });

  it('mixes keyed, aliased and unkeyed fields; replayed errors carry the new alias in their path', async () => {
    const k1 = newKey();
    const k2 = newKey();
    const doc = (a: string, b: string) => `mutation {
        ${a}: charge(orderId: "x", amount: 1, idempotencyKey: "${k1}") { id amount }
        ${b}: charge(orderId: "x", amount: 0, idempotencyKey: "${k2}") { id }
        free: charge(orderId: "x", amount: 3) { amount }
      }`;
    const before = server.calls.charge;
    const first = await post(server, { query: doc('one', 'two') });
    expect(server.calls.charge).toBe(before + 3);
    expect(first.json.errors).toEqual([
      { message: 'Amount must be positive', locations: [{ line: 3, column: 9 }], path: ['two'], extensions: { code: 'BAD_AMOUNT' } },
    ]);
    const again = await post(server, { query: doc('uno', 'dos') });
    // Only the unkeyed field runs again.
    expect(server.calls.charge).toBe(before + 4);
    expect(again.json.data).toEqual({ uno: first.json.data.one, dos: null, free: { amount: 3 } });
    expect(again.json.errors).toEqual([
      { message: 'Amount must be positive', locations: [{ line: 3, column: 9 }], path: ['dos'], extensions: { code: 'BAD_AMOUNT' } },
    ]);
    expect(again.json.extensions).toEqual({ idempotency: { replayedFields: ['uno', 'dos'] } });
    expect(again.status).toBe(first.status);
    // Two keys: every keyed field replayed, but there is no single key to echo.
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.headers.get('idempotency-key')).toBeNull();
  });

  it('refuses an operation with a required field key missing before any field runs', async () => {
    const query = `mutation {
        charge(orderId: "r", amount: 1, idempotencyKey: "${newKey()}") { id }
        pay(input: { orderId: "r", amount: 1 }) { id }
      }`;
    const reply = await post(strict, { query });
    expect(reply.status).toBe(400);
    expect(reply.json.errors[0].extensions.code).toBe('IDEMPOTENCY_KEY_MISSING');
    expect(reply.json.errors[0].message).toContain('Mutation.pay');
    expect(strict.calls.charge).toBe(0);
    expect(strict.calls.pay).toBe(0);
    const unrequired = await post(strict, { query: 'mutation { charge(orderId: "r", amount: 1) { amount } }' });
    expect(unrequired.json.data).toEqual({ charge: { amount: 1 } });
  });

  it('refuses an invalid field key before any field runs', async () => {
    const query = `mutation {
        free: charge(orderId: "i", amount: 1) { id }
        bad: charge(orderId: "i", amount: 1, idempotencyKey: " padded ") { id }
      }`;
    const before = server.calls.charge;
    const reply = await post(server, { query });
    expect(reply.status).toBe(400);
    expect(reply.json.errors[0].extensions.code).toBe('IDEMPOTENCY_KEY_INVALID');
    expect(server.calls.charge).toBe(before);
  });

  it('runs a field 50 times in parallel exactly once', async () => {
    const key = newKey();
    const query = `mutation { slow(ms: 300, idempotencyKey: "${key}") }`;
    const before = server.calls.slow;
    const replies = await Promise.all(Array.from({ length: 50 }, () => post(server, { query })));
    expect(server.calls.slow).toBe(before + 1);
    const values = new Set(replies.filter((r) => r.json.data?.slow != null).map((r) => r.json.data.slow));
    expect(values.size).toBe(1);
    for (const reply of replies.filter((r) => r.json.errors)) {
      expect(reply.status).toBe(409);
      expect(reply.headers.get('retry-after')).toBe('1');
      expect(reply.json.errors[0]).toMatchObject({ path: ['slow'], extensions: { code: 'IDEMPOTENCY_KEY_IN_USE' } });
    }
  });

  it('releases a field that failed unexpectedly (masked), stores one that failed expectedly', async () => {
    const unexpected = `mutation { fail(kind: "unexpected", idempotencyKey: "${newKey()}") { id } }`;
    const expected = `mutation { fail(kind: "expected", idempotencyKey: "${newKey()}") { id } }`;
    const before = server.calls.fail;
    const u1 = await post(server, { query: unexpected });
    const u2 = await post(server, { query: unexpected });
    expect(server.calls.fail).toBe(before + 2);
    expect(u1.json.errors[0].message).toBe('Unexpected error.');
    expect(u2.text).toBe(u1.text);
    const e1 = await post(server, { query: expected });
    const e2 = await post(server, { query: expected });
    expect(server.calls.fail).toBe(before + 3);
    expect(e2.json.errors).toEqual(e1.json.errors);
    expect(e1.json.errors[0].extensions).toEqual({ code: 'CARD_DECLINED' });
  });

  it('keeps tenants apart for field keys', async () => {
    const query = `mutation { charge(orderId: "t", amount: 9, idempotencyKey: "${newKey()}") { id chargeKey } }`;
    const a = await post(server, { query }, { 'x-tenant': 'acme' });
    const b = await post(server, { query }, { 'x-tenant': 'globex' });
    const a2 = await post(server, { query }, { 'x-tenant': 'acme' });
    expect(a.json.data.charge.id).not.toBe(b.json.data.charge.id);
    expect(a.json.data.charge.chargeKey).not.toBe(b.json.data.charge.chargeKey);
    expect(a2.json.data).toEqual(a.json.data);
    expect(b.json.extensions).toBeUndefined();
  });
});
