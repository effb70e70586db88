import { createHash } from 'node:crypto';
import { type Duration, toMs } from '../core/duration.js';
import { ConfigurationError } from '../core/errors.js';
import type { RecordScope } from '../core/record.js';

/** The one channel every PrismaStore notifies on; the payload names the table and the scope. */
export const CHANGE_CHANNEL = 'oncely_changes';

/** The notification a `pg` client emits (`client.on('notification', ...)`). */
export interface PgNotification {
  channel: string;
  payload?: string | undefined;
}

/** The part of a `pg` Client / PoolClient the listener uses. */
export interface PgListenerClientLike {
  query(sql: string): Promise<unknown>;
  on(event: 'notification', listener: (message: PgNotification) => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  on(event: 'end', listener: () => void): unknown;
}

/** A `pg` Pool (or anything whose `connect()` hands out one dedicated client until `release`). */
export interface PgPoolLike {
  connect(): Promise<PgListenerClientLike & { release(destroy?: boolean | Error): void }>;
}

/**
 * Wake-ups for `inProgress: "wait"` across processes (PostgreSQL only). Completions and releases
 * then NOTIFY in their own statement, and one LISTEN connection per store, opened on the first wait,
 * wakes the waiting duplicates at once. Give either a connection string (the store opens the
 * connection itself through the `pg` package) or a `pg` Pool to take one connection from.
 */
export type PrismaNotifyOptions = (
  | { connectionString: string; pool?: undefined }
  | { pool: PgPoolLike; connectionString?: undefined }
) & {
  /**
   * How long a waiter trusts the notifications before it re-reads the record anyway: covers what
   * is never announced (a holder's lease running out, a writer whose store has no `notify`).
   * Default "250ms"; the engine re-reads at least every second whatever this says.
   */
  recheck?: Duration;
};

export interface ResolvedNotify {
  connect(): Promise<ListenerConnection>;
  recheckMs: number;
}

/** One dedicated connection, and how to let go of it (destroyed, never reused: it is LISTENing). */
export interface ListenerConnection {
  client: PgListenerClientLike;
  dispose(): Promise<void>;
}

/** Checks `notify` and turns it into a way to open the listener connection. */
export function resolveNotify(notify: PrismaNotifyOptions, provider: string): ResolvedNotify {
  if (provider !== 'postgresql') {
    throw new ConfigurationError(`PrismaStore: \`notify\` needs PostgreSQL (LISTEN/NOTIFY); this store's provider is "${provider}". Leave it out: waiters then poll.`);
  }
  if (typeof notify !== 'object' || notify === null) {
    throw new ConfigurationError('PrismaStore: `notify` must be { connectionString } or { pool }.');
  }
  const recheckMs = toMs(notify.recheck ?? '250ms', 'notify.recheck');
  if (recheckMs <= 0) throw new ConfigurationError('PrismaStore: notify.recheck must be more than 0.');
  const { connectionString, pool } = notify;
  if (pool !== undefined && connectionString !== undefined) {
    throw new ConfigurationError('PrismaStore: give `notify` a connectionString or a pool, not both.');
  }
  if (pool !== undefined) {
    if (typeof pool?.connect !== 'function') throw new ConfigurationError('PrismaStore: notify.pool must be a pg Pool (with connect()).');
    return {
      recheckMs,
      connect: async () => {
        const client = await pool.connect();
        return { client, dispose: async () => client.release(true) };
      },
    };
  }
  if (typeof connectionString !== 'string' || !/^postgres(ql)?:\/\//.test(connectionString)) {
    throw new ConfigurationError('PrismaStore: notify.connectionString must be a postgres:// or postgresql:// URL.');
  }
  return { recheckMs, connect: () => connectOwn(connectionString) };
}

async function connectOwn(connectionString: string): Promise<ListenerConnection> {
  const pg = await import('pg').catch((error: unknown) => {
    throw new Error('PrismaStore: notify.connectionString needs the "pg" package (it comes with @prisma/adapter-pg): npm install pg', { cause: error });
  });
  const Client = (pg.default ?? pg).Client;
  // A name in pg_stat_activity; one set in the connection string wins over it.
  const client = new Client({ connectionString, application_name: 'oncely_listener', keepAlive: true, connectionTimeoutMillis: 5000 });
  // Errors reach the listener through its own handler once connected; until then connect() rejects.
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (error) {
    client.end().catch(() => undefined);
    throw error;
  }
  return { client, dispose: () => client.end().catch(() => undefined) };
}

/** The payload naming a record: a hash, as table and scope can be longer than NOTIFY allows (8000 bytes). */
export function changeId(table: string, scope: RecordScope): string {
  return createHash('sha256').update(JSON.stringify([table, scope.tenant, scope.operation, scope.key])).digest('base64url');
}
