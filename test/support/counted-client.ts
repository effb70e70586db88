import { PrismaLibSql } from '@prisma/adapter-libsql';
import { PrismaMariaDb } from '@prisma/adapter-mariadb';
import { PrismaPg } from '@prisma/adapter-pg';
import { mariadbOptions } from '../../examples/shared/mariadb.js';
import { PrismaClient as MysqlClient } from '../../generated/mysql/client.js';
import { PrismaClient as PostgresClient } from '../../generated/postgresql/client.js';
import { PrismaClient as SqliteClient } from '../../generated/sqlite/client.js';
import type { PrismaLike, TestDatabase } from './databases.js';
import { StatementLog, countStatements } from './statement-counter.js';

/** A client of the test database whose every statement is logged (see statement-counter.ts). */
export function countedClient(db: TestDatabase): { client: PrismaLike; log: StatementLog } {
  const log = new StatementLog();
  switch (db.name) {
    case 'sqlite':
      return { log, client: new SqliteClient({ adapter: countStatements(new PrismaLibSql({ url: db.url }), log) }) as unknown as PrismaLike };
    case 'postgresql':
      return { log, client: new PostgresClient({ adapter: countStatements(new PrismaPg({ connectionString: db.url, max: 20 }), log) }) };
    case 'mariadb':
      return { log, client: new MysqlClient({ adapter: countStatements(new PrismaMariaDb(mariadbOptions(db.url, 20)), log) }) as unknown as PrismaLike };
  }
}
