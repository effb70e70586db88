/**
 * The engine's own CPU per call (process CPU time), before/after, in interleaved rounds (A B B A ...), median of the
 * rounds, with the load average beside. Not a test: run it by hand.
 *
 *   git archive <start commit> src | tar -x -C /tmp/engine-before
 *   BEFORE=/tmp/engine-before/src npx tsx test/core/perf/engine-cpu.ts [rounds] [calls per round]
 *
 * Both trees are bundled with esbuild as the published build is (tsup: no keep-names wrappers, which
 * tsx adds and which cost CPU of their own), then run in this one process. Scenarios, each on a
 * fresh engine per round:
 * - memory first / replay / begin+commit: `new Idempotency({ store: new MemoryStore() })`, execute()
 *   on fresh keys, execute() on the keys just completed, begin() + commit() on fresh keys;
 * - stub first / replay: a store that answers at once without keeping anything (created; or the one
 *   completed record), so only the engine's own work is left;
 * - memory first, wait mode: inProgress 'wait' (local waiters subscribed around each claim).
 * Without BEFORE, only this tree is measured. AFTER=<src dir> measures another tree as 'after'.
 */
import { randomUUID } from 'node:crypto';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const ROUNDS = Number(process.argv[2] ?? 7);
const CALLS = Number(process.argv[3] ?? 20_000);
const here = resolve(import.meta.dirname, '../../../src');

interface Engine {
  execute(call: object, work: () => unknown): Promise<unknown>;
  begin(call: object): Promise<{ replayed: boolean; commit?(outcome: unknown): Promise<unknown> }>;
}
interface Tree {
  Idempotency: new (options: object) => Engine;
  MemoryStore: new () => object;
}

const dir = mkdtempSync(join(tmpdir(), 'oncely-engine-cpu-'));
async function bundle(name: string, src: string): Promise<Tree> {
  const entry = join(dir, `${name}-entry.ts`);
  writeFileSync(entry, `export { Idempotency } from ${JSON.stringify(join(src, 'core/engine.ts'))};\nexport { MemoryStore } from ${JSON.stringify(join(src, 'core/memory-store.ts'))};\n`);
  const outfile = join(dir, `${name}.mjs`);
  await build({ entryPoints: [entry], bundle: true, format: 'esm', platform: 'node', target: 'node20', outfile, logLevel: 'warning' });
  return (await import(pathToFileURL(outfile).href)) as Tree;
}

const trees: Record<string, Tree> = {};
if (process.env.BEFORE) trees.before = await bundle('before', resolve(process.env.BEFORE));
// AFTER=<another src/ directory> measures that tree instead of this one (per-change numbers between two commits).
trees.after = await bundle('after', resolve(process.env.AFTER ?? here));
rmSync(dir, { recursive: true, force: true });

/**
 * Both trees must store the same bytes: the same fingerprint and stored outcome for a spread of
 * inputs and outcomes (a success, a stored 4xx error, values JSON cannot hold), and the same
 * derived key. Checked before anything is timed.
 */
async function sameStoredBytes(a: Tree, b: Tree): Promise<void> {
  const inputs: unknown[] = [
    { key: 'k', amount: 1 },
    { z: [1, { y: new Date(0), x: new Map([[2, 'b'], [1, 'a']]) }], a: new Set([3, 1]), '10': -0, '2': 1n, __proto__x: undefined },
    ['a', null, Number.NaN, new Uint8Array([1, 2, 3]), { $oncely: 'object' }],
  ];
  const outcomes: Array<() => unknown> = [
    () => ({ id: 'ch_1', at: new Date(1), big: 2n, nested: { list: [1, 'two', undefined] } }),
    () => {
      throw Object.assign(new Error('card declined'), { status: 402, code: 'DECLINED', detail: { retry: false } });
    },
  ];
  for (const [i, input] of inputs.entries()) {
    for (const [j, outcome] of outcomes.entries()) {
      const seen = [];
      for (const { Idempotency, MemoryStore } of [a, b]) {
        const store = new MemoryStore() as { get(scope: object): Promise<{ fingerprint: string; response: string | null } | null> };
        const engine = new Idempotency({ store });
        const call = { tenant: 'bench', operation: 'handler', key: `k-${i}-${j}`, input };
        const execution = (await engine.execute(call, outcome)) as { deriveKey(purpose?: string): string };
        const record = await store.get({ tenant: 'bench', operation: 'handler', key: call.key });
        if (!record?.response) throw new Error(`No stored outcome for input ${i}, outcome ${j}.`);
        seen.push(JSON.stringify([record.fingerprint, record.response, execution.deriveKey('charge')]));
      }
      if (seen[0] !== seen[1]) throw new Error(`The trees store different bytes for input ${i}, outcome ${j}:\n${seen.join('\n')}`);
    }
  }
}
if (trees.before) await sameStoredBytes(trees.before, trees.after!);

type Event = { key: string; amount: number };
const handler = async (event: Event) => ({ id: `ch_${event.key.slice(0, 6)}`, amount: event.amount });
const callOf = (key: string) => ({ tenant: 'bench', operation: 'handler', key, input: { key, amount: 1 } });

