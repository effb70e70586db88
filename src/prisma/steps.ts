import type { StepRecord } from '../core/store.js';

/**
 * The `steps` column holds a JSON array of StepRecord, appended to in SQL one element at a time
 * (see recordStep in dialect.ts). Each element is written here with `index` as its first key, so
 * that `{"index":N,"name":` appears in the text exactly where step N begins: inside a JSON string
 * every quote is escaped, so no name or result can contain it. The append's count check looks for
 * step index-1 and for the absence of step index by that text, with no JSON parsing in SQL.
 */
export function stepElement(step: StepRecord): string {
  return JSON.stringify({ index: step.index, name: step.name, kind: step.kind, result: step.result, completedAt: step.completedAt });
}

/** The LIKE patterns of recordStep: exactly `index` steps recorded (steps 0..index-1). */
export function stepCountPatterns(index: number): { previous: string; next: string } {
  return {
    // Index 0: no steps yet, the column is NULL (COALESCE makes it '').
    previous: index === 0 ? '' : `%${stepMarker(index - 1)}%`,
    next: `%${stepMarker(index)}%`,
  };
}

const stepMarker = (index: number) => `{"index":${index},"name":`;

/** Reads the column back; a value the store did not write fails loudly instead of resuming wrongly. */
export function parseSteps(text: string | null): StepRecord[] {
  if (text === null || text === '') return [];
  const parsed: unknown = JSON.parse(text);
  if (!Array.isArray(parsed)) throw new Error('oncely: the steps column does not hold a JSON array');
  return parsed.map((value: unknown, position) => {
    const s = value as Partial<StepRecord> | null;
    if (
      !s || s.index !== position || typeof s.name !== 'string' || (s.kind !== 'database' && s.kind !== 'external') ||
      typeof s.result !== 'string' || typeof s.completedAt !== 'number'
    ) {
      throw new Error(`oncely: the steps column holds an unreadable step at position ${position}`);
    }
    return { index: s.index, name: s.name, kind: s.kind, result: s.result, completedAt: s.completedAt };
  });
}
