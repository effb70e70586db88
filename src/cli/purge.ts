import { purgeInBatches } from '../core/purge.js';
import type { IdempotencyStore } from '../core/store.js';
import type { CommandIo } from './io.js';
import type { Target } from './target.js';
import { EXIT, UsageError } from './usage.js';

export interface PurgeCommand {
  batchSize: number;
  maxBatches: number;
  /** Pause between batches, so that claims are never starved by a long purge. */
  pauseMs: number;
  dryRun: boolean;
  json: boolean;
}

/** What a purge did; also its --json output. */
export interface PurgeReport {
  dryRun: boolean;
  /** Deleted (dry run: would be deleted). */
  deleted: number;
  batches: number;
  /** False when --max-batches stopped it early. */
  drained: boolean;
  /** Expired records left after an early stop; null when the store cannot count them (Redis). */
  left: number | null;
  durationMs: number;
}

/** oncely purge: deletes expired records in batches through the expiry index. */
export async function purgeCommand(target: Target, command: PurgeCommand, io: CommandIo): Promise<number> {
  // The purge's "now" stays fixed: records expiring while it runs wait for the next one.
  const now = Date.now();
  const started = performance.now();
  const report = (fields: Omit<PurgeReport, 'durationMs'>): PurgeReport => ({ ...fields, durationMs: Math.round(performance.now() - started) });
  if (command.dryRun) {
    if (!target.countExpired) throw new UsageError(`--dry-run needs a count of expired records, which ${target.where} cannot give; run without it`);
    const count = await target.countExpired(now);
    const result = report({ dryRun: true, deleted: count, batches: 0, drained: true, left: count });
    if (command.json) io.out(JSON.stringify(result));
    else io.out(`dry run: ${count} expired record(s) in ${target.where} would be deleted`);
    return EXIT.ok;
  }
  let total = 0;
  let batches = 0;
  const observed: IdempotencyStore = Object.create(target.store, {
    purgeExpired: {
      value: async (at: number, limit: number) => {
        const count = await target.store.purgeExpired(at, limit);
        total += count;
        batches++;
        io.progress?.(`purging ${target.where}: ${total} deleted in ${batches} batch(es)`);
        return count;
      },
    },
  });
  let result: PurgeReport;
  try {
    const { deleted, drained } = await purgeInBatches(observed, () => now, command);
    const left = drained ? 0 : ((await target.countExpired?.(now)) ?? null);
    result = report({ dryRun: false, deleted, batches, drained, left });
  } finally {
    if (io.progress && batches > 0) io.err('');
  }
  if (command.json) io.out(JSON.stringify(result));
  else {
    io.out(`deleted ${result.deleted} expired record(s) from ${target.where} in ${result.batches} batch(es), ${result.durationMs} ms`);
    if (!result.drained) io.out(`stopped after --max-batches ${command.maxBatches}: ${result.left === null ? 'more may be' : result.left} left`);
  }
  return EXIT.ok;
}
