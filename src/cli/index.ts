#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { purge } from './purge.js';

const USAGE = `Usage: oncely purge [options]

Deletes expired idempotency records in bounded batches through the expiry index.

Options:
  --database-url URL   postgresql://, mysql://, mariadb:// or file: (SQLite). Default: $DATABASE_URL
  --table NAME         table name (default oncely_idempotency)
  --batch-size N       records per DELETE (default 1000)
  --max-batches N      stop after N batches (default: until none is left)
  --pause-ms N         pause between batches in ms (default 0)
  --dry-run            only count what would be deleted
  -h, --help           this text
`;

function positiveInt(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < (name === 'pause-ms' ? 0 : 1)) throw new UsageError(`--${name} must be a whole number${name === 'pause-ms' ? '' : ' above 0'}, got "${value}"`);
  return n;
}

class UsageError extends Error {}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      'database-url': { type: 'string' },
      table: { type: 'string' },
      'batch-size': { type: 'string' },
      'max-batches': { type: 'string' },
      'pause-ms': { type: 'string' },
      'dry-run': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (positionals[0] !== 'purge' || positionals.length > 1) throw new UsageError(positionals.length ? `unknown command "${positionals.join(' ')}"` : 'no command given');
  const databaseUrl = values['database-url'] ?? process.env.DATABASE_URL;
  if (!databaseUrl) throw new UsageError('--database-url (or DATABASE_URL) is required');
  const table = values.table ?? 'oncely_idempotency';
  await purge({
    databaseUrl,
    table,
    batchSize: positiveInt('batch-size', values['batch-size'], 1000),
    maxBatches: positiveInt('max-batches', values['max-batches'], Number.MAX_SAFE_INTEGER),
    pauseMs: positiveInt('pause-ms', values['pause-ms'], 0),
    dryRun: values['dry-run'] ?? false,
    log: (line) => process.stdout.write(`${line}\n`),
  });
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof UsageError || (error as { code?: string })?.code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`oncely: ${(error as Error).message}\n\n${USAGE}`);
      process.exit(2);
    }
    process.stderr.write(`oncely: ${(error as Error)?.message ?? error}\n`);
    process.exit(1);
  },
);
