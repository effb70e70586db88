/**
 * Entry for the runtimes with a process (Node, Bun, Deno): runs the specs bundled before it and
 * prints one line, REPORT_PREFIX + JSON, for scripts/runtime-specs.mjs; then exits, so that a
 * timer left behind cannot keep the process alive.
 */
import { runSpecs, runtimeInfo, type SpecReport } from '../harness.js';

export const REPORT_PREFIX = 'ONCELY_RUNTIME_REPORT ';

const report: SpecReport = { ...runtimeInfo(), results: await runSpecs() };
console.log(REPORT_PREFIX + JSON.stringify(report));

const g = globalThis as { process?: { exit(code: number): never }; Deno?: { exit(code: number): never } };
if (g.Deno) g.Deno.exit(0);
else g.process?.exit(0);
