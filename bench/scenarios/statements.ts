import { randomUUID } from 'node:crypto';
import { Idempotency } from 'oncely';
import { type SqlBackendName, openBackend } from '../lib/backends.js';
import { type StatementCounts, zeroCounts } from '../lib/counting-adapter.js';
import type { Report } from '../lib/report.js';
import { spread } from '../lib/stats.js';
import { TARGETS, type Target } from '../lib/targets.js';
import { type Answer, type App, type Framework, createOrdersTable, startApp } from './http-apps.js';
import { type StepStatementsResult, stepStatements } from './step-statements.js';

export interface StatementsResult {
  where: string;
  path: string;
  perRequest: StatementCounts;
}

const PATHS = ['pass-through', 'first (lease)', 'first (transactional)', 'replay'] as const;
type PathName = (typeof PATHS)[number];

const TARGET_OF: Partial<Record<PathName, Target>> = {
  replay: TARGETS.statementsPerReplay,
  'first (lease)': TARGETS.statementsPerFirstLease,
};

/**
 * Statements per request on each path, counted at the Prisma driver adapter (see
 * counting-adapter.ts): oncely's (on its table), transaction control, and the rest (the
 * mutation's own create). Sequential requests, so every count belongs to one request.
 */
export async function statementCounts(report: Report, frameworks: Framework[], backends: SqlBackendName[], requests: number): Promise<StatementsResult[]> {
  const results: StatementsResult[] = [];
  const stepResults: StepStatementsResult[] = [];
  for (const name of backends) {
    for (const framework of frameworks) {
      const where = `${framework} / ${name}`;
      const backend = await openBackend(name, { countStatements: true });
      const { client, provider } = backend.prisma!;
      const counter = backend.statements!;
      const apps: App[] = [];
      try {
        await createOrdersTable(client, provider);
        const executions = new Map<string, number>();
        const engine = new Idempotency({ store: backend.store, inProgress: 'wait' });
        const lease = await startApp(framework, client, { kind: 'oncely', engine, transactional: false }, executions);
        const tx = await startApp(framework, client, { kind: 'oncely', engine, transactional: true }, executions);
        apps.push(lease, tx);
        const completed = Array.from({ length: requests }, () => randomUUID());
        // Warm-up: the one-time look-ups (the table check; on PostgreSQL the connections' default
        // isolation level, asked on the first transaction) are not per-request statements.
        await lease.send(randomUUID(), 'warmup');
        await tx.send(randomUUID(), 'warmup');
        for (const key of completed) await lease.send(key, 'replayed');
        const send: Record<PathName, (i: number) => Promise<Answer>> = {
          'pass-through': () => lease.send(undefined, 'pass'),
          'first (lease)': () => lease.send(randomUUID(), 'first'),
          'first (transactional)': () => tx.send(randomUUID(), 'first-tx'),
          replay: (i) => lease.send(completed[i], 'replayed'),
        };
        for (const path of PATHS) {
          counter.reset();
          for (let i = 0; i < requests; i++) {
            const answer = await send[path](i);
            if (answer.status !== 200 || answer.replayed !== (path === 'replay')) throw new Error(`${where} ${path}: HTTP ${answer.status}: ${answer.body.slice(0, 200)}`);
          }
          const perRequest = zeroCounts();
          for (const k of Object.keys(perRequest) as (keyof StatementCounts)[]) perRequest[k] = counter.counts[k] / requests;
          results.push({ where, path, perRequest });
          const target = TARGET_OF[path];
          report.figure({ group: where, measure: `oncely statements per ${path}`, unit: 'statements', value: spread([perRequest.oncely]), ...(target ? { target } : {}) });
        }
        const plainFirst = plainFirstOf(results, where);
        stepResults.push(...(await stepStatements(report, where, framework, engine, counter, requests, plainFirst)));
      } finally {
        for (const app of apps) await app.close();
        await backend.close();
      }
    }
  }
  report.add({
    title: 'Statements per request, counted at the Prisma driver adapter',
    notes: [
      `${requests} sequential requests per path, after a warm-up (the one-time look-ups, the table check and on PostgreSQL the connections' default isolation level, are not counted). "oncely" = statements on the idempotency table; "transaction control" = transaction starts (BEGIN, plus SET TRANSACTION ISOLATION LEVEL where it is sent: MariaDB, and PostgreSQL only when its connections do not already default to READ COMMITTED; counted as one), savepoints and commits; "other" = the mutation's own create. On MariaDB Prisma runs a create as its own transaction (BEGIN, INSERT, SELECT, COMMIT): those show as 2 control + 2 other on every path that runs the mutation, bare cost that oncely does not add. Exact counts, not timings.`,
    ],
    header: ['where', 'path', 'oncely', 'transaction control', 'other (the mutation)', 'total'],
    rows: results.map((r) => [r.where, r.path, fmt(r.perRequest.oncely), fmt(r.perRequest.control), fmt(r.perRequest.other), fmt(r.perRequest.oncely + r.perRequest.control + r.perRequest.other)]),
  });
  report.add({
    title: 'Statements per step, counted at the Prisma driver adapter',
    notes: [
      `A lease-mode mutation of four steps (database, external, database, external; each database step inserts one row, nothing else touches the database), ${requests} sequential requests per run. "first": a new key. "resumed": the retry of a run that failed right after step 2 (the failing runs are not counted): it takes the record over, loads the recorded steps once, replays steps 1-2 from them and runs steps 3-4. "per step" = (oncely's statements - the claim + complete of a plain first execution) / steps run; "load" and "record" are oncely's loadSteps and recordStep statements, told apart by their SQL; "claim + complete" is the rest of oncely's (a resumed run's claim is an insert-or-select plus the take-over). Transaction control per database step: each database step is its own transaction (start + commit). "other" is the steps' own inserts: on MariaDB Prisma follows an insert with a SELECT of the created row, so 2 per row there.`,
    ],
    header: ['where', 'run', 'steps run', 'oncely', 'claim + complete', 'load', 'record', 'oncely per step', 'transaction control', 'control per database step', 'other (the rows)'],
    rows: stepResults.map((r) => [
      r.where,
      r.run,
      r.stepsRun,
      fmt(r.perRequest.oncely),
      fmt(r.claimAndComplete),
      fmt(r.loads),
      fmt(r.records),
      fmt(r.run === 'first' ? (r.perRequest.oncely - plainFirstOf(results, r.where)) / r.stepsRun : r.records / r.stepsRun),
      fmt(r.perRequest.control),
      fmt(r.perRequest.control / r.databaseStepsRun),
      fmt(r.perRequest.other),
    ]),
  });
  report.raw.statements = results;
  report.raw.stepStatements = stepResults;
  return results;
}

const fmt = (v: number) => String(+v.toFixed(2));
const plainFirstOf = (results: StatementsResult[], where: string) => results.find((r) => r.where === where && r.path === 'first (lease)')!.perRequest.oncely;
