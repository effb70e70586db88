// Before/after of oncely's PrismaStore and engine on PostgreSQL, in one process, interleaved
// rotated rounds with a bare arm: the dist of an earlier commit against this checkout's dist.
//
//   git worktree add /tmp/before <commit> && ln -s "$PWD/node_modules" /tmp/before/node_modules \
//     && ln -s "$PWD/generated" /tmp/before/generated && (cd /tmp/before && npx tsup)
//   npm run build && ONCELY_BEFORE=/tmp/before npx tsx bench/profile/before-after.ts [transactional|storm]
//
// transactional: first executions in transactional mode over HTTP (Yoga, tRPC); the engine is this
//   checkout's, the PrismaStore each side's (the adapters accept only their own build's engine).
// storm: 200 same-key executes in wait mode (engine and store of each side) ÷ 200 distinct bare creates.
import { randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
import { Idempotency } from 'oncely';
import * as afterPrisma from 'oncely/prisma';
import { openBackend } from '../lib/backends.js';
import { type Framework, createOrdersTable, startApp } from '../scenarios/http-apps.js';

const beforeDir = process.env.ONCELY_BEFORE;
if (!beforeDir) throw new Error('Set ONCELY_BEFORE to a checkout of the earlier commit with its dist built (see the top of this file).');
const beforeCore = (await import(`${beforeDir}/dist/index.js`)) as typeof import('oncely');
const beforePrisma = (await import(`${beforeDir}/dist/prisma.js`)) as typeof afterPrisma;
const what = process.argv[2] ?? 'transactional';
const rounds = Number(process.env.ROUNDS ?? 7);
const med = (v: number[]) => [...v].sort((a, b) => a - b)[v.length >> 1]!;
const line = (label: string, v: number[], unit = 'x') => console.log(`${label} median ${med(v).toFixed(2)}${unit} range ${Math.min(...v).toFixed(2)}-${Math.max(...v).toFixed(2)}`);

/** Runs `arms` in rotated rounds; returns each round's value per arm and the load average per round. */
async function interleaved(arms: Record<string, () => Promise<number>>) {
  const names = Object.keys(arms);
  const out: Record<string, number>[] = [];
  const loads: number[] = [];
  for (let r = 0; r < rounds; r++) {
    loads.push(loadavg()[0]!);
    const round: Record<string, number> = {};
    for (const name of names.map((_, i) => names[(i + r) % names.length]!)) round[name] = await arms[name]!();
    out.push(round);
  }
  return { out, loads };
}

const p50Of = async (n: number, send: () => Promise<unknown>) => {
  const xs: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await send();
    xs.push(performance.now() - t);
  }
  return xs.sort((a, b) => a - b)[n >> 1]!;
};

const backend = await openBackend('postgresql');
const { client, table, provider } = backend.prisma!;
await createOrdersTable(client, provider);
try {
  if (what === 'transactional') {
    for (const framework of ['Yoga', 'tRPC'] as Framework[]) {
      const executions = new Map<string, number>();
      const app = (P: typeof afterPrisma) =>
        startApp(framework, client, { kind: 'oncely', engine: new Idempotency({ store: new P.PrismaStore({ client, table }) }), transactional: true }, executions);
      const bare = await startApp(framework, client, { kind: 'bare' }, executions);
      const before = await app(beforePrisma);
      const after = await app(afterPrisma);
      const sends = { bare: () => bare.send(undefined, 't'), before: () => before.send(randomUUID(), 't'), after: () => after.send(randomUUID(), 't') };
      for (let i = 0; i < 50; i++) for (const send of Object.values(sends)) await send();
      const { out, loads } = await interleaved(Object.fromEntries(Object.entries(sends).map(([k, send]) => [k, () => p50Of(200, send)])));
      line(`${framework} transactional first p50 / bare, before`, out.map((r) => r.before! / r.bare!));
      line(`${framework} transactional first p50 / bare, after `, out.map((r) => r.after! / r.bare!));
      line(`${framework} after / before`, out.map((r) => r.after! / r.before!));
      line(`${framework} load 1m`, loads, '');
      for (const a of [bare, before, after]) await a.close();
    }
  } else {
    const STORM = 200;
    const create = () => client.order.create({ data: { id: `ord_${randomUUID()}`, customer: 'x', item: 'coffee', quantity: 1, amount: 450, status: 'placed' }, select: { id: true } });
    const engine = (C: typeof beforeCore, P: typeof afterPrisma) => new C.Idempotency({ store: new P.PrismaStore({ client, table }), inProgress: 'wait', waitTimeout: '30s' });
    const engines = { before: engine(beforeCore, beforePrisma), after: engine({ Idempotency } as typeof beforeCore, afterPrisma) };
    const storm = async (e: { execute: Idempotency['execute'] }) => {
      const key = randomUUID();
      let runs = 0;
      const started = performance.now();
      await Promise.all(Array.from({ length: STORM }, () => e.execute({ tenant: 'b', operation: 'o', key, input: {} }, () => (runs++, create()))));
      if (runs !== 1) throw new Error(`storm ran the work ${runs} times`);
      return performance.now() - started;
    };
    const arms = {
      bare: async () => {
        const started = performance.now();
        await Promise.all(Array.from({ length: STORM }, () => create()));
        return performance.now() - started;
      },
      before: () => storm(engines.before),
      after: () => storm(engines.after),
    };
    for (const arm of Object.values(arms)) await arm();
    const { out, loads } = await interleaved(arms);
    line('storm all answered / distinct bare, before', out.map((r) => r.before! / r.bare!));
    line('storm all answered / distinct bare, after ', out.map((r) => r.after! / r.bare!));
    line('load 1m', loads, '');
  }
} finally {
  await backend.close();
}
