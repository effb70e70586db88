// The Worker example in workerd (Miniflare) on D1: retries of one checkout, one after another and
// all at once, charge the fake provider once per Idempotency-Key and get the first answer back
// with the replay marker. The provider never deduplicates: it counts, so a second run shows.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Charge, type RunningWorker, checkout, ledger, startHarness } from './worker-under-test.js';
import { type Answer, answer, assertReplayedAnswers } from '../support/checkout-answers.js';

let worker: RunningWorker;

beforeAll(async () => {
  worker = await startHarness();
});

afterAll(async () => {
  await worker?.dispose();
});

interface RecordRow {
  status: string;
  fence: number;
  lease_expires_at: number | null;
  steps: string | null;
}

/** oncely's record of a key, read from D1 through the binding, once `ready` holds (or fails after `timeoutMs`). */
async function recordWhen(key: string, operation: string, ready: (row: RecordRow) => boolean, timeoutMs: number): Promise<RecordRow> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const row = await worker.db
      .prepare('SELECT status, fence, lease_expires_at, steps FROM oncely_idempotency WHERE operation = ? AND "key" = ?')
      .bind(operation, key)
      .first<RecordRow>();
    if (row && ready(row)) return row;
    if (Date.now() > until) throw new Error(`record of ${key}: not as expected after ${timeoutMs} ms: ${JSON.stringify(row)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The provider key the checkout charged with, as its answer says. */
function chargeKeyOf(a: Answer): string {
  const key = (JSON.parse(a.body) as { chargeKey?: unknown }).chargeKey;
  if (typeof key !== 'string') throw new Error(`no chargeKey in ${a.body}`);
  return key;
}

/** Throws unless the provider saw exactly one charge request for each charge key. */
function assertOneChargePerKey(charges: Map<string, Charge>, chargeKeys: string[]): void {
  for (const key of chargeKeys) {
    const requests = charges.get(key)?.requests ?? 0;
    if (requests !== 1) throw new Error(`${key}: the provider received ${requests} charge requests, expected exactly 1`);
  }
}

/** The shared check, and the example's own: the answer that ran names the order and its amount. */
function assertSameAnswerReplayed(answers: Answer[]): void {
  const original = assertReplayedAnswers(answers);
  expect(JSON.parse(original.body)).toMatchObject({ amount: expect.any(Number), orderId: expect.any(String) });
}

describe('Worker example on D1 (workerd through Miniflare)', () => {
  it('sequential retries of one key: one charge, the same answer replayed every time', async () => {
    const key = `seq-${randomUUID()}`;
    const answers: Answer[] = [];
    for (let i = 0; i < 5; i++) answers.push(await answer(await checkout(worker, key, { amount: 1250 })));
    assertSameAnswerReplayed(answers);
    expect(answers[0]!.replayed).toBeNull();
    assertOneChargePerKey(await ledger(worker), [chargeKeyOf(answers[0]!)]);
    // In D1, read straight through the binding: one completed record, its charge step recorded.
    const rows = await worker.db.prepare('SELECT status, steps FROM oncely_idempotency WHERE operation = ? AND "key" = ?').bind('checkout', key).all<{ status: string; steps: string }>();
    expect(rows.results).toHaveLength(1);
    expect(rows.results[0]!.status).toBe('completed');
    expect(JSON.parse(rows.results[0]!.steps)).toEqual([expect.objectContaining({ index: 0, name: 'charge', kind: 'external' })]);
  });

  it('20 concurrent duplicates while the first runs: one charge, all get its answer', async () => {
    const key = `conc-${randomUUID()}`;
    const responses = await Promise.all(Array.from({ length: 20 }, () => checkout(worker, key, { amount: 990, delayMs: 300 })));
    const answers = await Promise.all(responses.map(answer));
    assertSameAnswerReplayed(answers);
    assertOneChargePerKey(await ledger(worker), [chargeKeyOf(answers[0]!)]);
  });

  it('8 keys with 6 concurrent retries each: one charge per key, a distinct order per key', async () => {
    const keys = Array.from({ length: 8 }, (_, i) => `many-${i}-${randomUUID()}`);
    const perKey = await Promise.all(
      keys.map(async (key) => Promise.all((await Promise.all(Array.from({ length: 6 }, () => checkout(worker, key, { amount: 100, delayMs: 50 })))).map(answer))),
    );
    for (const answers of perKey) assertSameAnswerReplayed(answers);
    expect(new Set(perKey.map((answers) => JSON.parse(answers[0]!.body).orderId)).size).toBe(keys.length);
    const chargeKeys = perKey.map((answers) => chargeKeyOf(answers[0]!));
    expect(new Set(chargeKeys).size, 'one provider key per idempotency key').toBe(keys.length);
    assertOneChargePerKey(await ledger(worker), chargeKeys);
  });

  it('the key as a Structured Field string ("abc") and bare (abc) is one key', async () => {
    const key = `sf-${randomUUID()}`;
    const bare = await answer(await checkout(worker, key, { amount: 300 }));
    const quoted = await answer(await checkout(worker, `"${key}"`, { amount: 300 }));
    assertSameAnswerReplayed([bare, quoted]);
    assertOneChargePerKey(await ledger(worker), [chargeKeyOf(bare)]);
  });

  it('the same key with another body: 422 problem details, no second charge', async () => {
    const key = `reuse-${randomUUID()}`;
    const first = await answer(await checkout(worker, key, { amount: 500 }));
    expect(first.status).toBe(201);
    const reused = await checkout(worker, key, { amount: 501 });
    expect(reused.status).toBe(422);
    expect(reused.headers.get('Content-Type')).toMatch(/^application\/problem\+json/);
    expect(await reused.json()).toMatchObject({ status: 422, code: 'IDEMPOTENCY_KEY_REUSED' });
    expect(reused.headers.get('Idempotent-Replayed')).toBeNull();
    assertOneChargePerKey(await ledger(worker), [chargeKeyOf(first)]);
  });

  it('no key: 400 problem details, nothing charged', async () => {
    const before = (await ledger(worker)).size;
    const missing = await checkout(worker, undefined, { amount: 500 });
    expect(missing.status).toBe(400);
    expect(await missing.json()).toMatchObject({ status: 400, code: 'IDEMPOTENCY_KEY_MISSING' });
    expect((await ledger(worker)).size).toBe(before);
  });

  it('after the retention ends, the same key runs again (answers kept 1 s on this route)', async () => {
    const key = `expiry-${randomUUID()}`;
    const first = await answer(await checkout(worker, key, { amount: 700 }, '/short-retention/checkout'));
    const replay = await answer(await checkout(worker, key, { amount: 700 }, '/short-retention/checkout'));
    assertSameAnswerReplayed([first, replay]);
    await new Promise((resolve) => setTimeout(resolve, 1_300));
    const after = await answer(await checkout(worker, key, { amount: 700 }, '/short-retention/checkout'));
    expect(after.status).toBe(201);
    expect(after.replayed).toBeNull();
    expect(JSON.parse(after.body).orderId).not.toBe(JSON.parse(first.body).orderId);
    // The provider key is derived from the idempotency key: the new run charges under the same one.
    expect(chargeKeyOf(after)).toBe(chargeKeyOf(first));
    expect((await ledger(worker)).get(chargeKeyOf(first))?.requests).toBe(2);
  });

  it('a client that goes away while the checkout runs: the Worker finishes it, the retry replays it, one charge', async () => {
    const key = `gone-${randomUUID()}`;
    const client = new AbortController();
    const first = checkout(worker, key, { amount: 400 }, '/short-lease/checkout', { 'X-Work-After-Charge-Ms': '1500' }, client.signal).catch((error: Error) => error.name);
    // Leave once the charge is recorded and the request is still working.
    await recordWhen(key, 'short-lease-checkout', (r) => r.status === 'in_progress' && r.steps !== null, 5_000);
    client.abort();
    expect(await first).toBe('AbortError');
    // Observed in Miniflare: the request runs on without its client (the lease renewed meanwhile) and stores its answer.
    const record = await recordWhen(key, 'short-lease-checkout', (r) => r.status === 'completed', 5_000);
    expect(record.fence).toBe(1);
    const retry = await answer(await checkout(worker, key, { amount: 400 }, '/short-lease/checkout'));
    expect(retry.status).toBe(201);
    expect(retry.replayed).toBe('true');
    assertOneChargePerKey(await ledger(worker), [chargeKeyOf(retry)]);
  });

  it('a client that goes away during a streamed answer: workerd stops the request, the lease runs out, a retry takes over and reuses the recorded charge', async () => {
    const key = `stream-gone-${randomUUID()}`;
    const client = new AbortController();
    const first = await checkout(worker, key, { amount: 600 }, '/short-lease/checkout', { 'X-Stream-Answer': '1', 'Accept-Encoding': 'identity' }, client.signal);
    expect(first.status).toBe(201);
    const reader = first.body!.getReader();
    expect((await reader.read()).done).toBe(false);
    client.abort();
    // Nothing renews the lease any more (the request's timers stopped with it); the record stays held until it ends.
    const abandoned = await recordWhen(key, 'short-lease-checkout', (r) => r.lease_expires_at !== null && r.lease_expires_at < Date.now(), 5_000);
    expect(abandoned.status).toBe('in_progress');
    const retry = await answer(await checkout(worker, key, { amount: 600 }, '/short-lease/checkout'));
    expect(retry.status).toBe(201);
    expect(retry.replayed, 'the retry ran the checkout again (nothing was stored)').toBeNull();
    const after = await recordWhen(key, 'short-lease-checkout', (r) => r.status === 'completed', 5_000);
    expect(after.fence, 'the retry took the record over').toBe(2);
    // The charge step was recorded before the client left: the takeover reused it, the provider saw one request.
    assertOneChargePerKey(await ledger(worker), [chargeKeyOf(retry)]);
  });

  it('control: the same checkout without oncely charges once per request, and the check above catches it', async () => {
    const key = `control-${randomUUID()}`;
    const responses = await Promise.all(Array.from({ length: 5 }, () => checkout(worker, key, { amount: 100, delayMs: 50 }, '/unguarded/checkout')));
    expect(responses.map((r) => r.status)).toEqual([201, 201, 201, 201, 201]);
    const chargeKey = chargeKeyOf(await answer(responses[0]!));
    const charges = await ledger(worker);
    expect(charges.get(chargeKey)?.requests).toBe(5);
    expect(() => assertOneChargePerKey(charges, [chargeKey])).toThrow(/received 5 charge requests/);
  });
});
