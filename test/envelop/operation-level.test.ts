import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryStore, type IdempotencyStore } from '../../src/index.js';
import { PAY, newKey, post, startYogaApp, type YogaApp } from './helpers.js';

// Adapter behaviour, in process on MemoryStore (Yoga's own fetch, no socket): what is tested here
// happens in the plugin, the same on every store. The database matrix is where the database is
// the subject (transactional.test.ts, the store contract, test/prisma/).

const tenantFromHeader = (ctx: { request: Request }) => ctx.request.headers.get('x-tenant') ?? 'public';

/** A store whose every write fails as an unreachable database does. */
function unreachableStore(): IdempotencyStore {
  const store = new MemoryStore();
  const refuse = async () => {
    throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
  };
  // createOrGet too: the engine claims through it when a store has it (create + get in one trip).
  return Object.assign(store, { create: refuse, get: refuse, createOrGet: refuse });
}

describe('operation-level keys', () => {
  let server: YogaApp;
  let waiting: YogaApp;
  let strict: YogaApp;
  let broken: YogaApp;

  beforeAll(async () => {
    const store = new MemoryStore();
    server = await startYogaApp({ store, getTenant: tenantFromHeader }, { batching: true });
    waiting = await startYogaApp({ store, getTenant: tenantFromHeader, inProgress: 'wait', waitTimeout: '10s' });
    strict = await startYogaApp({ store, getTenant: tenantFromHeader, required: true, argument: false, directive: false });
    broken = await startYogaApp({ store: unreachableStore(), getTenant: tenantFromHeader });
  });
  afterAll(async () => {
    await Promise.all([server, waiting, strict, broken].map((s) => s?.close()));
  });

  it('replays the same body and status with the replay headers; reordered variables match', async () => {
    const key = newKey();
    const start = server.calls.pay;
    const first = await post(server, { query: PAY, variables: { orderId: 'o1', amount: 500 } }, { 'Idempotency-Key': key });
    const again = await post(server, { query: PAY, variables: { amount: 500, orderId: 'o1' } }, { 'Idempotency-Key': key });
    expect(first.status).toBe(200);
    expect(first.json.data.pay.chargeKey).toMatch(/^oncely_/);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    expect(again.status).toBe(first.status);
    expect(again.text).toBe(first.text);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.headers.get('idempotency-key')).toBe(key);
    expect(again.headers.get('content-type')).toBe(first.headers.get('content-type'));
    expect(server.calls.pay).toBe(start + 1);
    await post(server, { query: PAY, variables: { orderId: 'o1', amount: 500 } }, { 'Idempotency-Key': key });
    expect(server.calls.pay).toBe(start + 1);
  });

  it('takes the key from extensions.idempotencyKey', async () => {
    const key = newKey();
    const body = { query: PAY, variables: { orderId: 'o2', amount: 100 }, extensions: { idempotencyKey: key } };
    const before = server.calls.pay;
    const first = await post(server, body);
    const again = await post(server, body);
    expect(server.calls.pay).toBe(before + 1);
    expect(again.text).toBe(first.text);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
  });

  it('refuses the same key with other variables (422) without running', async () => {
    const key = newKey();
    await post(server, { query: PAY, variables: { orderId: 'o3', amount: 100 } }, { 'Idempotency-Key': key });
    const before = server.calls.pay;
    const other = await post(server, { query: PAY, variables: { orderId: 'o3', amount: 999 } }, { 'Idempotency-Key': key });
    expect(other.status).toBe(422);
    expect(other.json.errors[0].extensions).toEqual({ code: 'IDEMPOTENCY_KEY_REUSED' });
    expect(other.json.data).toBeUndefined();
    expect(server.calls.pay).toBe(before);
  });

  it('refuses the same key on the same mutation sent with inlined arguments, then with variables (422), and runs it once', async () => {
    const inlined = 'mutation Pay { pay(input: { orderId: "o9", amount: 900 }) { id orderId amount chargeKey } }';
    const anonymousInlined = 'mutation { pay(input: { orderId: "o9", amount: 900 }) { id orderId amount chargeKey } }';
    const anonymousWithVariables = 'mutation ($orderId: String!, $amount: Int!) { pay(input: { orderId: $orderId, amount: $amount }) { id orderId amount chargeKey } }';
    for (const [first, second] of [
      [{ query: inlined }, { query: PAY, variables: { orderId: 'o9', amount: 900 } }],
      [{ query: PAY, variables: { orderId: 'o9', amount: 900 } }, { query: inlined }],
      // The quickstart's own curl: an anonymous mutation with inlined arguments, retried with variables.
      [{ query: anonymousInlined }, { query: anonymousWithVariables, variables: { orderId: 'o9', amount: 900 } }],
    ] as const) {
      const key = newKey();
      const before = server.calls.pay;
      const ran = await post(server, first, { 'Idempotency-Key': key });
      expect(ran.status).toBe(200);
      expect(ran.json.data.pay.amount).toBe(900);
      const other = await post(server, second, { 'Idempotency-Key': key });
      expect(other.status).toBe(422);
      expect(other.json.errors[0].extensions).toEqual({ code: 'IDEMPOTENCY_KEY_REUSED' });
      expect(other.json.data).toBeUndefined();
      expect(server.calls.pay).toBe(before + 1);
      // The first form still replays.
      const again = await post(server, first, { 'Idempotency-Key': key });
      expect(again.text).toBe(ran.text);
      expect(again.headers.get('idempotent-replayed')).toBe('true');
      expect(server.calls.pay).toBe(before + 1);
    }
  });

  it('refuses the same key on another mutation document with the same operation name (422)', async () => {
    const key = newKey();
    const before = { pay: server.calls.pay, charge: server.calls.charge };
    await post(server, { query: PAY, variables: { orderId: 'o10', amount: 1 } }, { 'Idempotency-Key': key });
    const other = await post(server, { query: 'mutation Pay { charge(orderId: "o10", amount: 1) { id } }' }, { 'Idempotency-Key': key });
    expect(other.status).toBe(422);
    expect(other.json.errors[0].extensions).toEqual({ code: 'IDEMPOTENCY_KEY_REUSED' });
    expect(server.calls.pay).toBe(before.pay + 1);
    expect(server.calls.charge).toBe(before.charge);
  });

  it('replays the same document reformatted (whitespace, comments, commas)', async () => {
    const key = newKey();
    const reformatted = `# a comment the client added
        mutation Pay(  $orderId : String! , $amount:Int!)   {
          # another one
          pay(input:{orderId:$orderId,amount:$amount}){id,orderId
            amount chargeKey}
        }`;
    const before = server.calls.pay;
    const first = await post(server, { query: PAY, variables: { orderId: 'o11', amount: 11 } }, { 'Idempotency-Key': key });
    const again = await post(server, { query: reformatted, variables: { orderId: 'o11', amount: 11 } }, { 'Idempotency-Key': key });
    expect(server.calls.pay).toBe(before + 1);
    expect(again.status).toBe(200);
    expect(again.text).toBe(first.text);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
  });

  it('answers a missing required key and an invalid key with 400', async () => {
    const missing = await post(strict, { query: PAY, variables: { orderId: 'o4', amount: 1 } });
    expect(missing.status).toBe(400);
    expect(missing.json.errors[0].extensions.code).toBe('IDEMPOTENCY_KEY_MISSING');
    // Only the sources this plugin reads are named (argument and directive are off here).
    expect(missing.json.errors[0].message).toBe('Mutation.pay needs an idempotency key; send one in the Idempotency-Key header, extensions.idempotencyKey.');
    const invalid = await post(strict, { query: PAY, variables: { orderId: 'o4', amount: 1 } }, { 'Idempotency-Key': 'x'.repeat(256) });
    expect(invalid.status).toBe(400);
    expect(invalid.json.errors[0].extensions.code).toBe('IDEMPOTENCY_KEY_INVALID');
    const nonString = await post(strict, { query: PAY, variables: { orderId: 'o4', amount: 1 }, extensions: { idempotencyKey: 42 } });
    expect(nonString.status).toBe(400);
    expect(nonString.json.errors[0].extensions.code).toBe('IDEMPOTENCY_KEY_INVALID');
    expect(strict.calls.pay).toBe(0);
  });

  it('runs 50 parallel duplicates once: the others get 409 with Retry-After or, once done, the replay', async () => {
    const key = newKey();
    const body = { query: 'mutation Slow { slow(ms: 400) }' };
    const before = server.calls.slow;
    const replies = await Promise.all(Array.from({ length: 50 }, () => post(server, body, { 'Idempotency-Key': key })));
    expect(server.calls.slow).toBe(before + 1);
    const original = replies.filter((r) => r.status === 200 && r.headers.get('idempotent-replayed') === null);
    const replays = replies.filter((r) => r.status === 200 && r.headers.get('idempotent-replayed') === 'true');
    const busy = replies.filter((r) => r.status === 409);
    expect(original).toHaveLength(1);
    expect(original.length + replays.length + busy.length).toBe(50);
    expect(busy.length).toBeGreaterThan(0);
    for (const reply of replays) expect(reply.text).toBe(original[0]?.text);
    for (const reply of busy) {
      expect(reply.headers.get('retry-after')).toBe('1');
      expect(reply.json.errors[0].extensions.code).toBe('IDEMPOTENCY_KEY_IN_USE');
    }
    const later = await post(server, body, { 'Idempotency-Key': key });
    expect(later.text).toBe(original[0]?.text);
    expect(server.calls.slow).toBe(before + 1);
  });

  it('with inProgress "wait", 50 parallel duplicates all get the one result', async () => {
    const key = newKey();
    const before = waiting.calls.slow;
    const body = { query: 'mutation Slow { slow(ms: 300) }' };
    const replies = await Promise.all(Array.from({ length: 50 }, () => post(waiting, body, { 'Idempotency-Key': key })));
    expect(waiting.calls.slow).toBe(before + 1);
    expect(new Set(replies.map((r) => `${r.status} ${r.text}`)).size).toBe(1);
    expect(replies.filter((r) => r.headers.get('idempotent-replayed') === 'true')).toHaveLength(49);
  });

  it('stores partial results with expected errors and replays them (same status, paths, locations)', async () => {
    const key = newKey();
    const query = `mutation Two {
        ok: charge(orderId: "a", amount: 100) { id amount }
        bad: charge(orderId: "b", amount: 0) { id }
      }`;
    const before = server.calls.charge;
    const first = await post(server, { query }, { 'Idempotency-Key': key });
    const again = await post(server, { query }, { 'Idempotency-Key': key });
    expect(server.calls.charge).toBe(before + 2);
    expect(first.json.errors[0]).toMatchObject({ message: 'Amount must be positive', path: ['bad'], extensions: { code: 'BAD_AMOUNT' } });
    expect(first.json.errors[0].locations).toEqual([{ line: 3, column: 9 }]);
    expect(again.status).toBe(first.status);
    expect(again.text).toBe(first.text);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
  });

  it('releases an unexpected error so that a retry runs again, masked the same way', async () => {
    const key = newKey();
    const query = 'mutation { fail(kind: "unexpected") { id } }';
    const before = server.calls.fail;
    const first = await post(server, { query }, { 'Idempotency-Key': key });
    const again = await post(server, { query }, { 'Idempotency-Key': key });
    expect(server.calls.fail).toBe(before + 2);
    expect(first.json.errors[0].message).toBe('Unexpected error.');
    expect(first.text).not.toContain('secret');
    expect(again.text).toBe(first.text);
    expect(again.headers.get('idempotent-replayed')).toBeNull();
  });

  it('stores a result where one root field completed and another failed unexpectedly; the replay is masked identically', async () => {
    const key = newKey();
    const query = `mutation Mixed {
        a: charge(orderId: "m", amount: 100) { orderId amount }
        b: fail(kind: "unexpected") { id }
      }`;
    const before = { charge: server.calls.charge, fail: server.calls.fail };
    const first = await post(server, { query }, { 'Idempotency-Key': key });
    const again = await post(server, { query }, { 'Idempotency-Key': key });
    expect(server.calls.charge).toBe(before.charge + 1);
    expect(server.calls.fail).toBe(before.fail + 1);
    expect(first.json.errors).toEqual([
      // The stored mark: clients must not retry a stored answer (src/protocol/answers.ts).
      { message: 'Unexpected error.', locations: [{ line: 3, column: 9 }], path: ['b'], extensions: { code: 'INTERNAL_SERVER_ERROR', idempotency: { stored: true } } },
    ]);
    expect(again.status).toBe(first.status);
    expect(again.text).toBe(first.text);
    expect(again.text).not.toContain('secret');
    expect(again.headers.get('idempotent-replayed')).toBe('true');
  });

  it('keeps tenants apart: same key, two tenants, two executions, no cross replay', async () => {
    const key = newKey();
    const body = { query: PAY, variables: { orderId: 'shared', amount: 700 } };
    const before = server.calls.pay;
    const a = await post(server, body, { 'Idempotency-Key': key, 'x-tenant': 'acme' });
    const b = await post(server, body, { 'Idempotency-Key': key, 'x-tenant': 'globex' });
    expect(server.calls.pay).toBe(before + 2);
    expect(a.json.data.pay.id).not.toBe(b.json.data.pay.id);
    expect(b.headers.get('idempotent-replayed')).toBeNull();
    const a2 = await post(server, body, { 'Idempotency-Key': key, 'x-tenant': 'acme' });
    expect(a2.text).toBe(a.text);
    expect(a.json.data.pay.chargeKey).not.toBe(b.json.data.pay.chargeKey);
  });

  it('leaves queries untouched', async () => {
    const key = newKey();
    const before = server.calls.hello;
    const first = await post(server, { query: '{ hello }' }, { 'Idempotency-Key': key });
    const again = await post(server, { query: '{ hello }' }, { 'Idempotency-Key': key });
    expect(server.calls.hello).toBe(before + 2);
    expect(again.headers.get('idempotent-replayed')).toBeNull();
    expect(first.json).toEqual({ data: { hello: 'world' } });
    const missing = await post(strict, { query: '{ hello }' });
    expect(missing.status).toBe(200);
  });

  it('keys each operation of a batch by its own extensions key, and refuses a header on a batch', async () => {
    const k1 = newKey();
    const k2 = newKey();
    const batch = [
      { query: PAY, variables: { orderId: 'b1', amount: 1 }, extensions: { idempotencyKey: k1 } },
      { query: PAY, variables: { orderId: 'b2', amount: 2 }, extensions: { idempotencyKey: k2 } },
      { query: '{ hello }' },
    ];
    const before = server.calls.pay;
    const first = await post(server, batch);
    expect(first.status).toBe(200);
    expect(server.calls.pay).toBe(before + 2);
    const again = await post(server, batch);
    expect(server.calls.pay).toBe(before + 2);
    expect(again.json[0].data).toEqual(first.json[0].data);
    expect(again.json[1].data).toEqual(first.json[1].data);
    expect(again.json[0].extensions).toEqual({ idempotency: { replayed: true, key: k1 } });
    expect(again.json[1].extensions).toEqual({ idempotency: { replayed: true, key: k2 } });
    expect(first.json[0].extensions).toBeUndefined();

    const headerOnBatch = await post(server, batch.slice(0, 2), { 'Idempotency-Key': newKey() });
    expect(headerOnBatch.json[0].errors[0].extensions.code).toBe('IDEMPOTENCY_KEY_INVALID');
    expect(headerOnBatch.json[0].errors[0].message).toContain('batched request');
    expect(server.calls.pay).toBe(before + 2);
  });

  it('answers 503 with Retry-After when the store is unreachable', async () => {
    const reply = await post(broken, { query: PAY, variables: { orderId: 'x', amount: 1 } }, { 'Idempotency-Key': newKey() });
    expect(reply.status).toBe(503);
    expect(reply.headers.get('retry-after')).toBe('1');
    expect(reply.json.errors[0].extensions.code).toBe('IDEMPOTENCY_STORE_UNAVAILABLE');
    expect(broken.calls.pay).toBe(0);
  });
});
