import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { getRequestListener } from '@hono/node-server';
import { Idempotency } from 'oncely';
import { idempotent } from 'oncely/http';
import { PrismaStore } from 'oncely/prisma';
import { type Prisma, type SqlBackendName, openBackend } from '../lib/backends.js';
import type { Report } from '../lib/report.js';
import { type Arm, type Round, armOverRounds, ratioOverRounds, runRound } from '../lib/rounds.js';
import { type Summary, measure, ms } from '../lib/stats.js';
import { type Answer, createOrdersTable, postJson, serve } from './http-apps.js';
import type { HttpSizes } from './http.js';

/** The per-path table of the Yoga/tRPC scenario: these rows join it when it ran in the same run. */
export const HTTP_PATHS_TITLE = 'Over HTTP: each path on its own (medians over the rounds)';

/** The arms of the wrapped handler whose store has `pool` (PostgreSQL, MariaDB). */
const POOL = { first: 'first (lease, pool)', replay: 'replay (pool)' } as const;

type FetchHandler = (request: Request) => Promise<Response>;

/** The handler: the same one Prisma create as the Yoga/tRPC mutation (http-apps.ts), the tag from the JSON body. */
function orderHandler(prisma: Prisma): FetchHandler {
  return async (request) => {
    const { tag } = (await request.json()) as { tag: string };
    const order = await prisma.order.create({
      data: { id: `ord_${randomUUID()}`, customer: tag, item: 'coffee', quantity: 1, amount: 450, status: 'placed' },
      select: { id: true, amount: true, status: true },
    });
    return Response.json(order);
  };
}

/**
 * A fetch handler behind node:http through @hono/node-server's request listener (the usual bridge),
 * without its replacement of the global Request/Response: the other scenarios share this process.
 */
async function serveFetch(handler: FetchHandler): Promise<{ send(key: string | undefined, tag: string): Promise<Answer>; close(): Promise<void> }> {
  const { base, close } = await serve(createServer(getRequestListener((request) => handler(request), { overrideGlobalObjects: false })));
  const url = `${base}/orders`;
  return { send: (key, tag) => postJson(url, key, { tag }), close };
}

/** Fails the run on an answer that is not what the path must give: a benchmark of errors measures nothing. */
async function expectAnswer(sent: Promise<Answer>, replayed: boolean, what: string): Promise<Answer> {
  const answer = await sent;
  if (answer.status !== 200 || answer.replayed !== replayed || !answer.body.includes('"status":"placed"')) {
    throw new Error(`${what}: expected HTTP 200${replayed ? ' replayed' : ''} with the order, got ${answer.status}${answer.replayed ? ' replayed' : ''}: ${answer.body.slice(0, 300)}`);
  }
  return answer;
}

/**
 * oncely/http's idempotent() around a plain fetch handler: bare (the handler alone), pass-through
 * (wrapped, no key), first execution (fresh keys, lease mode) and replay (completed keys), with
 * and without the store's driver `pool`, over keep-alive HTTP in interleaved rounds; throughput at
 * `concurrency` in flight.
 */
