import { randomUUID } from 'node:crypto';
import type { Idempotency } from 'oncely';
import type { StatementCounter, StatementCounts } from '../lib/counting-adapter.js';
import type { Report } from '../lib/report.js';
import { spread } from '../lib/stats.js';
import { TARGETS } from '../lib/targets.js';
import type { Answer, App, Framework } from './http-apps.js';
import { CHECKOUT_STEPS, type FailOnce, startStepsApp } from './steps-apps.js';

/** Statements of one run of the four-step checkout, per request. */
export interface StepStatementsResult {
  where: string;
  run: 'first' | 'resumed';
  /** Steps this run executed (the resumed run replays the first two from the record). */
  stepsRun: number;
  databaseStepsRun: number;
  perRequest: StatementCounts;
  /** oncely's statements that read the recorded steps (loadSteps). */
  loads: number;
  /** oncely's statements that record a step (recordStep). */
  records: number;
  /** The rest of oncely's: claim (and take-over), completion. */
  claimAndComplete: number;
}

// The store's loadSteps and recordStep statements (src/prisma/dialect.ts), in every dialect's quoting.
const LOAD_STEPS = /^\s*SELECT\s+[`"]steps[`"]\s+FROM\b/i;
const RECORD_STEP = /^\s*UPDATE\s+\S+\s+SET\s+[`"]steps[`"]\s*=\s*(CONCAT\()?CASE WHEN COALESCE/i;

const failed = (a: Answer) => a.status !== 200 || a.replayed || /"errors?"/.test(a.body);

/**
 * Statements of a mutation made of steps (database, external, database, external; each database
 * step writes one row): a first execution, and a retry that resumes after a failure following
 * step 2. Per step, against the claim + complete of a plain first execution (`plainFirstOncely`).
 */
export async function stepStatements(
  report: Report,
  where: string,
  framework: Framework,
  engine: Idempotency,
  counter: StatementCounter,
  requests: number,
  plainFirstOncely: number,
): Promise<StepStatementsResult[]> {
  const failOnce: FailOnce = new Set();
  const app: App = await startStepsApp(framework, engine, failOnce);
  try {
    // Warm-up: the one-time steps-column check is not a per-request statement.
    await app.send(randomUUID(), 'steps-warmup');

    counter.reset();
    for (let i = 0; i < requests; i++) {
      const answer = await app.send(randomUUID(), 'steps-first');
      if (failed(answer)) throw new Error(`${where} steps, first: HTTP ${answer.status}: ${answer.body.slice(0, 200)}`);
    }
    const first = tally(where, 'first', CHECKOUT_STEPS.total, CHECKOUT_STEPS.database, counter, requests);

    const keys = Array.from({ length: requests }, (_, i) => ({ key: randomUUID(), tag: `steps-resume-${i}` }));
    for (const { key, tag } of keys) {
      failOnce.add(tag);
      const answer = await app.send(key, tag);
      if (!answer.body.includes('planned failure')) throw new Error(`${where} steps, failing run: expected the planned failure, got HTTP ${answer.status}: ${answer.body.slice(0, 200)}`);
    }
    counter.reset();
    for (const { key, tag } of keys) {
      const answer = await app.send(key, tag);
      if (failed(answer)) throw new Error(`${where} steps, resumed: HTTP ${answer.status}: ${answer.body.slice(0, 200)}`);
    }
    const remaining = CHECKOUT_STEPS.total - CHECKOUT_STEPS.beforeFailure;
    const resumed = tally(where, 'resumed', remaining, 1, counter, requests);

    const figure = (measure: string, value: number, target?: { op: '<=' | '>='; limit: number }) =>
      report.figure({ group: where, measure, unit: 'statements', value: spread([value]), ...(target ? { target } : {}) });
    figure(`oncely statements per step (${CHECKOUT_STEPS.total} steps, first)`, (first.perRequest.oncely - plainFirstOncely) / first.stepsRun, TARGETS.statementsPerStep);
    figure('transaction control per database step (first)', first.perRequest.control / first.databaseStepsRun);
    figure('oncely statements loading steps (resumed)', resumed.loads, TARGETS.statementsLoadingSteps);
    figure('oncely statements per remaining step (resumed)', resumed.records / resumed.stepsRun, TARGETS.statementsPerStep);
    return [first, resumed];
  } finally {
    await app.close();
  }
}

function tally(where: string, run: StepStatementsResult['run'], stepsRun: number, databaseStepsRun: number, counter: StatementCounter, requests: number): StepStatementsResult {
  const { oncely, control, other } = counter.counts;
  const loads = counter.oncelySql.filter((sql) => LOAD_STEPS.test(sql)).length / requests;
  const records = counter.oncelySql.filter((sql) => RECORD_STEP.test(sql)).length / requests;
  return {
    where,
    run,
    stepsRun,
    databaseStepsRun,
    perRequest: { oncely: oncely / requests, control: control / requests, other: other / requests },
    loads,
    records,
    claimAndComplete: oncely / requests - loads - records,
  };
}
