/**
 * Wait mode: a holder whose completion committed hands the record to the duplicates waiting in
 * this process (local-waiters.test.ts). Here the other side: a completion that
 * committed in the store but whose call threw (the answer lost after the commit) hands nothing
 * over, and must still wake the waiters at once (no poll: fake timers never advance here), which
 * then read the committed record themselves and replay it; the work runs once.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Idempotency, MemoryStore } from '../../src/index.js';
import { localWaiterCount } from '../../src/core/local-waiters.js';
import type { Completion } from '../../src/core/store.js';
import type { IdempotencyRecord, RecordScope } from '../../src/core/record.js';

const settle = async (rounds = 5) => {
  for (let i = 0; i < rounds; i++) await new Promise((resolve) => setImmediate(resolve));
};

/** Commits the completion, then loses the answer. */
class LostAnswerStore extends MemoryStore {
  reads = 0;
  override async complete(scope: RecordScope, token: string, c: Completion): Promise<boolean> {
    await super.complete(scope, token, c);
    throw new Error('connection reset after commit');
  }
  override async get(scope: RecordScope): Promise<IdempotencyRecord | null> {
    this.reads++;
    return super.get(scope);
  }
}

afterEach(() => {
  vi.useRealTimers();
});

describe('local hand-over when the completion committed but its call threw', () => {
  it('waiters are woken at once, read the committed record and replay it', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] });
    const store = new LostAnswerStore();
    const holding = new Idempotency({ store, heartbeat: false });
    // Another engine on the same store, with its own retention: it reads what the holder stored.
    const waiting = new Idempotency({ store, heartbeat: false, inProgress: 'wait', retention: '1s' });
    const c = { tenant: 't', operation: 'charge', key: randomUUID(), input: { amount: 1 } };
    const holder = await holding.begin<string>(c);
    if (holder.replayed) throw new Error('expected a claim');
    let runs = 0;
    const waiters = Array.from({ length: 3 }, () => waiting.execute(c, () => `dup-${++runs}`));
    await settle();
    const done = await holder.commit({ ok: true, value: 'first' });
    // The holder does not know it was stored; the record is completed all the same.
    expect(done.stored).toBe(false);
    await settle();
    const answers = await Promise.race([Promise.all(waiters), settle(20).then(() => 'still waiting')]);
    expect(answers).toEqual(Array(3).fill(expect.objectContaining({ replayed: true, outcome: { ok: true, value: 'first' } })));
    expect(runs).toBe(0);
    expect(localWaiterCount(store)).toEqual({ scopes: 0, waiters: 0 });
  });
});
