import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { Idempotency, type IdempotencyError } from '../../src/index.js';
import { PrismaStore } from '../../src/prisma/index.js';
import { isTransientConflict, retryTransient } from '../../src/prisma/transient.js';
import { type PrismaLike, freshStore, testDatabases } from '../support/databases.js';

const clients: PrismaLike[] = [];
afterAll(async () => {
  await Promise.all(clients.map((c) => c.$disconnect()));
});

/** A Prisma-shaped error carrying a database code, as the driver adapters raise it. */
function driverError(originalCode: string) {
  return Object.assign(new Error('Raw query failed'), { code: 'P2010', meta: { driverAdapterError: { cause: { originalCode } } } });
}

describe('transient conflicts', () => {
  it('recognises deadlocks and serialization failures of every database, nothing else', () => {
    for (const code of ['1213', '1205', '40001', '40P01', '5', '6']) expect(isTransientConflict(driverError(code))).toBe(true);
    expect(isTransientConflict(Object.assign(new Error('x'), { code: 'P2034' }))).toBe(true);
    for (const code of ['1146', '42P01', '22021', '08P01', '1']) expect(isTransientConflict(driverError(code))).toBe(false);
    expect(isTransientConflict(new Error('connection refused'))).toBe(false);
  });

  it('retries a deadlocked statement with bounded backoff, and gives up after the last attempt', async () => {
    let calls = 0;
    expect(await retryTransient(async () => (++calls < 3 ? Promise.reject(driverError('1213')) : 'ok'))).toBe('ok');
    expect(calls).toBe(3);
    calls = 0;
    await expect(retryTransient(async () => (++calls, Promise.reject(driverError('40P01'))), { attempts: 4, baseDelayMs: 1 })).rejects.toThrow('Raw query failed');
    expect(calls).toBe(4);
    calls = 0;
    await expect(retryTransient(async () => (++calls, Promise.reject(driverError('1146'))))).rejects.toThrow();
    expect(calls).toBe(1);
  });

  it('a store statement that deadlocks is retried outside a transaction, not inside one', async () => {
    let failures = 2;
    let calls = 0;
    const client = {
      $executeRawUnsafe: async () => {
        calls++;
        if (failures-- > 0) throw driverError('1213');
        return 1;
      },
      $queryRawUnsafe: async <T>() => [] as T,
    };
    const store = new PrismaStore({ client, provider: 'mysql', verifyTable: false });
    expect(await store.release({ tenant: 't', operation: 'o', key: 'k' }, 'token')).toBe(true);
    expect(calls).toBe(3);
    failures = 1;
    calls = 0;
    await expect(store.withClient(client).release({ tenant: 't', operation: 'o', key: 'k' }, 'token')).rejects.toThrow('Raw query failed');
    expect(calls).toBe(1);
  });
});

