/**
 * Overhead of openTelemetry() when no SDK is registered (the API's no-op provider): the engine on
 * MemoryStore without telemetry (A) against the same engine with it (B), in interleaved rounds
 * (A B, then B A, ...). Each round times every call of a fixed workload (first executions of new
 * keys, then replays of them) and takes the p50; the ratio B/A is reported per round, with its
 * median and range, and the load average before and after.
 *
 *   npx tsx test/otel/perf/overhead.ts [rounds=7] [callsPerRound=4000]
 */
import { loadavg } from 'node:os';
import { Idempotency, MemoryStore } from '../../../src/index.js';
import { openTelemetry } from '../../../src/otel/index.js';

const rounds = Number(process.argv[2] ?? 7);
const calls = Number(process.argv[3] ?? 4000);
if (!(rounds >= 3 && calls >= 100)) throw new Error('usage: overhead.ts [rounds >= 3] [callsPerRound >= 100]');

type Variant = 'plain' | 'otel';
let run = 0;

async function round(variant: Variant): Promise<{ first: number; replay: number }> {
  const store = new MemoryStore();
  const engine = new Idempotency({ store, ...(variant === 'otel' ? { telemetry: openTelemetry() } : {}) });
  const prefix = `r${++run}-`;
  const first: number[] = [];
  const replay: number[] = [];
  for (let i = 0; i < calls; i++) {
    const started = performance.now();
    await engine.execute({ tenant: 'acme', operation: 'pay', key: `${prefix}${i}`, input: { amount: i } }, () => i);
    first.push(performance.now() - started);
  }
  for (let i = 0; i < calls; i++) {
    const started = performance.now();
    await engine.execute({ tenant: 'acme', operation: 'pay', key: `${prefix}${i}`, input: { amount: i } }, () => i);
    replay.push(performance.now() - started);
  }
  return { first: median(first), replay: median(replay) };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');
const loadBefore = load();
// Warm-up: JIT both paths before measuring.
await round('plain');
await round('otel');

const ratios = { first: [] as number[], replay: [] as number[] };
const rows: string[] = [];
for (let r = 0; r < rounds; r++) {
  const order: Variant[] = r % 2 === 0 ? ['plain', 'otel'] : ['otel', 'plain'];
  const result = {} as Record<Variant, { first: number; replay: number }>;
  for (const variant of order) result[variant] = await round(variant);
  ratios.first.push(result.otel.first / result.plain.first);
  ratios.replay.push(result.otel.replay / result.plain.replay);
  rows.push(
    `round ${r + 1} (${order.join(' ')}): first p50 ${us(result.plain.first)} vs ${us(result.otel.first)} µs (x${ratios.first.at(-1)!.toFixed(3)}), ` +
      `replay p50 ${us(result.plain.replay)} vs ${us(result.otel.replay)} µs (x${ratios.replay.at(-1)!.toFixed(3)})`,
  );
}
function us(ms: number): string {
  return (ms * 1000).toFixed(1);
}

console.log(`openTelemetry() with the no-op provider vs no telemetry, MemoryStore, ${rounds} interleaved rounds of ${calls} first executions + ${calls} replays`);
console.log(`node ${process.version}, load average before: ${loadBefore}`);
for (const row of rows) console.log(row);
for (const kind of ['first', 'replay'] as const) {
  const values = ratios[kind];
  const overhead = (median(values) - 1) * 100;
  console.log(`${kind}: median p50 ratio x${median(values).toFixed(3)} (${overhead >= 0 ? '+' : ''}${overhead.toFixed(1)} %), range x${Math.min(...values).toFixed(3)} .. x${Math.max(...values).toFixed(3)}`);
}
console.log(`load average after: ${load()} (2 cores, shared)`);
