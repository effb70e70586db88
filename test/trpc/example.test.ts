import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TRPCClientError, createTRPCClient, httpLink } from '@trpc/client';
import superjson from 'superjson';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDemoDatabase } from '../../examples/shared/db.js';
import { type ReceiptRequest, fakeServices } from '../../examples/shared/providers.js';
import { createTrpcApp } from '../../examples/trpc/app.js';
import type { ShopRouter } from '../../examples/trpc/router.js';
import { listen } from '../client/support.js';

// Runs the example as users do (after `npm run build`): `tsx examples/trpc/server.ts`.
const port = 4100 + Math.floor(Math.random() * 800);
const file = join(tmpdir(), `oncely-trpc-example-${randomUUID()}.db`);
let child: ChildProcess;

beforeAll(async () => {
  child = spawn(process.execPath, ['--import', 'tsx', 'examples/trpc/server.ts'], {
    env: { ...process.env, PORT: String(port), DATABASE_URL: `file:${file}` },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`example did not start:\n${output}`)), 30_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes(`http://localhost:${port}/trpc`)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`example exited with ${code}:\n${output}`)));
  });
});

afterAll(() => {
  child?.kill('SIGTERM');
  for (const suffix of ['', '-wal', '-shm', '-journal']) rmSync(file + suffix, { force: true });
});

describe('examples/trpc', () => {
  const replays: string[] = [];
  const trpc = createTRPCClient<ShopRouter>({
    links: [
      httpLink({
        url: `http://127.0.0.1:${port}/trpc`,
        transformer: superjson,
        headers: ({ op }) => {
          const key = (op.context as { key?: string }).key;
          return { 'x-customer': 'ada', ...(key ? { 'idempotency-key': key } : {}) };
        },
        fetch: async (input, init) => {
          const response = await fetch(input, init);
          replays.push(response.headers.get('idempotent-replayed') ?? '');
          return response;
        },
      }),
    ],
  });

  it('places and pays an order once, whatever the retries', async () => {
    const placeKey = `place-${randomUUID()}`;
    const order = await trpc.placeOrder.mutate({ item: 'coffee', quantity: 2 }, { context: { key: placeKey } });
    const again = await trpc.placeOrder.mutate({ item: 'coffee', quantity: 2 }, { context: { key: placeKey } });
    expect(again).toEqual(order);
    expect(again.createdAt).toBeInstanceOf(Date);
    expect(replays.slice(-2)).toEqual(['', 'true']);

    const payKey = `pay-${randomUUID()}`;
    const payment = await trpc.payOrder.mutate({ orderId: order.id }, { context: { key: payKey } });
    expect(await trpc.payOrder.mutate({ orderId: order.id }, { context: { key: payKey } })).toEqual(payment);
    expect(payment.chargeKey).toMatch(/^oncely_/);

    // A new key for the same payment: the shop refuses, and that refusal is replayed too.
    const otherKey = `pay-${randomUUID()}`;
    const refused = await trpc.payOrder.mutate({ orderId: order.id }, { context: { key: otherKey } }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(TRPCClientError);
    expect((refused as TRPCClientError<ShopRouter>).data?.code).toBe('PRECONDITION_FAILED');

    const ledger = await trpc.ledger.query();
    expect(ledger.filter((p) => p.orderId === order.id)).toHaveLength(1);

    const checkoutKey = `checkout-${randomUUID()}`;
    const checkout = await trpc.checkout.mutate({ item: 'gift-card', quantity: 1 }, { context: { key: checkoutKey } });
    expect(checkout).toMatchObject({ order: { customer: 'ada', amount: 2500, status: 'paid' }, payment: { amount: 2500 }, chargeId: expect.stringMatching(/^ch_/) });
    expect(checkout.payment.chargeKey).toMatch(/^oncely_/);
    expect(await trpc.checkout.mutate({ item: 'gift-card', quantity: 1 }, { context: { key: checkoutKey } })).toEqual(checkout);
    expect(replays.slice(-2)).toEqual(['', 'true']);

    const missing = await trpc.placeOrder.mutate({ item: 'coffee', quantity: 1 }).catch((e: unknown) => e);
    expect((missing as TRPCClientError<ShopRouter>).data?.code).toBe('BAD_REQUEST');
    expect((missing as TRPCClientError<ShopRouter>).data?.idempotency?.code).toBe('IDEMPOTENCY_KEY_MISSING');
  });
});

describe('examples/trpc checkout (steps)', () => {
  it('a checkout that fails after the payment resumes on retry at the receipt, nothing done twice', async () => {
    const dbFile = join(tmpdir(), `oncely-trpc-checkout-${randomUUID()}.db`);
    const database = await openDemoDatabase(`file:${dbFile}`);
    const { payments, mailer } = fakeServices();
    const fault = { failNext: true };
    const flakyMailer = {
      sendReceipt(receipt: ReceiptRequest, key: string) {
        if (!fault.failNext) return mailer.sendReceipt(receipt, key);
        fault.failNext = false;
        return Promise.reject(new Error('mail server unreachable'));
      },
    };
    const app = await createTrpcApp({ database, services: { payments, mailer: flakyMailer } });
    const started = await listen(app.handler);
    try {
      const key = `checkout-${randomUUID()}`;
      const client = createTRPCClient<ShopRouter>({
        links: [httpLink({ url: `${started.url}/trpc`, transformer: superjson, headers: { 'x-customer': 'bob', 'idempotency-key': key } })],
      });
      const effects = async () => ({
        orders: (await database.prisma.order.findMany({ where: { customer: 'bob' }, include: { payments: true } })).map((o) => [o.status, o.payments.length]),
        charges: payments.charges.size,
        chargeRequests: [...payments.requests.values()],
        receipts: mailer.sent.length,
      });

      const failed = await client.checkout.mutate({ item: 'coffee', quantity: 2 }).catch((e: unknown) => e);
      expect((failed as TRPCClientError<ShopRouter>).data?.code).toBe('INTERNAL_SERVER_ERROR');
      expect(await effects()).toEqual({ orders: [['paid', 1]], charges: 1, chargeRequests: [1], receipts: 0 });

      const resumed = await client.checkout.mutate({ item: 'coffee', quantity: 2 });
      expect(resumed).toMatchObject({ order: { customer: 'bob', amount: 900, status: 'paid' }, receiptId: mailer.sent[0]?.id });
      expect(resumed.order.createdAt).toBeInstanceOf(Date);
      // Order, charge and payment came from the recorded steps; only the receipt ran.
      expect(await effects()).toEqual({ orders: [['paid', 1]], charges: 1, chargeRequests: [1], receipts: 1 });
      expect(await client.checkout.mutate({ item: 'coffee', quantity: 2 })).toEqual(resumed);
    } finally {
      started.server.close();
      await database.prisma.$disconnect();
      for (const suffix of ['', '-wal', '-shm', '-journal']) rmSync(dbFile + suffix, { force: true });
    }
  });
});
