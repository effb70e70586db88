import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, parse } from 'node:path';
import { describe, expect, it } from 'vitest';

// Runs in separate Node processes against the built package (dist/), resolved by its name through
// package.json "exports", the way a user's code loads it.
const run = (code: string, type: 'module' | 'commonjs', cwd?: string) =>
  execFileSync(process.execPath, ['--input-type', type, '-e', code], { encoding: 'utf8', cwd, stdio: ['ignore', 'pipe', 'pipe'] }).trim();

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

  it('oncely/http, oncely/hono and oncely/express run through the built package, as ESM and CommonJS', () => {
    const script = (load: string) => `${load}
      const store = new MemoryStore();
      let runs = 0;
      const handler = idempotent(async () => new Response(String(++runs), { status: 201 }), { store });
      const send = () => handler(new Request('http://x/o', { method: 'POST', headers: { 'Idempotency-Key': '"k"', 'Content-Type': 'application/json' }, body: '{}' }));
      const first = await send(); await first.text();
      const again = await send();
      const app = new Hono().post('/o', hono({ store: new MemoryStore() }), (c) => c.text(String(++runs), 201));
      const viaHono = await app.request('/o', { method: 'POST', headers: { 'Idempotency-Key': 'h' }, body: 'x' });
      console.log(await again.text(), again.headers.get('idempotent-replayed'), runs, await viaHono.text(), typeof express({ store }), typeof idempotencyOf);`;
    const esm = run(
      `import { MemoryStore } from 'oncely'; import { idempotent } from 'oncely/http'; import { idempotency as hono } from 'oncely/hono';
       import { idempotency as express, idempotencyOf } from 'oncely/express'; import { Hono } from 'hono';
       ${script('')}`,
      'module',
    );
    expect(esm).toBe('1 true 2 2 function function');
    const cjs = run(
      `(async () => { const { MemoryStore } = require('oncely'); const { idempotent } = require('oncely/http'); const { idempotency: hono } = require('oncely/hono');
       const { idempotency: express, idempotencyOf } = require('oncely/express'); const { Hono } = require('hono');
       ${script('')} })();`,
      'commonjs',
    );
    expect(cjs).toBe('1 true 2 2 function function');
  });

  it('ships type declarations for every subpath in both module systems', () => {
    for (const entry of Object.values(pkg.exports)) {
      if (typeof entry === 'string') continue;
      const { import: esm, require: cjs } = entry as Record<string, { types: string; default: string }>;
      for (const file of [esm?.types, esm?.default, cjs?.types, cjs?.default]) expect(() => readFileSync(file as string)).not.toThrow();
    }
  });

  // Vue, Solid, Svelte and Angular Query users have no React: the framework-free subpath must load
  // and work where `react` cannot be resolved. The package is copied into a project of its own
  // under the temp directory (a symlink would resolve back to this checkout's node_modules).
  it('oncely/client/tanstack-query loads and works where react cannot be resolved', () => {
    const project = mkdtempSync(join(tmpdir(), 'oncely-no-react-'));
    try {
      for (let dir = project; ; dir = dirname(dir)) {
        expect(existsSync(join(dir, 'node_modules', 'react')), `${dir}/node_modules/react exists`).toBe(false);
        if (dir === parse(dir).root) break;
      }
      const installed = join(project, 'node_modules', 'oncely');
      cpSync('dist', join(installed, 'dist'), { recursive: true });
      cpSync('package.json', join(installed, 'package.json'));
      // The environment really has no react: the React subpath fails to load there.
      expect(() => run(`await import('oncely/client/react-query')`, 'module', project)).toThrow(/Cannot find (package|module) 'react'/);
      const esm = run(
        `import { idempotentMutationOptions } from 'oncely/client/tanstack-query';
         const keys = [];
         const options = idempotentMutationOptions({ mutationFn: async (vars, ctx) => { keys.push(ctx.idempotencyKey); return vars.n; } });
         const result = await options.mutationFn({ n: 7 }, {});
         console.log(result, keys.length, /^[0-9a-f-]{36}$/.test(keys[0]), options.retry(0, new TypeError('fetch failed')));`,
        'module',
        project,
      );
      expect(esm).toBe('7 1 true true');
      const cjs = run(
        `const { idempotentMutationOptions } = require('oncely/client/tanstack-query');
         console.log(typeof idempotentMutationOptions({ mutationFn: async () => 1 }).mutationFn);`,
        'commonjs',
        project,
      );
      expect(cjs).toBe('function');
    } finally {
      rmSync(project, { recursive: true, force: true });
    }
  });
});
