// Runs a Worker in workerd through Miniflare (the local runtime wrangler uses) with a D1 database
// bound as DB and oncely's tables created in it. Used by `dev.ts` and by test/workers.
import type { D1Database } from '@cloudflare/workers-types';
import type { Plugin } from 'esbuild';
import { Log, LogLevel, Miniflare } from 'miniflare';
import { bundleWorker } from './bundle.ts';
import { applyWorkerMigrations } from './d1-migrations.ts';

export interface RunningWorker {
  /** Where the Worker answers over HTTP, e.g. http://127.0.0.1:41234 */
  url: URL;
  db: D1Database;
  miniflare: Miniflare;
  dispose(): Promise<void>;
}

export interface StartOptions {
  /** The Worker module (TypeScript, bundled here). */
  entry: string;
  port?: number;
  /** More esbuild plugins for the bundle. */
  plugins?: Plugin[];
  /** workerd's log level; default warnings and errors. */
  logLevel?: LogLevel;
}

export async function startWorker(options: StartOptions): Promise<RunningWorker> {
  const modules = await bundleWorker(options.entry, options.plugins);
  const miniflare = new Miniflare({
    modules,
    // Prisma's edge client and oncely's core use node:crypto and node:buffer, which workerd
    // provides under nodejs_compat.
    compatibilityDate: '2026-04-01',
    compatibilityFlags: ['nodejs_compat', 'enable_request_signal'],
    d1Databases: { DB: 'oncely-worker-example' },
    // No request.cf: Miniflare would fetch it from Cloudflare, and nothing here reads it.
    cf: false,
    // In memory: every start begins with an empty database.
    d1Persist: false,
    host: '127.0.0.1',
    port: options.port ?? 0,
    log: new Log(options.logLevel ?? LogLevel.WARN),
  });
  try {
    const url = await miniflare.ready;
    const db = (await miniflare.getD1Database('DB')) as unknown as D1Database;
    await applyWorkerMigrations(db);
    return { url, db, miniflare, dispose: () => miniflare.dispose() };
  } catch (error) {
    await miniflare.dispose();
    throw error;
  }
}
