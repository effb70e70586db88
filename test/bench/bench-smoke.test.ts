import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { runBench } from '../../bench/bench.js';
import { type BenchConfig, SCENARIOS } from '../../bench/config.js';
import type { StepStatementsResult } from '../../bench/scenarios/step-statements.js';
import type { StatementsResult } from '../../bench/scenarios/statements.js';

// The whole benchmark, end to end, with a handful of requests: it must run and produce every row.
// No timing is asserted (a test is no place for speed numbers); statement counts are exact.
const TINY: BenchConfig = {
  scenarios: [...SCENARIOS],
  frameworks: ['Yoga', 'tRPC'],
  httpBackends: ['postgresql'],
  statementBackends: ['postgresql', 'mariadb', 'sqlite'],
  storeBackends: ['sqlite', 'postgresql', 'mariadb', 'redis'],
  http: { rounds: 3, latencyRequests: 2, throughputRequests: 4, concurrency: 2, storm: 4, warmup: 1 },
  statementRequests: 2,
  powertools: { rounds: 3, requests: 2, throughputRequests: 4, concurrency: 2 },
  store: { rounds: 3, ops: 2, concurrency: 2, scaleSmall: 10, scaleLarge: 50, purgeRecords: 20 },
};

const HTTP_MEASURES = [
  'replay p50 / bare p50',
  'replay throughput@2 / bare',
  'first p50 / bare p50 (lease)',
  'first p50 / bare p50 (transactional)',
  'first throughput@2 / bare (lease)',
  'pass-through p50 / bare p50',
  '4 same-key all answered / 4 distinct bare',
  'first p50, openTelemetry() no-op / none',
  'replay p50, openTelemetry() no-op / none',
  'replay p50 / bare p50 (pool)',
  'replay throughput@2 / bare (pool)',
  'first p50 / bare p50 (lease, pool)',
  'first throughput@2 / bare (lease, pool)',
];
// oncely/http's idempotent() around a fetch handler (bench/scenarios/fetch-http.ts), same sizes.
const FETCH_MEASURES = [
  'replay p50 / bare p50',
  'replay throughput@2 / bare',
  'first p50 / bare p50 (lease)',
  'first throughput@2 / bare (lease)',
  'pass-through p50 / bare p50',
  'replay p99 / bare p99',
  'first p99 / bare p99 (lease)',
  'pass-through p99 / bare p99',
  'replay p50 / bare p50 (pool)',
  'replay throughput@2 / bare (pool)',
  'first p50 / bare p50 (lease, pool)',
  'first throughput@2 / bare (lease, pool)',
];
const PATHS = ['pass-through', 'first (lease)', 'first (transactional)', 'replay'];
const STEP_MEASURES = [
  'oncely statements per step (4 steps, first)',
  'transaction control per database step (first)',
  'oncely statements loading steps (resumed)',
  'oncely statements per remaining step (resumed)',
];

const available = inject('availableServices');
const allServices = ['postgres', 'mariadb', 'redis'].every((s) => available.includes(s as never));

