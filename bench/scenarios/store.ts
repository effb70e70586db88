import { randomUUID } from 'node:crypto';
import { Idempotency } from 'oncely';
import { type Backend, type BackendName, openBackend, seed } from '../lib/backends.js';
import type { Report } from '../lib/report.js';
import { type Arm, type Round, armOverRounds, ratioOverRounds, runRound } from '../lib/rounds.js';
import { type Summary, measure, ms, ratioSpread, loadSpread } from '../lib/stats.js';

export interface StoreSizes {
  rounds: number;
  ops: number;
  concurrency: number;
  scaleSmall: number;
  scaleLarge: number;
  purgeRecords: number;
}

const input = { amount: 1250, currency: 'eur', customer: 'cus_123', items: [{ sku: 'coffee', qty: 2 }] };
const result = { id: 'ch_1', amount: 1250, createdAt: new Date(), status: 'succeeded' };
const call = (key: string) => ({ tenant: 'bench', operation: 'createCharge', key, input });

/**
 * Engine + store per call, no HTTP: first execution, replay, replay from the local cache and
 * throughput, in interleaved rounds per store. The stores themselves run one after another, so
 * compare them loosely; the ratios within a store are the measured ones.
 */
export async function storeRoundTrips(report: Report, backends: BackendName[], sizes: StoreSizes) {
  const rows: (string | number)[][] = [];
  const bars: { label: string; value: number }[] = [];
  for (const name of backends) {
    const backend = await openBackend(name);
    try {
      const engine = new Idempotency({ store: backend.store });
      // Sized for the working set: a cyclic scan over more keys than an LRU holds never hits.
      const cached = new Idempotency({ store: backend.store, localCache: { maxEntries: sizes.ops * 2 } });
      const completed = Array.from({ length: sizes.ops }, () => randomUUID());
      await measure(20, 1, (i) => engine.execute(call(`warm-${i}`), () => result));
      for (const key of completed) await engine.execute(call(key), () => result);
      for (const key of completed) await cached.execute(call(key), () => result); // fills the cache
      const arms: Arm<Summary>[] = [
        { name: 'first', run: () => measure(sizes.ops, 1, () => engine.execute(call(randomUUID()), () => result)) },
        { name: 'replay', run: () => measure(sizes.ops, 1, (i) => engine.execute(call(completed[i]!), () => result)) },
        { name: 'cached replay', run: () => measure(sizes.ops, 1, (i) => cached.execute(call(completed[i]!), () => result)) },
        { name: 'throughput', run: () => measure(sizes.ops, sizes.concurrency, () => engine.execute(call(randomUUID()), () => result)) },
      ];
      const rounds: Round<Summary>[] = [];
      for (let r = 0; r < sizes.rounds; r++) rounds.push(await runRound(r, arms));
      const p50 = (arm: string) => armOverRounds(rounds, arm, (s) => s.p50).median;
      const p99 = (arm: string) => armOverRounds(rounds, arm, (s) => s.p99).median;
      const gain = ratioOverRounds(rounds, (res) => res.replay!.p50 / res['cached replay']!.p50);
      rows.push([
        name, ms(p50('first')), ms(p99('first')), ms(p50('replay')), ms(p99('replay')), ms(p50('cached replay')), ratioSpread(gain.ratio),
        Math.round(armOverRounds(rounds, 'first', (s) => s.throughput).median), Math.round(armOverRounds(rounds, 'throughput', (s) => s.throughput).median), loadSpread(gain.load),
      ]);
      bars.push({ label: `${name}: first execution p50`, value: p50('first') }, { label: `${name}: replay p50`, value: p50('replay') });
      report.raw[`store.${name}`] = rounds;
    } finally {
      await backend.close();
    }
  }
  report.add({
    title: 'Store cost per call (engine + store, no HTTP)',
    notes: [
      `Each round runs, in an order rotated per round: ${sizes.ops} sequential first executions (claim + run + complete) with fresh keys; ${sizes.ops} replays of keys completed before the rounds; the same replays served by the local cache; ${sizes.ops} fresh keys at ${sizes.concurrency} in flight. Medians over ${sizes.rounds} rounds; "cache gain" is replay p50 / cached replay p50 within each round: median (min–max).`,
    ],
    header: ['store', 'first p50 ms', 'first p99 ms', 'replay p50 ms', 'replay p99 ms', 'cached replay p50 ms', 'cache gain', 'ops/s (c=1)', `ops/s (c=${sizes.concurrency})`, 'load 1m'],
    rows,
  });
  report.chart('store-latency.svg', 'Engine + store latency, p50 (lower is better)', 'ms', bars);
}

