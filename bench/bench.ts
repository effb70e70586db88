import type { BenchConfig } from './config.js';
import { describeMachine } from './lib/machine.js';
import { Report } from './lib/report.js';
import { fetchHttpScenario } from './scenarios/fetch-http.js';
import { httpScenarios } from './scenarios/http.js';
import { versusPowertools } from './scenarios/powertools.js';
import { statementCounts } from './scenarios/statements.js';
import { claimAtScale, purgeWhileServing, storeRoundTrips } from './scenarios/store.js';

/** How the numbers were taken, for the report. */
function method(config: BenchConfig): string[] {
  return [
    `Interleaved rounds: every comparison runs its arms back to back within a round (e.g. bare, pass-through, first, replay), the order rotated by one each round, ${config.http.rounds} rounds for HTTP, ${config.powertools.rounds} for Powertools, ${config.store.rounds} for the store scenarios; each arm sends a fixed number of requests per round.`,
    'Each ratio is taken within a round (both sides under the same conditions); the report gives its median over the rounds and the range (min–max), with the one-minute load average (os.loadavg()[0]) at the start of each round: the machine is shared, so a high load marks a figure to distrust.',
    'HTTP: Node http servers and a fetch (undici, keep-alive) client in one process, databases on loopback; the mutation is one Prisma create. Statement counts come from a wrapper around the Prisma driver adapter (bench/lib/counting-adapter.ts).',
  ];
}

export interface BenchResult {
  report: Report;
  file: string;
}

/** Runs the configured scenarios and writes report.md, results.json and the charts to `out`. */
export async function runBench(config: BenchConfig, options: { out: string; command: string; quick: boolean; log?: boolean }): Promise<BenchResult> {
  const report = new Report(options.log ?? true);
  const started = performance.now();
  const has = (s: BenchConfig['scenarios'][number]) => config.scenarios.includes(s);
  if (has('http')) await httpScenarios(report, config.frameworks, config.httpBackends, config.http);
  if (has('fetch')) await fetchHttpScenario(report, config.httpBackends, config.http);
  if (has('statements')) await statementCounts(report, config.frameworks, config.statementBackends, config.statementRequests);
  if (has('powertools')) await versusPowertools(report, config.powertools);
  if (has('store')) await storeRoundTrips(report, config.storeBackends, config.store);
  if (has('scale')) await claimAtScale(report, config.storeBackends, config.store);
  if (has('purge')) await purgeWhileServing(report, config.storeBackends, config.store);
  const databases = new Set<string>([
    ...(has('http') || has('fetch') ? config.httpBackends : []),
    ...(has('statements') ? config.statementBackends : []),
    ...(has('store') || has('scale') || has('purge') ? config.storeBackends : []),
    ...(has('powertools') ? ['redis'] : []),
  ]);
  const file = report.write(options.out, {
    command: options.command,
    quick: options.quick,
    durationS: (performance.now() - started) / 1000,
    machine: await describeMachine([...databases]),
    method: method(config),
  });
  return { report, file };
}
