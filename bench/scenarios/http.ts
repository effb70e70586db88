import { randomUUID } from 'node:crypto';
import { Idempotency } from 'oncely';
import { PrismaStore } from 'oncely/prisma';
import { openTelemetry } from 'oncely/otel';
import { type SqlBackendName, openBackend } from '../lib/backends.js';
import type { Report } from '../lib/report.js';
import { type Arm, type Round, armOverRounds, ratioOverRounds, runRound } from '../lib/rounds.js';
import { type Summary, measure, ms } from '../lib/stats.js';
import { TARGETS, type Target } from '../lib/targets.js';
import { type Answer, type App, type Framework, createOrdersTable, startApp } from './http-apps.js';
import { NOOP_TELEMETRY, balancedPairs } from './telemetry-overhead.js';
import { floorProtocol } from './floor.js';

/** The arms of the bare server running the hand-written minimum protocol (floor.ts). */
const FLOOR = { lease: 'floor (lease)', transactional: 'floor (transactional)' } as const;

/** The arms of the lease-mode server whose store has `pool` (PostgreSQL, MariaDB). */
const POOL = { first: 'first (lease, pool)', replay: 'replay (pool)' } as const;

export interface HttpSizes {
  rounds: number;
  /** Requests per arm per round, one at a time. */
  latencyRequests: number;
  /** Requests per arm per round at `concurrency` in flight. */
  throughputRequests: number;
  concurrency: number;
  /** Same-key requests sent at once (and as many distinct ones to the bare server). */
  storm: number;
  warmup: number;
}

interface StormResult {
  ms: number;
  executions: number;
  ok: number;
  bodies: number;
  replayed: number;
}

/** Fails the run on an answer that is not what the path must give: a benchmark of errors measures nothing. */
async function expectAnswer(sent: Promise<Answer>, replayed: boolean, what: string): Promise<Answer> {
  const answer = await sent;
  if (answer.status !== 200 || answer.replayed !== replayed || answer.body.includes('"errors"') || answer.body.includes('"error"')) {
    throw new Error(`${what}: expected HTTP 200${replayed ? ' replayed' : ''}, got ${answer.status}${answer.replayed ? ' replayed' : ''}: ${answer.body.slice(0, 300)}`);
  }
  return answer;
}

/**
 * Bare (a server without oncely), pass-through (oncely, no key), first execution (fresh keys;
 * lease and transactional mode) and replay (completed keys), over keep-alive HTTP, in interleaved
 * rounds; throughput at `concurrency` in flight; a same-key storm against as many distinct bare
 * requests.
 */
