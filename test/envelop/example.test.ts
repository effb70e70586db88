import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
// The example runs on the built package (npm run build first); nothing here imports src.
import { createYogaApp } from '../../examples/yoga/app.js';
import { type DemoDatabase, openDemoDatabase } from '../../examples/shared/db.js';
import { type ReceiptRequest, fakeServices } from '../../examples/shared/providers.js';

// One graphql copy for Yoga (loaded by Node: CommonJS) and the transformed modules (else index.mjs).

const file = join(tmpdir(), `oncely-yoga-example-${randomUUID()}.db`);
let db: DemoDatabase;
let server: Server;
let url: string;
const { payments, mailer } = fakeServices();
// The mailer fails once when asked to (a crash halfway through a checkout, as far as the run is concerned).
const mailerFault = { failNext: false };
const flakyMailer = {
  sendReceipt(receipt: ReceiptRequest, key: string) {
    if (mailerFault.failNext) {
      mailerFault.failNext = false;
      return Promise.reject(new Error('mail server unreachable'));
    }
    return mailer.sendReceipt(receipt, key);
  },
};

beforeAll(async () => {
  db = await openDemoDatabase(`file:${file}`);
  server = createServer(createYogaApp({ db, services: { payments, mailer: flakyMailer }, logging: false }));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
});
afterAll(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  await db?.prisma.$disconnect();
  for (const suffix of ['', '-wal', '-shm', '-journal']) rmSync(file + suffix, { force: true });
});

async function gql(query: string, variables: Record<string, unknown>, headers: Record<string, string> = {}) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-customer': 'ada', ...headers },
    body: JSON.stringify({ query, variables }),
  });
  return { status: response.status, headers: response.headers, text: await response.text() };
}

it('places and pays an order once, however often the client retries', async () => {
  const place = 'mutation Place($i: PlaceOrderInput!) { placeOrder(input: $i) { id amount status } }';
  const input = { customer: 'ada', item: 'coffee', quantity: 2, idempotencyKey: `order-${randomUUID()}` };
  const placed = await gql(place, { i: input });
  const placedAgain = await gql(place, { i: input });
  const order = JSON.parse(placed.text).data.placeOrder;
  expect(order).toMatchObject({ amount: 900, status: 'placed' });
  expect(JSON.parse(placedAgain.text).data.placeOrder).toEqual(order);

  const missing = await gql('mutation P($id: ID!) { payOrder(orderId: $id) { id } }', { id: order.id });
  expect(missing.status).toBe(400);

  const pay = 'mutation Pay($id: ID!) { payOrder(orderId: $id) { id amount chargeKey order { status } } }';
  const key = `pay-${randomUUID()}`;
  const replies = await Promise.all(Array.from({ length: 5 }, () => gql(pay, { id: order.id }, { 'Idempotency-Key': key })));
  const paid = replies.find((r) => r.status === 200 && r.headers.get('idempotent-replayed') === null);
  expect(paid).toBeDefined();
  const payment = JSON.parse(paid?.text ?? '{}').data.payOrder;
  expect(payment).toMatchObject({ amount: 900, chargeKey: expect.stringMatching(/^oncely_/), order: { status: 'paid' } });
  const retry = await gql(pay, { id: order.id }, { 'Idempotency-Key': key });
  expect(retry.text).toBe(paid?.text);
  expect(retry.headers.get('idempotent-replayed')).toBe('true');

  const ledger = JSON.parse((await gql('{ ledger { orderId chargeKey } }', {})).text).data.ledger;
  expect(ledger.filter((p: { orderId: string }) => p.orderId === order.id)).toEqual([{ orderId: order.id, chargeKey: payment.chargeKey }]);

  // A new key for the same order is a new attempt: the shop refuses to charge twice.
  const second = await gql(pay, { id: order.id }, { 'Idempotency-Key': `pay-${randomUUID()}` });
  expect(JSON.parse(second.text).errors[0].extensions.code).toBe('ALREADY_PAID');
});

const CHECKOUT = 'mutation Checkout($i: PlaceOrderInput!) { checkout(input: $i) { order { id amount status } payment { orderId chargeKey } chargeId receiptId } }';

/** What the database and the fakes hold for one customer's checkouts. */
async function effectsOf(customer: string) {
  const orders = await db.prisma.order.findMany({ where: { customer }, include: { payments: true } });
  const charges = [...payments.charges.values()].filter((c) => c.customer === customer);
  return {
    orders: orders.map((o) => ({ status: o.status, payments: o.payments.length })),
    charges: charges.length,
    chargeRequests: charges.reduce((n, c) => n + (payments.requests.get(c.idempotencyKey) ?? 0), 0),
    receipts: mailer.sent.filter((r) => r.to === customer).length,
  };
}

it('checkout: order, charge, payment and receipt once; a retry gets the same answer', async () => {
  const customer = `ada-${randomUUID()}`;
  const key = `checkout-${randomUUID()}`;
  const input = { customer, item: 'bagel', quantity: 3 };
  const first = await gql(CHECKOUT, { i: input }, { 'Idempotency-Key': key, 'x-customer': customer });
  expect(first.status, first.text).toBe(200);
  const result = JSON.parse(first.text).data.checkout;
  expect(result).toMatchObject({ order: { amount: 900, status: 'paid' }, payment: { orderId: result.order.id }, chargeId: expect.stringMatching(/^ch_/), receiptId: expect.stringMatching(/^rc_/) });
  // The payment records the key the provider got: the charge step's derived key.
  expect(payments.charges.get(result.payment.chargeKey)).toMatchObject({ id: result.chargeId, reference: result.order.id, amount: 900 });

  const retry = await gql(CHECKOUT, { i: input }, { 'Idempotency-Key': key, 'x-customer': customer });
  expect(retry.headers.get('idempotent-replayed')).toBe('true');
  expect(retry.text).toBe(first.text);
  expect(await effectsOf(customer)).toEqual({ orders: [{ status: 'paid', payments: 1 }], charges: 1, chargeRequests: 1, receipts: 1 });
});

it('checkout: a run that fails after the payment resumes on retry at the receipt, nothing done twice', async () => {
  const customer = `bob-${randomUUID()}`;
  const key = `checkout-${randomUUID()}`;
  const input = { customer, item: 'coffee', quantity: 1 };
  mailerFault.failNext = true;
  const failed = await gql(CHECKOUT, { i: input }, { 'Idempotency-Key': key, 'x-customer': customer });
  expect(JSON.parse(failed.text).errors[0].message).toBe('Unexpected error.');
  // Three steps done and recorded; the receipt is missing.
  expect(await effectsOf(customer)).toEqual({ orders: [{ status: 'paid', payments: 1 }], charges: 1, chargeRequests: 1, receipts: 0 });

  const retry = await gql(CHECKOUT, { i: input }, { 'Idempotency-Key': key, 'x-customer': customer });
  expect(retry.status, retry.text).toBe(200);
  expect(retry.headers.get('idempotent-replayed')).toBeNull();
  expect(JSON.parse(retry.text).data.checkout).toMatchObject({ order: { amount: 450, status: 'paid' }, receiptId: expect.stringMatching(/^rc_/) });
  // The retry replayed the order, the charge and the payment, and only sent the receipt.
  expect(await effectsOf(customer)).toEqual({ orders: [{ status: 'paid', payments: 1 }], charges: 1, chargeRequests: 1, receipts: 1 });
  expect((await gql(CHECKOUT, { i: input }, { 'Idempotency-Key': key, 'x-customer': customer })).text).toBe(retry.text);
});