describe.skipIf(!allServices)('npm run bench, tiny configuration', () => {
  it('runs every scenario and reports every figure, with exact statement counts', { timeout: 180_000 }, async () => {
    const out = mkdtempSync(join(tmpdir(), 'oncely-bench-'));
    try {
      const { report, file } = await runBench(TINY, { out, command: 'npm run bench -- --tiny-test', quick: true, log: false });

      // Every HTTP figure for each framework, every statement path on each database, the Powertools ratios.
      const figures = report.figures.map((f) => `${f.group} | ${f.measure}`);
      const expected = [
        ...['Yoga', 'tRPC'].flatMap((fw) => HTTP_MEASURES.map((m) => `${fw} / postgresql | ${m}`)),
        ...FETCH_MEASURES.map((m) => `fetch handler / postgresql | ${m}`),
        ...['postgresql', 'mariadb', 'sqlite'].flatMap((db) => ['Yoga', 'tRPC'].flatMap((fw) => PATHS.map((p) => `${fw} / ${db} | oncely statements per ${p}`))),
        ...['postgresql', 'mariadb', 'sqlite'].flatMap((db) => ['Yoga', 'tRPC'].flatMap((fw) => STEP_MEASURES.map((m) => `${fw} / ${db} | ${m}`))),
        'Redis, in process | first p50, oncely / Powertools',
        'Redis, in process | replay p50, oncely / Powertools',
        'Redis, in process | throughput@2, oncely / Powertools',
        ...['sqlite', 'postgresql', 'mariadb'].map((db) => `${db} | claim p50, 50 / 10 existing records`),
      ];
      expect(figures.sort()).toEqual(expected.sort());
      for (const f of report.figures.filter((f) => f.unit === 'x')) {
        expect(f.value.values).toHaveLength(3);
        for (const v of f.value.values) expect(Number.isFinite(v) && v > 0, `${f.group} ${f.measure}: ${v}`).toBe(true);
        expect(f.load?.values).toHaveLength(3);
        // Every first-execution ratio of Yoga and tRPC has its floor (floor.ts) measured in the same rounds.
        if (/^(Yoga|tRPC) /.test(f.group) && f.measure.startsWith('first p50 / bare p50')) {
          expect(f.floor?.values, `${f.group} ${f.measure}: floor`).toHaveLength(3);
          for (const v of f.floor!.values) expect(Number.isFinite(v) && v > 0).toBe(true);
        } else expect(f.floor, `${f.group} ${f.measure}: no floor`).toBeUndefined();
      }

      // The storm ran the mutation once per round and every client got the same 200 answer.
      for (const fw of ['Yoga', 'tRPC']) {
        const storm = (report.raw[`http.${fw}.postgresql`] as { storm: { results: Record<string, { executions: number; ok: number; bodies: number; replayed: number }> }[] }).storm;
        expect(storm.map((r) => r.results['same key'])).toEqual(Array(3).fill({ ms: expect.any(Number), executions: 1, ok: 4, bodies: 1, replayed: 3 }));
      }

      // Statement counts: whole numbers per request, the same under Yoga and tRPC, none on the
      // idempotency table without a key, and the mutation's own statements only where it runs.
      const counts = report.raw.statements as StatementsResult[];
      expect(counts).toHaveLength(3 * 2 * 4);
      const at = (where: string, path: string) => counts.find((c) => c.where === where && c.path === path)!.perRequest;
      for (const db of ['postgresql', 'mariadb', 'sqlite']) {
        for (const path of PATHS) {
          const yoga = at(`Yoga / ${db}`, path);
          expect(at(`tRPC / ${db}`, path), `${db} ${path}`).toEqual(yoga);
          for (const v of Object.values(yoga)) expect(Number.isInteger(v), `${db} ${path}: ${JSON.stringify(yoga)}`).toBe(true);
        }
        const pass = at(`tRPC / ${db}`, 'pass-through');
        expect(pass.oncely).toBe(0);
        expect(at(`tRPC / ${db}`, 'first (lease)')).toMatchObject({ other: pass.other, control: pass.control });
        expect(at(`tRPC / ${db}`, 'first (lease)').oncely).toBeGreaterThanOrEqual(1);
        expect(at(`tRPC / ${db}`, 'first (transactional)').oncely).toBeGreaterThanOrEqual(1);
        expect(at(`tRPC / ${db}`, 'replay')).toMatchObject({ other: 0, control: 0 });
        expect(at(`tRPC / ${db}`, 'replay').oncely).toBeGreaterThanOrEqual(1);
      }

      // Steps: one recordStep per step run and nothing else on a first execution; a resumed run
      // loads the recorded steps once, then records each remaining step. Each database step is
      // one transaction (start + commit).
      const steps = report.raw.stepStatements as StepStatementsResult[];
      expect(steps).toHaveLength(3 * 2 * 2);
      for (const db of ['postgresql', 'mariadb', 'sqlite']) {
        for (const fw of ['Yoga', 'tRPC']) {
          const run = (r: string) => steps.find((s) => s.where === `${fw} / ${db}` && s.run === r)!;
          const plainFirst = at(`${fw} / ${db}`, 'first (lease)').oncely;
          expect(run('first'), `${fw} ${db} first`).toMatchObject({ stepsRun: 4, databaseStepsRun: 2, loads: 0, records: 4, claimAndComplete: plainFirst });
          expect(run('first').perRequest, `${fw} ${db} first`).toMatchObject({ oncely: plainFirst + 4, control: 4 });
          expect(run('resumed'), `${fw} ${db} resumed`).toMatchObject({ stepsRun: 2, databaseStepsRun: 1, loads: 1, records: 2 });
          expect(run('resumed').perRequest.control, `${fw} ${db} resumed`).toBe(2);
          expect(run('resumed').perRequest.oncely).toBe(run('resumed').claimAndComplete + 3);
        }
      }
      for (const f of report.figures.filter((f) => STEP_MEASURES.includes(f.measure))) {
        expect(f.value.median, `${f.group} ${f.measure}`).toBe(f.measure.startsWith('transaction control') ? 2 : 1);
      }

      const markdown = readFileSync(file, 'utf8');
      for (const heading of ['## Machine', '## Method', '## Figures and targets', 'Over HTTP', 'Duplicate storm', 'Statements per request', 'Statements per step', 'AWS Powertools', 'Store cost per call', 'Claim latency', 'Claims during a purge']) {
        expect(markdown).toContain(heading);
      }
      // The fetch handler's paths join the Yoga/tRPC per-path table.
      const httpTable = markdown.slice(markdown.indexOf('## Over HTTP'), markdown.indexOf('## Duplicate storm'));
      for (const path of ['bare', 'pass-through', 'first (lease)', 'replay', 'first (lease, pool)', 'replay (pool)']) {
        expect(httpTable).toContain(`| fetch handler / postgresql | ${path} |`);
      }
      expect(markdown).toContain('npm run bench -- --tiny-test');
      expect(markdown).toMatch(/postgresql \S+/);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