/** Claim latency with few versus many existing records: both tables open at once, measured in alternation. */
export async function claimAtScale(report: Report, backends: BackendName[], sizes: StoreSizes) {
  const rows: (string | number)[][] = [];
  for (const name of backends.filter((b) => b !== 'redis')) {
    const opened: Backend[] = [];
    try {
      const arms: Arm<Summary>[] = [];
      const seedMs: Record<string, number> = {};
      for (const [label, existing] of [['small', sizes.scaleSmall], ['large', sizes.scaleLarge]] as const) {
        const backend = await openBackend(name);
        opened.push(backend);
        const seeded = performance.now();
        await seed(backend, existing, { expired: false });
        seedMs[label] = performance.now() - seeded;
        const engine = new Idempotency({ store: backend.store });
        await measure(50, 1, () => engine.execute(call(randomUUID()), () => result));
        arms.push({ name: label, run: () => measure(sizes.ops, 1, () => engine.execute(call(randomUUID()), () => result)) });
      }
      const rounds: Round<Summary>[] = [];
      for (let r = 0; r < sizes.rounds; r++) rounds.push(await runRound(r, arms));
      const ratio = ratioOverRounds(rounds, (res) => res.large!.p50 / res.small!.p50);
      const med = (arm: string, q: 'p50' | 'p99') => ms(armOverRounds(rounds, arm, (s) => s[q]).median);
      rows.push([name, med('small', 'p50'), med('small', 'p99'), med('large', 'p50'), med('large', 'p99'), ratioSpread(ratio.ratio), loadSpread(ratio.load)]);
      report.figure({ group: name, measure: `claim p50, ${sizes.scaleLarge.toLocaleString('en')} / ${sizes.scaleSmall.toLocaleString('en')} existing records`, unit: 'x', value: ratio.ratio, load: ratio.load });
      report.raw[`scale.${name}`] = { rounds, seedMs };
    } finally {
      for (const b of opened) await b.close();
    }
  }
  report.add({
    title: `Claim latency with ${sizes.scaleSmall.toLocaleString('en')} versus ${sizes.scaleLarge.toLocaleString('en')} existing records`,
    notes: [`Two tables seeded side by side; each round runs ${sizes.ops} sequential first executions (claim + complete, random UUID keys) on each, the order rotated per round. Ratio: large p50 / small p50 within each round, median (min–max) over ${sizes.rounds} rounds.`],
    header: ['store', 'small p50 ms', 'small p99 ms', 'large p50 ms', 'large p99 ms', 'large / small (p50)', 'load 1m'],
    rows,
  });
}

/** Claims while a purge of many expired records runs, bracketed by quiet runs before and after (A B A). */
export async function purgeWhileServing(report: Report, backends: BackendName[], sizes: StoreSizes) {
  const rows: (string | number)[][] = [];
  for (const name of backends.filter((b) => b !== 'redis')) {
    const backend = await openBackend(name);
    try {
      await seed(backend, sizes.purgeRecords, { expired: true });
      const engine = new Idempotency({ store: backend.store });
      const claims = () => measure(sizes.ops, 4, () => engine.execute(call(randomUUID()), () => result));
      await measure(50, 4, () => engine.execute(call(randomUUID()), () => result));
      const before = await claims();
      // The sweeper's defaults: batches of 500 with a 10 ms pause, until nothing is left.
      let purging = true;
      const purgeStarted = performance.now();
      const purge = engine.purgeExpired({ batchSize: 500, pauseMs: 10 }).then((n) => {
        purging = false;
        return { purged: n, purgeMs: performance.now() - purgeStarted };
      });
      let overlapped = 0;
      const during = await measure(sizes.ops, 4, async () => {
        await engine.execute(call(randomUUID()), () => result);
        if (purging) overlapped++;
      });
      const { purged, purgeMs } = await purge;
      const after = await claims();
      const quietP99 = (before.p99 + after.p99) / 2;
      rows.push([
        name,
        ms(before.p99),
        ms(during.p50),
        ms(during.p99),
        ms(after.p99),
        `${(during.p99 / quietP99).toFixed(2)}x`,
        `${purged.toLocaleString('en')} in ${(purgeMs / 1000).toFixed(1)} s`,
        `${Math.round((overlapped / sizes.ops) * 100)} %`,
      ]);
      report.raw[`purge.${name}`] = { before, during, after, purged, purgeMs };
    } finally {
      await backend.close();
    }
  }
  report.add({
    title: `Claims during a purge of ${sizes.purgeRecords.toLocaleString('en')} expired records`,
    notes: [
      `${sizes.ops} claims at concurrency 4 before the purge, ${sizes.ops} while \`engine.purgeExpired({ batchSize: 500, pauseMs: 10 })\` (the sweeper's defaults) deletes the expired records on the same store, and ${sizes.ops} after it (A B A: drift shows as a difference between before and after). "during / quiet" divides by the mean of the before and after p99. Only the claims that ended while the purge ran measure it (last column).`,
    ],
    header: ['store', 'before p99 ms', 'during p50 ms', 'during p99 ms', 'after p99 ms', 'p99 during / quiet', 'purged', 'claims that ended during the purge'],
    rows,
  });
}
