import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Idempotency } from '../core/engine.js';
import { KeyInUseError } from '../core/errors.js';
import type { IdempotencyRecord } from '../core/record.js';
import type { IdempotencyStore, StepRecord } from '../core/store.js';

// Promise<void>, not unknown: node:test's types accept only test bodies returning void or Promise<void>.
type Body = () => Promise<void>;

/** The test functions of your runner: vitest's, jest's and node:test's `describe` and `it` all fit. */
export interface ContractRunner {
  describe: (name: string, body: () => void) => unknown;
  it: (name: string, body: Body) => unknown;
}

export interface StoreContractOptions extends ContractRunner {
  /** Shown in the test names. */
  name: string;
  /** Returns the store under test; records of earlier tests may remain (every test uses fresh keys). */
  store: () => IdempotencyStore | Promise<IdempotencyStore>;
  /** How many concurrent claims the race tests fire. Default 50. */
  raceSize?: number;
}

const T0 = Date.UTC(2026, 0, 1);

/**
 * An in-progress record of a fresh scope (random tenant and key), times around 2026-01-01, with
 * `overrides` applied: for store tests of your own (`oncely/testing`).
 */
export function sampleRecord(overrides: Partial<IdempotencyRecord> = {}): IdempotencyRecord {
  return {
    tenant: `tenant-${randomUUID()}`,
    operation: 'createOrder',
    key: randomUUID(),
    status: 'in_progress',
    fingerprint: 'a'.repeat(64),
    token: randomUUID(),
    fence: 1,
    leaseExpiresAt: T0 + 60_000,
    response: null,
    createdAt: T0,
    updatedAt: T0,
    expiresAt: T0 + 86_400_000,
    ...overrides,
  };
}

function stepFor(index: number, overrides: Partial<StepRecord> = {}): StepRecord {
  return { index, name: `step-${index}`, kind: index % 2 === 0 ? 'database' : 'external', result: `v{"n":${index}}`, completedAt: T0 + 100 + index, ...overrides };
}

type StepStore = IdempotencyStore & Required<Pick<IdempotencyStore, 'loadSteps' | 'recordStep'>>;

function hasSteps(store: IdempotencyStore): store is StepStore {
  return typeof store.loadSteps === 'function' && typeof store.recordStep === 'function';
}

/**
 * The promises every IdempotencyStore must keep, as a test suite. Run it against your own store:
 *
 *   import { describe, it } from 'vitest';
 *   import { runStoreContract } from 'oncely/testing';
 *   runStoreContract({ name: 'my store', store: () => myStore, describe, it });
 */
