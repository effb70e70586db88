/**
 * Steps on the engine (MemoryStore, virtual time): a run that crashed or failed after some steps
 * is resumed by its retry at the first unfinished step; recorded steps never run again.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  type ClaimContext,
  ConfigurationError,
  type IdempotencyEvent,
  Idempotency,
  IdempotencyError,
  KeyInUseError,
  KeyReusedError,
  MemoryStore,
  ResponseNotStorableError,
  StepMismatchError,
  type StepRecord,
} from '../../src/index.js';
import type { RecordScope } from '../../src/core/record.js';
import { type PrismaLike, freshStore, testDatabases } from '../support/databases.js';

const LEASE = 10_000;

/** MemoryStore counting the step round trips. */
class CountingStore extends MemoryStore {
  stepLoads = 0;
  stepWrites = 0;
  override async loadSteps(scope: RecordScope, token: string): Promise<StepRecord[] | null> {
    this.stepLoads++;
    return super.loadSteps(scope, token);
  }
  override async recordStep(scope: RecordScope, token: string, step: StepRecord, leaseExpiresAt: number): Promise<boolean> {
    this.stepWrites++;
    return super.recordStep(scope, token, step, leaseExpiresAt);
  }
  resetCounts(): void {
    this.stepLoads = 0;
    this.stepWrites = 0;
  }
}

beforeEach(() => {
  vi.useFakeTimers({ now: Date.UTC(2026, 5, 1) });
});
afterEach(() => {
  vi.useRealTimers();
});

function setup(options: Partial<ConstructorParameters<typeof Idempotency>[0]> = {}) {
  const store = new CountingStore();
  const events: IdempotencyEvent[] = [];
  // A process that dies stops renewing: the crashed runs below use an engine without heartbeat.
  const crashing = new Idempotency({ store, lease: LEASE, heartbeat: false, ...options });
  const engine = new Idempotency({ store, lease: LEASE, onEvent: (e) => events.push(e), ...options });
  return { store, crashing, engine, events };
}

const call = (overrides: Record<string, unknown> = {}) => ({ tenant: 'shop', operation: 'checkout', key: randomUUID(), input: { cart: 'c_1', total: 4200 }, ...overrides });

/** A checkout of three external steps; `runs` counts each step's executions. */
function checkout(runs: Record<string, number>) {
  const count = (name: string) => {
    runs[name] = (runs[name] ?? 0) + 1;
  };
  return {
    reserve: (ctx: ClaimContext) => ctx.step('reserve', () => (count('reserve'), { reservation: 'r_1', at: new Date(1000), units: 3n })),
    charge: (ctx: ClaimContext) => ctx.step('charge', ({ key }) => (count('charge'), { charge: `ch_${key.slice(-6)}`, amounts: new Map([['eur', 4200]]) })),
    receipt: (ctx: ClaimContext) => ctx.step('receipt', async () => (count('receipt'), `receipt for ${ctx.key}`)),
  };
}

/** Holds a claim, runs the first `steps` of the checkout and then stops for good (the process died). */
async function crashAfter(engine: Idempotency, c: ReturnType<typeof call>, steps: number, runs: Record<string, number>) {
  const held = await engine.begin(c);
  if (held.replayed) throw new Error('expected a claim');
  const flow = checkout(runs);
  const order = [flow.reserve, flow.charge, flow.receipt];
  for (const step of order.slice(0, steps)) await step(held.context);
  return held;
}

async function fullCheckout(ctx: ClaimContext, runs: Record<string, number>) {
  const flow = checkout(runs);
  const reserved = await flow.reserve(ctx);
  const charged = await flow.charge(ctx);
  const receipt = await flow.receipt(ctx);
  return { reserved, charged, receipt };
}

