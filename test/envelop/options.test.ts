import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GLOBAL_TENANT, Idempotency, IdempotencyError, MemoryStore } from '../../src/index.js';
import { useIdempotency } from '../../src/envelop/index.js';
import { PAY, newKey, post, startYogaApp, type YogaApp } from './helpers.js';

// One graphql copy for Yoga (loaded by Node: CommonJS) and src (else resolved by Vite to index.mjs).

describe('plugin options', () => {
  it('refuses to start without getTenant, with a clear message', () => {
    expect(() => useIdempotency({ store: new MemoryStore() } as never)).toThrow(/getTenant.*GLOBAL_TENANT/s);
    expect(() => useIdempotency({ store: new MemoryStore() } as never)).toThrow(IdempotencyError);
  });

  it('needs exactly one of store and engine; the old name idempotency is refused with its new name', () => {
    expect(() => useIdempotency({ getTenant: () => GLOBAL_TENANT })).toThrow(/store/);
    const engine = new Idempotency({ store: new MemoryStore() });
    expect(() => useIdempotency({ engine, store: new MemoryStore(), getTenant: () => GLOBAL_TENANT })).toThrow(/not both/);
    expect(() => useIdempotency({ idempotency: engine, getTenant: () => GLOBAL_TENANT } as never)).toThrow(/now called `engine`/);
    expect(() => useIdempotency({ store: new MemoryStore(), getTenant: () => GLOBAL_TENANT, keySources: ['cookie' as never] })).toThrow(/cookie/);
  });
});

describe('an engine built by the application, shared with the plugin', () => {
  let server: YogaApp;
  let engine: Idempotency;
  const events: string[] = [];

  beforeAll(async () => {
    engine = new Idempotency({ store: new MemoryStore(), onEvent: (event) => events.push(`${event.type} ${'operation' in event ? event.operation : ''}`) });
    server = await startYogaApp({ engine, getTenant: () => GLOBAL_TENANT, keySources: ['getKey'], required: false, getKey: (ctx: { request: Request }) => ctx.request.headers.get('x-request-key') });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('uses it, with getKey as the only source and the default operation identity', async () => {
    const key = newKey();
    const body = { query: PAY, variables: { orderId: 'e', amount: 3 } };
    const first = await post(server, body, { 'x-request-key': key });
    const again = await post(server, body, { 'x-request-key': key });
    const header = await post(server, body, { 'Idempotency-Key': key });
    expect(again.text).toBe(first.text);
    expect(server.calls.pay).toBe(2); // the header is not a source here
    expect(header.headers.get('idempotent-replayed')).toBeNull();
    expect(events).toContain(`replayed ${events[0]?.split(' ')[1]}`);
    expect(events[0]).toBe('claimed Pay'); // the operation name alone: the document is in the fingerprint
  });
});
