// The fake payment provider on its own (Bun): what server.ts talks to when PROVIDER_URL is set.
// Running it apart keeps its counts when the shop's process is killed.
//
//   PROVIDER_PORT=4000 npx bun examples/hono-bun/provider-server.ts
import { bun } from './bun.ts';
import { createProvider } from './provider.ts';

const server = bun().serve({ hostname: '127.0.0.1', port: Number(process.env.PROVIDER_PORT ?? 4000), fetch: createProvider() });
console.log(`provider listening on http://${server.hostname}:${server.port}`);
