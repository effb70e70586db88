import { TRPCError, initTRPC } from '@trpc/server';
import { createHTTPServer } from '@trpc/server/adapters/standalone';
import { createTRPCClient, httpLink } from '@trpc/client';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GLOBAL_TENANT, MemoryStore } from '../../src/index.js';
import { createIdempotencyMiddleware, idempotencyErrorData, idempotencyErrorFormatter } from '../../src/trpc/index.js';
import { failure, uid } from './harness.js';

// The errorFormatter helpers, seen by a real @trpc/client over a real HTTP server: oncely's code and
// retry hint arrive in `data.idempotency`, and every other error carries null there.

function buildRouter(gate: { open: () => void; opened: Promise<void> }) {
  const t = initTRPC.create({ errorFormatter: idempotencyErrorFormatter });
  const idempotent = t.procedure.use(createIdempotencyMiddleware({ store: new MemoryStore(), getTenant: () => GLOBAL_TENANT }));
  return t.router({
    pay: idempotent.input((raw) => raw as { amount: number }).mutation(({ input }) => ({ paid: input.amount })),
    slow: idempotent.input((raw) => raw as { label: string }).mutation(async () => {
      await gate.opened;
      return 'done';
    }),
    refuse: idempotent.input((raw) => raw as { label: string }).mutation(() => {
      throw new TRPCError({ code: 'BAD_REQUEST', message: 'domain refusal' });
    }),
  });
}
type Router = ReturnType<typeof buildRouter>;

describe('idempotencyErrorFormatter over HTTP', () => {
  let release!: () => void;
  const gate = { open: () => release(), opened: new Promise<void>((resolve) => (release = resolve)) };
  const server = createHTTPServer({ router: buildRouter(gate), basePath: '/trpc/', createContext: ({ req }) => ({ req }) });
  let url = '';
  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/trpc`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const clientWithKey = (key?: string) =>
    createTRPCClient<Router>({ links: [httpLink({ url, headers: () => (key === undefined ? {} : { 'Idempotency-Key': key }) })] });

  it('a missing key: IDEMPOTENCY_KEY_MISSING, no retry hint', async () => {
    const error = await failure(clientWithKey().pay.mutate({ amount: 1 }));
    expect(error.data?.httpStatus).toBe(400);
    expect(error.data?.idempotency).toEqual({ code: 'IDEMPOTENCY_KEY_MISSING', retryAfter: null });
  });

  it('a key reused with another input: IDEMPOTENCY_KEY_REUSED (422)', async () => {
    const key = uid();
    expect(await clientWithKey(key).pay.mutate({ amount: 1 })).toEqual({ paid: 1 });
    const error = await failure(clientWithKey(key).pay.mutate({ amount: 2 }));
    expect(error.data?.httpStatus).toBe(422);
    expect(error.data?.idempotency).toEqual({ code: 'IDEMPOTENCY_KEY_REUSED', retryAfter: null });
  });

  it('a duplicate while the first runs: IDEMPOTENCY_KEY_IN_USE with the retry hint in seconds', async () => {
    const key = uid();
    const first = clientWithKey(key).slow.mutate({ label: 'x' });
    // The first call holds the key until the gate opens; poll until the duplicate sees it held.
    let error = await failure(clientWithKey(key).slow.mutate({ label: 'x' })).catch(() => undefined);
    for (let i = 0; i < 50 && error?.data?.idempotency?.code !== 'IDEMPOTENCY_KEY_IN_USE'; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      error = await failure(clientWithKey(key).slow.mutate({ label: 'x' })).catch(() => undefined);
    }
    expect(error?.data?.httpStatus).toBe(409);
    expect(error?.data?.idempotency).toEqual({ code: 'IDEMPOTENCY_KEY_IN_USE', retryAfter: expect.any(Number) });
    expect(error?.data?.idempotency.retryAfter).toBeGreaterThanOrEqual(1);
    gate.open();
    expect(await first).toBe('done');
  });

  it("the application's own errors carry null, first time and on replay", async () => {
    const key = uid();
    for (let attempt = 0; attempt < 2; attempt++) {
      const error = await failure(clientWithKey(key).refuse.mutate({ label: 'y' }));
      expect(error.message).toBe('domain refusal');
      expect(error.data?.code).toBe('BAD_REQUEST');
      expect(error.data?.idempotency).toBeNull();
    }
  });

  it('idempotencyErrorData reads the core error directly or as a cause, and nothing else', () => {
    expect(idempotencyErrorData(new Error('plain'))).toBeNull();
    expect(idempotencyErrorData(null)).toBeNull();
    expect(idempotencyErrorData(new TRPCError({ code: 'CONFLICT', cause: new Error('x') }))).toBeNull();
  });
});
