/**
 * Transactional mode through oncely/http on PrismaStore over real HTTP: the handler's writes
 * through `idempotencyOf(request).tx` and the stored answer commit together; an answer of 400 or
 * above undoes the writes (a deterministic 4xx is still stored, a 5xx releases the key).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { idempotencyOf, idempotent } from '../../src/http/index.js';
import { type PrismaLike, freshStore, testDatabases } from '../support/databases.js';
import { type Served, serveFetchHandler } from './support/servers.js';

type Tx = Pick<PrismaLike, '$executeRawUnsafe'>;

for (const db of testDatabases()) {
  describe(`transactional oncely/http on ${db.name}`, () => {
    let setup: Awaited<ReturnType<typeof freshStore>>;
    let served: Served;
    const table = `http_orders_${randomUUID().replaceAll('-', '').slice(0, 10)}`;
    let runs = 0;

    beforeAll(async () => {
      setup = await freshStore(db);
      await setup.client.$executeRawUnsafe(`CREATE TABLE ${table} (id VARCHAR(64) PRIMARY KEY, amount INTEGER NOT NULL)`);
      const handler = idempotent(async (request: Request) => {
        runs += 1;
        const { amount, status } = (await request.json()) as { amount: number; status?: number };
        const tx = idempotencyOf<Tx>(request)!.tx!;
        const id = randomUUID();
        const placeholder = db.provider === 'postgresql' ? '$1, $2' : '?, ?';
        await tx.$executeRawUnsafe(`INSERT INTO ${table} (id, amount) VALUES (${placeholder})`, id, amount);
        return Response.json({ id, amount }, { status: status ?? 201 });
      }, { store: setup.store, transactional: true });
      served = await serveFetchHandler(handler);
    });
    afterAll(async () => {
      await served?.close();
      await setup?.client.$executeRawUnsafe(`DROP TABLE ${table}`);
      await setup?.client.$disconnect();
    });

    const rows = async (amount: number) => {
      const placeholder = db.provider === 'postgresql' ? '$1' : '?';
      const found = (await setup.client.$queryRawUnsafe(`SELECT COUNT(*) AS n FROM ${table} WHERE amount = ${placeholder}`, amount)) as { n: unknown }[];
      return Number(found[0]?.n);
    };
    const post = async (key: string, body: unknown) => {
      const response = await fetch(`${served.origin}/orders`, { method: 'POST', headers: { 'Idempotency-Key': key, 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
      return { status: response.status, replayed: response.headers.get('idempotent-replayed'), text: await response.text() };
    };

    it('commits the write with the stored answer: one row, then a replay', async () => {
      const before = runs;
      const key = randomUUID();
      const first = await post(key, { amount: 101 });
      const again = await post(key, { amount: 101 });
      expect(first.status).toBe(201);
      expect(again).toEqual({ status: 201, replayed: 'true', text: first.text });
      expect(await rows(101)).toBe(1);
      expect(runs - before).toBe(1);
    });

    it('undoes the write of a 422 answer and stores the answer', async () => {
      const before = runs;
      const key = randomUUID();
      expect((await post(key, { amount: 102, status: 422 })).status).toBe(422);
      const again = await post(key, { amount: 102, status: 422 });
      expect(again.status).toBe(422);
      expect(again.replayed).toBe('true');
      expect(await rows(102)).toBe(0);
      expect(runs - before).toBe(1);
    });

    it('undoes the write of a 500 answer and releases the key: the retry runs', async () => {
      const before = runs;
      const key = randomUUID();
      expect((await post(key, { amount: 103, status: 500 })).status).toBe(500);
      expect((await post(key, { amount: 103, status: 500 })).replayed).toBeNull();
      expect(await rows(103)).toBe(0);
      expect(runs - before).toBe(2);
    });
  });
}
