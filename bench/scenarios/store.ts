import { randomUUID } from 'node:crypto';
import { Idempotency } from 'oncely';
import { type BackendName, openBackend, seed } from '../lib/backends.js';
import type { Report } from '../lib/report.js';
import { measure, ms, ratio } from '../lib/stats.js';

export interface Sizes {
  ops: number;
  scaleSmall: number;
  scaleLarge: number;
  purgeRecords: number;
}

const input = { amount: 1250, currency: 'eur', customer: 'cus_123', items: [{ sku: 'coffee', qty: 2 }] };
const result = { id: 'ch_1', amount: 1250, createdAt: new Date(), status: 'succeeded' };

/** First execution (claim + complete) and replay, per store, sequentially: pure store cost. */
export async function storeRoundTrips(report: Report, backends: BackendName[], sizes: Sizes) {
  const rows: (string | number)[][] = [];
  const bars: { label: string; value: number }[] = [];
  for (const name of backends) {
    const backend = await openBackend(name);
    try {
      const engine = new Idempotency({ store: backend.store });
      // Sized for the working set: a cyclic scan over more keys than an LRU holds never hits.
      const cached = new Idempotency({ store: backend.store, localCache: { maxEntries: sizes.ops * 2 } });
      const keys = Array.from({ length: sizes.ops }, () => randomUUID());
      const call = (key: string) => ({ tenant: 'bench', operation: 'createCharge', key, input });
      await measure(20, 1, (i) => engine.execute(call(`warm-${i}`), () => result));
      const first = await measure(sizes.ops, 1, (i) => engine.execute(call(keys[i]!), () => result));
      const replay = await measure(sizes.ops, 1, (i) => engine.execute(call(keys[i]!), () => result));
      await measure(sizes.ops, 1, (i) => cached.execute(call(keys[i]!), () => result)); // fills the cache
      const hot = await measure(sizes.ops, 1, (i) => cached.execute(call(keys[i]!), () => result));
      const parallel = await measure(sizes.ops, 32, () => engine.execute(call(randomUUID()), () => result));
      rows.push([name, ms(first.p50), ms(first.p99), ms(replay.p50), ms(replay.p99), ms(hot.p50), ratio(replay.p50, hot.p50), Math.round(first.throughput), Math.round(parallel.throughput)]);
      bars.push({ label: `${name}: first execution p50`, value: first.p50 }, { label: `${name}: replay p50`, value: replay.p50 });
      report.raw[`store.${name}`] = { first, replay, hot, parallel };
    } finally {
      await backend.close();
    }
  }
  report.add({
    title: 'Store cost per call (engine + store, no HTTP)',
    notes: [
      'Sequential calls with unique keys. "first" = claim + run + complete (two statements); "replay" = claim attempt + read; "cached replay" = the same replay served by the local cache (`localCache: true`). Throughput columns: unique keys, concurrency 1 and 32.',
    ],
    header: ['store', 'first p50 ms', 'first p99 ms', 'replay p50 ms', 'replay p99 ms', 'cached replay p50 ms', 'cache gain', 'ops/s (c=1)', 'ops/s (c=32)'],
    rows,
  });
  report.chart('store-latency.svg', 'Engine + store latency, p50 (lower is better)', 'ms', bars);
}

/** Claim latency with few versus many existing records. */
export async function claimAtScale(report: Report, backends: BackendName[], sizes: Sizes) {
  const rows: (string | number)[][] = [];
  for (const name of backends.filter((b) => b !== 'redis')) {
    const results: number[][] = [];
    for (const existing of [sizes.scaleSmall, sizes.scaleLarge]) {
      const backend = await openBackend(name);
      try {
        const seeded = performance.now();
        await seed(backend, existing, { expired: false });
        const seedMs = performance.now() - seeded;
        const engine = new Idempotency({ store: backend.store });
        const call = () => ({ tenant: 'bench', operation: 'createCharge', key: randomUUID(), input });
        await measure(50, 1, () => engine.execute(call(), () => result));
        const s = await measure(sizes.ops, 1, () => engine.execute(call(), () => result));
        results.push([s.p50, s.p99]);
        report.raw[`scale.${name}.${existing}`] = { ...s, seedMs };
      } finally {
        await backend.close();
      }
    }
    const [small, large] = results as [number[], number[]];
    rows.push([name, ms(small[0]!), ms(small[1]!), ms(large[0]!), ms(large[1]!), ratio(large[0]!, small[0]!)]);
  }
  report.add({
    title: `Claim latency with ${sizes.scaleSmall.toLocaleString('en')} versus ${sizes.scaleLarge.toLocaleString('en')} existing records`,
    notes: ['First execution (claim + complete) with random UUID keys, sequential. Target: large within 1.2x of small.'],
    header: ['store', 'small p50 ms', 'small p99 ms', 'large p50 ms', 'large p99 ms', 'large / small (p50)'],
    rows,
  });
}

/** Claims while a purge of many expired records runs, versus without it. */
export async function purgeWhileServing(report: Report, backends: BackendName[], sizes: Sizes) {
  const rows: (string | number)[][] = [];
  for (const name of backends.filter((b) => b !== 'redis')) {
    const backend = await openBackend(name);
    try {
      await seed(backend, sizes.purgeRecords, { expired: true });
      const engine = new Idempotency({ store: backend.store });
      const call = () => ({ tenant: 'bench', operation: 'createCharge', key: randomUUID(), input });
      const quiet = await measure(sizes.ops, 4, () => engine.execute(call(), () => result));
      // The sweeper's defaults: batches of 500 with a 10 ms pause, until nothing is left.
      let purging = true;
      const purgeStarted = performance.now();
      const purge = engine.purgeExpired({ batchSize: 500, pauseMs: 10 }).then((n) => {
        purging = false;
        return { purged: n, purgeMs: performance.now() - purgeStarted };
      });
      let overlapped = 0;
      const during = await measure(sizes.ops, 4, async () => {
        await engine.execute(call(), () => result);
        if (purging) overlapped++;
      });
      const { purged, purgeMs } = await purge;
      rows.push([
        name,
        ms(quiet.p50),
        ms(quiet.p99),
        ms(during.p50),
        ms(during.p99),
        ratio(during.p99, quiet.p99),
        `${purged.toLocaleString('en')} in ${(purgeMs / 1000).toFixed(1)} s`,
        `${Math.round((overlapped / sizes.ops) * 100)} %`,
      ]);
      report.raw[`purge.${name}`] = { quiet, during, purged, purgeMs };
    } finally {
      await backend.close();
    }
  }
  report.add({
    title: `Claims during a purge of ${sizes.purgeRecords.toLocaleString('en')} expired records`,
    notes: ['Claims at concurrency 4 without a purge, then while `engine.purgeExpired({ batchSize: 500, pauseMs: 10 })` (the sweeper\'s defaults) deletes the expired records on the same store.'],
    header: ['store', 'quiet p50 ms', 'quiet p99 ms', 'during p50 ms', 'during p99 ms', 'p99 during / quiet', 'purged', 'claims that ended during the purge'],
    rows,
  });
}
