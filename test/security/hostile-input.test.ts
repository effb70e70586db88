/**
 * Hostile input against the real adapters over real HTTP (Yoga + oncely/envelop, tRPC +
 * oncely/trpc, PrismaStore): a corpus, then fast-check properties over keys in every place a key
 * can travel (header, GraphQL extensions, argument, tRPC input field, batch header) and over
 * payloads. Every hostile request gets a 4xx (never a 500) with a stable code where oncely
 * answers, nothing runs, and the store holds no record afterwards.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { validateKey } from '../../src/core/key.js';
import { parseBatchKeysHeader } from '../../src/trpc/index.js';
import { type PrismaLike, freshStore, testDatabases } from '../support/databases.js';
import { type Apps, type RawAnswer, codeOf, rawRequest, startApps } from './support.js';

const MUTATION = 'mutation Pay($n: String, $d: JSON, $k: String) { pay(amount: 1, note: $n, data: $d, idempotencyKey: $k) { run } }';
const MUTATION_NO_ARG = 'mutation Pay($n: String, $d: JSON) { pay(amount: 1, note: $n, data: $d) { run } }';
const JSON_HEADER: [string, string] = ['Content-Type', 'application/json'];

/** JSON text nested `depth` levels deep (built as text: JSON.stringify would overflow the stack). */
function nested(depth: number): string {
  return `${'{"a":'.repeat(depth)}"bottom"${'}'.repeat(depth)}`;
}
function nestedArrays(depth: number): string {
  return `${'['.repeat(depth)}1${']'.repeat(depth)}`;
}

interface Case {
  name: string;
  app: 'yoga' | 'trpc';
  headers?: [string, string | Buffer][];
  body: string | Buffer;
  query?: string;
  /** The stable code expected, when the request reaches oncely. */
  code?: string;
}

const yogaBody = (variables: Record<string, unknown> = {}, extensions?: unknown, query = MUTATION_NO_ARG) =>
  JSON.stringify({ query, variables, ...(extensions === undefined ? {} : { extensions }) });

const LONG = 'k'.repeat(256);
const badKeys: [string, string | Buffer][] = [
  ['empty', ''],
  ['a space', ' '],
  ['256 characters', LONG],
  ['10 000 characters', 'k'.repeat(10_000)],
  ['non-ASCII (UTF-8)', Buffer.from('clé-ключ-鍵')],
  ['non-UTF-8 bytes', Buffer.from([0x6b, 0xff, 0xfe, 0x80])],
  ['DEL', 'key\x7f'],
  ['tab', 'key\tkey'],
  ['NUL', Buffer.from([0x6b, 0x00, 0x6b])],
  ['escape', 'key\x1b[31m'],
];

