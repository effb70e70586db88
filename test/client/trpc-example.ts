import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDemoDatabase } from '../../examples/shared/db.js';
import { type TrpcApp, createTrpcApp } from '../../examples/trpc/app.js';
import { listen } from './support.js';

/** The tRPC example on a port of its own, over a fresh SQLite file. */
export async function startTrpcExample(): Promise<{ app: TrpcApp; url: string; close(): Promise<void> }> {
  const database = await openDemoDatabase(`file:${join(tmpdir(), `oncely-client-trpc-${randomUUID()}.db`)}`);
  const app = await createTrpcApp({ database });
  const started = await listen(app.handler);
  return {
    app,
    url: `${started.url}/trpc`,
    close: async () => {
      started.server.close();
      await database.prisma.$disconnect();
    },
  };
}
