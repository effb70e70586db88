/** The engine on MemoryStore: what every adapter builds on, through the package's public entry. */
import { createIdempotency, type ClaimContext, GLOBAL_TENANT, IdempotencyError, type IdempotentCall, ManualClock, MemoryStore } from 'oncely';
import { deepEqual, equal, freshKey, gate, ok, rejects, spec } from '../harness.js';

const call = (key: string, input: unknown = { amount: 4200 }): IdempotentCall => ({ tenant: GLOBAL_TENANT, operation: 'charge', key, input });

function codeOf(error: unknown): string | undefined {
  return error instanceof IdempotencyError ? error.code : undefined;
}

spec('core: execute runs once, the retry replays the stored value', async () => {
  const engine = createIdempotency({ store: new MemoryStore() });
  const key = freshKey('first');
  let runs = 0;
  const work = () => ({ charge: `ch_${++runs}`, at: new Date(Date.UTC(2026, 0, 2)), cents: 4200n });
  const first = await engine.execute(call(key), work);
  equal(first.replayed, false, 'first call replayed');
  equal(first.stored, true, 'first outcome stored');
  const retry = await engine.execute(call(key), work);
  equal(retry.replayed, true, 'retry replayed');
  equal(runs, 1, 'work runs');
  ok(retry.outcome.ok && first.outcome.ok);
  deepEqual(retry.outcome.value, first.outcome.value, 'replayed value');
  ok(retry.outcome.value.at instanceof Date, 'a Date comes back as a Date');
  equal(retry.outcome.value.cents, 4200n, 'a BigInt comes back as a BigInt');
});

spec('core: the same key with another input is refused (422, KEY_REUSED)', async () => {
  const engine = createIdempotency({ store: new MemoryStore() });
  const key = freshKey('reuse');
  await engine.execute(call(key, { amount: 1 }), () => 'ok');
  const error = await rejects(engine.execute(call(key, { amount: 2 }), () => 'never'));
  equal(codeOf(error), 'IDEMPOTENCY_KEY_REUSED');
  equal((error as IdempotencyError).status, 422, 'HTTP status');
});

spec('core: a duplicate while the first runs gets 409 (reject mode)', async () => {
  const engine = createIdempotency({ store: new MemoryStore() });
  const key = freshKey('busy');
  const release = gate();
  const started = gate();
  const first = engine.execute(call(key), async () => {
    started.open();
    await release.promise;
    return 'done';
  });
  await started.promise;
  const error = await rejects(engine.execute(call(key), () => 'never'));
  equal(codeOf(error), 'IDEMPOTENCY_KEY_IN_USE');
  release.open();
  equal((await first).replayed, false);
});

spec('core: wait mode: the duplicate waits for the first and replays its value', async () => {
  const engine = createIdempotency({ store: new MemoryStore(), inProgress: 'wait', waitTimeout: '5s' });
  const key = freshKey('wait');
  const release = gate();
  const started = gate();
  let runs = 0;
  const first = engine.execute(call(key), async () => {
    runs++;
    started.open();
    await release.promise;
    return { n: runs };
  });
  await started.promise;
  const second = engine.execute(call(key), () => ({ n: -1 }));
  setTimeout(() => release.open(), 30);
  const [a, b] = await Promise.all([first, second]);
  equal(a.replayed, false);
  equal(b.replayed, true, 'the waiter replayed');
  deepEqual(b.outcome, { ok: true, value: { n: 1 } });
  equal(runs, 1);
});

spec('core: after the retention ends the key counts as new (injected clock)', async () => {
  const clock = new ManualClock();
  const engine = createIdempotency({ store: new MemoryStore(), clock, retention: '1h', heartbeat: false });
  const key = freshKey('expiry');
  let runs = 0;
  await engine.execute(call(key), () => ++runs);
  clock.advance(59 * 60_000);
  equal((await engine.execute(call(key), () => ++runs)).replayed, true, 'replayed within the retention');
  clock.advance(2 * 60_000);
  const after = await engine.execute(call(key), () => ++runs);
  equal(after.replayed, false, 'ran again after the retention');
  equal(runs, 2);
});

spec('core: begin() then commit(); the next begin() is a replay', async () => {
  const engine = createIdempotency({ store: new MemoryStore() });
  const key = freshKey('begin');
  const held = await engine.begin<string>(call(key));
  ok(!held.replayed, 'first begin claims');
  const derived = held.context.deriveKey('charge');
  const execution = await held.commit({ ok: true, value: 'paid' });
  equal(execution.stored, true);
  const again = await engine.begin<string>(call(key));
  ok(again.replayed, 'second begin replays');
  deepEqual(again.execution.outcome, { ok: true, value: 'paid' });
  equal(again.execution.deriveKey('charge'), derived, 'derived key stable');
});

spec('core: a failed run keeps its recorded steps; the retry runs only the rest', async () => {
  const engine = createIdempotency({ store: new MemoryStore() });
  const key = freshKey('steps');
  const runs = { reserve: 0, charge: 0 };
  let fail = true;
  const work = async (ctx: ClaimContext) => {
    const reservation = await ctx.step('reserve', () => ({ id: `r_${++runs.reserve}` }));
    const charge = await ctx.step('charge', ({ key: stepKey }) => ({ id: `ch_${++runs.charge}`, stepKey }));
    if (fail) throw new Error('the mailer timed out');
    return { reservation, charge };
  };
  const failed = await engine.execute(call(key), work);
  equal(failed.outcome.ok, false, 'first run failed');
  equal(failed.stored, false, 'an unexpected error is not stored');
  fail = false;
  const retried = await engine.execute(call(key), work);
  equal(retried.reclaimed, true, 'the retry took the claim over');
  deepEqual(runs, { reserve: 1, charge: 1 }, 'steps ran once');
  ok(retried.outcome.ok);
  deepEqual(retried.outcome.value.reservation, { id: 'r_1' });
  equal(retried.outcome.value.charge.stepKey, retried.deriveKey('charge'), "a step's key is deriveKey(name)");
});
