import { randomUUID } from 'node:crypto';
import type { DriverPoolLike, Provider } from 'oncely/prisma';
import type { Prisma } from '../lib/backends.js';

/**
 * The floor: the least any idempotency layer keeping oncely's guarantees must send to the
 * database for a first execution, written by hand with no oncely code, so the report can show how
 * far a target is from what this machine allows at all.
 *
 * - lease: one INSERT that claims the key and commits before the work (so a duplicate sees it),
 *   the work, then one UPDATE storing the result that commits before the answer (so a retry
 *   replays it). Prepared on the driver pool where there is one (PostgreSQL, MariaDB); SQLite has
 *   only Prisma's raw path. No key validation, fingerprint, serialization or lease handling.
 * - transactional: Prisma's interactive transaction (the user's writes go through `tx`, so the
 *   claim must share its connection) with the claim INSERT, the work and the UPDATE: no isolation
 *   level statement and no savepoint (oncely needs both; the floor leaves them out).
 */
export interface Floor {
  lease<T>(work: (db: Prisma) => Promise<T>): Promise<T>;
  transactional<T>(work: (db: Prisma) => Promise<T>): Promise<T>;
}

export function floorProtocol(client: Prisma, provider: Provider, table: string, pool?: DriverPoolLike): Floor {
  const q = provider === 'mysql' ? (id: string) => `\`${id}\`` : (id: string) => `"${id}"`;
  const ph = (i: number) => (provider === 'postgresql' ? `$${i}` : '?');
  const cols = ['tenant', 'operation', 'key', 'status', 'fingerprint', 'token', 'fence', 'lease_expires_at', 'response', 'created_at', 'updated_at', 'expires_at'];
  const insert =
    `INSERT INTO ${q(table)} (${cols.map(q).join(', ')}) VALUES (${cols.map((_, i) => ph(i + 1)).join(', ')})` +
    (provider === 'mysql' ? '' : ` ON CONFLICT (${q('tenant')}, ${q('operation')}, ${q('key')}) DO NOTHING`);
  const update =
    `UPDATE ${q(table)} SET ${q('status')} = 'completed', ${q('response')} = ${ph(1)}, ${q('lease_expires_at')} = NULL, ${q('updated_at')} = ${ph(2)} ` +
    `WHERE ${q('tenant')} = ${ph(3)} AND ${q('operation')} = ${ph(4)} AND ${q('key')} = ${ph(5)} AND ${q('token')} = ${ph(6)}`;
  const claimValues = (key: string, token: string) => {
    const now = Date.now();
    return ['floor', 'placeOrder', key, 'in_progress', 'f', token, 1, now + 30_000, null, now, now, now + 86_400_000];
  };
  const completeValues = (key: string, token: string, result: unknown) => [JSON.stringify(result), Date.now(), 'floor', 'placeOrder', key, token];

  type Run = (sql: string, values: unknown[]) => Promise<unknown>;
  const viaPrisma = (db: Prisma): Run => (sql, values) => db.$executeRawUnsafe(sql, ...values);
  const direct: Run = !pool
    ? viaPrisma(client)
    : provider === 'postgresql'
      ? (sql, values) => (pool as { query(c: { name: string; text: string; values: unknown[] }): Promise<unknown> }).query({ name: sql === insert ? 'floor_claim' : 'floor_complete', text: sql, values })
      : (sql, values) => (pool as { execute(sql: string, values: unknown[]): Promise<unknown> }).execute(sql, values);

  const around = async <T>(run: Run, db: Prisma, work: (db: Prisma) => Promise<T>): Promise<T> => {
    const key = randomUUID();
    const token = randomUUID();
    await run(insert, claimValues(key, token));
    const result = await work(db);
    await run(update, completeValues(key, token, result));
    return result;
  };
  return {
    lease: (work) => around(direct, client, work),
    transactional: (work) => client.$transaction((tx) => around(viaPrisma(tx as Prisma), tx as Prisma, work)),
  };
}
