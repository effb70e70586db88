/** The tRPC middleware behind @trpc/server's fetch adapter (fetchRequestHandler), no server. */
import { initTRPC } from '@trpc/server';
import { fetchRequestHandler, type FetchCreateContextFnOptions } from '@trpc/server/adapters/fetch';
import { GLOBAL_TENANT, MemoryStore } from 'oncely';
import { createIdempotencyMiddleware } from 'oncely/trpc';
import { equal, freshKey, spec } from '../harness.js';

function trpcApp() {
  const runs = { pay: 0 };
  const t = initTRPC.context<FetchCreateContextFnOptions>().create();
  const idempotent = t.procedure.use(createIdempotencyMiddleware({ store: new MemoryStore(), getTenant: () => GLOBAL_TENANT }));
  const router = t.router({
    pay: idempotent
      .input((raw: unknown) => raw as { amount: number })
      .mutation(({ input }) => ({ id: `pay_${++runs.pay}`, amount: input.amount })),
  });
  const pay = (key: string, amount: number) =>
    fetchRequestHandler({
      endpoint: '/trpc',
      router,
      req: new Request('http://trpc.test/trpc/pay', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': key },
        body: JSON.stringify({ amount }),
      }),
      createContext: (opts) => opts,
    });
  return { runs, pay };
}

interface TrpcBody {
  result?: { data?: { id: string; amount: number } };
  error?: { message: string; data?: { code?: string; httpStatus?: number } };
}

spec('trpc (fetch adapter): a mutation runs once; the retry with the same key replays it', async () => {
  const { runs, pay } = trpcApp();
  const key = freshKey('trpc');
  const first = await pay(key, 4200);
  equal(first.status, 200, 'first status');
  equal(((await first.json()) as TrpcBody).result?.data?.id, 'pay_1');
  equal(first.headers.get('idempotent-replayed'), null, 'first answer is not marked replayed');
  const retry = await pay(key, 4200);
  equal(retry.status, 200, 'retry status');
  equal(retry.headers.get('idempotent-replayed'), 'true', 'retry marked replayed');
  equal(((await retry.json()) as TrpcBody).result?.data?.id, 'pay_1', 'retry got the first payment');
  equal(runs.pay, 1, 'procedure runs');
});

spec('trpc (fetch adapter): the same key with other input gets 422 (UNPROCESSABLE_CONTENT)', async () => {
  const { runs, pay } = trpcApp();
  const key = freshKey('trpc-reuse');
  await (await pay(key, 1)).text();
  const reused = await pay(key, 2);
  equal(reused.status, 422, 'status');
  equal(((await reused.json()) as TrpcBody).error?.data?.code, 'UNPROCESSABLE_CONTENT', 'tRPC code');
  equal(runs.pay, 1, 'procedure runs');
});
