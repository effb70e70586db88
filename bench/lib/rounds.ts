import { loadavg } from 'node:os';
import { type Spread, spread } from './stats.js';

/** One of the things compared: run once per round, returns what it measured. */
export interface Arm<T> {
  name: string;
  run(round: number): Promise<T>;
}

export interface Round<T> {
  /** The order the arms ran in this round. */
  order: string[];
  /** os.loadavg()[0] just before the round's first arm. */
  load: number;
  results: Record<string, T>;
}

/**
 * Runs every arm once per round, the order rotated by one each round (round 0: A B C, round 1:
 * B C A, ...): drift on a shared machine and the position effect (the first arm after a pause,
 * warm caches for the next) hit every arm alike instead of favouring one.
 */
export async function interleave<T>(rounds: number, arms: Arm<T>[]): Promise<Round<T>[]> {
  if (rounds < 1 || arms.length === 0) throw new Error('interleave: need at least one round and one arm');
  const out: Round<T>[] = [];
  for (let r = 0; r < rounds; r++) out.push(await runRound(r, arms));
  return out;
}

/** Round `r` of `interleave`: every arm once, in the order rotated by `r`. */
export async function runRound<T>(r: number, arms: Arm<T>[]): Promise<Round<T>> {
  const order = arms.map((_, i) => arms[(i + r) % arms.length]!);
  const load = loadavg()[0] ?? Number.NaN;
  const results: Record<string, T> = {};
  for (const arm of order) results[arm.name] = await arm.run(r);
  return { order: order.map((a) => a.name), load, results };
}

/** A ratio computed within each round (so both sides saw the same conditions), over the rounds. */
export function ratioOverRounds<T>(rounds: Round<T>[], ratio: (results: Record<string, T>) => number): { ratio: Spread; load: Spread } {
  return { ratio: spread(rounds.map((r) => ratio(r.results))), load: spread(rounds.map((r) => r.load)) };
}

/** One arm's own figure over the rounds (for the absolute columns). */
export function armOverRounds<T>(rounds: Round<T>[], arm: string, value: (result: T) => number): Spread {
  return spread(rounds.map((r) => value(r.results[arm]!)));
}
