/** Exit codes of every command (also listed in --help and docs/operations.md). */
export const EXIT = {
  ok: 0,
  /** Something failed: the database or Redis, an unfit table (migrate --status: problems found). */
  failure: 1,
  /** The command line was wrong; nothing was done. */
  usage: 2,
  /** inspect / release: there is no record for the key. */
  notFound: 3,
  /** release: refused (changed since inspected, completed, or not confirmed); nothing was released. */
  refused: 4,
} as const;

/** A wrong command line: exits with EXIT.usage and the help text. */
export class UsageError extends Error {}

/** A run that ends with a message and a given exit code (not a usage error, not a crash). */
export class CommandExit extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

export const USAGE = `Usage: oncely <command> [options]

Commands:
  inspect    show the record of one key
  release    free a stuck in-progress claim of one key (fenced, asks for confirmation)
  migrate    create oncely's table or add later migrations to it (SQL databases), or check it with --status
  purge      delete expired records in bounded batches

Where (every command):
  --database-url URL  postgresql://, mysql://, mariadb://, file: (SQLite), or redis:// / rediss://
                      (inspect, release, purge). Default: $DATABASE_URL
  --table NAME        SQL table (default oncely_idempotency)
  --prefix P          Redis key prefix (default "oncely:"); --buckets N  Redis buckets (default 256)
                      Both must be what the application's RedisStore uses.
  --json              one JSON object on stdout at the end, for scripts
  -h, --help          this text;  -v, --version  the version of oncely

inspect / release: which record
  --tenant T | --global-tenant   the tenant the calls used (GLOBAL_TENANT: --global-tenant)
  --operation OP                 the operation (GraphQL: "Mutation.field" or the operation name; tRPC: the procedure path)
  --key K                        the idempotency key
inspect:
  --outcome                      also print the stored outcome, decoded (without a codec: the CLI has none)
release:
  --revision R                   free only the claim inspect showed as revision R (default: the one seen now)
  -y, --yes                      do not ask; required when stdin is not a terminal
migrate:
  --status                       only check whether the table is there and fit; change nothing
purge:
  --batch-size N                 records per batch (default 1000)
  --max-batches N                stop after N batches, reporting how many are left
  --pause-ms N                   pause between batches (default 0)
  --dry-run                      only count what would be deleted

Exit codes:
  0  done (migrate --status: the table is fit)
  1  failure (database or Redis error; migrate: the table is missing or unfit)
  2  usage error (nothing was done)
  3  inspect, release: no record for this key
  4  release refused: the record changed since it was inspected, it is completed, or not confirmed
`;

/** A whole number from an option, at least `min`; `fallback` when the option is absent. */
export function wholeNumber(name: string, value: string | undefined, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (value.trim() === '' || !Number.isSafeInteger(n) || n < min) {
    throw new UsageError(`--${name} must be a whole number${min > 0 ? ` of at least ${min}` : ''}, got "${value}"`);
  }
  return n;
}
