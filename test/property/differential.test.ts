/**
 * Differential property test (issue 11, "close the classes, not only the cases").
 *
 * fast-check generates scripts of engine calls over adversarial scopes and payloads (tenants and
 * operations differing only by padding, case, normalization, NUL, lone surrogates, or equal to the
 * stored form of a long name; GLOBAL_TENANT; keys differing by case, 255 characters; payloads with
 * own `__proto__`/`constructor`/`prototype` keys, Dates, BigInts, Maps, Sets, -0, NaN, undefined)
 * and behaviours (values, stored 4xx errors, released crashes, nested in-flight duplicates, held
 * claims overtaken after their lease, clock jumps past lease and retention, purges). Each script
 * runs on a fresh engine over MemoryStore (the model) and over the store under test; the traces
 * (executions, replayed/stored/fence, error codes, exact values) must be identical, and both must
 * match an ideal layer keyed by the raw (tenant, operation, key) triple (see support/script.ts).
 *
 * Seeds: a fixed one, and a random one printed at start. Replay a failure of the random run with
 * ONCELY_PROPERTY_SEED=<seed>; more runs with ONCELY_PROPERTY_RUNS=<n> (default 25 per seed).
 */
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import type { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/core/memory-store.js';
import type { IdempotencyStore } from '../../src/core/store.js';
import { RedisStore } from '../../src/redis/index.js';
import { type PrismaLike, freshStore, testDatabases } from '../support/databases.js';
import { deletePrefix, localRedis, localRedisAvailable, uniquePrefix } from '../redis/support/redis.js';
import { MUTANTS } from './support/mutants.js';
import { type Script, checkIdeal, compareTraces, renderScript, runScript, scriptArbitrary, traceOf } from './support/script.js';

const FIXED_SEED = 11_2026;
const RANDOM_SEED = process.env.ONCELY_PROPERTY_SEED ? Number(process.env.ONCELY_PROPERTY_SEED) : (Math.random() * 2 ** 31) | 0;
const NUM_RUNS = Number(process.env.ONCELY_PROPERTY_RUNS ?? 25);
const MAX_STEPS = 25;
// Runs take well under 100 ms each; the limit only bites while shrinking a failure, which then
// stops with the smallest counterexample found so far. Reaching it without a failure fails too
// (failOnInterrupt), so a slow machine cannot silently run fewer scripts.
const TIME_LIMIT_MS = Math.max(30_000, NUM_RUNS * 1_500);

console.log(
  `differential property test: fixed seed ${FIXED_SEED}, random seed ${RANDOM_SEED} ` +
    `(replay the random run with ONCELY_PROPERTY_SEED=${RANDOM_SEED}), ${NUM_RUNS} runs per seed`,
);

interface StoreUnderTest {
  name: string;
  /** A store with no records (a clean table, or a prefix of its own) for one run. */
  fresh(): Promise<IdempotencyStore>;
}

async function check(script: Script, target: StoreUnderTest): Promise<void> {
  const start = Date.now();
  const model = await runScript(script, new MemoryStore(), start);
  // A defect of the core shows on the model too: report it as such (and shrink it without I/O).
  const modelProblem = checkIdeal(script, model);
  if (modelProblem) throw new Error(`MemoryStore (the model) against the raw-triple oracle: ${modelProblem}\nscript:\n${renderScript(script)}`);
  const actual = await runScript(script, await target.fresh(), start);
  const diff = compareTraces(script, traceOf(model), traceOf(actual));
  const idealProblem = checkIdeal(script, actual);
  const problems = [diff, idealProblem && `${target.name} against the raw-triple oracle: ${idealProblem}`].filter(Boolean);
  if (problems.length > 0) throw new Error(`${problems.join('\n')}\nscript:\n${renderScript(script)}`);
}

function differential(target: () => StoreUnderTest | Promise<StoreUnderTest>): void {
  for (const [label, seed] of [
    ['fixed', FIXED_SEED],
    ['random', RANDOM_SEED],
  ] as const) {
    it(`matches MemoryStore and the raw-triple oracle (${label} seed ${seed})`, { timeout: TIME_LIMIT_MS + 60_000 }, async () => {
      const store = await target();
      await fc.assert(
        fc.asyncProperty(scriptArbitrary(MAX_STEPS), (script) => check(script, store)),
        { seed, numRuns: NUM_RUNS, plugins: [fc.interruptAfterTimeLimit(TIME_LIMIT_MS, { failOnInterrupt: true })] },
      );
    });
  }
}

// The test of the test: stores broken on purpose, one defect class each, must be caught.
describe('differential: catches deliberately broken stores', () => {
  for (const mutant of MUTANTS) {
    it(`catches: ${mutant.name}`, async () => {
      const target: StoreUnderTest = { name: mutant.name, fresh: async () => mutant.store() };
      const details = await fc.check(
        fc.asyncProperty(scriptArbitrary(MAX_STEPS), (script) => check(script, target)),
        { seed: FIXED_SEED, numRuns: 500, endOnFailure: true },
      );
      expect(details.failed, `the differential test did not catch a store with this defect: ${mutant.name}`).toBe(true);
      // Caught because of the mutant, not because the core itself is broken (that fails above anyway).
      expect(String(details.errorInstance), 'the model failed too: a defect of the core, not of the mutant').not.toContain('MemoryStore (the model)');
    });
  }
});

describe('differential: MemoryStore', () => {
  differential(() => ({ name: 'MemoryStore', fresh: async () => new MemoryStore() }));
});

for (const db of testDatabases()) {
  describe(`differential: PrismaStore on ${db.name}`, () => {
    let ready: Promise<{ client: PrismaLike; table: string; store: IdempotencyStore }> | undefined;
    differential(async () => {
      ready ??= freshStore(db);
      const { client, table, store } = await ready;
      return {
        name: `PrismaStore on ${db.name}`,
        fresh: async () => {
          await client.$executeRawUnsafe(`DELETE FROM ${table}`);
          return store;
        },
      };
    });
    afterAll(async () => {
      if (!ready) return;
      const { client, table } = await ready;
      await client.$executeRawUnsafe(`DROP TABLE IF EXISTS ${table}`);
      await client.$disconnect();
    });
  });
}

describe.skipIf(!localRedisAvailable())('differential: RedisStore on the local Redis', () => {
  let client: Redis | undefined;
  const prefix = uniquePrefix('differential');
  differential(() => {
    client ??= localRedis();
    const redis = client;
    return {
      name: 'RedisStore',
      // A prefix of its own per run: no records of earlier runs (or of other test files).
      fresh: async () => new RedisStore({ client: redis, prefix: `${prefix}${randomUUID().slice(0, 8)}:`, notifications: false }),
    };
  });
  afterAll(async () => {
    if (!client) return;
    await deletePrefix(client, prefix);
    client.disconnect();
  });
});
