import { TRPCError, initTRPC } from '@trpc/server';
import { describe, expect, it } from 'vitest';
import { ConfigurationError, GLOBAL_TENANT, Idempotency, MemoryStore } from '../../src/index.js';
import {
  BatchHeaderError,
  createIdempotencyMiddleware,
  formatBatchKeysHeader,
  formatReplayedCallsHeader,
  parseBatchKeysHeader,
  parseReplayedCallsHeader,
  replayedError,
  serializerFromTransformer,
} from '../../src/trpc/index.js';
import { MIDDLEWARE_MARKER, storedResult } from '../../src/trpc/result.js';
import superjson from 'superjson';

describe('tRPC internal guard: the middleware-result shape', () => {
  it('storedResult() looks exactly like what a real next() returns (fails loudly if tRPC changes it)', async () => {
    const t = initTRPC.create();
    let real: Record<string, unknown> | undefined;
    const capture = t.middleware(async ({ next }) => {
      const result = await next();
      real = result as unknown as Record<string, unknown>;
      return result;
    });
    const router = t.router({ ping: t.procedure.use(capture).mutation(() => 'pong') });
    expect(await t.createCallerFactory(router)({}).ping()).toBe('pong');
    const ours = storedResult<object>('pong') as unknown as Record<string, unknown>;
    const message =
      'tRPC changed its internal middleware result. Update src/trpc/result.ts (storedResult) to the new shape: ' + JSON.stringify(real);
    expect(real, message).toBeDefined();
    expect(real!.marker, message).toBe(MIDDLEWARE_MARKER);
    expect(real!.ok, message).toBe(true);
    expect(real!.data, message).toBe('pong');
    // Every property of the real result except the context must be on ours, with the same type.
    for (const [name, value] of Object.entries(real!)) {
      if (name === 'ctx') continue;
      expect(typeof ours[name], `${message} (property "${name}")`).toBe(typeof value);
    }
  });

  it('a procedure returns a stored result without its resolver running', async () => {
    const t = initTRPC.create();
    let ran = 0;
    const short = t.middleware(async () => storedResult<object>({ from: 'store' }));
    const router = t.router({ m: t.procedure.use(short).mutation(() => ++ran) });
    expect(await t.createCallerFactory(router)({}).m()).toEqual({ from: 'store' });
    expect(ran).toBe(0);
  });
});

describe('batch header format', () => {
  it('round-trips keys by batch index, holes included', () => {
    const value = formatBatchKeysHeader(['a', undefined, 'c,"quoted" key']);
    expect(value).toBe('{"0":"a","2":"c,\\"quoted\\" key"}');
    expect(parseBatchKeysHeader(value)).toEqual(new Map([[0, 'a'], [2, 'c,"quoted" key']]));
    expect(parseBatchKeysHeader(formatBatchKeysHeader(new Map([[7, 'x']])))).toEqual(new Map([[7, 'x']]));
  });

  it('rejects anything but an object of canonical indexes to strings', () => {
    for (const bad of ['', '[]', 'null', '"k"', '{"a":"k"}', '{"01":"k"}', '{"1.5":"k"}', '{"0":1}', '{"0":null}', '{']) {
      expect(() => parseBatchKeysHeader(bad), bad).toThrow(BatchHeaderError);
    }
  });

  it('formats and parses the replayed-calls marker', () => {
    expect(formatReplayedCallsHeader([2, 0, 2])).toBe('0,2');
    expect(parseReplayedCallsHeader('0, 2')).toEqual(new Set([0, 2]));
    expect(parseReplayedCallsHeader(null)).toEqual(new Set());
    expect(() => parseReplayedCallsHeader('0,x')).toThrow(BatchHeaderError);
  });
});

describe('configuration', () => {
  it('refuses to start without getTenant, and with both engine and store', () => {
    const store = new MemoryStore();
    expect(() => createIdempotencyMiddleware({ store } as never)).toThrow(ConfigurationError);
    expect(() => createIdempotencyMiddleware({ store } as never)).toThrow(/getTenant/);
    expect(() => createIdempotencyMiddleware({ store, getTenant: () => GLOBAL_TENANT })).not.toThrow();
  });

  it('refuses a key-source option of the wrong type or an unusable name, and every source off', () => {
    const base = { store: new MemoryStore(), getTenant: (): typeof GLOBAL_TENANT => GLOBAL_TENANT };
    const wrong: [Record<string, unknown>, string][] = [
      [{ header: 42 }, 'oncely/trpc: `header` must be an HTTP header name, or false to turn the source off; got number 42.'],
      [{ header: 'Idempotency Key' }, 'oncely/trpc: `header` must be an HTTP header name, or false to turn the source off; got "Idempotency Key".'],
      [{ batchHeader: true }, 'oncely/trpc: `batchHeader` must be an HTTP header name, or false to turn the source off; got boolean true.'],
      [{ inputField: '' }, 'oncely/trpc: `inputField` must be a non-empty property name, or false to turn the source off; got "".'],
      [{ inputField: null }, 'oncely/trpc: `inputField` must be a non-empty property name, or false to turn the source off; got null.'],
      [{ getKey: 'idempotencyKey' }, 'oncely/trpc: `getKey` must be a function; got "idempotencyKey".'],
      [{ getHeader: {} }, 'oncely/trpc: `getHeader` must be a function; got an object.'],
      [
        { header: false, batchHeader: false, inputField: false },
        'oncely/trpc: every key source is turned off (header, batchHeader and inputField are false, and there is no getKey).',
      ],
    ];
    for (const [options, message] of wrong) {
      expect(() => createIdempotencyMiddleware({ ...base, ...options } as never)).toThrow(ConfigurationError);
      expect(() => createIdempotencyMiddleware({ ...base, ...options } as never)).toThrow(message);
    }
    expect(() => createIdempotencyMiddleware({ ...base, header: false, batchHeader: false, inputField: false, getKey: () => 'k' })).not.toThrow();
  });
});

describe('serializerFromTransformer', () => {
  it('carries values through the transformer', () => {
    const s = serializerFromTransformer(superjson);
    const value = { at: new Date(3), m: new Map([[1, new Set([2n])]]) };
    expect(s.deserialize(s.serialize(value))).toEqual(value);
  });

  it('with it, the engine still keeps TRPCError code and cause on replay (errors bypass the serializer)', async () => {
    const engine = new Idempotency({ store: new MemoryStore(), serializer: serializerFromTransformer(superjson), shouldStore: () => true });
    const call = { tenant: GLOBAL_TENANT as typeof GLOBAL_TENANT, operation: 'x', key: 'k-1', input: 1 };
    const cause = Object.assign(new Error('why'), { details: { a: 1 } });
    await engine.execute(call, () => {
      throw new TRPCError({ code: 'NOT_FOUND', message: 'gone', cause });
    });
    const replay = await engine.execute(call, () => 'never');
    expect(replay.replayed).toBe(true);
    const error = replayedError(!replay.outcome.ok ? replay.outcome.error : undefined);
    expect(error).toBeInstanceOf(TRPCError);
    expect(error.code).toBe('NOT_FOUND');
    expect(error.message).toBe('gone');
    expect((error.cause as unknown as { details: unknown }).details).toEqual({ a: 1 });
  });
});
