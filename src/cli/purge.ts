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
    let total = 0;
    let batches = 0;
    while (batches < command.maxBatches) {
      const deleted = await store.purgeExpired(now, command.batchSize);
      total += deleted;
      batches++;
      if (deleted < command.batchSize) break;
      if (command.pauseMs > 0) await new Promise((r) => setTimeout(r, command.pauseMs));
    }
    command.log(`deleted ${total} expired record(s) from ${command.table} in ${batches} batch(es), ${Math.round(performance.now() - started)} ms`);
    return total;
  } finally {
    await connection.close();
  }
}
