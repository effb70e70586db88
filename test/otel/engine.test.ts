import { SpanStatusCode, context, trace } from '@opentelemetry/api';
import { afterEach, describe, expect, it } from 'vitest';
import { GLOBAL_TENANT, Idempotency, type IdempotencyEvent, KeyInUseError, KeyReusedError, MemoryStore, StoreUnavailableError } from '../../src/index.js';
import { openTelemetry } from '../../src/otel/index.js';
import { hashed, otelHarness, parentOf } from './support/otel.js';

let harness = otelHarness();
afterEach(async () => {
  await harness.shutdown();
  harness = otelHarness();
});

const call = (key: string, input: unknown = { amount: 5 }) => ({ tenant: 'acme', operation: 'pay', key, input });

/** Runs `fn` inside a span of its own, like a request handled under an HTTP server span. */
async function inRequest<T>(name: string, fn: () => Promise<T>): Promise<{ result: T; request: ReturnType<typeof harness.tracer.startSpan> }> {
  const request = harness.tracer.startSpan(name);
  try {
    const result = await context.with(trace.setSpan(context.active(), request), fn);
    return { result, request };
  } finally {
    request.end();
  }
}

describe('openTelemetry on the engine', () => {
  it('traces a first execution (claim, execute with the work inside, complete) and a replay linked to it', async () => {
    const engine = new Idempotency({ store: new MemoryStore(), telemetry: openTelemetry({ tracer: harness.tracer, meter: harness.meter }) });
    const first = await inRequest('request 1', () =>
      engine.execute(call('k-1'), () => {
        harness.tracer.startSpan('user.db').end();
        return 'paid';
      }),
    );
    expect(first.result).toMatchObject({ replayed: false, outcome: { ok: true, value: 'paid' } });
    const requestId = first.request.spanContext().spanId;
    const claim = harness.one('oncely.claim');
    const execute = harness.one('oncely.execute');
    const complete = harness.one('oncely.complete');
    expect(parentOf(claim)).toBe(requestId);
    expect(parentOf(execute)).toBe(requestId);
    expect(parentOf(complete)).toBe(requestId);
    // The work ran inside the execute span: what it traced nests under it.
    expect(parentOf(harness.one('user.db'))).toBe(execute.spanContext().spanId);
    expect(execute.attributes).toEqual({
      'oncely.operation': 'pay',
      'oncely.tenant': hashed('acme'),
      'oncely.key': hashed('k-1'),
      'oncely.store': 'MemoryStore',
      'oncely.fence': 1,
      'oncely.replayed': false,
      'oncely.outcome': 'success',
    });
    expect(claim.attributes['oncely.claim']).toBe('claimed');
    expect(execute.status.code).toBe(SpanStatusCode.UNSET);

    harness.exporter.reset();
    const again = await inRequest('request 2', () => engine.execute(call('k-1'), () => 'ran twice'));
    expect(again.result).toMatchObject({ replayed: true, outcome: { ok: true, value: 'paid' } });
    expect(harness.spans().map((s) => s.name).sort()).toEqual(['oncely.claim', 'oncely.replay', 'request 2']);
    const replay = harness.one('oncely.replay');
    expect(parentOf(replay)).toBe(again.request.spanContext().spanId);
    expect(harness.one('oncely.claim').attributes['oncely.claim']).toBe('completed');
    expect(replay.attributes).toMatchObject({ 'oncely.replayed': true, 'oncely.fence': 1, 'oncely.outcome': 'success', 'oncely.key': hashed('k-1') });
    // The replay links to the span that ran the work, in the first request's trace.
    expect(replay.links.map((l) => [l.context.traceId, l.context.spanId])).toEqual([[execute.spanContext().traceId, execute.spanContext().spanId]]);
    expect(replay.spanContext().traceId).not.toBe(execute.spanContext().traceId);
  });

  it('records tenants and keys as they are with hashIdentifiers: false, or through a given function', async () => {
    const plain = new Idempotency({ store: new MemoryStore(), telemetry: openTelemetry({ tracer: harness.tracer, meter: harness.meter, hashIdentifiers: false }) });
    await plain.execute(call('k-plain'), () => 1);
    expect(harness.one('oncely.execute').attributes).toMatchObject({ 'oncely.tenant': 'acme', 'oncely.key': 'k-plain' });
    harness.exporter.reset();
    const custom = new Idempotency({ store: new MemoryStore(), telemetry: openTelemetry({ tracer: harness.tracer, meter: harness.meter, hashIdentifiers: (v) => `h(${v.length})` }) });
    await custom.execute(call('k-12345'), () => 1);
    expect(harness.one('oncely.execute').attributes).toMatchObject({ 'oncely.tenant': 'h(4)', 'oncely.key': 'h(7)' });
    expect(() => openTelemetry({ hashIdentifiers: 'yes' as unknown as boolean })).toThrow(/hashIdentifiers must be true, false or a function/);
  });

  it('never puts the raw tenant or key in any attribute by default', async () => {
    const engine = new Idempotency({ store: new MemoryStore(), telemetry: openTelemetry({ tracer: harness.tracer, meter: harness.meter }) });
    await engine.execute({ ...call('secret-key-42'), tenant: 'tenant-secret' }, () => 1);
    await engine.execute({ ...call('secret-key-42'), tenant: 'tenant-secret' }, () => 1);
    const values = harness.spans().flatMap((s) => Object.values(s.attributes).map(String));
    expect(values.length).toBeGreaterThan(10);
    expect(values.filter((v) => v.includes('secret'))).toEqual([]);
  });

  it('records a failed work on its span and the release that follows', async () => {
    const engine = new Idempotency({ store: new MemoryStore(), telemetry: openTelemetry({ tracer: harness.tracer, meter: harness.meter }) });
    const result = await engine.execute(call('k-err'), () => {
      throw new Error('database exploded');
    });
    expect(result.stored).toBe(false);
    const execute = harness.one('oncely.execute');
    expect(execute.status).toEqual({ code: SpanStatusCode.ERROR, message: 'database exploded' });
    expect(execute.attributes['oncely.outcome']).toBe('error');
    expect(execute.events.map((e) => [e.name, e.attributes?.['exception.message']])).toEqual([['exception', 'database exploded']]);
    expect(harness.one('oncely.release').attributes['oncely.fence']).toBe(1);
    expect(harness.named('oncely.complete')).toEqual([]);
  });

  it('records 409 and 422 refusals on the claim span, and a wait inside it', async () => {
    const engine = new Idempotency({ store: new MemoryStore(), telemetry: openTelemetry({ tracer: harness.tracer, meter: harness.meter }) });
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const first = engine.execute(call('k-busy'), () => gate.then(() => 'done'));
    await new Promise((r) => setTimeout(r, 5));
    await expect(engine.execute(call('k-busy'), () => 'dup')).rejects.toBeInstanceOf(KeyInUseError);
    const waiter = engine.execute({ ...call('k-busy'), inProgress: 'wait' }, () => 'waited');
    await new Promise((r) => setTimeout(r, 20));
    open();
    await first;
    expect((await waiter).outcome).toEqual({ ok: true, value: 'done' });
    await expect(engine.execute(call('k-busy', { amount: 6 }), () => 'other')).rejects.toBeInstanceOf(KeyReusedError);

    const claims = harness.named('oncely.claim');
    expect(claims.map((s) => [s.attributes['oncely.claim'] ?? null, s.status.code, s.attributes['error.type'] ?? null])).toEqual([
      ['claimed', SpanStatusCode.UNSET, null],
      ['in_progress', SpanStatusCode.ERROR, 'IDEMPOTENCY_KEY_IN_USE'],
      ['completed', SpanStatusCode.UNSET, null],
      [null, SpanStatusCode.ERROR, 'IDEMPOTENCY_KEY_REUSED'],
    ]);
    const wait = harness.one('oncely.wait');
    expect(parentOf(wait)).toBe(claims[2]!.spanContext().spanId);
  });

  it('traces each lease renewal inside the work span', async () => {
    const engine = new Idempotency({ store: new MemoryStore(), lease: 300, heartbeat: 40, telemetry: openTelemetry({ tracer: harness.tracer, meter: harness.meter }) });
    await engine.execute(call('k-long'), () => new Promise((r) => setTimeout(r, 150)));
    const renewals = harness.named('oncely.lease.renew');
    expect(renewals.length).toBeGreaterThanOrEqual(2);
    const execute = harness.one('oncely.execute');
    for (const renewal of renewals) {
      expect(parentOf(renewal)).toBe(execute.spanContext().spanId);
      expect(renewal.attributes['oncely.fence']).toBe(1);
      expect(renewal.status.code).toBe(SpanStatusCode.UNSET);
    }
  });

  it('counts exactly: 1 first execution, 2 replays, 1 conflict, 1 mismatch; one claim in flight while the work runs', async () => {
    const engine = new Idempotency({ store: new MemoryStore(), telemetry: openTelemetry({ tracer: harness.tracer, meter: harness.meter }) });
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const first = engine.execute(call('k-seq'), () => gate.then(() => 'first'));
    await new Promise((r) => setTimeout(r, 5));
    expect(await harness.sum('oncely.claims.in_flight')).toBe(1);
    await expect(engine.execute(call('k-seq'), () => 'dup')).rejects.toBeInstanceOf(KeyInUseError);
    open();
    await first;
    expect((await engine.execute(call('k-seq'), () => 'no')).replayed).toBe(true);
    expect((await engine.execute(call('k-seq'), () => 'no')).replayed).toBe(true);
    await expect(engine.execute(call('k-seq', { amount: 999 }), () => 'no')).rejects.toBeInstanceOf(KeyReusedError);

    expect(await harness.sum('oncely.claims')).toBe(1);
    expect(await harness.sum('oncely.replays')).toBe(2);
    expect(await harness.sum('oncely.conflicts')).toBe(1);
    expect(await harness.sum('oncely.mismatches')).toBe(1);
    expect(await harness.sum('oncely.lease.losses')).toBe(0);
    expect(await harness.sum('oncely.claims.in_flight')).toBe(0);
    const replays = await harness.metric('oncely.replays');
    expect(replays.map((p) => p.attributes)).toEqual([{ 'oncely.operation': 'pay', 'oncely.outcome': 'success', 'oncely.cached': false }]);
    // Store latency per method: 5 claims (MemoryStore has createOrGet) and 1 completion.
    const durations = await harness.metric('oncely.store.duration');
    const counts = Object.fromEntries(durations.map((p) => [p.attributes['oncely.store.method'], (p.value as { count: number }).count]));
    expect(counts).toEqual({ createOrGet: 5, complete: 1 });
    expect(durations.every((p) => p.attributes['oncely.store'] === 'MemoryStore' && p.attributes['oncely.outcome'] === 'success')).toBe(true);
  });

  it('counts a lease loss once per claim', async () => {
    const store = new MemoryStore();
    const engine = new Idempotency({ store, lease: 200, heartbeat: 30, telemetry: openTelemetry({ tracer: harness.tracer, meter: harness.meter }) });
    const events: IdempotencyEvent[] = [];
    const watched = new Idempotency({ store, lease: 200, heartbeat: 30, onEvent: (e) => events.push(e) });
    const held = engine.execute(call('k-lost'), async () => {
      // Someone frees the claim (an operator's release): the next heartbeat finds it gone.
      const inspected = await watched.inspect('acme', 'pay', 'k-lost');
      await watched.release('acme', 'pay', 'k-lost', { revision: inspected!.revision });
      await new Promise((r) => setTimeout(r, 100));
      return 'late';
    });
    expect((await held).stored).toBe(false);
    expect(await harness.sum('oncely.lease.losses')).toBe(1);
    expect(harness.named('oncely.lease.renew').filter((s) => s.status.code === SpanStatusCode.ERROR)).toHaveLength(1);
    expect(await harness.sum('oncely.claims.in_flight')).toBe(0);
  });
});

