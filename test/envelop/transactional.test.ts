import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshStore, testDatabases, type PrismaLike } from '../support/databases.js';
import { newKey, post, startServer, type TestServer } from './helpers.js';

// One graphql copy for Yoga (loaded by Node: CommonJS) and src (else resolved by Vite to index.mjs).

for (const db of testDatabases()) {
  describe(`transactional mode on ${db.name}`, () => {
    let client: PrismaLike;
    let server: TestServer;
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
      server = await startServer(
        { store: fresh.store, getTenant: () => 'shop', transactional: true },
        {},
        {
          // The resolver writes through the transaction client it finds at context.idempotency.tx.
          sql: async (tx, note) => {
            if (!tx) throw new Error('no transaction client on context.idempotency.tx');
            await (tx as PrismaLike).$executeRawUnsafe(`INSERT INTO ${table} (note) VALUES (${placeholder})`, note);
          },
        },
      );
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

    // One rule for every adapter in transactional mode: an outcome with any error commits nothing
    // (writes through tx and the claim roll back) and stores nothing; the retry runs again.
    it('rolls back an expected GraphQLError thrown after a tx write and stores nothing (operation key)', async () => {
      const note = newKey('n');
      const key = newKey();
      const body = { query: 'mutation Rec($n: String!) { record(note: $n, declined: true) }', variables: { n: note } };
      const before = server.calls.record;
      const first = await post(server.url, body, { 'Idempotency-Key': key });
      expect(first.json.errors[0]).toMatchObject({ message: 'Card declined', extensions: { code: 'CARD_DECLINED' } });
      expect(await rows(note)).toBe(0);
      expect(await records(key)).toBe(0);
      const again = await post(server.url, body, { 'Idempotency-Key': key });
      expect(server.calls.record).toBe(before + 2);
      expect(again.headers.get('idempotent-replayed')).toBeNull();
      expect(again.text).toBe(first.text);
      expect(await rows(note)).toBe(0);
      expect(await records(key)).toBe(0);
    });

    it('rolls back every root field of an operation key when one of them fails with an expected error (partial data)', async () => {
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

    it('rolls back an expected GraphQLError thrown after a tx write and stores nothing (field key)', async () => {
      const note = newKey('n');
      const key = newKey();
      const query = `mutation { record(note: "${note}", declined: true, idempotencyKey: "${key}") }`;
      const before = server.calls.record;
      const first = await post(server.url, { query });
      expect(first.json.errors[0]).toMatchObject({ message: 'Card declined', path: ['record'], extensions: { code: 'CARD_DECLINED' } });
      expect(await rows(note)).toBe(0);
      expect(await records(key)).toBe(0);
      const again = await post(server.url, { query });
      expect(server.calls.record).toBe(before + 2);
      expect(again.json.extensions).toBeUndefined();
      expect(await rows(note)).toBe(0);
      expect(await records(key)).toBe(0);
    });

    it('property: a keyed transaction commits and stores exactly when its outcome has no error', async () => {
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
          // The unit of one transaction: the whole operation, or each keyed field.
          const committed = (i: number) => (operationKey ? clean : kinds[i] === 'ok');
          const before = server.calls.record;
          await post(server.url, body, headers);
          for (const [i, note] of notes.entries()) expect(await rows(note), `${kinds} ${operationKey} f${i}`).toBe(committed(i) ? 1 : 0);
          if (operationKey) expect(await records(keys[0]!)).toBe(clean ? 1 : 0);
          else for (const [i, key] of keys.entries()) expect(await records(key)).toBe(committed(i) ? 1 : 0);
          // The retry runs again exactly what was not committed; nothing is written twice.
          await post(server.url, body, headers);
          const reran = operationKey ? (clean ? 0 : kinds.length) : kinds.filter((k) => k !== 'ok').length;
          expect(server.calls.record).toBe(before + kinds.length + reran);
          for (const [i, note] of notes.entries()) expect(await rows(note)).toBe(committed(i) ? 1 : 0);
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
