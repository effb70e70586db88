// Per-statement cost on PostgreSQL, interleaved: the bare server's Prisma create, oncely's claim +
// completion through Prisma's raw-query path, and the same two statements on the pg pool (unnamed
// and named prepared). npx tsx bench/profile/pg-statements.ts [rounds] [ops]
import { createHash, randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { applyMigration } from 'oncely/prisma';
import { POSTGRES_URL } from '../lib/backends.js';
import { createOrdersTable } from '../scenarios/http-apps.js';
import { measure } from '../lib/stats.js';
import { PrismaClient } from '../../generated/postgresql/client.js';
import { buildStatements } from '../../src/prisma/dialect.js';

const rounds = Number(process.argv[2] ?? 5);
const ops = Number(process.argv[3] ?? 300);
const pool = new pg.Pool({ connectionString: POSTGRES_URL, max: 10 });
const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
const table = `bench_stmt_${randomUUID().replaceAll('-', '').slice(0, 8)}`;
await applyMigration(prisma, 'postgresql', { table, dropExisting: true });
await createOrdersTable(prisma as never, 'postgresql');
const sql = buildStatements('postgresql', table);
const name = (text: string) => `oncely_${createHash('sha1').update(text).digest('hex').slice(0, 16)}`;
const values = (key: string, token: string) => ['t', 'op', key, 'in_progress', 'f', token, 1, Date.now() + 60_000, null, Date.now(), Date.now(), Date.now() + 86_400_000];
const done = (key: string, token: string) => ['"x"', Date.now(), Date.now() + 86_400_000, 't', 'op', key, token];

const arms: Record<string, () => Promise<unknown>> = {
  'prisma create (bare)': () => prisma.order.create({ data: { id: `ord_${randomUUID()}`, customer: 'c', item: 'coffee', quantity: 1, amount: 450, status: 'placed' }, select: { id: true, amount: true, status: true } }),
  'prisma raw claim+complete': async () => {
    const key = randomUUID(), token = randomUUID();
    await prisma.$queryRawUnsafe(sql.insertOrSelect, ...values(key, token));
    await prisma.$executeRawUnsafe(sql.complete, ...done(key, token));
  },
  'pool unnamed claim+complete': async () => {
    const key = randomUUID(), token = randomUUID();
    await pool.query(sql.insertOrSelect, values(key, token));
    await pool.query(sql.complete, done(key, token));
  },
  'pool named claim+complete': async () => {
    const key = randomUUID(), token = randomUUID();
    await pool.query({ name: name(sql.insertOrSelect), text: sql.insertOrSelect, values: values(key, token) });
    await pool.query({ name: name(sql.complete), text: sql.complete, values: done(key, token) });
  },
  'prisma raw select (replay)': () => prisma.$queryRawUnsafe(sql.select, 't', 'op', 'missing'),
  'pool named select (replay)': () => pool.query({ name: name(sql.select), text: sql.select, values: ['t', 'op', 'missing'] }),
};
const names = Object.keys(arms);
for (const n of names) await measure(50, 1, arms[n]!);
const p50s: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
const cpu: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
const loads: number[] = [];
for (let r = 0; r < rounds; r++) {
  loads.push(loadavg()[0]!);
  for (let i = 0; i < names.length; i++) {
    const n = names[(i + r) % names.length]!;
    const before = process.cpuUsage();
    const s = await measure(ops, 1, arms[n]!);
    const used = process.cpuUsage(before);
    p50s[n]!.push(s.p50);
    cpu[n]!.push((used.user + used.system) / 1000 / ops);
  }
}
const med = (v: number[]) => [...v].sort((a, b) => a - b)[v.length >> 1]!;
console.log(`rounds ${rounds} x ${ops} ops, load ${loads.map((l) => l.toFixed(2)).join(' ')}`);
for (const n of names) console.log(`${n.padEnd(30)} p50 ${med(p50s[n]!).toFixed(3)} ms   node CPU/op ${med(cpu[n]!).toFixed(3)} ms`);
await prisma.$executeRawUnsafe(`DROP TABLE ${table}`);
await prisma.$disconnect();
await pool.end().catch(() => {});
