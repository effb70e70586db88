// A fake payment provider kept in the Worker's own D1 database: it never deduplicates, it counts.
// Every charge request for a key increments that key's row, so `requests > 1` means the mutation
// ran more than once for one Idempotency-Key.
import type { PrismaClient } from '../../../generated/worker/client.ts';

export interface Charge {
  chargeKey: string;
  amount: number;
  /** Charge requests the provider has received for this key, this one included. */
  requests: number;
}

export async function chargeCard(prisma: PrismaClient, chargeKey: string, amount: number): Promise<Charge> {
  const row = await prisma.providerCharge.upsert({
    where: { chargeKey },
    create: { chargeKey, amount, requests: 1, createdAt: BigInt(Date.now()) },
    update: { requests: { increment: 1 } },
  });
  return { chargeKey: row.chargeKey, amount: row.amount, requests: row.requests };
}

/** Every key the provider saw and how many requests each got. */
export async function providerLedger(prisma: PrismaClient): Promise<Charge[]> {
  const rows = await prisma.providerCharge.findMany({ orderBy: { createdAt: 'asc' } });
  return rows.map((row) => ({ chargeKey: row.chargeKey, amount: row.amount, requests: row.requests }));
}
