import type { Arm } from '../lib/rounds.js';

/**
 * The cost of `openTelemetry()` when no SDK is registered (the API's no-op provider), where users
 * meet it: over HTTP, a first execution and a replay without and with it, in the same rounds.
 */
export const NOOP_TELEMETRY = {
  first: { without: 'first (lease)', with: 'first (lease), openTelemetry() no-op' },
  replay: { without: 'replay', with: 'replay, openTelemetry() no-op' },
} as const;

/**
 * The four arms of one round, balanced: round 0 runs first A B then replay B A, round 1 first B A
 * then replay A B, and so on, so that neither side of a pair always runs first (a few percent is
 * what is measured here, about the size of the position effect). Use with runRound(0, ...).
 */
export function balancedPairs<T>(round: number, arms: Record<string, Arm<T>>): Arm<T>[] {
  const pair = (p: { without: string; with: string }, flip: boolean) => (flip ? [arms[p.with]!, arms[p.without]!] : [arms[p.without]!, arms[p.with]!]);
  const odd = round % 2 === 1;
  return [...pair(NOOP_TELEMETRY.first, odd), ...pair(NOOP_TELEMETRY.replay, !odd)];
}