describe('steps: resume after a crash', () => {
  it('a retry after the lease ran out replays the recorded steps and runs only the rest; the answer equals an uninterrupted run', async () => {
    const { store, crashing, engine, events } = setup();
    const c = call();
    const runs: Record<string, number> = {};
    await crashAfter(crashing, c, 2, runs);
    expect(runs).toEqual({ reserve: 1, charge: 1 });

    // Still held: a retry inside the lease is refused.
    await expect(engine.execute(c, (ctx) => fullCheckout(ctx, runs))).rejects.toBeInstanceOf(KeyInUseError);
    await vi.advanceTimersByTimeAsync(LEASE);
    store.resetCounts();
    const resumed = await engine.execute(c, (ctx) => fullCheckout(ctx, runs));
    expect(resumed).toMatchObject({ replayed: false, reclaimed: true, fence: 2, stored: true });
    expect(runs).toEqual({ reserve: 1, charge: 1, receipt: 1 });
    expect(store.stepLoads).toBe(1);
    expect(store.stepWrites).toBe(1);

    // The same checkout never interrupted, under another key: the same answer (after the serializer's round trip).
    const otherRuns: Record<string, number> = {};
    const d = call();
    const straight = await engine.execute(d, (ctx) => fullCheckout(ctx, otherRuns));
    const replayOfStraight = await engine.execute(d, () => 'not run');
    const replayOfResumed = await engine.execute(c, () => 'not run');
    const { charged: _c1, receipt: _r1, ...resumedRest } = (resumed.outcome as { value: Awaited<ReturnType<typeof fullCheckout>> }).value;
    const { charged: _c2, receipt: _r2, ...straightRest } = (straight.outcome as { value: Awaited<ReturnType<typeof fullCheckout>> }).value;
    expect(resumedRest).toEqual(straightRest);
    expect(resumedRest).toEqual({ reserved: { reservation: 'r_1', at: new Date(1000), units: 3n } });
    // The charge's key is the derived one, the same in the crashed run and the retry.
    expect(resumed.outcome).toEqual({
      ok: true,
      value: { reserved: { reservation: 'r_1', at: new Date(1000), units: 3n }, charged: { charge: `ch_${resumed.deriveKey('charge').slice(-6)}`, amounts: new Map([['eur', 4200]]) }, receipt: `receipt for ${c.key}` },
    });
    expect(replayOfResumed.outcome).toEqual(resumed.outcome);
    expect(replayOfStraight.outcome).toEqual(straight.outcome);

    const stepEvents = events.filter((e) => e.type === 'step_recorded' || e.type === 'step_replayed').filter((e) => e.key === c.key);
    expect(stepEvents.map((e) => [e.type, (e as { name: string }).name, (e as { index: number }).index, (e as { kind: string }).kind, e.fence])).toEqual([
      ['step_replayed', 'reserve', 0, 'external', 2],
      ['step_replayed', 'charge', 1, 'external', 2],
      ['step_recorded', 'receipt', 2, 'external', 2],
    ]);
  });

  it('the crashed holder, coming back, can record nothing: its step fails with the lease lost and aborts its signal', async () => {
    const { crashing, engine } = setup();
    const c = call();
    const runs: Record<string, number> = {};
    const stale = await crashAfter(crashing, c, 1, runs);
    await vi.advanceTimersByTimeAsync(LEASE);
    const retry = await engine.begin(c);
    if (retry.replayed) throw new Error('expected a claim');
    const error = await checkout(runs).charge(stale.context).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IdempotencyError);
    expect((error as IdempotencyError).code).toBe('IDEMPOTENCY_KEY_IN_USE');
    expect(stale.context.signal.aborted).toBe(true);
    // External steps are at-least-once: the stale holder's call ran, but it was not recorded.
    expect(runs).toEqual({ reserve: 1, charge: 1 });
    const value = await fullCheckout(retry.context, runs);
    expect(runs).toEqual({ reserve: 1, charge: 2, receipt: 1 });
    expect((await retry.commit({ ok: true, value })).stored).toBe(true);
  });

  it('each recorded step renews the lease: a holder slower than the lease in total keeps its claim', async () => {
    const { crashing, engine } = setup();
    const c = call();
    const held = await crashing.begin(c);
    if (held.replayed) throw new Error('expected a claim');
    const slow = (name: string) => held.context.step(name, () => new Promise((resolve) => setTimeout(() => resolve(name), 6000)));
    const first = slow('a');
    await vi.advanceTimersByTimeAsync(6000);
    await first;
    const second = slow('b');
    await vi.advanceTimersByTimeAsync(5000);
    // 11 s after the claim, lease 10 s, no heartbeat: only the first step's record keeps it held.
    await expect(engine.execute(c, () => 'dup')).rejects.toBeInstanceOf(KeyInUseError);
    await vi.advanceTimersByTimeAsync(1000);
    expect(await second).toBe('b');
    expect((await held.commit({ ok: true, value: 'done' })).stored).toBe(true);
  });
});

