import { purgeInBatches } from '../core/purge.js';
import { PrismaStore } from '../prisma/store.js';
import { connect } from './sql-client.js';

export interface PurgeCommand {
  databaseUrl: string;
  table: string;
  batchSize: number;
  maxBatches: number;
  /** Pause between batches, so that claims are never starved by a long purge. */
  pauseMs: number;
  dryRun: boolean;
  log: (line: string) => void;
}

/** Deletes expired records in batches through the expiry index; returns how many. */
export async function purge(command: PurgeCommand): Promise<number> {
  const connection = await connect(command.databaseUrl);
  try {
    const store = new PrismaStore({ client: connection, provider: connection.provider, table: command.table });
    const now = Date.now();
    if (command.dryRun) {
      const count = await store.countExpired(now);
      command.log(`dry run: ${count} expired record(s) in ${command.table} would be deleted`);
      return count;
    }
    const started = performance.now();
    // The purge's "now" stays fixed: records expiring while it runs wait for the next one.
    const { deleted, batches } = await purgeInBatches(store, () => now, command);
    command.log(`deleted ${deleted} expired record(s) from ${command.table} in ${batches} batch(es), ${Math.round(performance.now() - started)} ms`);
    return deleted;
  } finally {
    await connection.close();
  }
}
