import type { FakeMailer, FakePaymentProvider } from '../shared/providers.js';

/** What the fake payment provider and mailer did for one order: the page shows it per steps checkout. */
export interface OutsideReport {
  orderId: string;
  /** Charges made for the order, each with its key and how many requests carried that key. */
  charges: Array<{ id: string; idempotencyKey: string; requests: number }>;
  /** Receipts mailed for the order, repeats included. */
  receipts: Array<{ id: string; idempotencyKey: string }>;
}

export function outsideReport(services: { payments: FakePaymentProvider; mailer: FakeMailer }, orderId: string): OutsideReport {
  const charges = [...services.payments.charges.values()]
    .filter((charge) => charge.reference === orderId)
    .map((charge) => ({ id: charge.id, idempotencyKey: charge.idempotencyKey, requests: services.payments.requests.get(charge.idempotencyKey) ?? 0 }));
  const receipts = services.mailer.sent.filter((r) => r.orderId === orderId).map((r) => ({ id: r.id, idempotencyKey: r.idempotencyKey }));
  return { orderId, charges, receipts };
}