describe('steps: a failed outcome after steps', () => {
  it('keeps the record (reclaimable at once) instead of deleting it; the retry resumes, another payload gets 422', async () => {
    const { store, engine, events } = setup();
    const c = call();
    const runs: Record<string, number> = {};
    let fail = true;
    const work = async (ctx: ClaimContext) => {
      const flow = checkout(runs);
      await flow.reserve(ctx);
      await flow.charge(ctx);
      if (fail) throw new Error('the warehouse API timed out');
      return { receipt: await flow.receipt(ctx) };
    };
    const failed = await engine.execute(c, work);
    expect(failed).toMatchObject({ replayed: false, stored: false, outcome: { ok: false } });
    const record = await store.get({ tenant: c.tenant, operation: c.operation, key: c.key });
    expect(record).toMatchObject({ status: 'in_progress', fence: 1, leaseExpiresAt: Date.now() });
    expect(events.filter((e) => 'key' in e && e.key === c.key).map((e) => e.type)).toEqual(['claimed', 'step_recorded', 'step_recorded', 'released']);

    await expect(engine.execute({ ...c, input: { cart: 'c_2', total: 1 } }, work)).rejects.toBeInstanceOf(KeyReusedError);

    fail = false;
    store.resetCounts();
    const retried = await engine.execute(c, work);
    expect(retried).toMatchObject({ replayed: false, reclaimed: true, fence: 2, stored: true, outcome: { ok: true, value: { receipt: `receipt for ${c.key}` } } });
    expect(runs).toEqual({ reserve: 1, charge: 1, receipt: 1 });
    expect(store.stepLoads).toBe(1);
    expect(store.stepWrites).toBe(1);
  });

  it('release() after steps also keeps them for the retry', async () => {
    const { store, engine } = setup();
    const c = call();
    const runs: Record<string, number> = {};
    const held = await engine.begin(c);
    if (held.replayed) throw new Error('expected a claim');
    await checkout(runs).reserve(held.context);
    await held.release();
    expect(await store.get({ tenant: c.tenant, operation: c.operation, key: c.key })).toMatchObject({ status: 'in_progress', leaseExpiresAt: Date.now() });
    const retried = await engine.execute(c, (ctx) => fullCheckout(ctx, runs));
    expect(retried).toMatchObject({ reclaimed: true, stored: true });
    expect(runs).toEqual({ reserve: 1, charge: 1, receipt: 1 });
  });

  it('without a recorded step a failure releases the key as before (even on a reclaimed claim whose predecessor recorded none)', async () => {
    const { store, crashing, engine } = setup();
    const fresh = call();
    await engine.execute(fresh, () => {
      throw new Error('boom');
    });
    expect(await store.get({ tenant: fresh.tenant, operation: fresh.operation, key: fresh.key })).toBeNull();

    const reclaimed = call();
    await crashing.begin(reclaimed);
    await vi.advanceTimersByTimeAsync(LEASE);
    store.resetCounts();
    const failed = await engine.execute(reclaimed, () => {
      throw new Error('boom');
    });
    expect(failed.reclaimed).toBe(true);
    // A reclaimed claim that never asked for its steps asks once before deciding.
    expect(store.stepLoads).toBe(1);
    expect(await store.get({ tenant: reclaimed.tenant, operation: reclaimed.operation, key: reclaimed.key })).toBeNull();
  });

  it('a reclaimed claim that fails before its first step keeps the crashed holder’s steps', async () => {
    const { store, crashing, engine } = setup();
    const c = call();
    const runs: Record<string, number> = {};
    await crashAfter(crashing, c, 2, runs);
    await vi.advanceTimersByTimeAsync(LEASE);
    await engine.execute(c, () => {
      throw new Error('before any step');
    });
    expect(await store.get({ tenant: c.tenant, operation: c.operation, key: c.key })).toMatchObject({ status: 'in_progress', fence: 2, leaseExpiresAt: Date.now() });
    const retried = await engine.execute(c, (ctx) => fullCheckout(ctx, runs));
    expect(retried).toMatchObject({ fence: 3, stored: true });
    expect(runs).toEqual({ reserve: 1, charge: 1, receipt: 1 });
  });
});

