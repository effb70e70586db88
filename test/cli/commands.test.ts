import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { Idempotency, type IdempotencyRecord, type IdempotencyStore } from '../../src/index.js';
import { STEPS_MIGRATION_NAME, applyMigration, migrationStatements } from '../../src/prisma/index.js';
import { RedisStore } from '../../src/redis/index.js';
import { type PrismaLike, type TestDatabase, freshStore, testDatabases } from '../support/databases.js';
import { deletePrefix, localRedis, localRedisAvailable, uniquePrefix } from '../redis/support/redis.js';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

// The built CLI (npm run build first), as `npx oncely` runs it; stdin is a pipe, so not a terminal.
function cli(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, ['dist/cli.js', ...args], { encoding: 'utf8', env: { ...process.env, DATABASE_URL: '' } }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code) : 0, stdout, stderr }),
    );
    child.stdin?.end();
  });
}

const version = (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version;

describe('oncely CLI: version and usage', () => {
  it.each([[['--version']], [['-v']], [['purge', '--version']], [['inspect', '--version']]])('%j prints the package version', async (args) => {
    expect(await cli(...args)).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
  });

  it('documents every command and the exit codes in --help', async () => {
    const { code, stdout } = await cli('--help');
    expect(code).toBe(0);
    for (const text of ['inspect', 'release', 'migrate', 'purge', '0  done', '1  failure', '2  usage error', '3  inspect, release: no record', '4  release refused']) {
      expect(stdout).toContain(text);
    }
  });

  it.each([
    [[], /no command given/],
    [['vacuum'], /unknown command "vacuum"/],
    [['inspect', '--database-url', 'file:/tmp/x.db', '--operation', 'op', '--key', 'k'], /--tenant \(or --global-tenant\) is required/],
    [['inspect', '--database-url', 'file:/tmp/x.db', '--tenant', 't', '--global-tenant', '--operation', 'op', '--key', 'k'], /not both/],
    [['inspect', '--database-url', 'file:/tmp/x.db', '--tenant', 't', '--operation', 'op', '--key', ' k'], /may not start or end with a space/],
    [['inspect', '--database-url', 'file:/tmp/x.db', '--tenant', 't', '--operation', 'op'], /--key is required/],
    [['release', '--database-url', 'file:/tmp/x.db', '--tenant', 't', '--operation', 'op', '--key', 'k'], /pass --yes \(stdin is not a terminal/],
    [['purge', '--database-url', 'file:/tmp/x.db', '--outcome'], /purge does not take --outcome/],
    [['purge', '--database-url', 'file:/tmp/x.db', '--batch-size', '0'], /--batch-size must be a whole number of at least 1, got "0"/],
    [['purge', '--database-url', 'file:/tmp/x.db', '--max-batches', '1.5'], /--max-batches must be a whole number/],
    [['migrate', '--database-url', 'redis://127.0.0.1:6379'], /migrate is for SQL databases only/],
    [['purge'], /--database-url \(or DATABASE_URL\) is required/],
    [['purge', '--nope'], /Unknown option/],
  ])('%j is a usage error (exit 2)', async (args, message) => {
    const run = await cli(...args);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(run.stdout).toBe('');
  });

  it('fails with exit 1 on a URL it cannot use', async () => {
    const run = await cli('purge', '--database-url', 'ftp://x');
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/Unsupported database URL "ftp:"/);
  });
});

/** A store the CLI reaches by URL, and the engine on it in this process. */
interface Target {
  name: string;
  args: string[];
  store: IdempotencyStore;
}

function commandCases(name: string, open: () => Promise<Target>) {
  describe(`oncely inspect / release / purge on ${name}`, () => {
    let target: Target;
    const engine = () => new Idempotency({ store: target.store, heartbeat: false });
    const scopeArgs = (tenant: string, key: string) => ['--tenant', tenant, '--operation', 'Mutation.pay', '--key', key];
    const run = async (command: string, ...args: string[]) => {
      target ??= await open();
      return cli(command, ...target.args, ...args);
    };
    const fresh = async () => {
      target ??= await open();
      return { tenant: `t-${randomUUID()}`, key: `k-${randomUUID()}` };
    };

    it('inspects a completed key (human and --json, the outcome on request) and finds nothing for an unused one', async () => {
      const { tenant, key } = await fresh();
      await engine().execute({ tenant, operation: 'Mutation.pay', key, input: { amount: 5 } }, () => ({ paid: 5 }));
      const seen = (await engine().inspect(tenant, 'Mutation.pay', key))!;

      const human = await run('inspect', ...scopeArgs(tenant, key));
      expect(human.code).toBe(0);
      expect(human.stdout).toContain('status       completed: completed (retries get the stored outcome)');
      expect(human.stdout).toContain(`revision     ${seen.revision}`);
      expect(human.stdout).toContain(`created      ${seen.createdAt.iso} (${seen.createdAt.ms})`);
      expect(human.stdout).toContain(`outcome      success, ${seen.storedOutcome!.bytes} bytes`);
      expect(human.stdout).not.toContain('paid');

      const json = await run('inspect', ...scopeArgs(tenant, key), '--json', '--outcome');
      expect(json.code).toBe(0);
      expect(JSON.parse(json.stdout)).toEqual({ found: true, record: { ...JSON.parse(JSON.stringify(seen)), outcome: { ok: true, value: { paid: 5 } } } });

      const none = await run('inspect', ...scopeArgs(tenant, 'never-used'));
      expect(none.code).toBe(3);
      expect(none.stderr).toMatch(/no record for this key/);
    });

    it('inspects an in-progress key', async () => {
      const { tenant, key } = await fresh();
      await engine().begin({ tenant, operation: 'Mutation.pay', key, input: 1 });
      const { stdout, code } = await run('inspect', ...scopeArgs(tenant, key), '--json');
      expect(code).toBe(0);
      const { record } = JSON.parse(stdout);
      expect(record).toMatchObject({ status: 'in_progress', state: 'in_progress', fence: 1, storedOutcome: null });
      expect(record.leaseExpiresAt.ms).toBeGreaterThan(Date.now());
    });

    it('releases a stuck key: then a call with the key runs the work', async () => {
      const { tenant, key } = await fresh();
      const call = { tenant, operation: 'Mutation.pay', key, input: 1 };
      await engine().begin(call);
      const { revision } = JSON.parse((await run('inspect', ...scopeArgs(tenant, key), '--json')).stdout).record;

      const released = await run('release', ...scopeArgs(tenant, key), '--revision', revision, '--yes');
      expect(released).toMatchObject({ code: 0, stdout: `released: the claim of fence 1 (revision ${revision}) is gone; the next call with this key runs the work\n` });
      let runs = 0;
      const again = await engine().execute(call, () => ++runs);
      expect(again).toMatchObject({ replayed: false, stored: true });
      expect(runs).toBe(1);
    });

    it('refuses to release a record that changed since it was inspected, and leaves it alone', async () => {
      const { tenant, key } = await fresh();
      const call = { tenant, operation: 'Mutation.pay', key, input: 1 };
      const first = await engine().begin(call);
      if (first.replayed) throw new Error('expected a claim');
      const { revision } = JSON.parse((await run('inspect', ...scopeArgs(tenant, key), '--json')).stdout).record;
      await first.release();
      await engine().begin(call);
      const current = await engine().inspect(tenant, 'Mutation.pay', key);

      const refused = await run('release', ...scopeArgs(tenant, key), '--revision', revision, '--yes', '--json');
      expect(refused.code).toBe(4);
      expect(JSON.parse(refused.stdout)).toEqual({ released: false, reason: 'changed' });
      expect(refused.stderr).toMatch(/refused: the record changed since it was inspected: it was claimed again .*Nothing was released/);
      expect(await engine().inspect(tenant, 'Mutation.pay', key)).toEqual(current);
    });

    it('refuses to release a completed key, and without --yes when there is no terminal', async () => {
      const { tenant, key } = await fresh();
      await engine().execute({ tenant, operation: 'Mutation.pay', key, input: 1 }, () => 'done');
      const completed = await run('release', ...scopeArgs(tenant, key), '--yes');
      expect(completed.code).toBe(4);
      expect(completed.stderr).toMatch(/the record is completed, not stuck/);

      const other = await fresh();
      await engine().begin({ tenant: other.tenant, operation: 'Mutation.pay', key: other.key, input: 1 });
      const before = await engine().inspect(other.tenant, 'Mutation.pay', other.key);
      const unconfirmed = await run('release', ...scopeArgs(other.tenant, other.key));
      expect(unconfirmed.code).toBe(2);
      expect(unconfirmed.stderr).toMatch(/pass --yes/);
      expect(await engine().inspect(other.tenant, 'Mutation.pay', other.key)).toEqual(before);
    });

    it('purges in batches: --json for scripts, "N left" when --max-batches stops early', async () => {
      const tenant = `purge-${randomUUID()}`;
      const now = Date.now();
      const record = (key: string, expiresAt: number): IdempotencyRecord => ({
        tenant, operation: 'op', key, status: 'completed', fingerprint: 'f', token: randomUUID(), fence: 1, leaseExpiresAt: null,
        response: 'v1', createdAt: now - 100_000, updatedAt: now - 100_000, expiresAt,
      });
      target ??= await open();
      for (let i = 0; i < 13; i++) await target.store.create(record(`old-${i}`, now - 1000 - i));
      await target.store.create(record('live', now + 3_600_000));

      // A dry run counts what a purge would delete (expired records only) and deletes nothing.
      const dry = JSON.parse((await run('purge', '--dry-run', '--json')).stdout);
      expect(dry).toMatchObject({ dryRun: true, deleted: 13, left: 13 });
      const first = await run('purge', '--batch-size', '5', '--max-batches', '2', '--json');
      expect(first.code).toBe(0);
      const report = JSON.parse(first.stdout);
      expect(report).toMatchObject({ dryRun: false, deleted: 10, batches: 2, drained: false });
      expect(report.left).toBe(3);
      expect(first.stderr).toBe(''); // no progress without a terminal

      const human = await run('purge', '--batch-size', '2', '--max-batches', '1');
      expect(human.stdout).toMatch(/stopped after --max-batches 1: 1 left/);
      const last = JSON.parse((await run('purge', '--json')).stdout);
      expect(last).toMatchObject({ deleted: 1, drained: true, left: 0 });
      expect(await target.store.get({ tenant, operation: 'op', key: 'live' })).not.toBeNull();
    });
  });
}

const clients: PrismaLike[] = [];
afterAll(async () => {
  for (const c of clients) await c.$disconnect();
});

for (const db of testDatabases()) {
  commandCases(db.name, async () => {
    const { client, table, store } = await freshStore(db);
    clients.push(client);
    return { name: db.name, args: ['--database-url', db.url, '--table', table], store };
  });
  migrateCases(db);
}

describe.skipIf(!localRedisAvailable())('Redis', () => {
  const client = localRedisAvailable() ? localRedis() : undefined;
  const prefix = uniquePrefix('cli');
  const store = client ? new RedisStore({ client, prefix, buckets: 16 }) : undefined;
  commandCases('Redis', async () => ({ name: 'Redis', args: ['--database-url', 'redis://127.0.0.1:6379', '--prefix', prefix, '--buckets', '16'], store: store! }));
  afterAll(async () => {
    store?.close();
    await deletePrefix(client!, prefix);
    client!.disconnect();
  });
});

function migrateCases(db: TestDatabase) {
  describe(`oncely migrate on ${db.name}`, () => {
    const table = `oncely_m_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
    const args = ['--database-url', db.url, '--table', table];
    let client: PrismaLike | undefined;
    afterAll(async () => {
      client ??= db.client();
      await client.$executeRawUnsafe(`DROP TABLE IF EXISTS ${table}`);
      await client.$disconnect();
    });

    it('creates the table, then finds it unchanged; --status says fit (0) or lists the problems (1)', async () => {
      expect(await cli('migrate', '--status', ...args)).toMatchObject({ code: 1, stdout: `table ${table} (${db.provider}): not fit\n  - the table does not exist\n` });
      expect(await cli('migrate', ...args)).toEqual({ code: 0, stdout: `table ${table} created (${db.provider})\n`, stderr: '' });
      expect(await cli('migrate', ...args)).toEqual({ code: 0, stdout: `table ${table} unchanged: already there and fit\n`, stderr: '' });
      expect(JSON.parse((await cli('migrate', ...args, '--json')).stdout)).toEqual({ table, provider: db.provider, action: 'unchanged' });
      const fit = await cli('migrate', '--status', ...args, '--json');
      expect(fit.code).toBe(0);
      expect(JSON.parse(fit.stdout)).toEqual({ table, provider: db.provider, fit: true, problems: [], upgrades: [] });

      client = db.client();
      await client.$executeRawUnsafe(db.provider === 'mysql' ? `ALTER TABLE ${table} DROP INDEX ${table}_scope_key` : `DROP INDEX ${table}_scope_key`);
      const unfit = await cli('migrate', '--status', ...args);
      expect(unfit.code).toBe(1);
      expect(unfit.stdout).toMatch(/not fit\n {2}- no unique index over exactly \(tenant, operation, key\)/);
      // migrate leaves an unfit table alone and fails naming the problem.
      const refused = await cli('migrate', ...args);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/cannot keep distinct idempotency keys apart: no unique index/);
    });

    it('reports a table of the first migration as fit with the steps column to add (0), and upgrades it', async () => {
      const old = `oncely_u_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
      const c = db.client();
      const oldArgs = ['--database-url', db.url, '--table', old];
      try {
        for (const statement of migrationStatements(db.provider)) await c.$executeRawUnsafe(statement.replaceAll('oncely_idempotency', old));
        const upgrade = `the steps column (migration ${STEPS_MIGRATION_NAME}), which steps (step / databaseStep) need: run oncely migrate`;
        const status = await cli('migrate', '--status', ...oldArgs);
        expect(status.code).toBe(0);
        expect(status.stdout).toMatch(new RegExp(`^table ${old} \\(${db.provider}\\): fit \\([^)]*\\)\n {2}upgrade to apply: ${upgrade.replace(/[()]/g, '\\$&')}\n$`));
        expect(JSON.parse((await cli('migrate', '--status', ...oldArgs, '--json')).stdout)).toEqual({ table: old, provider: db.provider, fit: true, problems: [], upgrades: [upgrade] });
        expect(await cli('migrate', ...oldArgs)).toEqual({ code: 0, stdout: `table ${old} upgraded (${db.provider}): added the steps column (migration ${STEPS_MIGRATION_NAME})\n`, stderr: '' });
        expect(JSON.parse((await cli('migrate', '--status', ...oldArgs, '--json')).stdout)).toMatchObject({ fit: true, upgrades: [] });
        expect(JSON.parse((await cli('migrate', ...oldArgs, '--json')).stdout)).toEqual({ table: old, provider: db.provider, action: 'unchanged' });
      } finally {
        await c.$executeRawUnsafe(`DROP TABLE IF EXISTS ${old}`);
        await c.$disconnect();
      }
    });

    // MySQL/MariaDB only: the collation check is theirs (defined, not skipped, elsewhere).
    if (db.provider === 'mysql') it('reports a case-insensitive collation as unfit', async () => {
      const other = `oncely_c_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
      const c = db.client();
      try {
        await applyMigration(c, 'mysql', { table: other });
        await c.$executeRawUnsafe(`ALTER TABLE ${other} CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci`);
        const status = await cli('migrate', '--status', '--database-url', db.url, '--table', other);
        expect(status.code).toBe(1);
        expect(status.stdout).toContain('column tenant has collation utf8mb4_general_ci, which compares distinct strings equal (case, accents); it needs utf8mb4_bin');
      } finally {
        await c.$executeRawUnsafe(`DROP TABLE IF EXISTS ${other}`);
        await c.$disconnect();
      }
    });
  });
}

// A real terminal through util-linux `script` (a pty): the question is asked and its answer decides.
const hasScript = (() => {
  try {
    return readFileSync('/usr/bin/script').length > 0;
  } catch {
    return false;
  }
})();
// Without `script` (util-linux) the test is skipped on a developer machine, never in CI.
describe.skipIf(!hasScript && !process.env.CI)('oncely release on a terminal (SQLite)', () => {
  it('asks: "n" keeps the claim (exit 4), "y" releases it (exit 0)', async () => {
    const db = testDatabases().find((d) => d.name === 'sqlite')!;
    const { client, table, store } = await freshStore(db);
    clients.push(client);
    await new Idempotency({ store, heartbeat: false }).begin({ tenant: 't', operation: 'op', key: 'tty', input: 1 });
    const onTerminal = (answer: string) =>
      new Promise<Run>((resolve) => {
        const command = `${process.execPath} dist/cli.js release --database-url ${db.url} --table ${table} --tenant t --operation op --key tty`;
        const child = execFile('script', ['-qec', command, '/dev/null'], { encoding: 'utf8' }, (error, stdout, stderr) => resolve({ code: error ? Number(error.code) : 0, stdout, stderr }));
        child.stdin?.end(`${answer}\n`);
      });
    const no = await onTerminal('n');
    expect(no.code).toBe(4);
    expect(no.stdout).toMatch(/Release this claim \(fence 1\)[^]*not released \(not confirmed\)/);
    expect((await store.get({ tenant: 't', operation: 'op', key: 'tty' }))?.status).toBe('in_progress');
    const yes = await onTerminal('y');
    expect(yes.code).toBe(0);
    expect(yes.stdout).toMatch(/released: the claim of fence 1/);
    expect(await store.get({ tenant: 't', operation: 'op', key: 'tty' })).toBeNull();
  });
});
