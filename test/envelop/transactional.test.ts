import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshStore, testDatabases, type PrismaLike } from '../support/databases.js';
import { newKey, post, startYogaApp, type YogaApp } from './helpers.js';

// One graphql copy for Yoga (loaded by Node: CommonJS) and src (else resolved by Vite to index.mjs).

for (const db of testDatabases()) {
  describe(`transactional mode on ${db.name}`, () => {
    let client: PrismaLike;
    let server: YogaApp;
    const table = `oncely_envelop_tx_${randomUUID().replaceAll('-', '').slice(0, 10)}`;
    const placeholder = db.provider === 'postgresql' ? '$1' : '?';
    const rows = async (note: string) =>
      Number(((await client.$queryRawUnsafe(`SELECT COUNT(*) AS n FROM ${table} WHERE note = ${placeholder}`, note)) as { n: unknown }[])[0]?.n);
    let recordTable = '';
    /** Idempotency records of a key, whatever their operation identity. */
    const records = async (key: string) => {
      const column = db.provider === 'mysql' ? '`key`' : '"key"';
      return Number(
        ((await client.$queryRawUnsafe(`SELECT COUNT(*) AS n FROM ${recordTable} WHERE ${column} = ${placeholder}`, key)) as { n: unknown }[])[0]?.n,
      );
    };

    beforeAll(async () => {
      const fresh = await freshStore(db);
      client = fresh.client;
      recordTable = fresh.table;
      await client.$executeRawUnsafe(`CREATE TABLE ${table} (note VARCHAR(100) NOT NULL)`);
      server = await startYogaApp(
        { store: fresh.store, getTenant: () => 'shop', transactional: true },
        {},
        {
          // The resolver writes through the transaction client it finds at context.idempotency.tx.
          sql: async (tx, note) => {
            if (!tx) throw new Error('no transaction client on context.idempotency.tx');
            await (tx as PrismaLike).$executeRawUnsafe(`INSERT INTO ${table} (note) VALUES (${placeholder})`, note);
          },
        }, { http: true });
    });
    afterAll(async () => {
      await server?.close();
      await client?.$executeRawUnsafe(`DROP TABLE ${table}`).catch(() => undefined);
      await client?.$disconnect();
    });

    it('commits the write with the record and replays without writing again (field key)', async () => {
      const note = newKey('n');
      const query = `mutation { record(note: "${note}", idempotencyKey: "${newKey()}") }`;
      const first = await post(server.url, { query });
      const again = await post(server.url, { query });
      expect(first.json.data).toEqual({ record: note });
      expect(again.text).toBe(`{"data":{"record":"${note}"},"extensions":{"idempotency":{"replayedFields":["record"]}}}`);
      expect(await rows(note)).toBe(1);
    });

    it('rolls the write and the claim back when the resolver fails; the retry runs again', async () => {
      const note = newKey('n');
      const query = `mutation { record(note: "${note}", fail: true, idempotencyKey: "${newKey()}") }`;
      const before = server.calls.record;
      const first = await post(server.url, { query });
      expect(first.json.errors[0].message).toBe('Unexpected error.');
      expect(await rows(note)).toBe(0);
      await post(server.url, { query });
      expect(server.calls.record).toBe(before + 2);
      expect(await rows(note)).toBe(0);
    });

    // One rule for every adapter in transactional mode: a failed outcome never commits the
    // mutation's writes through tx; the store policy then decides, as in lease mode, whether the
    // error is stored (deterministic: replayed to every retry) or the key released (unexpected).
    it('undoes the tx write of an expected GraphQLError and stores the error; the retry replays it (operation key)', async () => {
      const note = newKey('n');
      const key = newKey();
      const body = { query: 'mutation Rec($n: String!) { record(note: $n, declined: true) }', variables: { n: note } };
      const before = server.calls.record;
      const first = await post(server.url, body, { 'Idempotency-Key': key });
      expect(first.json.errors[0]).toMatchObject({ message: 'Card declined', extensions: { code: 'CARD_DECLINED' } });
      expect(await rows(note)).toBe(0);
      expect(await records(key)).toBe(1);
      const again = await post(server.url, body, { 'Idempotency-Key': key });
      expect(server.calls.record).toBe(before + 1);
      expect(again.headers.get('idempotent-replayed')).toBe('true');
      expect(again.text).toBe(first.text);
      expect(await rows(note)).toBe(0);
    });

    it('undoes every root field of an operation key when one fails with an expected error, and releases the key: a replay must not report undone writes (partial data)', async () => {
      const ok = newKey('n');
      const declined = newKey('n');
      const key = newKey();
      const body = {
        query: 'mutation Two($a: String!, $b: String!) { a: record(note: $a) b: record(note: $b, declined: true) }',
        variables: { a: ok, b: declined },
      };
      const before = server.calls.record;
      const first = await post(server.url, body, { 'Idempotency-Key': key });
      expect(first.json.data).toEqual({ a: ok, b: null });
      expect(first.json.errors[0]).toMatchObject({ message: 'Card declined', path: ['b'] });
      expect(await rows(ok)).toBe(0);
      expect(await rows(declined)).toBe(0);
      expect(await records(key)).toBe(0);
      await post(server.url, body, { 'Idempotency-Key': key });
      expect(server.calls.record).toBe(before + 4);
      expect(await rows(ok)).toBe(0);
      expect(await records(key)).toBe(0);
    });

    it('undoes the tx write of an expected GraphQLError and stores the error; the retry replays it (field key)', async () => {
      const note = newKey('n');
      const key = newKey();
      const query = `mutation { record(note: "${note}", declined: true, idempotencyKey: "${key}") }`;
      const before = server.calls.record;
      const first = await post(server.url, { query });
      expect(first.json.errors[0]).toMatchObject({ message: 'Card declined', path: ['record'], extensions: { code: 'CARD_DECLINED' } });
      expect(await rows(note)).toBe(0);
      expect(await records(key)).toBe(1);
      const again = await post(server.url, { query });
      expect(server.calls.record).toBe(before + 1);
      expect(again.json.extensions).toEqual({ idempotency: { replayedFields: ['record'] } });
      expect(again.json.errors[0]).toMatchObject({ message: 'Card declined', path: ['record'] });
      expect(await rows(note)).toBe(0);
    });

    it('property: writes commit exactly for clean outcomes; deterministic failures are stored without their writes, unexpected ones released', async () => {
      const kind = fc.constantFrom('ok' as const, 'declined' as const, 'fail' as const);
      await fc.assert(
        fc.asyncProperty(fc.array(kind, { minLength: 1, maxLength: 3 }), fc.boolean(), async (kinds, operationKey) => {
          const notes = kinds.map(() => newKey('n'));
          const keys = kinds.map(() => newKey());
          const fields = kinds.map((k, i) => {
            const flag = k === 'ok' ? '' : k === 'declined' ? ', declined: true' : ', fail: true';
            const key = operationKey ? '' : `, idempotencyKey: "${keys[i]}"`;
            return `f${i}: record(note: "${notes[i]}"${flag}${key})`;
          });
          const body = { query: `mutation Many { ${fields.join(' ')} }` };
          const headers: Record<string, string> = operationKey ? { 'Idempotency-Key': keys[0]! } : {};
          const clean = kinds.every((k) => k === 'ok');
          // An operation key stores a failed result only when no root field completed and every
          // error is expected; a field key stores its field's success or expected error.
          const operationStored = clean || kinds.every((k) => k === 'declined');
          // The unit of one transaction: the whole operation, or each keyed field.
          const committed = (i: number) => (operationKey ? clean : kinds[i] === 'ok');
          const stored = (i: number) => (operationKey ? operationStored : kinds[i] !== 'fail');
          const before = server.calls.record;
          const first = await post(server.url, body, headers);
          for (const [i, note] of notes.entries()) expect(await rows(note), `${kinds} ${operationKey} f${i}`).toBe(committed(i) ? 1 : 0);
          if (operationKey) expect(await records(keys[0]!)).toBe(operationStored ? 1 : 0);
          else for (const [i, key] of keys.entries()) expect(await records(key)).toBe(stored(i) ? 1 : 0);
          // The retry runs again exactly what was not stored; nothing is written twice.
          const again = await post(server.url, body, headers);
          const reran = operationKey ? (operationStored ? 0 : kinds.length) : kinds.filter((k) => k === 'fail').length;
          expect(server.calls.record).toBe(before + kinds.length + reran);
          for (const [i, note] of notes.entries()) expect(await rows(note)).toBe(committed(i) ? 1 : 0);
          if (operationKey && operationStored) expect(again.text).toBe(first.text);
        }),
        { numRuns: 20 },
      );
    });

    it('writes once for 10 parallel duplicates: they wait for the transaction and replay', async () => {
      const note = newKey('n');
      const query = `mutation { record(note: "${note}", idempotencyKey: "${newKey()}") }`;
      const replies = await Promise.all(Array.from({ length: 10 }, () => post(server.url, { query })));
      expect(await rows(note)).toBe(1);
      for (const reply of replies) expect(reply.json.data).toEqual({ record: note });
    });

    it('works for operation-level keys too', async () => {
      const note = newKey('n');
      const key = newKey();
      const body = { query: 'mutation Rec($n: String!) { record(note: $n) }', variables: { n: note } };
      const first = await post(server.url, body, { 'Idempotency-Key': key });
      const again = await post(server.url, body, { 'Idempotency-Key': key });
      expect(again.text).toBe(first.text);
      expect(again.headers.get('idempotent-replayed')).toBe('true');
      expect(await rows(note)).toBe(1);
      expect(await records(key)).toBe(1);
    });
  });
}