describe('store_failed events', () => {
  class FailingStore extends MemoryStore {
    failing: 'createOrGet' | 'complete' | null = null;
    override async createOrGet(...args: Parameters<MemoryStore['createOrGet']>) {
      if (this.failing === 'createOrGet') throw new Error('connection refused');
      return super.createOrGet(...args);
    }
    override async complete(...args: Parameters<MemoryStore['complete']>) {
      if (this.failing === 'complete') throw new Error('connection reset');
      return super.complete(...args);
    }
  }

  it('emits store_failed for a failing claim (503) and a failing completion, with or without telemetry', async () => {
    for (const withTelemetry of [true, false]) {
      const store = new FailingStore();
      const events: IdempotencyEvent[] = [];
      const engine = new Idempotency({
        store,
        onEvent: (e) => events.push(e),
        ...(withTelemetry ? { telemetry: openTelemetry({ tracer: harness.tracer, meter: harness.meter }) } : {}),
      });
      store.failing = 'createOrGet';
      await expect(engine.execute(call('k-down'), () => 1)).rejects.toBeInstanceOf(StoreUnavailableError);
      store.failing = 'complete';
      const ran = await engine.execute(call('k-late'), () => 'ran');
      expect(ran).toMatchObject({ stored: false, outcome: { ok: true, value: 'ran' } });
      const failures = events.filter((e) => e.type === 'store_failed');
      expect(failures.map((e) => ({ ...e, error: (e.error as Error).message, durationMs: typeof e.durationMs }))).toEqual([
        { type: 'store_failed', method: 'createOrGet', error: 'connection refused', tenant: 'acme', operation: 'pay', key: 'k-down', durationMs: 'number' },
        { type: 'store_failed', method: 'complete', error: 'connection reset', tenant: 'acme', operation: 'pay', key: 'k-late', durationMs: 'number' },
      ]);
      expect(events.filter((e) => e.type === 'lease_lost')).toHaveLength(1);
    }
    const claim = harness.named('oncely.claim').find((s) => s.status.code === SpanStatusCode.ERROR)!;
    expect(claim.attributes['error.type']).toBe('IDEMPOTENCY_STORE_UNAVAILABLE');
    expect(harness.one('oncely.complete').status).toEqual({ code: SpanStatusCode.ERROR, message: 'connection reset' });
    expect(await harness.sum('oncely.store.failures')).toBe(2);
    const failed = (await harness.metric('oncely.store.duration')).filter((p) => p.attributes['oncely.outcome'] === 'error');
    expect(failed.map((p) => [p.attributes['oncely.store.method'], (p.value as { count: number }).count])).toEqual([
      ['createOrGet', 1],
      ['complete', 1],
    ]);
  });
});
