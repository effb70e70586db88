// oncely's store contract (oncely/testing) collected into named tests instead of registered with
// a test runner: the Worker runs one by name inside workerd, and vitest (in Node) lists the same
// names to ask for each one.
import type { IdempotencyStore } from 'oncely';
import { runStoreContract } from 'oncely/testing';

export type ContractTest = () => unknown | Promise<unknown>;

/** The contract's tests by their full name ("store contract: <name> > <test>"). */
export function contractTests(store: () => IdempotencyStore | Promise<IdempotencyStore>): Map<string, ContractTest> {
  const tests = new Map<string, ContractTest>();
  const path: string[] = [];
  runStoreContract({
    name: 'PrismaStore on D1',
    store,
    describe: (name, body) => {
      path.push(name);
      body();
      path.pop();
    },
    it: (name, body) => {
      tests.set([...path, name].join(' > '), body);
    },
  });
  return tests;
}
