/**
 * Counts the statements a PrismaClient sends to its database, by wrapping the driver adapter
 * factory handed to the client: `new PrismaClient({ adapter: countStatements(new PrismaPg(...), log) })`.
 *
 * Every queryRaw/executeRaw of the adapter and of its transactions is logged with its SQL. Two
 * things happen inside the adapters, out of the wrapper's sight, and are logged for them:
 * startTransaction sends BEGIN (and SET TRANSACTION ISOLATION LEVEL when a level is asked for),
 * and a transaction whose options say `usePhantomQuery` (MariaDB, libSQL) commits or rolls back
 * inside commit()/rollback(); the others (PostgreSQL) get COMMIT/ROLLBACK through executeRaw.
 */
export class StatementLog {
  readonly statements: string[] = [];

  /** Forgets what was logged so far (call it after warm-up). */
  reset(): void {
    this.statements.length = 0;
  }

  get count(): number {
    return this.statements.length;
  }

  /** Short names of the logged statements, e.g. ['BEGIN', 'WITH', 'SAVEPOINT', 'UPDATE', 'COMMIT']. */
  kinds(): string[] {
    return this.statements.map((sql) => /^\s*(SET TRANSACTION|[A-Za-z]+)/.exec(sql)?.[1]?.toUpperCase() ?? sql);
  }
}

interface Query {
  sql: string;
}

interface TransactionLike {
  options?: { usePhantomQuery?: boolean };
}

/** The adapter factory, wrapped so that every statement it sends is logged in `log`. */
export function countStatements<F extends object>(factory: F, log: StatementLog): F {
  return wrap(factory, {
    connect: (target) => async (...args: unknown[]) => wrapAdapter(await call(target, 'connect', args), log),
  });
}

function wrapAdapter(adapter: object, log: StatementLog): object {
  return wrap(adapter, {
    ...queries(log),
    startTransaction: (target) => async (isolationLevel?: string) => {
      log.statements.push('BEGIN');
      if (isolationLevel) log.statements.push(`SET TRANSACTION ISOLATION LEVEL ${isolationLevel}`);
      return wrapTransaction(await call(target, 'startTransaction', [isolationLevel]), log);
    },
  });
}

function wrapTransaction(tx: object, log: StatementLog): object {
  const phantom = (tx as TransactionLike).options?.usePhantomQuery === true;
  const ending = (sql: string) => (target: object) => (...args: unknown[]) => {
    if (phantom) log.statements.push(sql);
    return call(target, sql === 'COMMIT' ? 'commit' : 'rollback', args);
  };
  return wrap(tx, { ...queries(log), commit: ending('COMMIT'), rollback: ending('ROLLBACK') });
}

function queries(log: StatementLog) {
  const logged = (method: string) => (target: object) => (query: Query) => {
    log.statements.push(query.sql);
    return call(target, method, [query]);
  };
  return { queryRaw: logged('queryRaw'), executeRaw: logged('executeRaw') };
}

type Override = (target: object) => (...args: never[]) => unknown;

/** A proxy answering `overrides` itself and everything else from `target` (methods bound to it). */
function wrap<T extends object>(target: T, overrides: Record<string, Override>): T {
  return new Proxy(target, {
    get(object, property) {
      if (typeof property === 'string' && Object.hasOwn(overrides, property)) return overrides[property]!(object);
      const value: unknown = Reflect.get(object, property, object);
      return typeof value === 'function' ? value.bind(object) : value;
    },
  });
}

async function call(target: object, method: string, args: unknown[]): Promise<object> {
  const fn = Reflect.get(target, method, target) as (...a: unknown[]) => Promise<object>;
  return fn.apply(target, args);
}
