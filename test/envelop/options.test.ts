import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigurationError, GLOBAL_TENANT, Idempotency, IdempotencyError, MemoryStore } from '../../src/index.js';
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
  });

  it('refuses the key-source options of 0.1, naming their replacement', () => {
    const base = { store: new MemoryStore(), getTenant: () => GLOBAL_TENANT };
    const renamed: [string, unknown, string][] = [
      ['headerName', 'X-Key', 'useIdempotency: `headerName` is now called `header` (a header name, or false to ignore headers; as in oncely/trpc).'],
      ['extensionName', 'key', "useIdempotency: `extensionName` is now called `extension` (a name, or false to ignore the request's extensions)."],
      ['argumentName', 'key', 'useIdempotency: `argumentName` is now called `argument` (a name, or false to ignore field arguments).'],
      ['inputArgumentName', 'data', 'useIdempotency: `inputArgumentName` is now called `inputArgument` (a name, or false).'],
      ['directiveName', 'once', 'useIdempotency: `directiveName` is now called `directive` (a name, or false to ignore the directive).'],
      [
        'keySources',
        ['header'],
        'useIdempotency: `keySources` was removed: every source is read, in a fixed order (getKey, header, extension, argument, directive); turn one off with `header: false`, `extension: false`, `argument: false` or `directive: false` (as in oncely/trpc).',
      ],
    ];
    for (const [name, value, message] of renamed) {
      expect(() => useIdempotency({ ...base, [name]: value } as never)).toThrow(ConfigurationError);
      expect(() => useIdempotency({ ...base, [name]: value } as never)).toThrow(message);
    }
  });

  it('refuses a key-source option of the wrong type or an unusable name, at creation', () => {
    const base = { store: new MemoryStore(), getTenant: (): typeof GLOBAL_TENANT => GLOBAL_TENANT };
    const wrong: [Record<string, unknown>, string][] = [
      [{ header: 42 }, 'useIdempotency: `header` must be an HTTP header name, or false to turn the source off; got number 42.'],
      [{ header: 'Idempotency Key' }, 'useIdempotency: `header` must be an HTTP header name, or false to turn the source off; got "Idempotency Key".'],
      [{ header: true }, 'useIdempotency: `header` must be an HTTP header name, or false to turn the source off; got boolean true.'],
      [{ extension: '' }, 'useIdempotency: `extension` must be a non-empty property name, or false to turn the source off; got "".'],
      [{ argument: 'idempotency-key' }, 'useIdempotency: `argument` must be a GraphQL argument name, or false to turn the source off; got "idempotency-key".'],
      [{ inputArgument: null }, 'useIdempotency: `inputArgument` must be a GraphQL argument name, or false to turn the source off; got null.'],
      [{ directive: ['idempotent'] }, 'useIdempotency: `directive` must be a GraphQL directive name, or false to turn the source off; got an object.'],
      [{ getKey: 'x-request-key' }, 'useIdempotency: `getKey` must be a function (context) => key; got "x-request-key".'],
      [
        { header: false, extension: false, argument: false, directive: false },
        'useIdempotency: every key source is turned off (header, extension, argument and directive are false, and there is no getKey).',
      ],
    ];
    for (const [options, message] of wrong) {
      expect(() => useIdempotency({ ...base, ...options } as never)).toThrow(ConfigurationError);
      expect(() => useIdempotency({ ...base, ...options } as never)).toThrow(message);
    }
    // Every source off but getKey: valid, getKey is then the only source.
    expect(() => useIdempotency({ ...base, header: false, extension: false, argument: false, directive: false, getKey: () => 'k' })).not.toThrow();
  });
});

describe('an engine built by the application, shared with the plugin', () => {
  let server: YogaApp;
  let engine: Idempotency;
  const events: string[] = [];

  beforeAll(async () => {
    engine = new Idempotency({ store: new MemoryStore(), onEvent: (event) => events.push(`${event.type} ${'operation' in event ? event.operation : ''}`) });
    server = await startYogaApp({
      engine,
      getTenant: () => GLOBAL_TENANT,
      header: false,
      extension: false,
      argument: false,
      directive: false,
      required: false,
      getKey: (ctx: { request: Request }) => ctx.request.headers.get('x-request-key'),
    });
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