/** Answers at once and keeps nothing: a claim is always created, or (replay) finds `completed`. */
function stubStore(completed?: object) {
  return {
    create: async () => completed === undefined,
    createOrGet: async () => (completed === undefined ? { created: true } : { created: false, existing: { ...completed } }),
    get: async () => (completed === undefined ? null : { ...completed }),
    takeOver: async () => false,
    renew: async () => true,
    complete: async () => true,
    release: async () => true,
    purgeExpired: async () => 0,
  };
}

/**
 * CPU µs per call of `calls` sequential calls: this process' CPU time (user + system), not the wall
 * clock, so that other work on the machine's 2 cores moves the numbers less.
 */
async function timed(calls: number, run: (i: number) => Promise<unknown>): Promise<number> {
  const started = process.cpuUsage();
  for (let i = 0; i < calls; i++) await run(i);
  const used = process.cpuUsage(started);
  return (used.user + used.system) / calls;
}

type Scenario = (tree: Tree) => Promise<number>;
const keysFor = () => Array.from({ length: CALLS }, () => randomUUID());

const scenarios: Record<string, Scenario> = {
  'memory first': async ({ Idempotency, MemoryStore }) => {
    const engine = new Idempotency({ store: new MemoryStore() });
    const keys = keysFor();
    return timed(CALLS, (i) => engine.execute(callOf(keys[i]!), () => handler({ key: keys[i]!, amount: 1 })));
  },
  'memory replay': async ({ Idempotency, MemoryStore }) => {
    const engine = new Idempotency({ store: new MemoryStore() });
    const keys = keysFor();
    for (const key of keys) await engine.execute(callOf(key), () => handler({ key, amount: 1 }));
    return timed(CALLS, (i) => engine.execute(callOf(keys[i]!), () => handler({ key: keys[i]!, amount: 1 })));
  },
  'memory begin+commit': async ({ Idempotency, MemoryStore }) => {
    const engine = new Idempotency({ store: new MemoryStore() });
    const keys = keysFor();
    return timed(CALLS, async (i) => {
      const begun = await engine.begin(callOf(keys[i]!));
      if (!begun.replayed) await begun.commit!({ ok: true, value: await handler({ key: keys[i]!, amount: 1 }) });
    });
  },
  'memory first, wait mode': async ({ Idempotency, MemoryStore }) => {
    const engine = new Idempotency({ store: new MemoryStore(), inProgress: 'wait' });
    const keys = keysFor();
    return timed(CALLS, (i) => engine.execute(callOf(keys[i]!), () => handler({ key: keys[i]!, amount: 1 })));
  },
  'stub first': async ({ Idempotency }) => {
    const engine = new Idempotency({ store: stubStore() });
    const keys = keysFor();
    return timed(CALLS, (i) => engine.execute(callOf(keys[i]!), () => handler({ key: keys[i]!, amount: 1 })));
  },
  'stub replay': async ({ Idempotency, MemoryStore }) => {
    // The completed record as the tree's own engine stores it.
    const memory = new MemoryStore() as { get(scope: object): Promise<object | null> };
    const key = randomUUID();
    await new Idempotency({ store: memory }).execute(callOf(key), () => handler({ key, amount: 1 }));
    const record = await memory.get({ tenant: 'bench', operation: 'handler', key });
    const engine = new Idempotency({ store: stubStore(record!) });
    return timed(CALLS, () => engine.execute(callOf(key), () => handler({ key, amount: 1 })));
  },
};

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const names = Object.keys(trees);
const loads: number[] = [loadavg()[0]!];
const results: Record<string, Record<string, number[]>> = {};
for (const scenario of Object.keys(scenarios)) {
  results[scenario] = Object.fromEntries(names.map((n) => [n, []]));
  for (const name of names) await scenarios[scenario]!(trees[name]!); // warm-up
}
for (let round = 0; round < ROUNDS; round++) {
  const order = round % 2 === 0 ? names : [...names].reverse();
  for (const scenario of Object.keys(scenarios)) {
    for (const name of order) results[scenario]![name]!.push(await scenarios[scenario]!(trees[name]!));
  }
  loads.push(loadavg()[0]!);
}

console.log(`${ROUNDS} interleaved rounds of ${CALLS} sequential calls; load average (1 min) ${median(loads).toFixed(2)} (${Math.min(...loads).toFixed(2)}-${Math.max(...loads).toFixed(2)}) on 2 cores`);
// The minimum too: on a shared machine the least disturbed round is the closest to the code's own cost.
for (const [title, pick] of [['median', median], ['min', (xs: number[]) => Math.min(...xs)]] as const) {
  console.log(`${`CPU µs per call, ${title}`.padEnd(26)}${names.map((n) => n.padStart(10)).join('')}${names.length > 1 ? '   after/before' : ''}`);
  for (const scenario of Object.keys(scenarios)) {
    const values = names.map((n) => pick(results[scenario]![n]!));
    const ratio = names.length > 1 ? `   ${(values[1]! / values[0]!).toFixed(2)}x` : '';
    console.log(`${scenario.padEnd(26)}${values.map((m) => m.toFixed(2).padStart(10)).join('')}${ratio}`);
  }
}
