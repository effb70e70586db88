import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';

const require = createRequire(import.meta.url);

export default defineConfig({
  resolve: {
    // One graphql for everything: Yoga, loaded by Node, requires the CommonJS build; without this
    // alias, src/ (loaded by Vite) would get the ESM build, a second graphql whose GraphQLErrors
    // Yoga does not recognise.
    alias: [{ find: /^graphql$/, replacement: require.resolve('graphql') }],
  },
  test: {
    include: ['test/**/*.test.ts'],
    // The fault suite stops databases and kills servers: it runs alone, after this one (vitest.fault.config.ts).
    exclude: ['**/node_modules/**', 'test/fault/**'],
    // The guard first: it fails the run if the machine's database servers were touched (see the file).
    globalSetup: ['test/support/machine-servers-guard.ts', 'test/support/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // One module cache per worker instead of per file: every file imported graphql, Yoga, tRPC and
    // the Prisma clients anew (35 s of the run's CPU on 2 cores; measured 74 s -> 51 s wall). The
    // files keep no module state between them: no vi.mock, fake timers always restored.
    isolate: false,
    // The tests mostly wait on databases and sockets: three files at a time on two cores cut the
    // wall time by a third (measured 161 s -> ~100 s); more made timing-bound tests flaky.
    maxWorkers: 3,
    // CI collects a JSON report of every run to print one closing count (see .ci/run).
    ...(process.env.ONCELY_TEST_REPORT_DIR
      ? { reporters: ['default', 'json'], outputFile: { json: `${process.env.ONCELY_TEST_REPORT_DIR}/main-node${process.versions.node}.json` } }
      : {}),
  },
});
