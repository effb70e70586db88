import type { PrismaClientLike } from './client.js';

/**
 * How a store's statements reach the database: through Prisma's raw-query path (the default, and
 * always inside a transaction), or straight to the driver pool (see pool.ts). The SQL is the same
 * either way (dialect.ts); only the way it travels differs.
 */
export interface StatementRunner {
  /** The rows a statement returns. */
  rows<T>(sql: string, values: unknown[]): Promise<T[]>;
  /** How many rows a statement changed. */
  count(sql: string, values: unknown[]): Promise<number>;
  /** A statement run once or rarely (table check, version): never kept prepared. */
  once<T>(sql: string, values: unknown[]): Promise<T[]>;
}

/** Statements through a PrismaClient or a transaction client. */
export function prismaRunner(client: PrismaClientLike): StatementRunner {
  return {
    rows: <T>(sql: string, values: unknown[]) => client.$queryRawUnsafe<T[]>(sql, ...values) as Promise<T[]>,
    count: (sql, values) => client.$executeRawUnsafe(sql, ...values) as Promise<number>,
    once: <T>(sql: string, values: unknown[]) => client.$queryRawUnsafe<T[]>(sql, ...values) as Promise<T[]>,
  };
}

/** The runner seen as the part of a client the table check reads with (schema-check.ts). */
export function queryingClient(runner: StatementRunner): Pick<PrismaClientLike, '$queryRawUnsafe'> {
  return { $queryRawUnsafe: <T>(sql: string, ...values: unknown[]) => runner.once(sql, values) as Promise<T> };
}