const corpus: Case[] = [
  // Keys in the Idempotency-Key header (raw bytes: what a hostile client can put on the wire).
  ...badKeys.map(([name, key]): Case => ({ name: `Yoga header key: ${name}`, app: 'yoga', headers: [['Idempotency-Key', key]], body: yogaBody() })),
  ...badKeys.map(([name, key]): Case => ({ name: `tRPC header key: ${name}`, app: 'trpc', headers: [['Idempotency-Key', key]], body: '{}' })),
  // Keys of the wrong type or shape where JSON carries them.
  ...[
    ['array', ['a', 'b']],
    ['object', { key: 'a' }],
    ['number', 42],
    ['boolean', true],
    ['empty string', ''],
    ['leading space', ' key'],
    ['trailing space', 'key '],
    ['256 characters', LONG],
    ['control characters', 'a\u0000b\u0007'],
    ['non-ASCII', 'clé'],
    ['emoji', '🔑🔑'],
    ['lone surrogate', '\ud800'],
  ].flatMap(([name, key]): Case[] => [
    { name: `Yoga extensions key: ${name}`, app: 'yoga', body: yogaBody({}, { idempotencyKey: key }), code: 'IDEMPOTENCY_KEY_INVALID' },
    { name: `tRPC input key: ${name}`, app: 'trpc', body: JSON.stringify({ idempotencyKey: key }), code: 'BAD_REQUEST' },
  ]),
  { name: 'Yoga extensions key: nested 10 000 levels', app: 'yoga', body: `{"query":${JSON.stringify(MUTATION_NO_ARG)},"extensions":{"idempotencyKey":${nested(10_000)}}}`, code: 'IDEMPOTENCY_KEY_INVALID' },
  { name: 'tRPC input key: nested 10 000 levels', app: 'trpc', body: `{"idempotencyKey":${nestedArrays(10_000)}}`, code: 'BAD_REQUEST' },
  // The key argument: GraphQL refuses non-strings itself (400); bad strings are oncely's.
  { name: 'Yoga argument key: array', app: 'yoga', body: yogaBody({ k: ['a'] }, undefined, MUTATION) },
  { name: 'Yoga argument key: object', app: 'yoga', body: yogaBody({ k: { a: 1 } }, undefined, MUTATION) },
  { name: 'Yoga argument key: 256 characters', app: 'yoga', body: yogaBody({ k: LONG }, undefined, MUTATION), code: 'IDEMPOTENCY_KEY_INVALID' },
  { name: 'Yoga argument key: control characters', app: 'yoga', body: yogaBody({ k: 'a\u0001' }, undefined, MUTATION), code: 'IDEMPOTENCY_KEY_INVALID' },
  { name: 'Yoga argument key: empty', app: 'yoga', body: yogaBody({ k: '' }, undefined, MUTATION), code: 'IDEMPOTENCY_KEY_INVALID' },
  // No key at all.
  { name: 'Yoga without a key', app: 'yoga', body: yogaBody(), code: 'IDEMPOTENCY_KEY_MISSING' },
  { name: 'tRPC without a key', app: 'trpc', body: '{}', code: 'BAD_REQUEST' },
  // Huge payloads with a bad key: refused before anything runs.
  { name: 'Yoga 6 MB payload, 256-character key', app: 'yoga', headers: [['Idempotency-Key', LONG]], body: yogaBody({ n: 'x'.repeat(6_000_000) }), code: 'IDEMPOTENCY_KEY_INVALID' },
  { name: 'tRPC 6 MB payload, bad key', app: 'trpc', body: JSON.stringify({ idempotencyKey: ['x'], note: 'x'.repeat(6_000_000) }), code: 'BAD_REQUEST' },
  // Deeply nested inputs with a valid key: the fingerprint refuses them (400), nothing runs.
  { name: 'Yoga variables nested 10 000 levels', app: 'yoga', headers: [['Idempotency-Key', 'deep-1']], body: `{"query":${JSON.stringify(MUTATION_NO_ARG)},"variables":{"d":${nested(10_000)}}}`, code: 'IDEMPOTENCY_PAYLOAD_INVALID' },
  { name: 'Yoga variables with arrays nested 10 000 levels', app: 'yoga', headers: [['Idempotency-Key', 'deep-2']], body: `{"query":${JSON.stringify(MUTATION_NO_ARG)},"variables":{"d":${nestedArrays(10_000)}}}`, code: 'IDEMPOTENCY_PAYLOAD_INVALID' },
  { name: 'tRPC input nested 10 000 levels', app: 'trpc', headers: [['Idempotency-Key', 'deep-3']], body: `{"note":${nested(10_000)}}`, code: 'BAD_REQUEST' },
  { name: 'tRPC input with arrays nested 10 000 levels', app: 'trpc', headers: [['Idempotency-Key', 'deep-4']], body: `{"note":${nestedArrays(10_000)}}`, code: 'BAD_REQUEST' },
  // Malformed batch key headers.
  ...['not json', '[', '{"0":1}', '["a",1]', '[["a"]]', `["${LONG}"]`, '["a","b","c"]', '[]', '["\\u0001"]', `[${'"k",'.repeat(5000)}"k"]`].map(
    (header): Case => ({
      name: `tRPC batch header: ${header.slice(0, 40)}`,
      app: 'trpc',
      query: '?batch=1',
      headers: [['Idempotency-Keys', header]],
      body: JSON.stringify({ 0: { note: 'x' } }),
    }),
  ),
  // Garbage bodies.
  { name: 'Yoga body not JSON', app: 'yoga', headers: [['Idempotency-Key', 'garbage-1']], body: '{"query": "mutation {' },
  { name: 'Yoga body is an array of garbage', app: 'yoga', headers: [['Idempotency-Key', 'garbage-2']], body: '[1, "x", null]' },
  { name: 'tRPC body not JSON', app: 'trpc', headers: [['Idempotency-Key', 'garbage-3']], body: '{"note": ' },
];

