/** Latency samples in milliseconds, summarized. */
export interface Summary {
  n: number;
  p50: number;
  p99: number;
  mean: number;
  /** Operations per second over the measured wall time. */
  throughput: number;
}

export function summarize(samples: number[], wallMs: number): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
  const mean = sorted.reduce((s, v) => s + v, 0) / Math.max(1, sorted.length);
  return { n: sorted.length, p50: at(0.5), p99: at(0.99), mean, throughput: (sorted.length / wallMs) * 1000 };
}

/** Runs `op` `count` times with `concurrency` in flight; returns the latency summary. */
export async function measure(count: number, concurrency: number, op: (i: number) => Promise<unknown>): Promise<Summary> {
  const samples: number[] = [];
  let next = 0;
  const started = performance.now();
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= count) return;
      const t = performance.now();
      await op(i);
      samples.push(performance.now() - t);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return summarize(samples, performance.now() - started);
}

export const ms = (v: number) => (Number.isFinite(v) ? v.toFixed(v < 10 ? 2 : 1) : 'n/a');
export const ratio = (a: number, b: number) => (Number.isFinite(a / b) ? `${(a / b).toFixed(2)}x` : 'n/a');

/** Median and range of a few values (ratios over rounds, load averages). */
export interface Spread {
  median: number;
  min: number;
  max: number;
  values: number[];
}

export function spread(values: number[]): Spread {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length === 0 ? Number.NaN : sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median, min: sorted[0] ?? Number.NaN, max: sorted.at(-1) ?? Number.NaN, values };
}

/** "0.82x (0.78–0.90)": a median ratio and its range over the rounds. */
export const ratioSpread = (s: Spread) => `${fixed(s.median)}x (${fixed(s.min)}–${fixed(s.max)})`;
/** "1.23 (0.90–1.60)": the one-minute load average over the rounds. */
export const loadSpread = (s: Spread) => `${s.median.toFixed(2)} (${s.min.toFixed(2)}–${s.max.toFixed(2)})`;
const fixed = (v: number) => (Number.isFinite(v) ? v.toFixed(2) : 'n/a');
