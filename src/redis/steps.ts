import type { StepRecord } from '../core/store.js';

/*
 * Steps live in the record's own hash, so they share its key, Cluster slot, TTL and deletion:
 * "step_count" holds how many are recorded, "step:<i>" the i-th (JSON of name, kind, result and
 * completion time; the index is the field's). get() reads FIELDS only, so steps never travel with
 * a claim or a replay.
 */

/** The hash field counting the recorded steps (absent: none). */
export const STEP_COUNT_FIELD = 'step_count';

/** The value of a step's field. */
export function stepValue(step: StepRecord): string {
  return JSON.stringify({ name: step.name, kind: step.kind, result: step.result, completedAt: step.completedAt });
}

/** The steps from the values of "step:0".."step:n-1", in order; a value the store did not write fails loudly. */
export function stepsFromValues(values: unknown[]): StepRecord[] {
  return values.map((value, index) => {
    const s = (typeof value === 'string' || Buffer.isBuffer(value) ? JSON.parse(String(value)) : null) as Partial<StepRecord> | null;
    if (!s || typeof s.name !== 'string' || (s.kind !== 'database' && s.kind !== 'external') || typeof s.result !== 'string' || typeof s.completedAt !== 'number') {
      throw new Error(`RedisStore: unreadable step ${index} in a record.`);
    }
    return { index, name: s.name, kind: s.kind, result: s.result, completedAt: s.completedAt };
  });
}
