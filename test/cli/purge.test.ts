import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import type { IdempotencyRecord } from '../../src/index.js';
import { type PrismaLike, freshStore, testDatabases } from '../support/databases.js';

const exec = promisify(execFile);
// The built CLI, as `npx oncely` runs it.
const cli = (...args: string[]) => exec(process.execPath, ['dist/cli.js', ...args], { encoding: 'utf8' });

describe('oncely CLI: usage errors', () => {
  it.each([
    [[], /no command given/],
    [['vacuum'], /unknown command "vacuum"/],
    [['purge', '--database-url', 'file:/tmp/x.db', '--batch-size', '0'], /--batch-size must be a whole number of at least 1/],
    [['purge', '--database-url', 'ftp://localhost'], /Unsupported database URL "ftp:"/],
    [['purge', '--nope'], /Unknown option/],
  ])('%j fails with a clear message', async (args, message) => {
    const error = await cli(...args).catch((e) => e);
    expect(error.code).toBeGreaterThan(0);
    expect(error.stderr).toMatch(message);
  });

  it('refuses to run without a database URL', async () => {
    const error = await exec(process.execPath, ['dist/cli.js', 'purge'], { encoding: 'utf8', env: { ...process.env, DATABASE_URL: '' } }).catch((e) => e);
    expect(error.code).toBe(2);
    expect(error.stderr).toMatch(/--database-url \(or DATABASE_URL\) is required/);
  });
});

for (const db of testDatabases()) {
  describe(`oncely purge on ${db.name}`, () => {
    const clients: PrismaLike[] = [];
    afterAll(async () => {
      for (const c of clients) await c.$disconnect();
    });

    it('counts in a dry run, then deletes only expired records in batches', async () => {
      const { client, table, store } = await freshStore(db);
      clients.push(client);
      const now = Date.now();
      const record = (key: string, expiresAt: number, status: 'completed' | 'in_progress' = 'completed', leaseExpiresAt: number | null = null): IdempotencyRecord => ({
        tenant: 't', operation: 'op', key, status, fingerprint: 'f', token: randomUUID(), fence: 1, leaseExpiresAt, response: status === 'completed' ? '1' : null,
        createdAt: now - 100_000, updatedAt: now - 100_000, expiresAt,
      });
      for (let i = 0; i < 23; i++) await store.create(record(`old-${i}`, now - 1000));
      await store.create(record('live', now + 3_600_000));
      await store.create(record('running', now - 1000, 'in_progress', now + 60_000));
      const url = db.url;

      const dry = await cli('purge', '--database-url', url, '--table', table, '--dry-run');
      expect(dry.stdout).toContain(`dry run: 23 expired record(s) in table ${table} would be deleted`);
      expect(await store.get({ tenant: 't', operation: 'op', key: 'old-0' })).not.toBeNull();

      const real = await cli('purge', '--database-url', url, '--table', table, '--batch-size', '5', '--pause-ms', '1');
      expect(real.stdout).toMatch(/deleted 23 expired record\(s\) from table \S+ in 5 batch\(es\)/);
      expect(await store.get({ tenant: 't', operation: 'op', key: 'old-7' })).toBeNull();
      expect(await store.get({ tenant: 't', operation: 'op', key: 'live' })).not.toBeNull();
      expect(await store.get({ tenant: 't', operation: 'op', key: 'running' })).not.toBeNull();
    });
  });
}
