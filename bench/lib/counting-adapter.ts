/**
 * Counts the statements a PrismaClient sends, by wrapping its driver adapter factory (what
 * PrismaPg, PrismaMariaDb and PrismaLibSql return): every queryRaw/executeRaw of the connected
 * adapter and of its transactions, every transaction start, and every commit/rollback that the
 * adapter sends itself. Statements are sorted by their SQL text so that oncely's can be told from
 * the mutation's own.
 */

export interface StatementCounts {
  /** Statements naming the idempotency table: oncely's claims, reads, completions. */
  oncely: number;
  /** Transaction control: starts, savepoints, commits, rollbacks. */
  control: number;
  /** Everything else: the mutation's own writes (and table checks, before warm-up). */
  other: number;
}

export interface StatementCounter {
  counts: StatementCounts;
  /** The SQL text of each of oncely's statements since the last reset, in order (to tell step statements from claims). */
  oncelySql: string[];
  reset(): void;
}

interface Query {
  sql: string;
}

type AnyFunction = (...args: unknown[]) => unknown;

const CONTROL = /^\s*(BEGIN|START TRANSACTION|COMMIT|ROLLBACK|SAVEPOINT|RELEASE|SET TRANSACTION)\b/i;

export function zeroCounts(): StatementCounts {
  return { oncely: 0, control: 0, other: 0 };
}

/**
 * Wraps `factory` so that every statement is counted in the returned counter. `oncelyTable` is
 * the idempotency table's name; a statement mentioning it is oncely's.
 */
export function countingAdapter<F extends object>(factory: F, oncelyTable: () => string | undefined): { factory: F; counter: StatementCounter } {
  const counter: StatementCounter = {
    counts: zeroCounts(),
    oncelySql: [],
    reset() {
      this.counts = zeroCounts();
      this.oncelySql = [];
    },
  };
  const classify = (query: Query) => {
    const table = oncelyTable();
    if (table && query.sql.includes(table)) {
      counter.counts.oncely++;
      counter.oncelySql.push(query.sql);
    }
    else if (CONTROL.test(query.sql)) counter.counts.control++;
    else counter.counts.other++;
  };
  const countQueries = <T extends object>(target: T, extra: Record<string, AnyFunction> = {}): T =>
    new Proxy(target, {
      get(object, property, receiver) {
        if (typeof property === 'string' && property in extra) return extra[property];
        const value: unknown = Reflect.get(object, property, receiver);
        if (typeof value !== 'function') return value;
        if (property === 'queryRaw' || property === 'executeRaw') {
          return (query: Query) => {
            classify(query);
            return (value as AnyFunction).call(object, query);
          };
        }
        return (value as AnyFunction).bind(object);
      },
    });
  const wrapTransaction = (tx: object) => {
    // Adapters with a "phantom" commit send COMMIT/ROLLBACK inside commit()/rollback(); the others
    // get COMMIT through executeRaw, where it is counted already.
    const phantom = (tx as { options?: { usePhantomQuery?: boolean } }).options?.usePhantomQuery === true;
    const ends: Record<string, AnyFunction> = {};
    for (const end of ['commit', 'rollback'] as const) {
      const original = (tx as Record<string, unknown>)[end];
      if (typeof original !== 'function') continue;
      ends[end] = (...args: unknown[]) => {
        if (phantom) counter.counts.control++;
        return (original as AnyFunction).apply(tx, args);
      };
    }
    return countQueries(tx, ends);
  };
  const wrapAdapter = (adapter: object) => {
    const start = (adapter as Record<string, unknown>).startTransaction;
    return countQueries(adapter, {
      startTransaction: async (...args: unknown[]) => {
        // BEGIN (and SET TRANSACTION ISOLATION LEVEL where one is given) sent inside the adapter.
        counter.counts.control++;
        return wrapTransaction((await (start as AnyFunction).apply(adapter, args)) as object);
      },
    });
  };
  const connect = (factory as Record<string, unknown>).connect as AnyFunction;
  const wrapped = new Proxy(factory, {
    get(object, property, receiver) {
      if (property === 'connect') return async (...args: unknown[]) => wrapAdapter((await connect.apply(object, args)) as object);
      const value: unknown = Reflect.get(object, property, receiver);
      return typeof value === 'function' ? (value as AnyFunction).bind(object) : value;
    },
  });
  return { factory: wrapped, counter };
}