describe('transient conflicts in transactional mode', () => {
  /** A client whose transactions fail their claim (INSERT, or PostgreSQL's WITH ... INSERT) with a deadlock `claimFailures` times, and the completion `completeFailures` times. */
  function fakeClient(claimFailures: number, completeFailures = 0) {
    const state = { transactions: 0, claimFailures, completeFailures };
    const tx = {
      $executeRawUnsafe: async (sql: string) => {
        if (sql.startsWith('INSERT') && state.claimFailures-- > 0) throw driverError('1213');
        if (sql.includes("'completed'") && state.completeFailures-- > 0) throw driverError('40P01');
        return 1;
      },
      // PostgreSQL's claim (createOrGet) is a query returning the row it inserted.
      $queryRawUnsafe: async <T>(sql: string, ...values: unknown[]) => {
        if (!sql.startsWith('WITH')) return [] as T;
        if (state.claimFailures-- > 0) throw driverError('40P01');
        const [tenant, operation, key, status, fingerprint, token, fence, lease_expires_at, response, created_at, updated_at, expires_at] = values;
        return [{ tenant, operation, key, status, fingerprint, token, fence, lease_expires_at, response, created_at, updated_at, expires_at }] as T;
      },
    };
    const client = {
      ...tx,
      $transaction: async (fn: (t: typeof tx) => Promise<unknown>) => {
        state.transactions++;
        return fn(tx);
      },
    };
    return { client, state };
  }

  it('a transaction whose claim deadlocked runs again (the work had not started)', async () => {
    const { client, state } = fakeClient(2);
    const engine = new Idempotency({ store: new PrismaStore({ client, provider: 'mysql', verifyTable: false }), transactional: true });
    let runs = 0;
    expect(await engine.run({ tenant: 't', operation: 'o', key: 'k' }, () => ++runs)).toBe(1);
    expect(state.transactions).toBe(3);
    expect(runs).toBe(1);
  });

  it('a deadlock after the work started is not retried by the store: 503, the work ran once', async () => {
    const { client, state } = fakeClient(0, 1);
    const engine = new Idempotency({ store: new PrismaStore({ client, provider: 'postgresql', verifyTable: false }), transactional: true });
    let runs = 0;
    const error = (await engine.run({ tenant: 't', operation: 'o', key: 'k' }, () => ++runs).catch((e: unknown) => e)) as IdempotencyError;
    expect(error.code).toBe('IDEMPOTENCY_STORE_UNAVAILABLE');
    expect(state.transactions).toBe(1);
    expect(runs).toBe(1);
  });
});

// The storm that produced spurious 503s on MariaDB: many duplicates waiting on keys whose first
// execution fails (release: DELETE) while the others keep claiming (INSERT IGNORE).
const DUPLICATES = 20;
const FAILURES = 3;

for (const db of testDatabases()) {
  // SQLite has one writer and waiters poll: fewer keys keep the file quick.
  const KEYS = db.provider === 'sqlite' ? 10 : 40;
  describe(`storms on ${db.name}`, () => {
    const client = db.client();
    clients.push(client);

    const storm = async (engine: Idempotency, keyCount: number, duplicates: number) => {
      const executions = new Map<string, number>();
      // Random keys land in different gaps of the unique index, as real traffic does.
      const keys = Array.from({ length: keyCount }, () => randomUUID());
      const calls = Array.from({ length: keyCount * duplicates }, (_, i) => keys[i % keyCount] as string);
      const results = await Promise.all(
        calls.map((key) =>
          engine
            .run({ tenant: 't', operation: 'pay', key, input: { key } }, async () => {
              const n = (executions.get(key) ?? 0) + 1;
              executions.set(key, n);
              await new Promise((resolve) => setTimeout(resolve, 5));
              if (n <= FAILURES) throw new Error('provider timeout'); // unexpected: released, the next duplicate runs it
              return { key, run: n };
            })
            .then(
              (value) => ({ ok: true as const, value }),
              (error: IdempotencyError) => ({ ok: false as const, code: error.code ?? error.message }),
            ),
        ),
      );
      const codes = results.filter((r) => !r.ok).map((r) => (r as { code: string }).code);
      expect(codes.filter((c) => c === 'IDEMPOTENCY_STORE_UNAVAILABLE')).toEqual([]);
      expect(codes).toEqual(Array(keyCount * FAILURES).fill('provider timeout'));
      for (const key of keys) expect(executions.get(key)).toBe(FAILURES + 1);
      for (const r of results) if (r.ok) expect(r.value.run).toBe(FAILURES + 1);
    };

    it(`lease mode: ${KEYS} keys x ${DUPLICATES} waiting duplicates, first ${FAILURES} executions of each fail: no 503, every key runs ${FAILURES + 1} times and replays its last run`, async () => {
      const { store } = await freshStore(db, client);
      await storm(new Idempotency({ store, inProgress: 'wait', waitTimeout: '60s', heartbeat: false }), KEYS, DUPLICATES);
    });

    if (db.provider !== 'sqlite') {
      it(`transactional mode: 20 keys x 10 duplicates, first ${FAILURES} executions of each fail (rolled back): no 503`, async () => {
        const { store } = await freshStore(db, client);
        await storm(new Idempotency({ store, transactional: true, waitTimeout: '60s' }), 20, 10);
      });
    }
  });
}
