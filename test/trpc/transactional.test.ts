import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { TRPCError, initTRPC } from '@trpc/server';
import { TRPCClientError, createTRPCClient, httpLink } from '@trpc/client';
import { createHTTPServer } from '@trpc/server/adapters/standalone';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIdempotentProcedure } from '../../src/trpc/index.js';
import type { PrismaStore } from '../../src/prisma/index.js';
import { type PrismaLike, freshStore, testDatabases } from '../support/databases.js';

/** The demo shop's tables, created in the test database when missing. */
async function demoTables(client: PrismaLike, provider: string) {
  const sql = readFileSync(new URL(`../../examples/shared/prisma/demo.${provider}.sql`, import.meta.url), 'utf8');
  for (const statement of sql.split(';').map((s) => s.trim()).filter(Boolean)) {
    try {
      await client.$executeRawUnsafe(statement);
    } catch (error) {
      // Another test file may create the same tables at the same moment.
      if (!/already exists|duplicate/i.test(String(error))) throw error;
    }
  }
}

let runs = 0;

function makeRouter(store: PrismaStore) {
      const t = initTRPC.context<{ tenant: string; req: unknown }>().create();
      // The `.concat()` path: a procedure builder shipped by the library.
      const idempotent = t.procedure.concat(
        createIdempotentProcedure<true, PrismaLike, { tenant: string }>({ store, transactional: true, getTenant: ({ ctx }) => ctx.tenant }),
      );
      const router = t.router({
        order: idempotent.input((raw) => raw as { customer: string; fail?: boolean }).mutation(async ({ input, ctx }) => {
          runs++;
          const tx = ctx.idempotency.tx;
          if (!tx) throw new Error('no transaction client');
          const order = await tx.order.create({
            data: { id: `ord_${randomUUID().slice(0, 8)}`, customer: input.customer, item: 'coffee', quantity: 1, amount: 450, status: 'placed' },
          });
          if (input.fail) throw new TRPCError({ code: 'BAD_REQUEST', message: 'rolled back' });
          return { id: order.id, createdAt: order.createdAt.toISOString() };
        }),
      });
  return router;
}
type Router = ReturnType<typeof makeRouter>;

for (const db of testDatabases()) {
  describe(`transactional mode on ${db.name}`, () => {
    let setup: Awaited<ReturnType<typeof freshStore>>;
    let url: string;
    let close: () => void;
        beforeAll(async () => {
      setup = await freshStore(db);
      await demoTables(setup.client, db.provider);
      const router = makeRouter(setup.store);
      const server = createHTTPServer({ router, createContext: ({ req }) => ({ tenant: 't', req }) });
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      close = () => server.close();
    });
    afterAll(async () => {
      close?.();
      await setup.client.$disconnect();
    });

    const trpc = () =>
      createTRPCClient<Router>({ links: [httpLink({ url, headers: ({ op }) => ({ 'idempotency-key': String((op.context as { key: string }).key) }) })] });

    /** Idempotency records of a key, whatever their operation. */
    const records = async (key: string) => {
      const column = db.provider === 'mysql' ? '`key`' : '"key"';
      const placeholder = db.provider === 'postgresql' ? '$1' : '?';
      const found = (await setup.client.$queryRawUnsafe(`SELECT COUNT(*) AS n FROM ${setup.table} WHERE ${column} = ${placeholder}`, key)) as { n: unknown }[];
      return Number(found[0]?.n);
    };

    it('commits the order with the stored result, once; replays return the same order', async () => {
      const customer = `c-${randomUUID()}`;
      const key = `k-${randomUUID()}`;
      const before = runs;
      const results = await Promise.all(Array.from({ length: 5 }, () => trpc().order.mutate({ customer }, { context: { key } })));
      for (const r of results) expect(r).toEqual(results[0]);
      expect(runs - before).toBe(1);
      expect(await setup.client.order.count({ where: { customer } })).toBe(1);
      expect(await records(key)).toBe(1);
    });

    // The rule of every adapter in transactional mode: a failed outcome never commits the
    // procedure's writes through tx; the store policy then decides, as in lease mode: BAD_REQUEST
    // is stored and replayed, INTERNAL_SERVER_ERROR releases the key.
    it('undoes the order of a procedure failing with BAD_REQUEST after a tx write, stores the error and replays it', async () => {
      const customer = `c-${randomUUID()}`;
      const key = `k-${randomUUID()}`;
      const before = runs;
      for (let i = 0; i < 2; i++) {
        const error = await trpc().order.mutate({ customer, fail: true }, { context: { key } }).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(TRPCClientError);
        expect((error as TRPCClientError<any>).data?.code).toBe('BAD_REQUEST');
        expect((error as TRPCClientError<any>).message).toBe('rolled back');
        expect(await setup.client.order.count({ where: { customer } })).toBe(0);
        expect(await records(key)).toBe(1);
      }
      expect(runs - before).toBe(1);
    });
  });
}
