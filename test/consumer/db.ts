import { PrismaLibSql } from '@prisma/adapter-libsql';
import { PrismaClient } from './generated/prisma/client.js';

/** The app's own table (a real app runs `prisma migrate`; the CLI cannot migrate on this machine). */
const PAYMENT_TABLE =
  'CREATE TABLE IF NOT EXISTS "Payment" ("id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, "orderId" TEXT NOT NULL, "amount" INTEGER NOT NULL)';

export async function openDatabase(file: string): Promise<PrismaClient> {
  const prisma = new PrismaClient({ adapter: new PrismaLibSql({ url: `file:${file}` }) });
  await prisma.$executeRawUnsafe(PAYMENT_TABLE);
  return prisma;
}

export function argument(name: string): string {
  const value = process.argv.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3);
  if (!value) throw new Error(`--${name}=... is required`);
  return value;
}
