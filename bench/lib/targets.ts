import type { Spread } from './stats.js';

/** A goal for a measured figure: the median over the rounds must be at or under/over `limit`. */
export interface Target {
  op: '<=' | '>=';
  limit: number;
}

/** One measured figure: a ratio (x) or a count of statements, with what it should be. */
export interface Figure {
  /** Where it was measured, e.g. "tRPC / postgresql". */
  group: string;
  measure: string;
  unit: 'x' | 'statements';
  value: Spread;
  /** The one-minute load average over the rounds that produced it. */
  load?: Spread;
  target?: Target;
  /**
   * The same ratio for the hand-written minimum protocol (bench/scenarios/floor.ts), measured in
   * the same rounds: the best any implementation keeping the guarantees could reach here.
   */
  floor?: Spread;
}

/** The targets from the benchmark issue; a figure carrying one is checked by `--check`. */
export const TARGETS = {
  replayP50: { op: '<=', limit: 0.75 },
  replayThroughput: { op: '>=', limit: 1.3 },
  firstLeaseP50: { op: '<=', limit: 1.5 },
  firstTransactionalP50: { op: '<=', limit: 1.3 },
  firstThroughput: { op: '>=', limit: 0.6 },
  stormAllAnswered: { op: '<=', limit: 1.0 },
  statementsPerReplay: { op: '<=', limit: 1 },
  statementsPerFirstLease: { op: '<=', limit: 2 },
  /** "Each step adds at most one round trip to the store beyond its own work." */
  statementsPerStep: { op: '<=', limit: 1 },
  /** A resumed run reads its recorded steps once. */
  statementsLoadingSteps: { op: '<=', limit: 1 },
  powertoolsFirstP50: { op: '<=', limit: 1.0 },
  powertoolsReplayP50: { op: '<=', limit: 0.9 },
  powertoolsThroughput: { op: '>=', limit: 1.0 },
  /** openTelemetry() with no SDK registered (no-op provider) against none, p50 over HTTP. */
  noopTelemetryP50: { op: '<=', limit: 1.03 },
} as const satisfies Record<string, Target>;

/** undefined: no target; otherwise whether the median meets it. */
export function meets(figure: Figure): boolean | undefined {
  const t = figure.target;
  if (!t) return undefined;
  const v = figure.value.median;
  if (!Number.isFinite(v)) return false;
  return t.op === '<=' ? v <= t.limit : v >= t.limit;
}

export const describeTarget = (f: Figure) => (f.target ? `${f.target.op} ${f.target.limit}${f.unit === 'x' ? 'x' : ''}` : '—');
export const verdict = (f: Figure) => {
  const ok = meets(f);
  return ok === undefined ? '—' : ok ? 'pass' : 'MISS';
};
