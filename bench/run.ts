// npm run bench [-- --quick] [-- --only store,scale,purge,powertools,http]
// Writes bench/results/report.md, charts (SVG) and results.json.
import { parseArgs } from 'node:util';
import type { BackendName } from './lib/backends.js';
import { Report } from './lib/report.js';
import { versusPowertools } from './scenarios/powertools.js';
import { claimAtScale, purgeWhileServing, storeRoundTrips } from './scenarios/store.js';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    backends: { type: 'string' },
    out: { type: 'string', default: 'bench/results' },
  },
});
const quick = values.quick ?? false;
const only = new Set((values.only ?? 'store,scale,purge,powertools,http').split(','));
const backends = (values.backends ?? 'sqlite,postgresql,mariadb,redis').split(',') as BackendName[];
const sizes = quick
  ? { ops: 100, scaleSmall: 1_000, scaleLarge: 20_000, purgeRecords: 20_000, storm: 50 }
  : { ops: 2_000, scaleSmall: 10_000, scaleLarge: 1_000_000, purgeRecords: 1_000_000, storm: 200 };

const report = new Report();
const started = performance.now();
if (only.has('store')) await storeRoundTrips(report, backends, sizes);
if (only.has('http')) {
  const { httpScenarios } = await import('./scenarios/http.js');
  await httpScenarios(report, backends, sizes);
}
if (only.has('powertools')) await versusPowertools(report, sizes.ops);
if (only.has('scale')) await claimAtScale(report, backends, sizes);
if (only.has('purge')) await purgeWhileServing(report, backends, sizes);
const file = report.write(values.out ?? 'bench/results', {
  command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
  quick,
  durationS: (performance.now() - started) / 1000,
});
console.log(`\nreport: ${file}`);
process.exit(0);