export async function fetchHttpScenario(report: Report, backends: SqlBackendName[], sizes: HttpSizes) {
  const absolute: (string | number)[][] = [];
  for (const name of backends) {
    const where = `fetch handler / ${name}`;
    const backend = await openBackend(name);
    const { client, table, pool } = backend.prisma!;
    const servers: { close(): Promise<void> }[] = [];
    try {
      await createOrdersTable(client, backend.prisma!.provider);
      const handler = orderHandler(client);
      const wrap = (engine: Idempotency) => idempotent(handler, { engine, tenant: () => 'bench', required: false, inProgress: 'wait' });
      const engine = new Idempotency({ store: backend.store, inProgress: 'wait', waitTimeout: '30s' });
      const bare = await serveFetch(handler);
      servers.push(bare);
      const wrapped = await serveFetch(wrap(engine));
      servers.push(wrapped);
      // The same wrapped handler, its PrismaStore given the adapter's driver pool. Not on SQLite.
      const pooled = pool ? await serveFetch(wrap(new Idempotency({ store: new PrismaStore({ client, table, pool }), inProgress: 'wait', waitTimeout: '30s' }))) : undefined;
      if (pooled) servers.push(pooled);

      // Warm-up: JIT, connection pools, the table check; then the completed keys replays re-send.
      for (let i = 0; i < sizes.warmup; i++) {
        await expectAnswer(bare.send(undefined, 'warmup'), false, `${where} warm-up bare`);
        await expectAnswer(wrapped.send(undefined, 'warmup'), false, `${where} warm-up pass-through`);
        await expectAnswer(wrapped.send(randomUUID(), 'warmup'), false, `${where} warm-up first`);
        if (pooled) await expectAnswer(pooled.send(randomUUID(), 'warmup'), false, `${where} warm-up ${POOL.first}`);
      }
      const completed = Array.from({ length: Math.max(sizes.latencyRequests, sizes.concurrency) }, () => randomUUID());
      for (const key of completed) await expectAnswer(wrapped.send(key, 'replayed'), false, `${where} completing replay keys`);
      const replayKey = (i: number) => completed[i % completed.length];

      const paths: Record<string, (i: number) => Promise<Answer>> = {
        bare: () => expectAnswer(bare.send(undefined, 'bare'), false, `${where} bare`),
        'pass-through': () => expectAnswer(wrapped.send(undefined, 'pass'), false, `${where} pass-through`),
        'first (lease)': () => expectAnswer(wrapped.send(randomUUID(), 'first'), false, `${where} first (lease)`),
        replay: (i) => expectAnswer(wrapped.send(replayKey(i), 'replayed'), true, `${where} replay`),
        ...(pooled
          ? {
              [POOL.first]: () => expectAnswer(pooled.send(randomUUID(), 'first-pool'), false, `${where} ${POOL.first}`),
              [POOL.replay]: (i: number) => expectAnswer(pooled.send(replayKey(i), 'replayed'), true, `${where} ${POOL.replay}`),
            }
          : {}),
      };
      const latencyArms: Arm<Summary>[] = Object.entries(paths).map(([arm, send]) => ({ name: arm, run: () => measure(sizes.latencyRequests, 1, send) }));
      const throughputNames = ['bare', 'first (lease)', 'replay', ...(pooled ? [POOL.first, POOL.replay] : [])];
      const throughputArms: Arm<Summary>[] = throughputNames.map((arm) => ({ name: arm, run: () => measure(sizes.throughputRequests, sizes.concurrency, paths[arm]!) }));

      const latency: Round<Summary>[] = [];
      const throughput: Round<Summary>[] = [];
      for (let r = 0; r < sizes.rounds; r++) {
        latency.push(await runRound(r, latencyArms));
        throughput.push(await runRound(r, throughputArms));
      }

      const p50 = (arm: string) => (res: Record<string, Summary>) => res[arm]!.p50 / res.bare!.p50;
      const p99 = (arm: string) => (res: Record<string, Summary>) => res[arm]!.p99 / res.bare!.p99;
      const tput = (arm: string) => (res: Record<string, Summary>) => res[arm]!.throughput / res.bare!.throughput;
      // The measures of the Yoga/tRPC rows, so the summary reads alike, but without their targets:
      // those are the for Yoga and tRPC. A bare fetch handler costs less than a GraphQL or
      // tRPC server, so the same statements weigh more here; these rows are for information.
      const figures = [
        { measure: 'replay p50 / bare p50', rounds: latency, f: p50('replay'), target: undefined },
        { measure: `replay throughput@${sizes.concurrency} / bare`, rounds: throughput, f: tput('replay'), target: undefined },
        { measure: 'first p50 / bare p50 (lease)', rounds: latency, f: p50('first (lease)'), target: undefined },
        { measure: `first throughput@${sizes.concurrency} / bare (lease)`, rounds: throughput, f: tput('first (lease)'), target: undefined },
        { measure: 'pass-through p50 / bare p50', rounds: latency, f: p50('pass-through'), target: undefined },
        { measure: 'replay p99 / bare p99', rounds: latency, f: p99('replay'), target: undefined },
        { measure: 'first p99 / bare p99 (lease)', rounds: latency, f: p99('first (lease)'), target: undefined },
        { measure: 'pass-through p99 / bare p99', rounds: latency, f: p99('pass-through'), target: undefined },
        ...(pooled
          ? [
              { measure: 'replay p50 / bare p50 (pool)', rounds: latency, f: p50(POOL.replay), target: undefined },
              { measure: `replay throughput@${sizes.concurrency} / bare (pool)`, rounds: throughput, f: tput(POOL.replay), target: undefined },
              { measure: 'first p50 / bare p50 (lease, pool)', rounds: latency, f: p50(POOL.first), target: undefined },
              { measure: `first throughput@${sizes.concurrency} / bare (lease, pool)`, rounds: throughput, f: tput(POOL.first), target: undefined },
            ]
          : []),
      ];
      for (const fig of figures) {
        const { ratio, load } = ratioOverRounds(fig.rounds, fig.f);
        report.figure({ group: where, measure: fig.measure, unit: 'x', value: ratio, load, ...(fig.target ? { target: fig.target } : {}) });
      }
      for (const arm of Object.keys(paths)) {
        absolute.push([
          where,
          arm,
          ms(armOverRounds(latency, arm, (s) => s.p50).median),
          ms(armOverRounds(latency, arm, (s) => s.p99).median),
          throughputNames.includes(arm) ? Math.round(armOverRounds(throughput, arm, (s) => s.throughput).median) : '—',
        ]);
      }
      report.raw[`fetch.${name}`] = { latency, throughput };
    } finally {
      for (const server of servers) await server.close();
      await backend.close();
    }
  }
  report.addRows({
    title: HTTP_PATHS_TITLE,
    notes: [
      `"fetch handler": oncely/http's idempotent() around a Web-standard fetch handler doing the same one Prisma create (the order's tag read from the JSON body), served over node:http through @hono/node-server's getRequestListener. "bare" is the handler alone; "pass-through" is it wrapped (required: false) and sent no key; "first (lease)" sends a fresh key; "replay" re-sends keys completed before the rounds; "(lease, pool)" and "replay (pool)" (PostgreSQL, MariaDB): the handler wrapped again with a PrismaStore that has \`pool\`. Same sizes and interleaved, rotated rounds as the Yoga/tRPC rows (${sizes.latencyRequests} requests one at a time per path, ${sizes.throughputRequests} at ${sizes.concurrency} in flight for bare, first, replay and the pool pair).`,
    ],
    header: ['where', 'path', 'p50 ms', 'p99 ms', `req/s at ${sizes.concurrency} in flight`],
    rows: absolute,
  });
}
