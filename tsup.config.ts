import { defineConfig } from 'tsup';

// One entry per subpath export. Splitting keeps a single copy of the core, so `instanceof
// IdempotencyError` holds across `oncely`, `oncely/prisma`, `oncely/envelop`, ...
export const entries = {
  index: 'src/index.ts',
  prisma: 'src/prisma/index.ts',
  testing: 'src/testing/index.ts',
  envelop: 'src/envelop/index.ts',
  trpc: 'src/trpc/index.ts',
  redis: 'src/redis/index.ts',
};

export default defineConfig({
  entry: entries,
  format: ['esm', 'cjs'],
  dts: true,
  splitting: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  platform: 'node',
  treeshake: true,
});
