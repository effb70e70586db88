/**
 * Deadlocks and serialization failures: the database rolled the statement back and says "try
 * again". Under storms of duplicates MariaDB reports deadlocks between a claim's INSERT IGNORE and
 * a release's DELETE on the same unique-index gap; such a failure is no outage and must not reach
 * the client as 503.
 */
const TRANSIENT_CODES = new Set([
  '1213', // MySQL/MariaDB ER_LOCK_DEADLOCK
  '1205', // MySQL/MariaDB ER_LOCK_WAIT_TIMEOUT
  '40001', // PostgreSQL serialization_failure
  '40P01', // PostgreSQL deadlock_detected
  '5', // SQLITE_BUSY
  '6', // SQLITE_LOCKED
  'P2034', // Prisma: write conflict or deadlock
]);

/** The database's own error code inside a Prisma (driver adapter) error or a plain driver error. */
export function databaseErrorCode(error: unknown): string | undefined {
  const e = error as {
    code?: unknown;
    errno?: unknown;
    meta?: { driverAdapterError?: { cause?: { originalCode?: unknown; code?: unknown } } };
    cause?: { originalCode?: unknown };
  };
  const code = e?.meta?.driverAdapterError?.cause?.originalCode ?? e?.cause?.originalCode ?? e?.errno ?? e?.code;
  return code === undefined || code === null ? undefined : String(code);
}

export function isTransientConflict(error: unknown): boolean {
  const code = databaseErrorCode(error);
  if (code !== undefined && TRANSIENT_CODES.has(code)) return true;
  // libSQL reports SQLITE_BUSY with its extended code, e.g. 517 (BUSY_SNAPSHOT): low byte 5.
  const extended = (error as { meta?: { driverAdapterError?: { cause?: { kind?: unknown; extendedCode?: unknown } } } })?.meta?.driverAdapterError?.cause;
  return extended?.kind === 'sqlite' && typeof extended.extendedCode === 'number' && (extended.extendedCode & 0xff) === 5;
}

export interface RetryPolicy {
  /** Attempts in all, the first included. Default 6. */
  attempts?: number;
  /** First pause in ms, doubled per attempt with jitter, at most 200 ms. Default 5. */
  baseDelayMs?: number;
  /** Which failures are retried. Default: isTransientConflict. */
  retryIf?: (error: unknown) => boolean;
}

/** Runs `statement` again while it fails with a transient conflict, with bounded jittered backoff. */
export async function retryTransient<T>(statement: () => PromiseLike<T>, policy: RetryPolicy = {}): Promise<T> {
  const attempts = policy.attempts ?? 6;
  let delay = policy.baseDelayMs ?? 5;
  for (let attempt = 1; ; attempt++) {
    try {
      return await statement();
    } catch (error) {
      if (attempt >= attempts || !(policy.retryIf ?? isTransientConflict)(error)) throw error;
      await new Promise((resolve) => setTimeout(resolve, delay / 2 + Math.random() * delay));
      delay = Math.min(delay * 2, 200);
    }
  }
}
