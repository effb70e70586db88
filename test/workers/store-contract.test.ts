// oncely's store contract (oncely/testing) run inside workerd: each test runs in the Worker
// against a PrismaStore on the Worker's D1 database (Prisma's edge client, @prisma/adapter-d1).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contractTests } from './contract-tests.js';
import { type RunningWorker, startHarness } from './worker-under-test.js';

// The same names the Worker builds: listed here from oncely/testing without running anything.
const names = [
  ...contractTests(() => {
    throw new Error('listing only');
  }).keys(),
];

let worker: RunningWorker;

beforeAll(async () => {
  worker = await startHarness();
});

afterAll(async () => {
  await worker?.dispose();
});

describe('store contract inside workerd: PrismaStore on D1', () => {
  it('lists the whole contract', () => {
    expect(names.length).toBeGreaterThanOrEqual(25);
  });

  it.each(names)('%s', async (name) => {
    const response = await fetch(new URL(`/test/contract?name=${encodeURIComponent(name)}`, worker.url));
    expect(response.status, await response.clone().text()).toBe(200);
    const result = (await response.json()) as { ok: boolean; error?: { name: string; message: string } };
    if (!result.ok) throw new Error(`in the Worker: ${result.error?.name}: ${result.error?.message}`);
  });
});