describe('steps: refusals', () => {
  it('a retry reaching its steps in another order fails with StepMismatchError (500, not stored); the fixed code resumes', async () => {
    const { store, crashing, engine } = setup();
    const c = call();
    const runs: Record<string, number> = {};
    await crashAfter(crashing, c, 2, runs);
    await vi.advanceTimersByTimeAsync(LEASE);
    const reordered = await engine.execute(c, async (ctx) => {
      await ctx.step('reserve', () => 'never run');
      return ctx.step('ship', () => 'never run');
    });
    expect(reordered.stored).toBe(false);
    const error = (reordered.outcome as { error: unknown }).error;
    expect(error).toBeInstanceOf(StepMismatchError);
    expect(error).toMatchObject({ code: 'IDEMPOTENCY_STEP_MISMATCH', status: 500, index: 1, reached: 'ship', recorded: 'charge' });
    expect((error as Error).message).toBe(
      "oncely: the code reached step 'ship' at position 1 but the recorded run had 'charge' there; steps must run in the same order on every retry.",
    );
    expect(await store.get({ tenant: c.tenant, operation: c.operation, key: c.key })).toMatchObject({ status: 'in_progress', fence: 2 });
    const fixed = await engine.execute(c, (ctx) => fullCheckout(ctx, runs));
    expect(fixed).toMatchObject({ fence: 3, stored: true });
    expect(runs).toEqual({ reserve: 1, charge: 1, receipt: 1 });
  });

  it('refuses a second step while one is in flight (the order would be ambiguous), and runs the first', async () => {
    const { store, engine } = setup();
    store.resetCounts();
    let secondRan = false;
    const running = engine.execute(call(), async (ctx) => {
      const first = ctx.step('a', () => new Promise<string>((resolve) => setTimeout(() => resolve('a done'), 100)));
      const second = ctx.step('b', () => {
        secondRan = true;
        return 'b done';
      });
      return Promise.allSettled([first, second]);
    });
    await vi.advanceTimersByTimeAsync(100);
    const { outcome } = await running;
    const [first, second] = (outcome as { value: PromiseSettledResult<string>[] }).value;
    expect(first).toEqual({ status: 'fulfilled', value: 'a done' });
    expect(second?.status).toBe('rejected');
    const reason = (second as PromiseRejectedResult).reason;
    expect(reason).toBeInstanceOf(ConfigurationError);
    expect((reason as Error).message).toBe(
      "oncely: step 'b' was called while step 'a' still runs; steps of one claim run one after another (await each), or their order would be ambiguous.",
    );
    expect(secondRan).toBe(false);
    expect(store.stepWrites).toBe(1);
  });

  it('refuses steps after the claim was committed, and steps without a name or function', async () => {
    const { engine } = setup();
    let kept: ClaimContext | undefined;
    await engine.execute(call(), async (ctx) => {
      kept = ctx;
      await expect(ctx.step('', () => 1)).rejects.toThrow(ConfigurationError);
      await expect(ctx.step(undefined as unknown as string, () => 1)).rejects.toThrow(/non-empty name/);
      await expect(ctx.step('x', 'nope' as unknown as () => number)).rejects.toThrow(/needs a function/);
      return 'ok';
    });
    await expect(kept!.step('late', () => 1)).rejects.toThrow(/after its claim was committed or released/);
  });

  it('a step whose function throws records nothing; the same position can run again in that run', async () => {
    const { store, engine } = setup();
    store.resetCounts();
    let attempts = 0;
    const result = await engine.run(call(), async (ctx) => {
      const flaky = () =>
        ctx.step('charge', () => {
          attempts++;
          if (attempts === 1) throw new Error('declined');
          return 'ch_ok';
        });
      await expect(flaky()).rejects.toThrow('declined');
      return flaky();
    });
    expect(result).toBe('ch_ok');
    expect(attempts).toBe(2);
    expect(store.stepWrites).toBe(1);
  });

  it('a result too large to store is not recorded: the step throws ResponseNotStorableError', async () => {
    const { store, engine } = setup({ maxResponseBytes: 100 });
    store.resetCounts();
    const outcome = (await engine.execute(call(), (ctx) => ctx.step('big', () => 'x'.repeat(200)))).outcome;
    expect(outcome.ok).toBe(false);
    expect((outcome as { error: unknown }).error).toBeInstanceOf(ResponseNotStorableError);
    expect(store.stepWrites).toBe(0);
  });

  it('databaseStep on a store without transactions names PrismaStore', async () => {
    const { engine } = setup();
    const outcome = (await engine.execute(call(), (ctx) => ctx.databaseStep('write', async () => 1))).outcome;
    expect((outcome as { error: unknown }).error).toBeInstanceOf(ConfigurationError);
    expect(((outcome as { error: Error }).error).message).toMatch(/databaseStep\(\) needs a store with transactions, such as PrismaStore/);
  });

  it('a store without loadSteps / recordStep: steps are a configuration error', async () => {
    const memory = new MemoryStore();
    const bare = {
      create: memory.create.bind(memory),
      get: memory.get.bind(memory),
      takeOver: memory.takeOver.bind(memory),
      renew: memory.renew.bind(memory),
      complete: memory.complete.bind(memory),
      release: memory.release.bind(memory),
      purgeExpired: memory.purgeExpired.bind(memory),
    };
    const engine = new Idempotency({ store: bare, heartbeat: false });
    const outcome = (await engine.execute(call(), (ctx) => ctx.step('a', () => 1))).outcome;
    expect(((outcome as { error: Error }).error).message).toMatch(/steps need a store that records them/);
  });
});

