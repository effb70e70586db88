import { readFileSync } from 'node:fs';
import { defineConfig } from 'tsup';

const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { peerDependencies: Record<string, string> };

// One entry per subpath export. Splitting keeps a single copy of the core, so `instanceof
// IdempotencyError` holds across `oncely`, `oncely/prisma`, `oncely/envelop`, ...
export const entries = {
  index: 'src/index.ts',
  prisma: 'src/prisma/index.ts',
  testing: 'src/testing/index.ts',
  envelop: 'src/envelop/index.ts',
  trpc: 'src/trpc/index.ts',
  redis: 'src/redis/index.ts',
  client: 'src/client/index.ts',
  'client-apollo': 'src/client/apollo.ts',
  'client-urql': 'src/client/urql.ts',
  'client-tanstack-query': 'src/client/tanstack-query.ts',
  'client-react-query': 'src/client/react-query.ts',
  'client-trpc': 'src/client/trpc.ts',
  otel: 'src/otel/index.ts',
  http: 'src/http/index.ts',
  hono: 'src/hono/index.ts',
  express: 'src/express/index.ts',
};

export default defineConfig([{
  entry: entries,
  format: ['esm', 'cjs'],
  dts: true,
  splitting: true,
  sourcemap: true,
  clean: false, // the build script empties dist first: two configs write into it
  target: 'node20',
  platform: 'node',
  // Keep `node:crypto` as written: Deno and workerd resolve only the prefixed form in a user's own bundle.
  removeNodeProtocol: false,
  treeshake: true,
  // Frameworks and clients are the user's (peer dependencies): never bundled, subpaths included.
  external: Object.keys(pkg.peerDependencies).flatMap((name) => [name, new RegExp(`^${name}/`)]),
},
{
  // The CLI: ESM only, with its shebang kept by tsup.
  entry: { cli: 'src/cli/index.ts' },
  format: ['esm'],
  target: 'node20',
  platform: 'node',
  // Keep `node:crypto` as written: Deno and workerd resolve only the prefixed form in a user's own bundle.
  removeNodeProtocol: false,
  sourcemap: true,
  external: Object.keys(pkg.peerDependencies).flatMap((name) => [name, new RegExp(`^${name}/`)]),
}]);
