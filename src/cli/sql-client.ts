import type { PrismaClientLike, Provider } from '../prisma/client.js';

/** A PrismaClientLike over a plain driver, so the CLI needs no generated Prisma client. */
export interface SqlConnection extends PrismaClientLike {
  provider: Provider;
  close(): Promise<void>;
}

const missing = (driver: string, error: unknown) =>
  new Error(`This database needs the "${driver}" package (it comes with the Prisma driver adapter): npm install ${driver}`, { cause: error });

/** Connects by URL: postgres(ql)://, mysql:// or mariadb://, file: (SQLite through libSQL). */
export async function connect(url: string): Promise<SqlConnection> {
  if (/^postgres(ql)?:\/\//.test(url)) {
    const pg = await import('pg').catch((e) => { throw missing('pg', e); });
    const client = new (pg.default ?? pg).Client({ connectionString: url });
    await client.connect();
    const connection: SqlConnection = {
      provider: 'postgresql',
      $executeRawUnsafe: async (sql, ...args) => (await client.query(sql, args)).rowCount ?? 0,
      $queryRawUnsafe: async <T>(sql: string, ...args: unknown[]) => (await client.query(sql, args)).rows as T,
      // One connection, used by one command at a time: BEGIN ... COMMIT on it is the transaction
      // (applyMigration creates the table and its indexes in one, under an advisory lock).
      $transaction: async <R>(fn: (tx: PrismaClientLike) => Promise<R>): Promise<R> => {
        await client.query('BEGIN');
        try {
          const result = await fn(connection);
          await client.query('COMMIT');
          return result;
        } catch (error) {
          await client.query('ROLLBACK').catch(() => undefined);
          throw error;
        }
      },
      close: () => client.end(),
    };
    return connection;
  }
  if (/^(mysql|mariadb):\/\//.test(url)) {
    const mariadb = await import('mariadb').catch((e) => { throw missing('mariadb', e); });
    const u = new URL(url);
    const conn = await (mariadb.default ?? mariadb).createConnection({
      host: u.hostname,
      port: Number(u.port || 3306),
      user: decodeURIComponent(u.username),
      password: decodeURIComponent(u.password),
      database: u.pathname.slice(1),
      bigIntAsNumber: true,
    });
    return {
      provider: 'mysql',
      $executeRawUnsafe: async (sql, ...args) => Number((await conn.query(sql, args)).affectedRows),
      $queryRawUnsafe: async <T>(sql: string, ...args: unknown[]) => (await conn.query(sql, args)) as T,
      close: () => conn.end(),
    };
  }
  if (url.startsWith('file:')) {
    const libsql = await import('@libsql/client').catch((e) => { throw missing('@libsql/client', e); });
    const client = libsql.createClient({ url });
    return {
      provider: 'sqlite',
      $executeRawUnsafe: async (sql, ...args) => (await client.execute({ sql, args: args as never })).rowsAffected,
      $queryRawUnsafe: async <T>(sql: string, ...args: unknown[]) => (await client.execute({ sql, args: args as never })).rows as T,
      $transaction: async <R>(fn: (tx: PrismaClientLike) => Promise<R>): Promise<R> => {
        const tx = await client.transaction('write');
        try {
          const result = await fn({
            $executeRawUnsafe: async (sql, ...args) => (await tx.execute({ sql, args: args as never })).rowsAffected,
            $queryRawUnsafe: async <T>(sql: string, ...args: unknown[]) => (await tx.execute({ sql, args: args as never })).rows as T,
          });
          await tx.commit();
          return result;
        } finally {
          tx.close();
        }
      },
      close: async () => client.close(),
    };
  }
  throw new Error(`Unsupported database URL "${url.split(':')[0]}:": use postgresql://, mysql://, mariadb:// or file:`);
}
