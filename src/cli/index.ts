#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { inspectCommand } from './inspect.js';
import { type CommandIo, processIo } from './io.js';
import { migrateCommand } from './migrate.js';
import { purgeCommand } from './purge.js';
import { releaseCommand } from './release.js';
import { scopeArgs } from './scope-args.js';
import { type Target, isRedisUrl, openTarget } from './target.js';
import { CommandExit, EXIT, USAGE, UsageError, wholeNumber } from './usage.js';
import { packageVersion } from './version.js';

const COMMANDS = ['inspect', 'release', 'migrate', 'purge'] as const;
type Command = (typeof COMMANDS)[number];

// One option set for all commands; options a command does not take are refused below.
const OPTIONS = {
  'database-url': { type: 'string' },
  table: { type: 'string' },
  prefix: { type: 'string' },
  buckets: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
  tenant: { type: 'string' },
  'global-tenant': { type: 'boolean' },
  operation: { type: 'string' },
  key: { type: 'string' },
  outcome: { type: 'boolean' },
  revision: { type: 'string' },
  yes: { type: 'boolean', short: 'y' },
  status: { type: 'boolean' },
  'batch-size': { type: 'string' },
  'max-batches': { type: 'string' },
  'pause-ms': { type: 'string' },
  'dry-run': { type: 'boolean' },
} as const;
type OptionName = keyof typeof OPTIONS;

const COMMON: OptionName[] = ['database-url', 'table', 'prefix', 'buckets', 'json', 'help', 'version'];
const SCOPE: OptionName[] = ['tenant', 'global-tenant', 'operation', 'key'];
const ACCEPTS: Record<Command, OptionName[]> = {
  inspect: [...COMMON, ...SCOPE, 'outcome'],
  release: [...COMMON, ...SCOPE, 'revision', 'yes'],
  migrate: [...COMMON, 'status'],
  purge: [...COMMON, 'batch-size', 'max-batches', 'pause-ms', 'dry-run'],
};

async function main(argv: string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: OPTIONS });
  if (values.version) {
    io.out(packageVersion());
    return EXIT.ok;
  }
  if (values.help) {
    io.out(USAGE.trimEnd());
    return EXIT.ok;
  }
  const [name, ...extra] = positionals;
  if (name === undefined) throw new UsageError('no command given');
  if (!(COMMANDS as readonly string[]).includes(name) || extra.length > 0) throw new UsageError(`unknown command "${positionals.join(' ')}"`);
  const command = name as Command;
  const given = Object.keys(values) as OptionName[];
  const foreign = given.filter((option) => !ACCEPTS[command].includes(option));
  if (foreign.length > 0) throw new UsageError(`${command} does not take ${foreign.map((o) => `--${o}`).join(', ')}`);

  const url = values['database-url'] || process.env.DATABASE_URL;
  if (!url) throw new UsageError('--database-url (or DATABASE_URL) is required');
  const table = values.table ?? 'oncely_idempotency';
  const json = values.json ?? false;

  if (command === 'migrate') {
    if (isRedisUrl(url)) throw new UsageError('migrate is for SQL databases only: Redis needs no migration (RedisStore creates its keys as it goes)');
    return migrateCommand({ databaseUrl: url, table, statusOnly: values.status ?? false, json }, io);
  }

  // Parse everything before connecting, so that a usage error never touches the database.
  let run: (target: Target) => Promise<number>;
  if (command === 'inspect') {
    const scope = scopeArgs(values);
    run = (target) => inspectCommand(target, { ...scope, outcome: values.outcome ?? false, json }, io);
  } else if (command === 'release') {
    const scope = scopeArgs(values);
    if (values.revision === '') throw new UsageError('--revision must not be empty');
    if (!values.yes && !io.interactive) throw new UsageError('release changes data: pass --yes (stdin is not a terminal, so it cannot ask)');
    run = (target) => releaseCommand(target, { ...scope, revision: values.revision, yes: values.yes ?? false, json }, io);
  } else {
    const options = {
      batchSize: wholeNumber('batch-size', values['batch-size'], 1000, 1),
      maxBatches: wholeNumber('max-batches', values['max-batches'], Number.MAX_SAFE_INTEGER, 1),
      pauseMs: wholeNumber('pause-ms', values['pause-ms'], 0, 0),
      dryRun: values['dry-run'] ?? false,
      json,
    };
    run = (target) => purgeCommand(target, options, io);
  }
  const target = await openTarget({
    url,
    table,
    prefix: values.prefix ?? 'oncely:',
    buckets: wholeNumber('buckets', values.buckets, 256, 1),
  });
  try {
    return await run(target);
  } finally {
    await target.close();
  }
}

const io = processIo();
main(process.argv.slice(2), io).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof CommandExit) {
      io.err(`oncely: ${error.message}`);
      process.exit(error.code);
    }
    const code = (error as { code?: unknown })?.code;
    if (error instanceof UsageError || (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS'))) {
      io.err(`oncely: ${(error as Error).message}\n\nRun "oncely --help" for the commands, options and exit codes.`);
      process.exit(EXIT.usage);
    }
    io.err(`oncely: ${(error as Error)?.message ?? error}`);
    process.exit(EXIT.failure);
  },
);
