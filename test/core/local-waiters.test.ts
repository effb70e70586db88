/**
 * Wait mode in one process: a duplicate waiting for a holder in the same process is woken by the
 * holder's completion or release at once, not by the poll. The fake-timer tests never advance
 * time, so a waiter that settles there was woken by the holder; counted record reads prove no poll ran.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Idempotency, KeyInUseError, MemoryStore } from '../../src/index.js';
import { announceLocal, localWaiterCount, subscribeLocal } from '../../src/core/local-waiters.js';
import type { IdempotencyRecord, RecordScope } from '../../src/core/record.js';
import type { Completion, CreateOrGet, TransactionScope, TransactionalStore } from '../../src/core/store.js';

/** Lets every pending promise chain run (setImmediate stays real: only timeouts are faked). */
const settle = async (rounds = 5) => {
  for (let i = 0; i < rounds; i++) await new Promise((resolve) => setImmediate(resolve));
};

/** Counts the reads of a record: plain gets and the claim's createOrGet. */
class CountingStore extends MemoryStore {
  reads = 0;
  override async get(scope: RecordScope): Promise<IdempotencyRecord | null> {
    this.reads++;
    return super.get(scope);
  }
  override async createOrGet(record: IdempotencyRecord): Promise<CreateOrGet> {
    this.reads++;
    return super.createOrGet(record);
  }
}

/**
 * A transactional store over memory: the claim is visible at once (as a row lock makes a
 * duplicate wait on a database), but a completion only lands when the transaction commits, a few
 * event-loop turns after its callback returned; a rollback removes the claim.
 */
class StagedTransactionStore extends CountingStore implements TransactionalStore<'tx'> {
  async transaction<R>(fn: (store: TransactionScope, tx: 'tx') => Promise<R>): Promise<R> {
    const staged: (() => Promise<boolean>)[] = [];
    const created: IdempotencyRecord[] = [];
    const view: TransactionScope = {
      create: async (record) => (await this.create(record)) && (created.push(record), true),
      get: (scope) => this.get(scope),
      takeOver: (record, token, now) => this.takeOver(record, token, now),
      renew: (scope, token, until, now) => this.renew(scope, token, until, now),
      release: (scope, token) => this.release(scope, token),
      purgeExpired: (now, limit) => this.purgeExpired(now, limit),
      complete: async (scope: RecordScope, token: string, completion: Completion) => {
        staged.push(() => this.complete(scope, token, completion));
        // Uncounted: only the waiters' reads are counted.
        return (await MemoryStore.prototype.get.call(this, scope))?.token === token;
      },
    };
    let result: R;
    try {
      result = await fn(view, 'tx');
    } catch (error) {
      for (const record of created) await this.release(record, record.token);
      throw error;
    }
    await settle();
    for (const apply of staged) await apply();
    return result;
  }
}

const call = (key = randomUUID()) => ({ tenant: 't', operation: 'op', key, input: { n: 1 } });

/** Fake timers (a settled waiter was woken, never polled), a counting store, and a key held by `holder`; reads counted from here. */
async function heldKey() {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] });
  const store = new CountingStore();
  const engine = new Idempotency({ store, heartbeat: false });
  const c = call();
  const holder = await engine.begin<string>(c);
  if (holder.replayed) throw new Error('expected a claim');
  store.reads = 0;
  return { store, engine, c, holder };
}

