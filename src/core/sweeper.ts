import type { Duration } from './duration.js';
import { toMs } from './duration.js';
import type { Idempotency } from './engine.js';

export interface SweeperOptions {
  /** Time between sweeps. Default "5m". */
  interval?: Duration;
  /** Records per DELETE. Default 500: short statements that never hold locks for long. */
  batchSize?: number;
  /** Batches per sweep at most; the rest waits for the next sweep. Default 20. */
  maxBatchesPerSweep?: number;
  /** Pause between batches in ms, so that claims are never queued behind a purge. Default 10. */
  pauseMs?: number;
  /** Called with each sweep's error (the sweeper keeps going). */
  onError?: (error: unknown) => void;
}

export interface Sweeper {
  /** Runs one sweep now; resolves with the records deleted. */
  sweep(): Promise<number>;
  stop(): void;
}

/**
 * Purges expired records in the background of this process, in bounded batches. Several processes
 * may run one: each DELETE takes only expired rows (PostgreSQL skips rows others have locked).
 */
export function startSweeper(engine: Idempotency, options: SweeperOptions = {}): Sweeper {
  const interval = toMs(options.interval ?? '5m', 'interval');
  let running: Promise<number> | undefined;
  const sweep = () => {
    running ??= engine
      .purgeExpired({ batchSize: options.batchSize ?? 500, maxBatches: options.maxBatchesPerSweep ?? 20, pauseMs: options.pauseMs ?? 10 })
      .finally(() => {
        running = undefined;
      });
    return running;
  };
  const timer = setInterval(() => {
    sweep().catch((error) => options.onError?.(error));
  }, interval);
  timer.unref?.();
  return { sweep, stop: () => clearInterval(timer) };
}
