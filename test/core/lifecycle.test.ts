import { describe, expect, it } from 'vitest';
import { ConfigurationError, Idempotency, KeyInUseError, KeyReusedError, ManualClock, MemoryStore } from '../../src/index.js';

function setup() {
  const store = new MemoryStore();
  const engine = new Idempotency({ store, clock: new ManualClock(), heartbeat: false });
  return { store, engine };
}

const call = { tenant: 't', operation: 'op', key: 'k1', input: { amount: 5 } };

describe('begin / commit / release', () => {
  it('begin claims, a duplicate meanwhile is refused, commit stores, the next begin replays', async () => {
    const { engine } = setup();
    const claim = await engine.begin<string>(call);
    if (claim.replayed) throw new Error('expected a claim');
    expect(claim.context).toMatchObject({ tenant: 't', operation: 'op', key: 'k1', fence: 1 });
    await expect(engine.begin(call)).rejects.toBeInstanceOf(KeyInUseError);
    const done = await claim.commit({ ok: true, value: 'paid' });
    expect(done).toMatchObject({ replayed: false, stored: true, outcome: { ok: true, value: 'paid' } });
    const again = await engine.begin<string>(call);
    expect(again.replayed).toBe(true);
    if (again.replayed) expect(again.execution.outcome).toEqual({ ok: true, value: 'paid' });
    await expect(engine.begin({ ...call, input: { amount: 6 } })).rejects.toBeInstanceOf(KeyReusedError);
  });

  it('release frees the key at once and stores nothing', async () => {
    const { engine, store } = setup();
    const claim = await engine.begin(call);
    if (claim.replayed) throw new Error('expected a claim');
    await claim.release();
    expect(store.size).toBe(0);
    const next = await engine.begin(call);
    expect(next.replayed).toBe(false);
  });

  it('commit applies the store policy: an unexpected error releases, a deterministic 4xx is stored', async () => {
    const { engine } = setup();
    const first = await engine.begin(call);
    if (first.replayed) throw new Error('expected a claim');
    expect((await first.commit({ ok: false, error: new Error('timeout') })).stored).toBe(false);
    const second = await engine.begin(call);
    if (second.replayed) throw new Error('expected a claim');
    const declined = Object.assign(new Error('declined'), { status: 402 });
    expect((await second.commit({ ok: false, error: declined })).stored).toBe(true);
    const replay = await engine.begin(call);
    expect(replay.replayed && replay.execution.outcome.ok === false).toBe(true);
  });

  it('a claim finishes once: a second commit or release is a programming error', async () => {
    const { engine } = setup();
    const claim = await engine.begin(call);
    if (claim.replayed) throw new Error('expected a claim');
    await claim.commit({ ok: true, value: 1 });
    await expect(claim.commit({ ok: true, value: 2 })).rejects.toBeInstanceOf(ConfigurationError);
    await expect(claim.release()).rejects.toBeInstanceOf(ConfigurationError);
  });
});