describe('local waiters', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('an announce wakes the waiters of that scope on that store only; cancel and announce leave nothing behind', async () => {
    const store = {};
    const other = {};
    const scope = { tenant: 't', operation: 'op', key: 'k' };
    const woken: string[] = [];
    const same = subscribeLocal(store, scope);
    const otherKey = subscribeLocal(store, { ...scope, key: 'k2' });
    const otherStore = subscribeLocal(other, scope);
    void same.changed.then(() => woken.push('same'));
    void otherKey.changed.then(() => woken.push('other key'));
    void otherStore.changed.then(() => woken.push('other store'));
    expect(localWaiterCount(store)).toEqual({ scopes: 2, waiters: 2 });
    announceLocal(store, scope);
    await settle(1);
    expect(woken).toEqual(['same']);
    same.cancel();
    otherKey.cancel();
    otherStore.cancel();
    expect(localWaiterCount(store)).toEqual({ scopes: 0, waiters: 0 });
    expect(localWaiterCount(other)).toEqual({ scopes: 0, waiters: 0 });
  });

  it('a waiter wakes at the holder’s commit without waiting for the poll, and replays the committed record without reading it again', async () => {
    const { store, engine, c, holder } = await heldKey();
    let settled = false;
    const waiter = engine.execute({ ...c, inProgress: 'wait' }, () => 'dup').finally(() => (settled = true));
    await settle();
    expect(store.reads).toBe(1);
    expect(settled).toBe(false);
    expect(localWaiterCount(store)).toEqual({ scopes: 1, waiters: 1 });
    await holder.commit({ ok: true, value: 'first' });
    await settle();
    expect(settled).toBe(true);
    expect(await waiter).toMatchObject({ replayed: true, outcome: { ok: true, value: 'first' } });
    // The read that found it in progress; the holder handed the completed record over.
    expect(store.reads).toBe(1);
    expect(localWaiterCount(store)).toEqual({ scopes: 0, waiters: 0 });
  });

  it('a waiter with another payload gets 422 from the handed-over record, and the holder’s answer stands', async () => {
    const { store, engine, c, holder } = await heldKey();
    const other = engine.execute({ ...c, input: { n: 2 }, inProgress: 'wait' }, () => 'never');
    const settledOther = other.catch((error: unknown) => error);
    await settle();
    await holder.commit({ ok: true, value: 'first' });
    await settle();
    expect(await settledOther).toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED' });
    expect(store.reads).toBe(1);
    expect(await engine.execute(c, () => 'again')).toMatchObject({ replayed: true, outcome: { ok: true, value: 'first' } });
  });

  it('a failed completion hands nothing over: the waiter reads the record itself', async () => {
    const { store, engine, c, holder } = await heldKey();
    const waiter = engine.execute({ ...c, inProgress: 'wait', waitTimeout: 50 }, () => 'dup');
    await settle();
    // The store refuses the completion (the token lost the record): nothing committed, nothing handed over.
    const complete = vi.spyOn(store, 'complete').mockResolvedValueOnce(false);
    await holder.commit({ ok: true, value: 'first' });
    complete.mockRestore();
    await settle();
    expect(store.reads).toBe(2);
    // Still in progress: past its wait timeout, the next poll answers 409.
    const waited = waiter.catch((error: unknown) => error);
    const until = performance.now() + 60;
    while (performance.now() < until) await settle(1);
    vi.advanceTimersByTime(1_000);
    await settle();
    expect(await waited).toMatchObject({ code: 'IDEMPOTENCY_KEY_IN_USE' });
  });

  it('a release wakes the waiter at once and it runs the work itself', async () => {
    const { engine, c, holder } = await heldKey();
    const waiter = engine.execute({ ...c, inProgress: 'wait' }, () => 'second');
    await settle();
    await holder.release();
    await settle();
    expect(await Promise.race([waiter, 'still waiting'])).toMatchObject({ replayed: false, outcome: { ok: true, value: 'second' } });
  });

  it('engines sharing one store wake each other', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] });
    const store = new CountingStore();
    const holding = new Idempotency({ store, heartbeat: false });
    const waiting = new Idempotency({ store, heartbeat: false, inProgress: 'wait' });
    const c = call();
    const holder = await holding.begin<string>(c);
    if (holder.replayed) throw new Error('expected a claim');
    const waiter = waiting.execute(c, () => 'dup');
    await settle();
    await holder.commit({ ok: true, value: 'first' });
    await settle();
    expect(await Promise.race([waiter, 'still waiting'])).toMatchObject({ replayed: true, outcome: { ok: true, value: 'first' } });
  });

  it('transactional mode wakes waiters only after the commit, so they read the completed record', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] });
    const store = new StagedTransactionStore();
    const holding = new Idempotency({ store, heartbeat: false, transactional: true });
    const waiting = new Idempotency({ store, heartbeat: false, inProgress: 'wait' });
    const c = call();
    const holder = await holding.begin<string>(c);
    if (holder.replayed) throw new Error('expected a claim');
    store.reads = 0;
    const waiter = waiting.execute(c, () => 'dup');
    await settle();
    await holder.commit({ ok: true, value: 'first' });
    await settle();
    // Woken before the commit landed, the waiter would have read "in progress" again and slept on
    // the (never advanced) poll timer.
    expect(await Promise.race([waiter, 'still waiting'])).toMatchObject({ replayed: true, outcome: { ok: true, value: 'first' } });
    // Handed over only once the commit landed: the waiter never read again.
    expect(store.reads).toBe(1);
  });

  it('200 same-key callers in wait mode: the work runs once, all get its result, each reads the record once', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] });
    const store = new CountingStore();
    const engine = new Idempotency({ store, heartbeat: false, inProgress: 'wait' });
    const c = call();
    let runs = 0;
    let finishWork!: () => void;
    const gate = new Promise<void>((resolve) => (finishWork = resolve));
    const results = Array.from({ length: 200 }, () =>
      engine.execute(c, async () => {
        runs++;
        await gate;
        return { id: 'ch_1', at: new Date(0) };
      }),
    );
    await settle();
    expect(runs).toBe(1);
    expect(localWaiterCount(store)).toEqual({ scopes: 1, waiters: 199 });
    finishWork();
    await settle(10);
    const all = await Promise.all(results);
    expect(runs).toBe(1);
    expect(all.filter((e) => e.replayed).length).toBe(199);
    for (const execution of all) expect(execution.outcome).toEqual({ ok: true, value: { id: 'ch_1', at: new Date(0) } });
    // The holder's claim, then one per waiter: the claim that found it in progress (the wake hands the record over).
    expect(store.reads).toBe(1 + 199);
    expect(localWaiterCount(store)).toEqual({ scopes: 0, waiters: 0 });
  });

  // Real timers: fake ones slow down quadratically with thousands of pending timeouts.
  it('10k waits leave no waiter behind, whether woken or timed out', async () => {
    const N = 5_000;
    const store = new MemoryStore();
    const engine = new Idempotency({ store, heartbeat: false, inProgress: 'wait' });
    const untilAllWait = async () => {
      for (let round = 0; round < 1_000 && localWaiterCount(store).waiters < N; round++) await settle(1);
      expect(localWaiterCount(store)).toEqual({ scopes: 1, waiters: N });
    };

    const woken = call();
    const holderA = await engine.begin<string>(woken);
    if (holderA.replayed) throw new Error('expected a claim');
    const wokenWaiters = Array.from({ length: N }, () => engine.execute(woken, () => 'dup'));
    await untilAllWait();
    await holderA.commit({ ok: true, value: 'first' });
    expect((await Promise.all(wokenWaiters)).every((e) => e.replayed && e.outcome.ok && e.outcome.value === 'first')).toBe(true);
    expect(localWaiterCount(store)).toEqual({ scopes: 0, waiters: 0 });

    const timedOut = call();
    const holderB = await engine.begin<string>(timedOut);
    if (holderB.replayed) throw new Error('expected a claim');
    const timedOutWaiters = Array.from({ length: N }, () => engine.execute({ ...timedOut, waitTimeout: 200 }, () => 'dup').catch((error: unknown) => error));
    expect((await Promise.all(timedOutWaiters)).every((e) => e instanceof KeyInUseError)).toBe(true);
    expect(localWaiterCount(store)).toEqual({ scopes: 0, waiters: 0 });
    await holderB.release();
  });
});
