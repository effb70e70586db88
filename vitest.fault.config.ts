import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';

const require = createRequire(import.meta.url);

/**
 * The fault suite (test/fault): real server processes killed mid-request, database connections cut,
 * databases stopped and restarted (throwaway servers of the tests' own, never the machine's), soaks.
 * It runs after the main suite (see the `test` script), one file at a time: the soaks and crash
 * tests load the machine's databases and time leases. Run it alone with `npm run test:fault`
 * (after `npm run build`: the servers use the built package).
 */
export default defineConfig({
  resolve: {
    alias: [{ find: /^graphql$/, replacement: require.resolve('graphql') }],
  },
  test: {
    include: ['test/fault/**/*.test.ts'],
    // The guard first: it records the machine's database servers before anything runs and fails the
    // run if they were stopped, restarted or reconfigured by the end.
    globalSetup: ['test/support/machine-servers-guard.ts', 'test/support/global-setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // CI collects a JSON report of every run to print one closing count (see .ci/run).
    ...(process.env.ONCELY_TEST_REPORT_DIR
      ? { reporters: ['default', 'json'], outputFile: { json: `${process.env.ONCELY_TEST_REPORT_DIR}/fault-node${process.versions.node}.json` } }
      : {}),
    fileParallelism: false,
  },
});