describe('steps: serializer and codec', () => {
  it("results go through the engine's serializer and codec like outcomes", async () => {
    const { store, crashing, engine } = setup({
      serializer: { serialize: (v) => `S${JSON.stringify(v)}`, deserialize: (t) => ({ ...(JSON.parse(t.slice(1)) as object), revived: true }) },
      codec: { encode: (text, scope) => `enc:${scope.key}:${Buffer.from(text).toString('base64')}`, decode: (text, scope) => Buffer.from(text.slice(`enc:${scope.key}:`.length), 'base64').toString() },
    });
    const c = call();
    const held = await crashing.begin(c);
    if (held.replayed) throw new Error('expected a claim');
    expect(await held.context.step('quote', () => ({ price: 42 }))).toEqual({ price: 42 });
    const [recorded] = (await store.loadSteps({ tenant: c.tenant, operation: c.operation, key: c.key }, await tokenOf(store, c)))!;
    expect(recorded!.result).toBe(`enc:${c.key}:${Buffer.from('vS{"price":42}').toString('base64')}`);
    await vi.advanceTimersByTimeAsync(LEASE);
    const resumed = await engine.run(c, (ctx) => ctx.step('quote', () => ({ price: 0 })));
    expect(resumed).toEqual({ price: 42, revived: true });
  });
});

