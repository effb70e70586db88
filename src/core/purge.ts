import type { IdempotencyStore } from './store.js';

export interface PurgeOptions {
  /** Records per DELETE. Default 1000. */
  batchSize?: number;
  /** Batches at most. Default unlimited. */
  maxBatches?: number;
  /** Pause between batches in ms, so that claims are not queued behind a purge (SQLite has one writer). Default 0. */
  pauseMs?: number;
}

export interface PurgeResult {
  deleted: number;
  batches: number;
  /** False when maxBatches stopped the purge with expired records possibly left. */
  drained: boolean;
}

/**
 * The one batch-purge loop (engine, sweeper and CLI): short DELETEs through the expiry index until
 * a batch comes back short or `maxBatches` ran.
 */
export async function purgeInBatches(store: IdempotencyStore, now: () => number, options: PurgeOptions = {}): Promise<PurgeResult> {
  const batchSize = options.batchSize ?? 1000;
  const maxBatches = options.maxBatches ?? Number.POSITIVE_INFINITY;
  let deleted = 0;
  let batches = 0;
  while (batches < maxBatches) {
    const count = await store.purgeExpired(now(), batchSize);
    deleted += count;
    batches++;
    if (count < batchSize) return { deleted, batches, drained: true };
    if (options.pauseMs) await new Promise((resolve) => setTimeout(resolve, options.pauseMs));
  }
  return { deleted, batches, drained: false };
}
