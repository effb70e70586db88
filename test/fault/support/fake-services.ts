/**
 * The checkout's payment provider and mailer for the fault tests, served over HTTP from the TEST
 * process: the server processes that get SIGKILLed call them, and what they counted survives every
 * kill. They are the examples' fakes (examples/shared/providers.ts): the provider charges once per
 * idempotency key, the mailer sends every time it is asked.
 *
 *   POST /charge   { request: ChargeRequest, key }   -> Charge
 *   POST /receipt  { request: ReceiptRequest, key }  -> Receipt
 *
 * remoteServices(url) (used inside the server process) is the client side: a PaymentProvider and a
 * Mailer that call these endpoints.
 */
import { type IncomingMessage, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type Charge,
  type ChargeRequest,
  FakeMailer,
  FakePaymentProvider,
  type Receipt,
  type ReceiptRequest,
  type ShopServices,
} from '../../../examples/shared/providers.js';

export interface FakeServices {
  url: string;
  payments: FakePaymentProvider;
  mailer: FakeMailer;
  close(): Promise<void>;
}

async function body(req: IncomingMessage): Promise<{ request: unknown; key: unknown }> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

export async function startFakeServices(): Promise<FakeServices> {
  const payments = new FakePaymentProvider();
  const mailer = new FakeMailer();
  const server = createServer((req, res) => {
    void (async () => {
      const { request, key } = await body(req);
      if (typeof key !== 'string' || !key) throw new Error('an idempotency key is required');
      const answer =
        req.url === '/charge'
          ? await payments.charge(request as ChargeRequest, key)
          : req.url === '/receipt'
            ? await mailer.sendReceipt(request as ReceiptRequest, key)
            : undefined;
      if (!answer) return res.writeHead(404).end();
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
    })().catch((error: unknown) => res.writeHead(400, { 'content-type': 'text/plain' }).end(String(error)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    payments,
    mailer,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** The provider and mailer of the test process, as the server process sees them. */
export function remoteServices(url: string): ShopServices {
  const call = async <T>(path: string, request: unknown, key: string): Promise<T> => {
    const response = await fetch(`${url}${path}`, { method: 'POST', body: JSON.stringify({ request, key }), signal: AbortSignal.timeout(10_000) });
    if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
    return (await response.json()) as T;
  };
  return {
    payments: { charge: (request: ChargeRequest, key: string) => call<Charge>('/charge', request, key) },
    mailer: { sendReceipt: (request: ReceiptRequest, key: string) => call<Receipt>('/receipt', request, key) },
  };
}
