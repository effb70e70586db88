// npm run bench [-- --quick] [-- --check] [-- --only http,fetch,statements,powertools,store,scale,purge]
//               [-- --http-backends postgresql,sqlite,mariadb] [-- --backends sqlite,postgresql,mariadb,redis]
//               [-- --rounds 5] [-- --out bench/results]
// Writes report.md, results.json and SVG charts; --check exits 1 when a figure misses its target.
import { parseArgs } from 'node:util';
import { runBench } from './bench.js';
import { type BenchConfig, FULL, QUICK, SCENARIOS, type Scenario } from './config.js';
import type { BackendName, SqlBackendName } from './lib/backends.js';
import { describeTarget } from './lib/targets.js';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    check: { type: 'boolean', default: false },
    only: { type: 'string' },
    'http-backends': { type: 'string' },
    backends: { type: 'string' },
    rounds: { type: 'string' },
    out: { type: 'string', default: 'bench/results' },
  },
});

function list<T extends string>(value: string | undefined, allowed: readonly T[], what: string): T[] | undefined {
  if (value === undefined) return undefined;
  const items = value.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = items.filter((i) => !allowed.includes(i as T));
  if (unknown.length > 0 || items.length === 0) throw new Error(`--${what}: expected a comma-separated list of ${allowed.join(', ')}; got "${value}"`);
  return items as T[];
}

const base = values.quick ? QUICK : FULL;
const rounds = values.rounds === undefined ? undefined : Number(values.rounds);
if (rounds !== undefined && (!Number.isInteger(rounds) || rounds < 3)) throw new Error(`--rounds: an integer of at least 3; got "${values.rounds}"`);
const config: BenchConfig = {
  ...base,
  scenarios: list<Scenario>(values.only, SCENARIOS, 'only') ?? base.scenarios,
  httpBackends: list<SqlBackendName>(values['http-backends'], ['postgresql', 'sqlite', 'mariadb'], 'http-backends') ?? base.httpBackends,
  storeBackends: list<BackendName>(values.backends, ['sqlite', 'postgresql', 'mariadb', 'redis'], 'backends') ?? base.storeBackends,
  ...(rounds ? { http: { ...base.http, rounds }, powertools: { ...base.powertools, rounds }, store: { ...base.store, rounds } } : {}),
};
const command = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
const { report, file } = await runBench(config, { out: values.out ?? 'bench/results', command, quick: values.quick ?? false });
report.print(report.summary());
console.log(`\nreport: ${file}`);
const misses = report.misses();
if (values.check && misses.length > 0) {
  console.error(`\n--check: ${misses.length} figure(s) miss their target:`);
  for (const f of misses) console.error(`  ${f.group}: ${f.measure} = ${f.value.median.toFixed(2)} (target ${describeTarget(f)})`);
  process.exit(1);
}
process.exit(0);
