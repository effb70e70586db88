import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GLOBAL_TENANT, Idempotency, IdempotencyError, MemoryStore } from '../../src/index.js';
import { useIdempotency } from '../../src/envelop/index.js';
import { freshStore, testDatabases, type PrismaLike } from '../support/databases.js';
import { PAY, newKey, post, startServer, type TestServer } from './helpers.js';

// One graphql copy for Yoga (loaded by Node: CommonJS) and src (else resolved by Vite to index.mjs).

describe('plugin options', () => {
  it('refuses to start without getTenant, with a clear message', () => {
    expect(() => useIdempotency({ store: new MemoryStore() } as never)).toThrow(/getTenant.*GLOBAL_TENANT/s);
    expect(() => useIdempotency({ store: new MemoryStore() } as never)).toThrow(IdempotencyError);
  });

  it('needs exactly one of store and idempotency', () => {
    expect(() => useIdempotency({ getTenant: () => GLOBAL_TENANT })).toThrow(/store/);
    const engine = new Idempotency({ store: new MemoryStore() });
    expect(() => useIdempotency({ idempotency: engine, store: new MemoryStore(), getTenant: () => GLOBAL_TENANT })).toThrow(/not both/);
    expect(() => useIdempotency({ store: new MemoryStore(), getTenant: () => GLOBAL_TENANT, keySources: ['cookie' as never] })).toThrow(/cookie/);
  });
});

describe('an engine built by the application, shared with the plugin (sqlite)', () => {
  const db = testDatabases()[0]!;
  let client: PrismaLike;
  let server: TestServer;
  let engine: Idempotency;
  const events: string[] = [];

  beforeAll(async () => {
    const fresh = await freshStore(db);
    client = fresh.client;
    engine = new Idempotency({ store: fresh.store, onEvent: (event) => events.push(`${event.type} ${'operation' in event ? event.operation : ''}`) });
    server = await startServer({ idempotency: engine, getTenant: () => GLOBAL_TENANT, keySources: ['getKey'], getKey: (ctx: { request: Request }) => ctx.request.headers.get('x-request-key') });
  });
  afterAll(async () => {
    await server?.close();
    await client?.$disconnect();
  });

  it('uses it, with getKey as the only source and the default operation identity', async () => {
    const key = newKey();
    const body = { query: PAY, variables: { orderId: 'e', amount: 3 } };
    const first = await post(server.url, body, { 'x-request-key': key });
    const again = await post(server.url, body, { 'x-request-key': key });
    const header = await post(server.url, body, { 'Idempotency-Key': key });
    expect(again.text).toBe(first.text);
    expect(server.calls.pay).toBe(2); // the header is not a source here
    expect(header.headers.get('idempotent-replayed')).toBeNull();
    expect(events).toContain(`replayed ${events[0]?.split(' ')[1]}`);
    expect(events[0]).toBe('claimed Pay'); // the operation name alone: the document is in the fingerprint
  });
});
