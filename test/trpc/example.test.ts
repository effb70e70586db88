import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TRPCClientError, createTRPCClient, httpLink } from '@trpc/client';
import superjson from 'superjson';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ShopRouter } from '../../examples/trpc/router.js';

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

    const missing = await trpc.placeOrder.mutate({ item: 'coffee', quantity: 1 }).catch((e: unknown) => e);
    expect((missing as TRPCClientError<ShopRouter>).data?.code).toBe('BAD_REQUEST');
    expect((missing as TRPCClientError<ShopRouter>).data?.idempotency?.code).toBe('IDEMPOTENCY_KEY_MISSING');
  });
});
