import { randomUUID } from 'node:crypto';

/** What the shop asks of a payment provider. `idempotencyKey` makes a repeated request harmless. */
export interface PaymentProvider {
  charge(request: ChargeRequest, idempotencyKey: string): Promise<Charge>;
}

export interface ChargeRequest {
  customer: string;
  /** Cents. */
  amount: number;
  /** The order the charge pays for. */
  reference: string;
}

export interface Charge extends ChargeRequest {
  id: string;
  idempotencyKey: string;
}

/** What the shop asks of a mailer. Mailers rarely deduplicate: a repeated send is a second e-mail. */
export interface Mailer {
  sendReceipt(receipt: ReceiptRequest, idempotencyKey: string): Promise<Receipt>;
}

export interface ReceiptRequest {
  to: string;
  orderId: string;
  amount: number;
}

export interface Receipt extends ReceiptRequest {
  id: string;
  idempotencyKey: string;
}

/**
 * A pretend payment provider that behaves like the real ones: a request with a key it has seen
 * gets the first charge back instead of a new one. It counts, so tests can check one charge per key.
 */
export class FakePaymentProvider implements PaymentProvider {
  /** The charges made, by idempotency key. */
  readonly charges = new Map<string, Charge>();
  /** Requests received per key, repeats included. */
  readonly requests = new Map<string, number>();

  async charge(request: ChargeRequest, idempotencyKey: string): Promise<Charge> {
    this.requests.set(idempotencyKey, (this.requests.get(idempotencyKey) ?? 0) + 1);
    const earlier = this.charges.get(idempotencyKey);
    if (earlier) return earlier;
    const charge = { ...request, id: `ch_${randomUUID().slice(0, 8)}`, idempotencyKey };
    this.charges.set(idempotencyKey, charge);
    return charge;
  }
}

/** A pretend mailer: it keeps every receipt it was asked to send, repeats included. */
export class FakeMailer implements Mailer {
  readonly sent: Receipt[] = [];

  async sendReceipt(receipt: ReceiptRequest, idempotencyKey: string): Promise<Receipt> {
    const sent = { ...receipt, id: `rc_${randomUUID().slice(0, 8)}`, idempotencyKey };
    this.sent.push(sent);
    return sent;
  }

  /** How many receipts went out with `idempotencyKey`. */
  sentWith(idempotencyKey: string): number {
    return this.sent.filter((r) => r.idempotencyKey === idempotencyKey).length;
  }
}

/** The outside services of the shop. */
export interface ShopServices {
  payments: PaymentProvider;
  mailer: Mailer;
}

export function fakeServices(): { payments: FakePaymentProvider; mailer: FakeMailer } {
  return { payments: new FakePaymentProvider(), mailer: new FakeMailer() };
}