async function tokenOf(store: MemoryStore, c: ReturnType<typeof call>): Promise<string> {
  return (await store.get({ tenant: c.tenant, operation: c.operation, key: c.key }))!.token;
}

describe('steps: round trips on MemoryStore', () => {
  it('a fresh run: one recordStep per step and no load; a reclaimed one: exactly one load', async () => {
    const { store, crashing, engine } = setup();
    store.resetCounts();
    const runs: Record<string, number> = {};
    await engine.execute(call(), (ctx) => fullCheckout(ctx, runs));
    expect({ loads: store.stepLoads, writes: store.stepWrites }).toEqual({ loads: 0, writes: 3 });

    const c = call();
    await crashAfter(crashing, c, 1, runs);
    await vi.advanceTimersByTimeAsync(LEASE);
    store.resetCounts();
    await engine.execute(c, (ctx) => fullCheckout(ctx, runs));
    expect({ loads: store.stepLoads, writes: store.stepWrites }).toEqual({ loads: 1, writes: 2 });

    // Reclaimed, succeeding without a step: nothing to load.
    const d = call();
    await crashing.begin(d);
    await vi.advanceTimersByTimeAsync(LEASE);
    store.resetCounts();
    await engine.execute(d, () => 'no steps');
    expect({ loads: store.stepLoads, writes: store.stepWrites }).toEqual({ loads: 0, writes: 0 });
  });
});

// Transactional mode needs a store with transactions: the real PrismaStore on SQLite.
describe('steps: transactional mode', () => {
  const sqlite = testDatabases([]).find((db) => db.name === 'sqlite')!;
  const clients: PrismaLike[] = [];
  afterAll(async () => {
    await Promise.all(clients.map((client) => client.$disconnect()));
  });

  it('step() and databaseStep() throw ConfigurationError: the mode is already all-or-nothing', async () => {
    vi.useRealTimers();
    const { client, store } = await freshStore(sqlite);
    clients.push(client);
    const engine = new Idempotency({ store, transactional: true, heartbeat: false });
    let ran = 0;
    const outcome = (
      await engine.execute(call(), async (ctx) => {
        const errors = await Promise.all([ctx.step('a', () => ran++).catch((e: unknown) => e), ctx.databaseStep('b', async () => ran++).catch((e: unknown) => e)]);
        return errors.map((e) => [e instanceof ConfigurationError, (e as Error).message]);
      })
    ).outcome;
    const message = 'oncely: transactional mode is already all-or-nothing; steps are for lease mode (transactional: false).';
    expect(outcome).toEqual({ ok: true, value: [[true, message], [true, message]] });
    expect(ran).toBe(0);
  });
});

describe('steps seen by onEvent', () => {
  it('a failing recordStep is a store_failed event naming the method, and the step fails with 503', async () => {
    class FailingSteps extends MemoryStore {
      override async recordStep(): Promise<boolean> {
        throw new Error('disk full');
      }
    }
    const events: IdempotencyEvent[] = [];
    const engine = new Idempotency({ store: new FailingSteps(), lease: LEASE, onEvent: (e) => events.push(e) });
    const c = call();
    const failure = await engine
      .execute(c, async (ctx: ClaimContext) => ctx.step('charge', () => 'ch_1'))
      .then((execution) => (execution.outcome.ok ? undefined : execution.outcome.error));
    expect((failure as IdempotencyError | undefined)?.code).toBe('IDEMPOTENCY_STORE_UNAVAILABLE');
    const failed = events.filter((e) => e.type === 'store_failed');
    expect(failed.map((e) => (e as { method: string }).method)).toEqual(['recordStep']);
  });
});
