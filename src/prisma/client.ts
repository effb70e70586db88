/**
 * The part of a PrismaClient (or of the transaction client inside `$transaction(async (tx) => ...)`)
 * that the store uses. Accepted structurally, so clients generated to any output path fit.
 */
export interface PrismaClientLike {
  $executeRawUnsafe(query: string, ...values: unknown[]): PromiseLike<number>;
  $queryRawUnsafe<T = unknown>(query: string, ...values: unknown[]): PromiseLike<T>;
  /** Present on a full PrismaClient; needed for transactional mode. */
  $transaction?: unknown;
}

/** The interactive-transaction signature of PrismaClient.$transaction, structurally. */
export type InteractiveTransaction = <R>(
  fn: (tx: PrismaClientLike) => Promise<R>,
  options?: { maxWait?: number; timeout?: number; isolationLevel?: string },
) => Promise<R>;

/**
 * The interactive transaction client of a PrismaClient type: the parameter of
 * `prisma.$transaction(async (tx) => ...)` (`Prisma.TransactionClient`). Read structurally, so no
 * Prisma type is imported: `TransactionClientOf<typeof prisma>`. A client without interactive
 * transactions gives the part of it the store uses (PrismaClientLike).
 */
export type TransactionClientOf<TClient> = TClient extends {
  $transaction(fn: (tx: infer Tx) => infer _Result, ...rest: infer _Options): infer _Returned;
}
  ? unknown extends Tx
    ? PrismaClientLike
    : Tx
  : PrismaClientLike;

export type Provider = 'postgresql' | 'mysql' | 'sqlite';

/** Reads the provider a generated client was built for; undefined when it cannot tell. */
export function detectProvider(client: unknown): Provider | undefined {
  const active = (client as { _activeProvider?: unknown; _engineConfig?: { activeProvider?: unknown } })?._activeProvider
    ?? (client as { _engineConfig?: { activeProvider?: unknown } })?._engineConfig?.activeProvider;
  if (active === 'postgresql' || active === 'postgres' || active === 'cockroachdb') return 'postgresql';
  if (active === 'mysql') return 'mysql';
  if (active === 'sqlite') return 'sqlite';
  return undefined;
}

/**
 * Whether the client reaches Cloudflare D1 through `@prisma/adapter-d1`. D1 has no interactive
 * transactions: Prisma's `$transaction(fn)` throws there, and the adapter's commit and rollback do
 * nothing. Read structurally from the client (the adapter it was built with).
 */
export function isD1Client(client: unknown): boolean {
  const adapter = (client as { _engineConfig?: { adapter?: { adapterName?: unknown } } })?._engineConfig?.adapter;
  return adapter?.adapterName === '@prisma/adapter-d1';
}

/**
 * The isolation level the client's own interactive transactions default to
 * (`new PrismaClient({ transactionOptions: { isolationLevel } })`), which Prisma applies to a
 * `$transaction` given none: null when none is set, undefined when it cannot be read (then the
 * store asks for its level explicitly). Read structurally, like isD1Client.
 */
export function clientIsolationLevel(client: unknown): string | null | undefined {
  const options = (client as { _engineConfig?: { transactionOptions?: { isolationLevel?: unknown } } })?._engineConfig?.transactionOptions;
  if (options === null || typeof options !== 'object') return undefined;
  return typeof options.isolationLevel === 'string' ? options.isolationLevel : null;
}
