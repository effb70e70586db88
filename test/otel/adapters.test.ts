import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/index.js';
import { openTelemetry } from '../../src/otel/index.js';
import { PAY, newKey, post, startYogaApp } from '../envelop/helpers.js';
import { type CallContext, Counter, buildRouter, client, startTrpcApp, uid } from '../trpc/harness.js';
import { hashed, otelHarness } from './support/otel.js';

let harness = otelHarness();
afterEach(async () => {
  await harness.shutdown();
  harness = otelHarness();
});

/** The replay's one link points at the execute span of the first request. */
function expectReplayLinkedToExecution(spans: ReadableSpan[]) {
  const execute = spans.filter((s) => s.name === 'oncely.execute');
  const replay = spans.filter((s) => s.name === 'oncely.replay');
  expect([execute.length, replay.length]).toEqual([1, 1]);
  expect(replay[0]!.links.map((l) => l.context.spanId)).toEqual([execute[0]!.spanContext().spanId]);
  return { execute: execute[0]!, replay: replay[0]! };
}

describe('openTelemetry through the adapters', () => {
  it('Yoga plugin: the telemetry option reaches the engine; a replay links to the first execution', async () => {
    const app = await startYogaApp({ store: new MemoryStore(), getTenant: () => 'shop-1', telemetry: openTelemetry({ tracer: harness.tracer, meter: harness.meter }) });
    const key = newKey('otel');
    const body = { query: PAY, variables: { orderId: 'o1', amount: 5 } };
    const first = await post(app, body, { 'idempotency-key': key });
    const second = await post(app, body, { 'idempotency-key': key });
    expect([first.status, second.status, second.headers.get('idempotent-replayed')]).toEqual([200, 200, 'true']);
    expect(second.json).toEqual(first.json);
    expect(app.calls.pay).toBe(1);
    const { execute, replay } = expectReplayLinkedToExecution(harness.spans());
    expect(execute.attributes).toMatchObject({ 'oncely.operation': 'Pay', 'oncely.key': hashed(key), 'oncely.tenant': hashed('shop-1'), 'oncely.outcome': 'success' });
    expect(replay.attributes['oncely.replayed']).toBe(true);
    expect(await harness.sum('oncely.replays')).toBe(1);
  });

  it('Yoga plugin: says through Yoga\'s logger when a result could not be stored', async () => {
    const warnings: unknown[][] = [];
    const logger = { debug: () => {}, info: () => {}, error: () => {}, warn: (...args: unknown[]) => warnings.push(args) };
    const store = new MemoryStore();
    store.complete = async () => {
      throw new Error('connection reset');
    };
    const app = await startYogaApp({ store, getTenant: () => 'shop-1' }, { logging: logger });
    const key = newKey('lost');
    const reply = await post(app, { query: PAY, variables: { orderId: 'o2', amount: 7 } }, { 'idempotency-key': key });
    expect(reply.json.data.pay.orderId).toBe('o2');
    expect(warnings).toEqual([[`oncely: the result of Pay (key ${key}) could not be stored; a retry with this key will run it again.`]]);
  });

  it('tRPC middleware: the telemetry option reaches the engine; a replay links to the first execution', async () => {
    const counter = new Counter();
    const telemetry = openTelemetry({ tracer: harness.tracer, meter: harness.meter, hashIdentifiers: false });
    const app = await startTrpcApp(buildRouter({ store: new MemoryStore() }, counter, { superjson: false, options: { telemetry } }));
    const { trpc } = client(app, 'http', false);
    const key = `trpc-${uid()}`;
    const input = { label: `l-${uid()}`, at: new Date(1) };
    const first = await trpc.create.mutate(input, { context: { key } satisfies CallContext });
    const second = await trpc.create.mutate(input, { context: { key } satisfies CallContext });
    expect(second).toEqual(first);
    const { execute } = expectReplayLinkedToExecution(harness.spans());
    expect(execute.attributes).toMatchObject({ 'oncely.operation': 'create', 'oncely.key': key, 'oncely.tenant': 'tenant-a', 'oncely.fence': 1 });
    expect(await harness.sum('oncely.claims')).toBe(1);
    expect(await harness.sum('oncely.replays')).toBe(1);
  });
});
