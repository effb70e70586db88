import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

// Runs in separate Node processes against the built package (dist/), resolved by its name through
// package.json "exports", the way a user's code loads it.
const run = (code: string, type: 'module' | 'commonjs') =>
  execFileSync(process.execPath, ['--input-type', type, '-e', code], { encoding: 'utf8' }).trim();

const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { exports: Record<string, unknown> };
const subpaths = Object.keys(pkg.exports).filter((p) => p !== './package.json');

describe('package exports', () => {
  it.each(subpaths)('%s loads as ESM and as CommonJS', (subpath) => {
    const name = subpath === '.' ? 'oncely' : `oncely/${subpath.slice(2)}`;
    expect(run(`const m = await import('${name}'); console.log(typeof m)`, 'module')).toBe('object');
    expect(run(`const m = require('${name}'); console.log(typeof m)`, 'commonjs')).toBe('object');
  });

  it('shares one core between subpaths, so errors from any of them are IdempotencyErrors', () => {
    const esm = run(
      `import { IdempotencyError, Idempotency, KeyReusedError } from 'oncely';
       import { PrismaStore } from 'oncely/prisma';
       try { new PrismaStore({ client: {} }); } catch (e) { console.log(e instanceof IdempotencyError, e.code); }
       console.log(new KeyReusedError() instanceof IdempotencyError, typeof Idempotency);`,
      'module',
    );
    expect(esm).toBe('true IDEMPOTENCY_CONFIGURATION\ntrue function');
    const cjs = run(
      `const { IdempotencyError } = require('oncely'); const { PrismaStore } = require('oncely/prisma');
       try { new PrismaStore({ client: {} }); } catch (e) { console.log(e instanceof IdempotencyError); }`,
      'commonjs',
    );
    expect(cjs).toBe('true');
  });

  it('runs work once through the built package with the in-memory store', () => {
    const out = run(
      `import { createIdempotency, MemoryStore, GLOBAL_TENANT } from 'oncely';
       const engine = createIdempotency({ store: new MemoryStore() });
       let runs = 0;
       const call = { tenant: GLOBAL_TENANT, operation: 'webhook', key: 'evt_1', input: { id: 'evt_1' } };
       await engine.run(call, () => ++runs);
       const again = await engine.execute(call, () => ++runs);
       console.log(runs, again.replayed);`,
      'module',
    );
    expect(out).toBe('1 true');
  });

  it('ships type declarations for every subpath in both module systems', () => {
    for (const entry of Object.values(pkg.exports)) {
      if (typeof entry === 'string') continue;
      const { import: esm, require: cjs } = entry as Record<string, { types: string; default: string }>;
      for (const file of [esm?.types, esm?.default, cjs?.types, cjs?.default]) expect(() => readFileSync(file as string)).not.toThrow();
    }
  });
});