export async function httpScenarios(report: Report, frameworks: Framework[], backends: SqlBackendName[], sizes: HttpSizes) {
  const absolute: (string | number)[][] = [];
  const storms: (string | number)[][] = [];
  const bars: { label: string; value: number }[] = [];
  for (const name of backends) {
    for (const framework of frameworks) {
      const where = `${framework} / ${name}`;
      const backend = await openBackend(name);
      const { client, provider, table, pool } = backend.prisma!;
      const apps: App[] = [];
      try {
        await createOrdersTable(client, provider);
        const executions = new Map<string, number>();
        const engine = new Idempotency({ store: backend.store, inProgress: 'wait', waitTimeout: '30s' });
        const bare = await startApp(framework, client, { kind: 'bare' }, executions);
        const lease = await startApp(framework, client, { kind: 'oncely', engine, transactional: false }, executions);
        const tx = await startApp(framework, client, { kind: 'oncely', engine, transactional: true }, executions);
        // The same lease-mode server, its engine with openTelemetry() and no SDK registered (the API's no-op provider).
        const traced = new Idempotency({ store: backend.store, inProgress: 'wait', waitTimeout: '30s', telemetry: openTelemetry() });
        const leaseTraced = await startApp(framework, client, { kind: 'oncely', engine: traced, transactional: false }, executions);
        // The same lease-mode server, its store given the adapter's driver pool (PrismaStore `pool`):
        // statements prepared on the driver instead of Prisma's raw-query path. Not on SQLite.
        const pooled = pool ? new Idempotency({ store: new PrismaStore({ client, table, pool }), inProgress: 'wait', waitTimeout: '30s' }) : undefined;
        const leasePool = pooled ? await startApp(framework, client, { kind: 'oncely', engine: pooled, transactional: false }, executions) : undefined;
        // The bare server with the hand-written minimum protocol around its create (floor.ts).
        const floor = floorProtocol(client, provider, table, pool);
        const floorLease = await startApp(framework, client, { kind: 'floor', around: floor.lease }, executions);
        const floorTx = await startApp(framework, client, { kind: 'floor', around: floor.transactional }, executions);
        apps.push(bare, lease, tx, leaseTraced, floorLease, floorTx, ...(leasePool ? [leasePool] : []));

        // Warm-up: JIT, connection pools, the table check; and the completed keys replays re-send.
        for (let i = 0; i < sizes.warmup; i++) {
          await expectAnswer(bare.send(undefined, 'warmup'), false, `${where} warm-up bare`);
          await expectAnswer(lease.send(undefined, 'warmup'), false, `${where} warm-up pass-through`);
          await expectAnswer(lease.send(randomUUID(), 'warmup'), false, `${where} warm-up first`);
          await expectAnswer(tx.send(randomUUID(), 'warmup'), false, `${where} warm-up transactional`);
          await expectAnswer(leaseTraced.send(randomUUID(), 'warmup'), false, `${where} warm-up first, openTelemetry() no-op`);
          if (leasePool) await expectAnswer(leasePool.send(randomUUID(), 'warmup'), false, `${where} warm-up first (lease, pool)`);
          await expectAnswer(floorLease.send(randomUUID(), 'warmup'), false, `${where} warm-up floor (lease)`);
          await expectAnswer(floorTx.send(randomUUID(), 'warmup'), false, `${where} warm-up floor (transactional)`);
        }
        const completed = Array.from({ length: Math.max(sizes.latencyRequests, sizes.concurrency) }, () => randomUUID());
        for (const key of completed) await expectAnswer(lease.send(key, 'replayed'), false, `${where} completing replay keys`);
        const replayKey = (i: number) => completed[i % completed.length];

        const paths: Record<string, (i: number) => Promise<Answer>> = {
          bare: () => expectAnswer(bare.send(undefined, 'bare'), false, `${where} bare`),
          'pass-through': () => expectAnswer(lease.send(undefined, 'pass'), false, `${where} pass-through`),
          'first (lease)': () => expectAnswer(lease.send(randomUUID(), 'first'), false, `${where} first (lease)`),
          'first (transactional)': () => expectAnswer(tx.send(randomUUID(), 'first-tx'), false, `${where} first (transactional)`),
          replay: (i) => expectAnswer(lease.send(replayKey(i), 'replayed'), true, `${where} replay`),
          [FLOOR.lease]: () => expectAnswer(floorLease.send(randomUUID(), 'floor'), false, `${where} ${FLOOR.lease}`),
          [FLOOR.transactional]: () => expectAnswer(floorTx.send(randomUUID(), 'floor-tx'), false, `${where} ${FLOOR.transactional}`),
          ...(leasePool
            ? {
                [POOL.first]: () => expectAnswer(leasePool.send(randomUUID(), 'first-pool'), false, `${where} ${POOL.first}`),
                [POOL.replay]: (i: number) => expectAnswer(leasePool.send(replayKey(i), 'replayed'), true, `${where} ${POOL.replay}`),
              }
            : {}),
        };
        const latencyArms: Arm<Summary>[] = Object.entries(paths).map(([arm, send]) => ({ name: arm, run: () => measure(sizes.latencyRequests, 1, send) }));
        const noopPaths: Record<string, (i: number) => Promise<Answer>> = {
          [NOOP_TELEMETRY.first.without]: paths['first (lease)']!,
          [NOOP_TELEMETRY.first.with]: () => expectAnswer(leaseTraced.send(randomUUID(), 'first-otel'), false, `${where} first, openTelemetry() no-op`),
          [NOOP_TELEMETRY.replay.without]: paths.replay!,
          [NOOP_TELEMETRY.replay.with]: (i) => expectAnswer(leaseTraced.send(replayKey(i), 'replayed'), true, `${where} replay, openTelemetry() no-op`),
        };
        const noopArms = Object.fromEntries(Object.entries(noopPaths).map(([arm, send]) => [arm, { name: arm, run: () => measure(sizes.latencyRequests, 1, send) }]));
        const throughputArms: Arm<Summary>[] = ['bare', 'first (lease)', 'replay', ...(leasePool ? [POOL.first, POOL.replay] : [])].map((arm) => ({
          name: arm,
          run: () => measure(sizes.throughputRequests, sizes.concurrency, paths[arm]!),
        }));
        const stormArms: Arm<StormResult>[] = [
          {
            name: 'same key',
            run: async () => {
              const key = randomUUID();
              const tag = `storm-${key}`;
              const started = performance.now();
              const answers = await Promise.all(Array.from({ length: sizes.storm }, () => lease.send(key, tag)));
              const elapsed = performance.now() - started;
              return {
                ms: elapsed,
                executions: executions.get(tag) ?? 0,
                ok: answers.filter((a) => a.status === 200).length,
                bodies: new Set(answers.map((a) => a.body)).size,
                replayed: answers.filter((a) => a.replayed).length,
              };
            },
          },
          {
            name: 'distinct bare',
            run: async () => {
              const started = performance.now();
              const answers = await Promise.all(Array.from({ length: sizes.storm }, (_, i) => bare.send(undefined, `distinct-${i}`)));
              const elapsed = performance.now() - started;
              return { ms: elapsed, executions: sizes.storm, ok: answers.filter((a) => a.status === 200).length, bodies: new Set(answers.map((a) => a.body)).size, replayed: 0 };
            },
          },
        ];

        const latency: Round<Summary>[] = [];
        const throughput: Round<Summary>[] = [];
        const storm: Round<StormResult>[] = [];
        const noop: Round<Summary>[] = [];
        for (let r = 0; r < sizes.rounds; r++) {
          latency.push(await runRound(r, latencyArms));
          noop.push(await runRound(0, balancedPairs(r, noopArms)));
          throughput.push(await runRound(r, throughputArms));
          storm.push(await runRound(r, stormArms));
        }

        const p50 = (arm: string) => (res: Record<string, Summary>) => res[arm]!.p50 / res.bare!.p50;
        const tput = (arm: string) => (res: Record<string, Summary>) => res[arm]!.throughput / res.bare!.throughput;
        const figures = [
          { measure: 'replay p50 / bare p50', rounds: latency, f: p50('replay'), target: TARGETS.replayP50 },
          { measure: `replay throughput@${sizes.concurrency} / bare`, rounds: throughput, f: tput('replay'), target: TARGETS.replayThroughput },
          { measure: 'first p50 / bare p50 (lease)', rounds: latency, f: p50('first (lease)'), target: TARGETS.firstLeaseP50, floor: p50(FLOOR.lease) },
          { measure: 'first p50 / bare p50 (transactional)', rounds: latency, f: p50('first (transactional)'), target: TARGETS.firstTransactionalP50, floor: p50(FLOOR.transactional) },
          { measure: `first throughput@${sizes.concurrency} / bare (lease)`, rounds: throughput, f: tput('first (lease)'), target: TARGETS.firstThroughput },
          { measure: 'pass-through p50 / bare p50', rounds: latency, f: p50('pass-through'), target: undefined },
          ...(leasePool
            ? [
                { measure: 'replay p50 / bare p50 (pool)', rounds: latency, f: p50(POOL.replay), target: TARGETS.replayP50 },
                { measure: `replay throughput@${sizes.concurrency} / bare (pool)`, rounds: throughput, f: tput(POOL.replay), target: TARGETS.replayThroughput },
                { measure: 'first p50 / bare p50 (lease, pool)', rounds: latency, f: p50(POOL.first), target: TARGETS.firstLeaseP50, floor: p50(FLOOR.lease) },
                { measure: `first throughput@${sizes.concurrency} / bare (lease, pool)`, rounds: throughput, f: tput(POOL.first), target: TARGETS.firstThroughput },
              ]
            : []),
        ];
        for (const fig of figures as { measure: string; rounds: Round<Summary>[]; f: (res: Record<string, Summary>) => number; target?: Target; floor?: (res: Record<string, Summary>) => number }[]) {
          const { ratio, load } = ratioOverRounds(fig.rounds, fig.f);
          const floorRatio = fig.floor ? ratioOverRounds(fig.rounds, fig.floor).ratio : undefined;
          report.figure({ group: where, measure: fig.measure, unit: 'x', value: ratio, load, ...(fig.target ? { target: fig.target } : {}), ...(floorRatio ? { floor: floorRatio } : {}) });
          if (fig.measure.includes('p50 /')) bars.push({ label: `${where}: ${fig.measure.replace(' / bare p50', '')}`, value: ratio.median });
        }
        for (const [what, pair] of Object.entries(NOOP_TELEMETRY)) {
          const { ratio, load } = ratioOverRounds(noop, (res) => res[pair.with]!.p50 / res[pair.without]!.p50);
          report.figure({ group: where, measure: `${what} p50, openTelemetry() no-op / none`, unit: 'x', value: ratio, load, target: TARGETS.noopTelemetryP50 });
        }
        const stormRatio = ratioOverRounds(storm, (res) => res['same key']!.ms / res['distinct bare']!.ms);
        report.figure({ group: where, measure: `${sizes.storm} same-key all answered / ${sizes.storm} distinct bare`, unit: 'x', value: stormRatio.ratio, load: stormRatio.load, target: TARGETS.stormAllAnswered });

        for (const arm of Object.keys(paths)) {
          const inThroughput = throughputArms.some((a) => a.name === arm);
          absolute.push([
            where,
            arm,
            ms(armOverRounds(latency, arm, (s) => s.p50).median),
            ms(armOverRounds(latency, arm, (s) => s.p99).median),
            inThroughput ? Math.round(armOverRounds(throughput, arm, (s) => s.throughput).median) : '—',
          ]);
        }
        for (const pair of Object.values(NOOP_TELEMETRY)) {
          for (const arm of [pair.without, pair.with]) {
            absolute.push([where, `${arm} (no-op pair)`, ms(armOverRounds(noop, arm, (s) => s.p50).median), ms(armOverRounds(noop, arm, (s) => s.p99).median), '—']);
          }
        }
        const sameKey = storm.map((r) => r.results['same key']!);
        storms.push([
          where,
          sizes.storm,
          sameKey.map((s) => s.executions).join(', '),
          sameKey.map((s) => s.ok).join(', '),
          sameKey.map((s) => s.bodies).join(', '),
          sameKey.map((s) => s.replayed).join(', '),
          ms(armOverRounds(storm, 'same key', (s) => s.ms).median),
          ms(armOverRounds(storm, 'distinct bare', (s) => s.ms).median),
        ]);
        report.raw[`http.${framework}.${name}`] = { latency, throughput, storm, noopTelemetry: noop };
      } finally {
        for (const app of apps) await app.close();
        await backend.close();
      }
    }
  }
  report.add({
    title: 'Over HTTP: each path on its own (medians over the rounds)',
    notes: [
      `One Prisma create per execution. Each round runs every path for ${sizes.latencyRequests} requests one at a time, then bare, first (lease), replay (and the pool pair) for ${sizes.throughputRequests} requests at ${sizes.concurrency} in flight, then the storm pair; the order rotates each round. "bare" is a server without oncely; "pass-through" has oncely installed (required: false) and gets no key; "first" sends a fresh key per request, to the lease-mode server or to the transactional-mode one (claim, the create through tx, and the result in one commit); "replay" re-sends keys completed before the rounds. "(lease, pool)" and "replay (pool)" (PostgreSQL, MariaDB): a second lease-mode server whose PrismaStore has \`pool\`, the driver pool under the Prisma adapter, so its statements go to the driver as prepared statements; same table, same rounds. "floor (lease)" and "floor (transactional)": the bare server whose mutation runs the hand-written minimum protocol around the same create (bench/scenarios/floor.ts: claim INSERT, create, result UPDATE; no oncely code), on the same table, in the same rounds.`,
      `"(no-op pair)": the OpenTelemetry overhead pairs, run in the same rounds: first (lease) and replay on the lease-mode server, and the same on a lease-mode server whose engine has openTelemetry() with no SDK registered (the API's no-op provider), ${sizes.latencyRequests} requests each; each pair runs A B in one round and B A in the next.`,
    ],
    header: ['where', 'path', 'p50 ms', 'p99 ms', `req/s at ${sizes.concurrency} in flight`],
    rows: absolute,
  });
  report.add({
    title: `Duplicate storm: ${sizes.storm} same-key requests at once (inProgress "wait") versus ${sizes.storm} distinct bare requests`,
    notes: ['Per round (comma-separated): executions must be 1, every answer HTTP 200 with one body, all but one marked replayed.'],
    header: ['where', 'requests', 'executions', 'HTTP 200', 'distinct bodies', 'marked replayed', 'same key: all answered ms', 'distinct bare: all answered ms'],
    rows: storms,
  });
  report.chart('http-ratios.svg', 'p50 relative to the bare server (1.0 = bare), median over rounds', 'x', bars);
}