export function runStoreContract(options: StoreContractOptions): void {
  const { describe, it } = options;
  const raceSize = options.raceSize ?? 50;
  const store = async () => options.store();

  describe(`store contract: ${options.name}`, () => {
    it('creates a record once per scope and reads every field back unchanged', async () => {
      const s = await store();
      const record = sampleRecord({ response: null });
      assert.equal(await s.create(record), true);
      assert.equal(await s.create({ ...record, token: randomUUID() }), false);
      assert.deepEqual(await s.get(record), record);
    });

    it('returns null for a scope without a record', async () => {
      const s = await store();
      assert.equal(await s.get({ tenant: 'nobody', operation: 'none', key: randomUUID() }), null);
    });

    it('keeps tenant, operation and key apart, byte for byte', async () => {
      const s = await store();
      const base = sampleRecord({ key: `Key-${randomUUID()}` });
      assert.equal(await s.create(base), true);
      assert.equal(await s.create({ ...base, tenant: `${base.tenant}-other` }), true);
      assert.equal(await s.create({ ...base, operation: 'refund' }), true);
      assert.equal(await s.create({ ...base, key: base.key.toLowerCase() }), true, 'keys are case-sensitive');
      assert.equal(await s.create({ ...base, key: base.key.toUpperCase() }), true, 'keys are case-sensitive');
    });

    it('stores the global tenant (empty string) and long, non-ASCII tenant and operation names', async () => {
      const s = await store();
      const record = sampleRecord({ tenant: '', operation: `ünïcødé-${'o'.repeat(150)}`, key: '~'.repeat(255) });
      assert.equal(await s.create(record), true);
      assert.deepEqual(await s.get(record), record);
    });

    it('completes only with the holder token, once', async () => {
      const s = await store();
      const record = sampleRecord();
      await s.create(record);
      const completion = { response: '{"ok":true,"value":"é✓"}', completedAt: T0 + 5, expiresAt: T0 + 10_000 };
      assert.equal(await s.complete(record, randomUUID(), completion), false);
      assert.equal(await s.complete(record, record.token, completion), true);
      assert.equal(await s.complete(record, record.token, completion), false, 'a completed record stays as it is');
      const stored = await s.get(record);
      assert.equal(stored?.status, 'completed');
      assert.equal(stored?.response, completion.response);
      assert.equal(stored?.leaseExpiresAt, null);
      assert.equal(stored?.expiresAt, completion.expiresAt);
      assert.equal(stored?.updatedAt, completion.completedAt);
    });

    it('stores large responses whole', async () => {
      const s = await store();
      const record = sampleRecord();
      await s.create(record);
      const response = JSON.stringify({ blob: 'x'.repeat(900_000), emoji: '🧾'.repeat(1000) });
      assert.equal(await s.complete(record, record.token, { response, completedAt: T0, expiresAt: T0 + 1 }), true);
      assert.equal((await s.get(record))?.response, response);
    });

    it('renews the lease only for the holder of an in-progress record', async () => {
      const s = await store();
      const record = sampleRecord({ expiresAt: T0 + 100_000 });
      await s.create(record);
      assert.equal(await s.renew(record, randomUUID(), T0 + 120_000, T0 + 1), false);
      assert.equal(await s.renew(record, record.token, T0 + 120_000, T0 + 1), true);
      const renewed = await s.get(record);
      assert.equal(renewed?.leaseExpiresAt, T0 + 120_000);
      assert.ok((renewed?.expiresAt ?? 0) >= T0 + 120_000, 'retention never ends before the lease');
      await s.complete(record, record.token, { response: '1', completedAt: T0 + 2, expiresAt: T0 + 3 });
      assert.equal(await s.renew(record, record.token, T0 + 500_000, T0 + 3), false);
    });

    it('releases only an in-progress record held with the token', async () => {
      const s = await store();
      const record = sampleRecord();
      await s.create(record);
      assert.equal(await s.release(record, randomUUID()), false);
      assert.equal(await s.release(record, record.token), true);
      assert.equal(await s.get(record), null);
      assert.equal(await s.create({ ...record, token: randomUUID() }), true, 'a released key can be claimed again');
      const done = sampleRecord();
      await s.create(done);
      await s.complete(done, done.token, { response: '1', completedAt: T0, expiresAt: T0 + 1000 });
      assert.equal(await s.release(done, done.token), false, 'completed records are never released');
    });

    it('takes over only a reclaimable record, and only from the token it read', async () => {
      const s = await store();
      const record = sampleRecord({ leaseExpiresAt: T0 + 1000 });
      await s.create(record);
      const next = { ...record, token: randomUUID(), fence: 2, leaseExpiresAt: T0 + 61_000 };
      assert.equal(await s.takeOver(next, record.token, T0 + 999), false, 'lease still running');
      assert.equal(await s.takeOver(next, randomUUID(), T0 + 1000), false, 'wrong expected token');
      assert.equal(await s.takeOver(next, record.token, T0 + 1000), true, 'lease ran out');
      assert.deepEqual(await s.get(record), next);
      // Fencing: the old holder can change nothing any more.
      assert.equal(await s.complete(record, record.token, { response: 'late', completedAt: T0, expiresAt: T0 + 1 }), false);
      assert.equal(await s.renew(record, record.token, T0 + 99_000, T0 + 1001), false);
      assert.equal(await s.release(record, record.token), false);
      assert.equal((await s.get(record))?.token, next.token);
    });

    it('refuses a takeover when the holder renewed after it was read', async () => {
      const s = await store();
      const record = sampleRecord({ leaseExpiresAt: T0 + 1000 });
      await s.create(record);
      await s.renew(record, record.token, T0 + 70_000, T0 + 1001);
      const next = { ...record, token: randomUUID(), fence: 2 };
      assert.equal(await s.takeOver(next, record.token, T0 + 1001), false);
    });

    it('takes over a completed record once its retention has passed, not before', async () => {
      const s = await store();
      const record = sampleRecord();
      await s.create(record);
      await s.complete(record, record.token, { response: '"old"', completedAt: T0, expiresAt: T0 + 5000 });
      const next = { ...record, token: randomUUID(), fence: 2, createdAt: T0 + 5000, updatedAt: T0 + 5000, expiresAt: T0 + 90_000, leaseExpiresAt: T0 + 65_000 };
      assert.equal(await s.takeOver(next, record.token, T0 + 4999), false);
      assert.equal(await s.takeOver(next, record.token, T0 + 5000), true);
      const stored = await s.get(record);
      assert.equal(stored?.status, 'in_progress');
      assert.equal(stored?.response, null);
      assert.equal(stored?.fence, 2);
    });

    it('purges expired records in bounded batches, oldest first, and nothing else', async () => {
      const s = await store();
      // Far in the future, so that no other test's records count as expired here.
      const base = Date.UTC(2400, 0, 1) + Math.floor(Math.random() * 1e9);
      const tenant = `purge-${randomUUID()}`;
      const done = async (i: number, expiresAt: number) => {
        const r = sampleRecord({ tenant, key: `done-${i}`, createdAt: base, expiresAt });
        await s.create(r);
        await s.complete(r, r.token, { response: '1', completedAt: base, expiresAt });
        return r;
      };
      const expired = [];
      for (let i = 0; i < 5; i++) expired.push(await done(i, base + i));
      const fresh = await done(99, base + 1_000_000);
      const running = sampleRecord({ tenant, key: 'running', expiresAt: base, leaseExpiresAt: base + 1_000_000 });
      await s.create(running);
      const now = base + 100;
      // Records of other tests may be expired too: purge until only ours are asserted.
      let purged = 0;
      let batch: number;
      do {
        batch = await s.purgeExpired(now, 2);
        assert.ok(batch <= 2, `a batch deletes at most its limit, deleted ${batch}`);
        purged += batch;
      } while (batch === 2);
      assert.ok(purged >= 5);
      for (const r of expired) assert.equal(await s.get(r), null);
      assert.notEqual(await s.get(fresh), null, 'records within retention stay');
      assert.notEqual(await s.get(running), null, 'an in-progress record with a live lease stays');
      assert.equal(await s.purgeExpired(base + 2_000_000, 1000) >= 2, true, 'both go once their time has passed');
      assert.equal(await s.get(running), null);
    });

    // Steps are optional: these cases pass without asserting anything for a store without loadSteps/recordStep.
    it('steps: a new record has none; recorded steps load back in index order, each renewing the lease', async () => {
      const s = await store();
      if (!hasSteps(s)) return;
      const record = sampleRecord({ leaseExpiresAt: T0 + 1000 });
      assert.equal(await s.create(record), true);
      assert.deepEqual(await s.loadSteps(record, record.token), []);
      const steps = [stepFor(0), stepFor(1), stepFor(2)];
      for (const [i, step] of steps.entries()) assert.equal(await s.recordStep(record, record.token, step, T0 + 2000 + i), true);
      assert.deepEqual(await s.loadSteps(record, record.token), steps);
      assert.equal((await s.get(record))?.leaseExpiresAt, T0 + 2002, 'the last recordStep set the lease');
      if (s.createOrGet) {
        const other = sampleRecord();
        assert.deepEqual(await s.createOrGet(other), { created: true });
        assert.deepEqual(await s.loadSteps(other, other.token), [], 'createOrGet inserts a record without steps');
      }
    });

    it('steps: fenced by the token (a wrong token records and loads nothing), and one step per index', async () => {
      const s = await store();
      if (!hasSteps(s)) return;
      const record = sampleRecord();
      await s.create(record);
      assert.equal(await s.recordStep(record, randomUUID(), stepFor(0), T0 + 90_000), false);
      assert.equal(await s.loadSteps(record, randomUUID()), null);
      assert.deepEqual(await s.loadSteps(record, record.token), [], 'the refused step was not written');
      assert.equal((await s.get(record))?.leaseExpiresAt, record.leaseExpiresAt, 'nor the lease renewed');
      const first = stepFor(0, { result: 'v"first"' });
      assert.equal(await s.recordStep(record, record.token, first, T0 + 70_000), true);
      assert.equal(await s.recordStep(record, record.token, stepFor(0, { result: 'v"second"' }), T0 + 80_000), false, 'index 0 is taken');
      assert.deepEqual(await s.loadSteps(record, record.token), [first]);
      const missing = { tenant: `t-${randomUUID()}`, operation: 'none', key: randomUUID() };
      assert.equal(await s.recordStep(missing, record.token, stepFor(0), T0 + 70_000), false, 'no record, no step');
      assert.equal(await s.loadSteps(missing, record.token), null);
      await s.complete(record, record.token, { response: '1', completedAt: T0 + 5, expiresAt: T0 + 10_000 });
      assert.equal(await s.recordStep(record, record.token, stepFor(1), T0 + 90_000), false, 'a completed record takes no steps');
    });

    it('steps: recordStep renews the lease, so a takeover that read the old lease fails', async () => {
      const s = await store();
      if (!hasSteps(s)) return;
      const record = sampleRecord({ leaseExpiresAt: T0 + 1000 });
      await s.create(record);
      assert.equal(await s.recordStep(record, record.token, stepFor(0), T0 + 70_000), true);
      const next = { ...record, token: randomUUID(), fence: 2, leaseExpiresAt: T0 + 61_001 };
      assert.equal(await s.takeOver(next, record.token, T0 + 1001), false);
      const stored = await s.get(record);
      assert.equal(stored?.token, record.token);
      assert.equal(stored?.leaseExpiresAt, T0 + 70_000);
      assert.ok((stored?.expiresAt ?? 0) >= T0 + 70_000, 'retention never ends before the lease');
    });

    it(`steps: of ${raceSize} races between recordStep and a takeover of a lease that ran out, exactly one side wins each`, async () => {
      const s = await store();
      if (!hasSteps(s)) return;
      const races = await Promise.all(
        Array.from({ length: raceSize }, async () => {
          const record = sampleRecord({ leaseExpiresAt: T0 + 1000 });
          await s.create(record);
          const next = { ...record, token: randomUUID(), fence: 2, leaseExpiresAt: T0 + 61_000 };
          const [recorded, taken] = await Promise.all([s.recordStep(record, record.token, stepFor(0), T0 + 70_000), s.takeOver(next, record.token, T0 + 1000)]);
          return { record, next, recorded, taken };
        }),
      );
      for (const { record, next, recorded, taken } of races) {
        assert.notEqual(recorded, taken, 'exactly one of recordStep and takeOver succeeds');
        const holder = recorded ? record : next;
        assert.equal((await s.get(record))?.token, holder.token);
        assert.deepEqual(await s.loadSteps(record, holder.token), recorded ? [stepFor(0)] : []);
      }
    });

    it('steps: a takeover keeps them when the lease ran out (also a lease ended at once by renew), and clears them when the record expired', async () => {
      const s = await store();
      if (!hasSteps(s)) return;
      const steps = [stepFor(0), stepFor(1)];
      // A crashed holder: the lease ran out, retention did not.
      const crashed = sampleRecord({ leaseExpiresAt: T0 + 1000, expiresAt: T0 + 86_400_000 });
      await s.create(crashed);
      for (const step of steps) await s.recordStep(crashed, crashed.token, step, T0 + 1000);
      const taker = { ...crashed, token: randomUUID(), fence: 2, leaseExpiresAt: T0 + 61_000 };
      assert.equal(await s.takeOver(taker, crashed.token, T0 + 1000), true);
      assert.deepEqual(await s.loadSteps(crashed, taker.token), steps, 'the taker resumes the steps');
      assert.equal(await s.loadSteps(crashed, crashed.token), null, 'the old holder reads nothing');
      assert.equal(await s.recordStep(crashed, crashed.token, stepFor(2), T0 + 99_000), false, 'nor records anything');

      // A failed run gives its claim back by ending the lease now (renew with leaseExpiresAt = now).
      const failed = sampleRecord({ leaseExpiresAt: T0 + 60_000 });
      await s.create(failed);
      await s.recordStep(failed, failed.token, steps[0]!, T0 + 60_000);
      assert.equal(await s.renew(failed, failed.token, T0 + 500, T0 + 500), true, 'a lease end at now is accepted');
      const retry = { ...failed, token: randomUUID(), fence: 2, leaseExpiresAt: T0 + 60_500 };
      assert.equal(await s.takeOver(retry, failed.token, T0 + 500), true);
      assert.deepEqual(await s.loadSteps(failed, retry.token), [steps[0]]);

      // Retention over: a new logical operation starts with no steps.
      const expired = sampleRecord({ leaseExpiresAt: T0 + 1000, expiresAt: T0 + 5000 });
      await s.create(expired);
      for (const step of steps) await s.recordStep(expired, expired.token, step, T0 + 1000);
      const fresh = { ...expired, token: randomUUID(), fence: 2, createdAt: T0 + 5000, leaseExpiresAt: T0 + 65_000, expiresAt: T0 + 90_000 };
      assert.equal(await s.takeOver(fresh, expired.token, T0 + 5000), true);
      assert.deepEqual(await s.loadSteps(expired, fresh.token), []);

      // A completed record past its retention: the new operation has no steps either.
      const done = sampleRecord({ expiresAt: T0 + 86_400_000 });
      await s.create(done);
      for (const step of steps) await s.recordStep(done, done.token, step, T0 + 60_000);
      await s.complete(done, done.token, { response: '1', completedAt: T0 + 10, expiresAt: T0 + 5000 });
      const again = { ...done, token: randomUUID(), fence: 2, createdAt: T0 + 5000, leaseExpiresAt: T0 + 65_000, expiresAt: T0 + 90_000 };
      assert.equal(await s.takeOver(again, done.token, T0 + 5000), true);
      assert.deepEqual(await s.loadSteps(done, again.token), []);
    });

    it('steps: release and purge delete them with their record', async () => {
      const s = await store();
      if (!hasSteps(s)) return;
      const record = sampleRecord();
      await s.create(record);
      await s.recordStep(record, record.token, stepFor(0), T0 + 60_000);
      assert.equal(await s.release(record, record.token), true);
      const again = { ...record, token: randomUUID() };
      assert.equal(await s.create(again), true);
      assert.deepEqual(await s.loadSteps(again, again.token), [], 'a released scope starts without steps');

      // Far in the future, like the purge case above.
      const base = Date.UTC(2400, 0, 1) + Math.floor(Math.random() * 1e9);
      const old = sampleRecord({ createdAt: base, updatedAt: base, leaseExpiresAt: base + 10, expiresAt: base + 10 });
      await s.create(old);
      await s.recordStep(old, old.token, stepFor(0), base + 10);
      let purged = 0;
      for (let batch = -1; batch !== 0; purged += batch) batch = await s.purgeExpired(base + 20, 1000);
      assert.ok(purged >= 1);
      assert.equal(await s.get(old), null);
      const reborn = { ...old, token: randomUUID(), expiresAt: base + 90_000, leaseExpiresAt: base + 60_000 };
      assert.equal(await s.create(reborn), true);
      assert.deepEqual(await s.loadSteps(reborn, reborn.token), [], 'a purged scope starts without steps');
    });

    it('steps: names and results survive byte for byte (large, non-ASCII, JSON-looking)', async () => {
      const s = await store();
      if (!hasSteps(s)) return;
      const record = sampleRecord({ tenant: '', operation: `ünïcødé-${randomUUID()}` });
      await s.create(record);
      const steps: StepRecord[] = [
        stepFor(0, { name: 'charge 💳 "card"', kind: 'external', result: `v${JSON.stringify({ blob: 'x'.repeat(300_000), emoji: '🧾'.repeat(1000), nul: '\u0000', quote: '"\\\'' })}` }),
        stepFor(1, { name: 'ünïcødé/ステップ', kind: 'database', result: 'v"é✓\\n"\n  trailing spaces  ', completedAt: T0 + 123_456_789 }),
        stepFor(2, { name: `n${'~'.repeat(200)}`, result: '' }),
      ];
      for (const step of steps) assert.equal(await s.recordStep(record, record.token, step, T0 + 60_000), true);
      assert.deepEqual(await s.loadSteps(record, record.token), steps);
    });

    // createOrGet is optional: these cases pass without asserting anything for a store that lacks it.
    it('createOrGet inserts once per scope, then returns the existing record unchanged, byte for byte', async () => {
      const s = await store();
      if (!s.createOrGet) return;
      const record = sampleRecord({ tenant: '', operation: `ünïcødé-${randomUUID()}`, key: `K-${'~'.repeat(200)}` });
      assert.deepEqual(await s.createOrGet(record), { created: true });
      assert.deepEqual(await s.get(record), record);
      const other = { ...record, token: randomUUID(), fingerprint: 'b'.repeat(64), fence: 7, createdAt: T0 + 9, updatedAt: T0 + 9, expiresAt: T0 + 9 };
      assert.deepEqual(await s.createOrGet(other), { created: false, existing: record });
      assert.deepEqual(await s.get(record), record, 'the existing record is left as it was');
      const completion = { response: JSON.stringify({ value: 'é✓🧾', big: 'x'.repeat(70_000) }), completedAt: T0 + 5, expiresAt: T0 + 10_000 };
      assert.equal(await s.complete(record, record.token, completion), true);
      const completed = { ...record, status: 'completed' as const, response: completion.response, leaseExpiresAt: null, updatedAt: T0 + 5, expiresAt: T0 + 10_000 };
      assert.deepEqual(await s.createOrGet(other), { created: false, existing: completed });
      assert.deepEqual(await s.get(record), completed);
      assert.equal(await s.create(other), false, 'create agrees that the scope is taken');
    });

    it('createOrGet keeps tenant, operation and key apart, and claims a released scope again', async () => {
      const s = await store();
      if (!s.createOrGet) return;
      const base = sampleRecord({ key: `Key-${randomUUID()}` });
      assert.deepEqual(await s.createOrGet(base), { created: true });
      for (const record of [{ ...base, tenant: `${base.tenant}-other` }, { ...base, operation: 'refund' }, { ...base, key: base.key.toLowerCase() }]) {
        assert.deepEqual(await s.createOrGet({ ...record, token: randomUUID() }), { created: true });
      }
      assert.equal(await s.release(base, base.token), true);
      const again = { ...base, token: randomUUID() };
      assert.deepEqual(await s.createOrGet(again), { created: true });
      assert.deepEqual(await s.get(base), again);
    });

    it(`createOrGet: exactly one of ${raceSize} concurrent claims of one scope creates, all others get its record`, async () => {
      const s = await store();
      const createOrGet = s.createOrGet?.bind(s);
      if (!createOrGet) return;
      const scope = sampleRecord();
      const attempts = Array.from({ length: raceSize }, (_, i) => ({ ...scope, token: randomUUID(), fingerprint: String(i).padStart(64, '0') }));
      const results = await Promise.all(attempts.map((record) => createOrGet(record)));
      const winners = attempts.filter((_, i) => results[i]?.created);
      assert.equal(winners.length, 1);
      const winner = winners[0];
      assert.deepEqual(await s.get(scope), winner);
      for (const result of results) if (!result.created) assert.deepEqual(result.existing, winner);
    });

    it(`lets exactly one of ${raceSize} concurrent creates of one key win`, async () => {
      const s = await store();
      const record = sampleRecord();
      const results = await Promise.all(
        Array.from({ length: raceSize }, () => s.create({ ...record, token: randomUUID() })),
      );
      assert.equal(results.filter(Boolean).length, 1);
    });

    it(`runs the work once for ${raceSize} concurrent duplicates (reject mode: the rest get 409 or the replay)`, async () => {
      const engine = new Idempotency({ store: await store() });
      let executions = 0;
      const call = { tenant: `t-${randomUUID()}`, operation: 'charge', key: randomUUID(), input: { amount: 100 } };
      const settled = await Promise.allSettled(
        Array.from({ length: raceSize }, () =>
          engine.execute(call, async () => {
            executions++;
            await new Promise((resolve) => setTimeout(resolve, 50));
            return { chargeId: 'ch_1' };
          }),
        ),
      );
      assert.equal(executions, 1);
      const ran = settled.filter((r) => r.status === 'fulfilled' && !r.value.replayed).length;
      const replayed = settled.filter((r) => r.status === 'fulfilled' && r.value.replayed).length;
      const conflicts = settled.filter((r) => r.status === 'rejected' && r.reason instanceof KeyInUseError).length;
      assert.equal(ran, 1);
      assert.equal(ran + replayed + conflicts, raceSize, 'every other call replayed or got 409');
    });

    it(`runs the work once for ${raceSize} concurrent duplicates (wait mode: every call gets the same result)`, async () => {
      const engine = new Idempotency({ store: await store(), inProgress: 'wait', waitTimeout: 20_000 });
      let executions = 0;
      const call = { tenant: `t-${randomUUID()}`, operation: 'charge', key: randomUUID(), input: { amount: 100 } };
      const results = await Promise.all(
        Array.from({ length: raceSize }, () =>
          engine.execute(call, async () => {
            executions++;
            await new Promise((resolve) => setTimeout(resolve, 100));
            return { chargeId: `ch_${executions}`, at: new Date(T0) };
          }),
        ),
      );
      assert.equal(executions, 1);
      assert.equal(results.filter((r) => !r.replayed).length, 1);
      for (const r of results) assert.deepEqual(r.outcome, { ok: true, value: { chargeId: 'ch_1', at: new Date(T0) } });
    });
  });
}
