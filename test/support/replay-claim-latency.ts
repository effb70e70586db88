/**
 * Latency of a replay's claim step on each database: the two-statement claim (create, then get)
 * against the one-statement createOrGet, on completed records, one call at a time. Rounds are
 * interleaved (A B B A ...) so that load from elsewhere on the machine hits both alike; each round
 * times `perRound` calls; the report is the median over rounds of the mean per call, and the
 * median of the per-round ratios createOrGet / (create + get).
 *
 *   npx tsx test/support/replay-claim-latency.ts [rounds=9] [perRound=300]
 *
 * Needs PostgreSQL and MariaDB as in test/support/services.ts (ONCELY_TEST_*_URL to override).
 */
import { sampleRecord } from '../../src/testing/index.js';
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PrismaLibSql } from '@prisma/adapter-libsql';
import { PrismaMariaDb } from '@prisma/adapter-mariadb';
import { PrismaPg } from '@prisma/adapter-pg';
import { mariadbOptions } from '../../examples/shared/mariadb.js';
import { PrismaClient as MysqlClient } from '../../generated/mysql/client.js';
import { PrismaClient as PostgresClient } from '../../generated/postgresql/client.js';
import { PrismaClient as SqliteClient } from '../../generated/sqlite/client.js';
import type { IdempotencyRecord } from '../../src/index.js';
import { PrismaStore, type Provider, applyMigration } from '../../src/prisma/index.js';
import { services } from './services.js';

const rounds = Number(process.argv[2] ?? 9);
const perRound = Number(process.argv[3] ?? 300);
const sqliteFile = join(tmpdir(), `oncely-latency-${process.pid}.db`);

type Client = InstanceType<typeof PostgresClient>;
const databases: { name: string; provider: Provider; client: () => Client }[] = [
  { name: 'sqlite', provider: 'sqlite', client: () => new SqliteClient({ adapter: new PrismaLibSql({ url: `file:${sqliteFile}` }) }) as unknown as Client },
  { name: 'postgresql', provider: 'postgresql', client: () => new PostgresClient({ adapter: new PrismaPg({ connectionString: services.postgres.url, max: 2 }) }) },
  { name: 'mariadb', provider: 'mysql', client: () => new MysqlClient({ adapter: new PrismaMariaDb(mariadbOptions(services.mariadb.url, 2)) }) as unknown as Client },
];

const T0 = Date.now();
const attempt = (scope: { tenant: string; operation: string; key: string }): IdempotencyRecord =>
  sampleRecord({ ...scope, leaseExpiresAt: T0 + 60_000, createdAt: T0, updatedAt: T0, expiresAt: T0 + 86_400_000 });

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

for (const db of databases) {
  const client = db.client();
  const table = `oncely_latency_${randomUUID().replaceAll('-', '').slice(0, 10)}`;
  try {
    await applyMigration(client, db.provider, { table, dropExisting: true });
    const store = new PrismaStore({ client, table });
    // Completed records with a typical small stored answer: every claim below is a replay.
    const scopes = Array.from({ length: 100 }, (_, i) => ({ tenant: 't', operation: 'charge', key: `k-${i}` }));
    for (const scope of scopes) {
      const r = attempt(scope);
      await store.create(r);
      await store.complete(r, r.token, { response: JSON.stringify({ ok: true, value: { chargeId: 'ch_1', amount: 100 } }), completedAt: T0, expiresAt: T0 + 86_400_000 });
    }
    const variants = {
      'create + get': async (r: IdempotencyRecord) => {
        if (!(await store.create(r))) await store.get(r);
      },
      createOrGet: async (r: IdempotencyRecord) => {
        await store.createOrGet(r);
      },
    };
    const timeRound = async (run: (r: IdempotencyRecord) => Promise<void>) => {
      const started = performance.now();
      for (let i = 0; i < perRound; i++) await run(attempt(scopes[i % scopes.length]!));
      return (performance.now() - started) / perRound;
    };
    const names = Object.keys(variants) as (keyof typeof variants)[];
    for (const name of names) await timeRound(variants[name]); // warm-up
    const results: Record<string, number[]> = { 'create + get': [], createOrGet: [] };
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? names : [...names].reverse();
      for (const name of order) results[name]!.push(await timeRound(variants[name]));
    }
    const [a, b] = names.map((n) => median(results[n]!));
    // Paired per round (neighbours in time share the machine's load): less sensitive to drift.
    const paired = median(results.createOrGet!.map((x, i) => x / results['create + get']![i]!));
    console.log(
      `${db.name.padEnd(10)} replay claim, ms per call (median of ${rounds} interleaved rounds of ${perRound}): ` +
        `create + get ${a!.toFixed(3)}  createOrGet ${b!.toFixed(3)}  (median per-round ratio ${paired.toFixed(2)})  ` +
        `rounds A [${results['create + get']!.map((x) => x.toFixed(3)).join(' ')}] B [${results.createOrGet!.map((x) => x.toFixed(3)).join(' ')}]`,
    );
    await client.$executeRawUnsafe(`DROP TABLE ${table}`);
  } finally {
    await client.$disconnect();
  }
}
for (const suffix of ['', '-wal', '-shm', '-journal']) rmSync(sqliteFile + suffix, { force: true });
