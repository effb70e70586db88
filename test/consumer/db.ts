// Opens the app's database from --url= the way a user of each provider would: the client generated
// for that provider (generated/<provider>, from schema/<provider>) with its driver adapter.
import type { PrismaClientLike, Provider } from 'oncely/prisma';
import type { PrismaClient as SqlitePrismaClient } from './generated/sqlite/client.js';

/**
 * The servers are written once for the three providers. The generated clients have the same API for
 * these models; only their types are distinct, so the servers are typed with the SQLite one.
 */
export type AppPrisma = SqlitePrismaClient;

/** The app's own table (a real app runs `prisma migrate`; the CLI cannot migrate on this machine). */
const PAYMENT_TABLE: Record<Provider, string> = {
  sqlite: 'CREATE TABLE IF NOT EXISTS "Payment" ("id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, "orderId" TEXT NOT NULL, "amount" INTEGER NOT NULL)',
  postgresql: 'CREATE TABLE IF NOT EXISTS "Payment" ("id" SERIAL NOT NULL PRIMARY KEY, "orderId" TEXT NOT NULL, "amount" INTEGER NOT NULL)',
  mysql:
    'CREATE TABLE IF NOT EXISTS `Payment` (`id` INTEGER NOT NULL AUTO_INCREMENT PRIMARY KEY, `orderId` VARCHAR(191) NOT NULL, `amount` INTEGER NOT NULL) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci',
};

/** file:… (SQLite), postgresql://… or mariadb://… (MySQL/MariaDB). */
export async function openDatabase(url: string): Promise<{ prisma: AppPrisma; provider: Provider }> {
  let provider: Provider;
  let client: PrismaClientLike;
  if (url.startsWith('file:')) {
    const [{ PrismaLibSql }, { PrismaClient }] = await Promise.all([import('@prisma/adapter-libsql'), import('./generated/sqlite/client.js')]);
    provider = 'sqlite';
    client = new PrismaClient({ adapter: new PrismaLibSql({ url }) });
  } else if (/^postgres(ql)?:/.test(url)) {
    const [{ PrismaPg }, { PrismaClient }] = await Promise.all([import('@prisma/adapter-pg'), import('./generated/postgresql/client.js')]);
    provider = 'postgresql';
    client = new PrismaClient({ adapter: new PrismaPg({ connectionString: url }) });
  } else if (/^(mariadb|mysql):/.test(url)) {
    const [{ PrismaMariaDb }, { PrismaClient }] = await Promise.all([import('@prisma/adapter-mariadb'), import('./generated/mysql/client.js')]);
    provider = 'mysql';
    client = new PrismaClient({ adapter: new PrismaMariaDb(url) });
  } else {
    throw new Error(`--url must be file:, postgresql:// or mariadb:// (got "${url}")`);
  }
  await client.$executeRawUnsafe(PAYMENT_TABLE[provider]);
  return { prisma: client as AppPrisma, provider };
}

export function argument(name: string): string {
  const value = process.argv.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3);
  if (!value) throw new Error(`--${name}=... is required`);
  return value;
}
