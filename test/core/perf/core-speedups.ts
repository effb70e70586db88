/**
 * Before/after numbers for the core speed-ups, in interleaved rounds (A B A B ...), median of the
 * rounds. Not a test: run it by hand on an idle machine.
 *
 *   npx tsx test/core/perf/core-speedups.ts [rounds]
 *
 * "before" is the encoding oracle (test/core/support/encoding-oracle.ts) and, for wait mode, the
 * engine of a checkout of the previous commit: ONCELY_BEFORE=/path/to/checkout/src/index.ts
 * (e.g. `git archive 63b33c2 src | tar -x -C /tmp/oncely-before` plus a node_modules symlink).
 * Without it, wait mode is measured on this tree only.
 */
import { createHash, randomUUID } from 'node:crypto';
import { PrismaLibSql } from '@prisma/adapter-libsql';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rmSync } from 'node:fs';
import { PrismaClient as SqliteClient } from '../../../generated/sqlite/client.js';
import { canonicalJson, encode } from '../../../src/core/encoding.js';
import { Idempotency, MemoryStore, type IdempotencyStore } from '../../../src/index.js';
import { PrismaStore, applyMigration } from '../../../src/prisma/index.js';
import * as oracle from '../support/encoding-oracle.js';

const ROUNDS = Number(process.argv[2] ?? 7);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

/** Runs each variant once per round, in alternating order, and prints the median ms of each. */
async function compare(title: string, variants: Record<string, () => unknown | Promise<unknown>>): Promise<void> {
  const names = Object.keys(variants);
  const times: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (const name of names) await variants[name]!(); // warm-up
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? names : [...names].reverse();
    for (const name of order) {
      const started = performance.now();
      await variants[name]!();
      times[name]!.push(performance.now() - started);
    }
  }
  console.log(`\n${title} (median of ${ROUNDS}, ms)`);
  for (const name of names) console.log(`  ${name.padEnd(44)} ${median(times[name]!).toFixed(2).padStart(9)}   [${times[name]!.map((t) => t.toFixed(1)).join(' ')}]`);
}

const sha = (text: string) => createHash('sha256').update(text).digest('hex');

async function fingerprints() {
  const objects = Array.from({ length: 20_000 }, (_, i) => ({ id: i, name: `item ${i}`, tags: ['a', 'b'], price: i * 1.5 }));
  const set = new Set(objects);
  if (sha(canonicalJson(set)) !== sha(oracle.canonicalJson(set))) throw new Error('outputs differ');
  await compare('fingerprint of 20k objects', {
    'Set, before (stringify per comparison)': () => sha(oracle.canonicalJson(set)),
    'Set, after (stringify once, then sort)': () => sha(canonicalJson(set)),
    'Array of the same objects, after': () => sha(canonicalJson(objects)),
  });
}

async function bytes() {
  const mib = new Uint8Array(1 << 20).map((_, i) => (i * 131 + 17) & 0xff);
  await compare('encode 1 MiB Uint8Array (tagged JSON text)', {
    'before (byte-by-byte string, btoa)': () => JSON.stringify(oracle.encode(mib)),
    'after (Buffer)': () => JSON.stringify(encode(mib)),
    'after, Web path (chunked fromCharCode, btoa)': async () => (await import('../../../src/core/encoding.js')).bytesToBase64Web(mib),
  });
}

type EngineClass = typeof Idempotency;

/** 200 concurrent wait-mode calls on one key, or on 200 keys; the work takes `workMs`. */
function burst(Engine: EngineClass, store: IdempotencyStore, sameKey: boolean, workMs: number) {
  return async () => {
    const engine = new Engine({ store, inProgress: 'wait' });
    const shared = randomUUID();
    let runs = 0;
    await Promise.all(
      Array.from({ length: 200 }, () =>
        engine.execute({ tenant: 't', operation: 'op', key: sameKey ? shared : randomUUID(), input: 1 }, async () => {
          runs++;
          await new Promise((resolve) => setTimeout(resolve, workMs));
          return 'done';
        }),
      ),
    );
    if (runs !== (sameKey ? 1 : 200)) throw new Error(`work ran ${runs} times`);
  };
}

async function waitMode() {
  const before = process.env.ONCELY_BEFORE ? ((await import(process.env.ONCELY_BEFORE)) as { Idempotency: EngineClass }).Idempotency : undefined;
  const file = join(tmpdir(), `oncely-perf-${randomUUID()}.db`);
  const client = new SqliteClient({ adapter: new PrismaLibSql({ url: `file:${file}` }) });
  try {
    await applyMigration(client as never, 'sqlite', { table: 'oncely_perf', dropExisting: true });
    const stores: [string, IdempotencyStore][] = [
      ['MemoryStore', new MemoryStore()],
      ['SQLite PrismaStore', new PrismaStore({ client, table: 'oncely_perf' })],
    ];
    for (const [name, store] of stores) {
      for (const workMs of [0, 20]) {
        const variants: Record<string, () => Promise<void>> = {
          '200 distinct keys': burst(Idempotency, store, false, workMs),
          '200 same key, after (woken in-process)': burst(Idempotency, store, true, workMs),
        };
        if (before) variants['200 same key, before (poll 10..250 ms)'] = burst(before, store, true, workMs);
        await compare(`wait mode on ${name}, work ${workMs} ms`, variants);
      }
    }
  } finally {
    await client.$disconnect();
    for (const suffix of ['', '-wal', '-shm', '-journal']) rmSync(file + suffix, { force: true });
  }
}

await fingerprints();
await bytes();
await waitMode();
