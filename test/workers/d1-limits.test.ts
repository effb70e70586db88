// D1 has no interactive transactions. PrismaStore says so with a ConfigurationError (not the 503
// "retry" Prisma's own error would become) for transactional mode, database steps, and a store
// given transaction options; lease mode runs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningWorker, startHarness } from './worker-under-test.js';

interface Attempt {
  ok: boolean;
  error?: { name: string; code?: string; message: string };
}

let worker: RunningWorker;
let attempts: Record<string, Attempt>;

beforeAll(async () => {
  worker = await startHarness();
  const response = await fetch(new URL('/test/d1-limits', worker.url));
  if (response.status !== 200) throw new Error(`/test/d1-limits answered ${response.status}: ${await response.text()}`);
  attempts = (await response.json()) as Record<string, Attempt>;
});

afterAll(async () => {
  await worker?.dispose();
});

const refused = (attempt: Attempt | undefined) => {
  expect(attempt?.ok).toBe(false);
  expect(attempt?.error).toMatchObject({ name: 'ConfigurationError', code: 'IDEMPOTENCY_CONFIGURATION' });
  expect(attempt?.error?.message).toMatch(/Cloudflare D1 .*no interactive transactions.*lease mode/);
};

describe('PrismaStore on D1: what needs transactions is refused clearly', () => {
  it('Prisma itself refuses $transaction(fn) on D1 (the limit the store reports)', () => {
    expect(attempts.prismaInteractiveTransaction?.ok).toBe(false);
    expect(attempts.prismaInteractiveTransaction?.error?.message).toMatch(/D1 does not support interactive transactions/);
  });

  it('transactional mode: ConfigurationError at the first call', () => refused(attempts.transactionalMode));

  it('databaseStep in lease mode: ConfigurationError', () => refused(attempts.databaseStep));

  it('a store given `transaction` options: ConfigurationError at creation', () => refused(attempts.storeWithTransactionOptions));

  it('lease mode runs', () => {
    expect(attempts.leaseMode).toEqual({ ok: true });
  });
});
