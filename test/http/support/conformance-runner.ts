import type { ContractRunner } from '../../../src/testing/index.js';

export interface CollectedTest {
  /** The describe names and the test name, joined with " > ". */
  name: string;
  run(): Promise<unknown>;
}

export interface TestOutcome {
  name: string;
  error?: unknown;
}

/** A runner whose describe/it only record the tests, so a test can run a suite and look at each outcome. */
export function collectingRunner(): ContractRunner & { tests: CollectedTest[] } {
  const tests: CollectedTest[] = [];
  const path: string[] = [];
  return {
    tests,
    describe(name, body) {
      path.push(name);
      try {
        body();
      } finally {
        path.pop();
      }
    },
    it(name, body) {
      tests.push({ name: [...path, name].join(' > '), run: async () => body() });
    },
  };
}

/** Runs the tests one after another, as the suite expects. */
export async function runCollected(tests: CollectedTest[]): Promise<TestOutcome[]> {
  const outcomes: TestOutcome[] = [];
  for (const test of tests) {
    try {
      await test.run();
      outcomes.push({ name: test.name });
    } catch (error) {
      outcomes.push({ name: test.name, error });
    }
  }
  return outcomes;
}