/** 4xx, never 5xx; and the stable code when oncely answered. */
function expectRefused(answer: RawAnswer, c: Pick<Case, 'name' | 'code'>) {
  expect(answer.status, `${c.name}: ${answer.body.slice(0, 300)}`).toBeGreaterThanOrEqual(400);
  expect(answer.status, `${c.name}: ${answer.body.slice(0, 300)}`).toBeLessThan(500);
  if (c.code) expect(codeOf(answer), `${c.name}: ${answer.body.slice(0, 300)}`).toBe(c.code);
}

async function count(client: PrismaLike, table: string): Promise<number> {
  const rows = await client.$queryRawUnsafe<{ n: number | bigint }[]>(`SELECT COUNT(*) AS n FROM ${table}`);
  return Number(rows[0]?.n ?? 0);
}

function isValid(key: string): boolean {
  try {
    validateKey(key);
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether a batch key header, as it arrives (HTTP strips spaces and tabs around a value), keys the
 * one call of a one-call batch, call 0, with a valid key and names no other call.
 */
function wellFormedForOneCall(value: string): boolean {
  let keys: Map<number, string>;
  try {
    keys = parseBatchKeysHeader(value.replace(/^[ \t]+|[ \t]+$/g, ''));
  } catch {
    return false;
  }
  return keys.size === 1 && keys.has(0) && isValid(keys.get(0)!);
}

const databases = testDatabases();

for (const [index, db] of databases.entries()) {
  describe(`hostile input on ${db.name}`, () => {
    let setup: Awaited<ReturnType<typeof freshStore>>;
    let apps: Apps;
    const urlOf = (c: Pick<Case, 'app' | 'query'>) => `${c.app === 'yoga' ? apps.yoga : apps.trpc}${c.query ?? ''}`;

    beforeAll(async () => {
      setup = await freshStore(db);
      apps = await startApps(setup.store);
    });
    beforeEach(async () => {
      await setup.client.$executeRawUnsafe(`DELETE FROM ${setup.table}`);
      apps.runs.yoga = 0;
      apps.runs.trpc = 0;
    });
    afterAll(async () => {
      await apps?.close();
      await setup?.client.$executeRawUnsafe(`DROP TABLE IF EXISTS ${setup.table}`);
      await setup?.client.$disconnect();
    });

    it(`the corpus (${corpus.length} requests): 4xx with a stable code, nothing runs, no record`, async () => {
      for (const c of corpus) {
        const answer = await rawRequest(urlOf(c), [JSON_HEADER, ...(c.headers ?? [])], c.body);
        expectRefused(answer, c);
      }
      expect(apps.runs).toEqual({ yoga: 0, trpc: 0 });
      expect(await count(setup.client, setup.table)).toBe(0);
    });

    it('a repeated Idempotency-Key header is joined (RFC 9110) and validated as one value', async () => {
      // Node (and every proxy) merges repeated header lines into "a, b"; the joined value is the key,
      // checked by the same rules: over 255 characters it is refused like any other key.
      const tooLong = await rawRequest(apps.yoga, [JSON_HEADER, ['Idempotency-Key', 'k'.repeat(200)], ['Idempotency-Key', 'k'.repeat(200)]], yogaBody());
      expectRefused(tooLong, { name: 'repeated long header', code: 'IDEMPOTENCY_KEY_INVALID' });
      const trpcTooLong = await rawRequest(apps.trpc, [JSON_HEADER, ['Idempotency-Key', 'k'.repeat(200)], ['Idempotency-Key', 'k'.repeat(200)]], '{}');
      expectRefused(trpcTooLong, { name: 'repeated long header (tRPC)', code: 'BAD_REQUEST' });
      expect(await count(setup.client, setup.table)).toBe(0);
      // Two short ones make one deterministic key: the same pair always means the same operation.
      const headers: [string, string][] = [JSON_HEADER, ['Idempotency-Key', 'dup-a'], ['Idempotency-Key', 'dup-b']];
      const first = await rawRequest(apps.yoga, headers, yogaBody());
      const second = await rawRequest(apps.yoga, headers, yogaBody());
      expect(first.status).toBe(200);
      expect(second.json).toEqual(first.json);
      expect(apps.runs.yoga).toBe(1);
      const rows = await setup.client.$queryRawUnsafe<{ k: string }[]>(`SELECT ${db.provider === 'mysql' ? '`key`' : '"key"'} AS k FROM ${setup.table}`);
      expect(rows.map((r) => r.k)).toEqual(['dup-a, dup-b']);
      await setup.client.$executeRawUnsafe(`DELETE FROM ${setup.table}`);
      apps.runs.yoga = 0;
    });

    // The properties are registered for one database only (not skipped on the others): they test
    // the adapters' input handling, which happens before any store call.
    const itOnFirstDatabase = index === 0 ? it : ((() => undefined) as unknown as typeof it);
    itOnFirstDatabase('property: any invalid key, in any place a key travels, is a 4xx and leaves no record', async () => {
      const invalidString = fc.oneof(
        fc.constant(''),
        fc.string({ minLength: 256, maxLength: 600 }),
        fc.tuple(fc.string({ maxLength: 20 }), fc.integer({ min: 0, max: 0x1f }), fc.string({ maxLength: 20 })).map(([a, c, b]) => `${a}${String.fromCharCode(c)}${b}`),
        fc.tuple(fc.string({ maxLength: 20 }), fc.integer({ min: 0x7f, max: 0xffff }), fc.string({ maxLength: 20 })).map(([a, c, b]) => `${a}${String.fromCharCode(c)}${b}`),
        fc.string({ minLength: 1, maxLength: 30 }).map((s) => ` ${s}`),
        fc.string({ minLength: 1, maxLength: 30 }).map((s) => `${s} `),
      ).filter((s) => !isValid(s));
      const notAString = fc.oneof(fc.array(fc.string(), { maxLength: 3 }), fc.dictionary(fc.string(), fc.jsonValue()), fc.integer(), fc.boolean(), fc.double());
      const place = fc.constantFrom('yoga-header', 'yoga-extensions', 'yoga-argument', 'trpc-header', 'trpc-input');
      await fc.assert(
        fc.asyncProperty(place, fc.oneof(invalidString, notAString), fc.jsonValue({ maxDepth: 4 }), async (where, key, payload) => {
          if (typeof key !== 'string' && (where.endsWith('header') || where === 'yoga-argument')) return; // headers and String arguments carry strings
          // HTTP itself strips spaces around a header value (and refuses CR, LF, NUL): what arrives may be valid.
          if (where.endsWith('header') && (/[\r\n\0]/.test(key as string) || isValid((key as string).replace(/^[ \t]+|[ \t]+$/g, '')))) return;
          const header: [string, string | Buffer][] = where.endsWith('header') ? [['Idempotency-Key', Buffer.from(key as string, 'utf8')]] : [];
          let body: string;
          if (where === 'yoga-header') body = yogaBody({ d: payload });
          else if (where === 'yoga-extensions') body = yogaBody({ d: payload }, { idempotencyKey: key });
          else if (where === 'yoga-argument') body = yogaBody({ d: payload, k: key }, undefined, MUTATION);
          else if (where === 'trpc-header') body = JSON.stringify({ note: payload });
          else body = JSON.stringify({ note: payload, idempotencyKey: key });
          const answer = await rawRequest(where.startsWith('yoga') ? apps.yoga : apps.trpc, [JSON_HEADER, ...header], body);
          expectRefused(answer, { name: `${where} ${JSON.stringify(key).slice(0, 80)}` });
          expect(apps.runs, `${where} ${JSON.stringify(key).slice(0, 80)}`).toEqual({ yoga: 0, trpc: 0 });
          // JSON has no NaN or Infinity: JSON.stringify sends such a key as null, which arrives as no key.
          const sent = JSON.parse(JSON.stringify([key]))[0] as unknown;
          if (where === 'yoga-extensions' || where === 'yoga-argument') expect(codeOf(answer)).toBe(sent === null ? 'IDEMPOTENCY_KEY_MISSING' : 'IDEMPOTENCY_KEY_INVALID');
          if (where === 'trpc-input') expect(codeOf(answer)).toBe('BAD_REQUEST');
          // In a header, control characters are refused by Node's HTTP parser itself (a bare 400).
          if (where.endsWith('header') && answer.json) expect(codeOf(answer)).toMatch(/^(IDEMPOTENCY_KEY_INVALID|IDEMPOTENCY_KEY_MISSING|BAD_REQUEST)$/);
        }),
        { numRuns: 150 },
      );
      expect(apps.runs).toEqual({ yoga: 0, trpc: 0 });
      expect(await count(setup.client, setup.table)).toBe(0);
    });

    itOnFirstDatabase('property: malformed batch key headers are a 4xx and leave no record', async () => {
      const header = fc.oneof(
        fc.string({ maxLength: 60 }),
        fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
        fc.array(fc.oneof(fc.string({ maxLength: 300 }), fc.integer(), fc.constant(null)), { maxLength: 4 }).map((v) => JSON.stringify(v)),
      );
      await fc.assert(
        fc.asyncProperty(header, async (value) => {
          // A header value cannot hold CR, LF or NUL on the wire.
          if (/[\r\n\0]/.test(value)) return;
          // Each header on its own (so that a shrunk counterexample is the real one).
          await setup.client.$executeRawUnsafe(`DELETE FROM ${setup.table}`);
          apps.runs.trpc = 0;
          const answer = await rawRequest(`${apps.trpc}?batch=1`, [JSON_HEADER, ['Idempotency-Keys', Buffer.from(value, 'utf8')]], JSON.stringify({ 0: { note: 'x' } }));
          const context = `${value}: ${answer.body.slice(0, 300)}`;
          if (wellFormedForOneCall(value)) {
            // A well-formed header keying the batch's one call with a valid key: it runs once, with a record.
            expect(answer.status, context).toBe(200);
            expect(apps.runs.trpc, context).toBe(1);
            expect(await count(setup.client, setup.table), context).toBe(1);
            await setup.client.$executeRawUnsafe(`DELETE FROM ${setup.table}`);
            apps.runs.trpc = 0;
          } else {
            expectRefused(answer, { name: context });
            expect(apps.runs.trpc, context).toBe(0);
            expect(await count(setup.client, setup.table), context).toBe(0);
          }
        }),
        // Besides the random headers, both branches for sure: well-formed for the one call (with
        // spaces HTTP strips), and well-formed but naming another call too, or only another call.
        { numRuns: 150, examples: [['{"0":"valid-key"}'], [' {"0":"spaced-key"}\t'], ['{"0":"a","1":"b"}'], ['{"1":"b"}'], ['{"0":" padded"}']] },
      );
      expect(await count(setup.client, setup.table)).toBe(0);
    });

    itOnFirstDatabase('property: any JSON payload with a valid key runs once and replays the same body', async () => {
      let n = 0;
      await fc.assert(
        fc.asyncProperty(fc.jsonValue({ maxDepth: 6 }), fc.constantFrom('yoga', 'trpc'), async (payload, app) => {
          const key: [string, string] = ['Idempotency-Key', `payload-${++n}`];
          const body = app === 'yoga' ? yogaBody({ d: payload }) : JSON.stringify({ note: payload });
          const url = app === 'yoga' ? apps.yoga : apps.trpc;
          const before = { ...apps.runs };
          const first = await rawRequest(url, [JSON_HEADER, key], body);
          const again = await rawRequest(url, [JSON_HEADER, key], body);
          expect(first.status, first.body).toBe(200);
          expect(again.json).toEqual(first.json);
          expect(apps.runs[app as 'yoga' | 'trpc']).toBe(before[app as 'yoga' | 'trpc'] + 1);
        }),
        { numRuns: 60 },
      );
      expect(await count(setup.client, setup.table)).toBe(n);
    });
  });
}
