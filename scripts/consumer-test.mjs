// The package users install is the package tested. Packs the built package (run `npm run build`
// first; `npm test` does), then, in a fresh project under the temp directory:
//   1. checks the tarball's file list: every shipped migration and Prisma model, the JS and type
//      declarations (.d.ts and .d.cts) of every export in package.json, LICENSE, README.md;
//   2. installs the tarball with the peers from the npm registry (the versions of package-lock.json,
//      `--prefer-offline`, so a warm npm cache needs no network);
//   3. type-checks every ```ts / ```tsx block of README.md and docs/*.md with `tsc --noEmit
//      --strict` against the installed package (blocks that cannot compile on purpose are marked
//      `<!-- snippet: skip (reason) -->` on the line before their fence);
//   4. generates a Prisma client per provider (SQLite, PostgreSQL, MySQL/MariaDB) from the app's
//      model plus the shipped node_modules/oncely/prisma/<provider>/oncely.prisma, and runs the Yoga
//      and tRPC quickstarts from the installed package over real HTTP on each database: a replay with
//      `Idempotent-Replayed: true` and the same body, one execution, 422 for the key with another
//      payload, 400 for a missing or invalid key, a key differing only by case is another key, the
//      README's tRPC client. Oncely's table is made the two documented ways: the Yoga server applies
//      the shipped migration.sql, the tRPC server calls applyMigration.
//      PostgreSQL and MariaDB run in fresh databases of their own (oncely_consumer_<pid>_yoga and
//      _trpc, created and dropped here through the installed `pg` and `mariadb` drivers), so no other
//      test's tables are touched. The servers are those of ONCELY_TEST_POSTGRES_URL and
//      ONCELY_TEST_MARIADB_URL (defaults as in test/support/services.ts). A server that is not
//      reachable fails the run in CI (CI=true or ONCELY_REQUIRE_SERVICES=1); elsewhere it is
//      announced loudly and its provider is not run, as the vitest suite does.
// Prints `consumer: N passed, M failed` and exits 1 on any failure. The fixture files live in
// test/consumer (see its README). ONCELY_CONSUMER_KEEP=1 keeps the temp project and the databases;
// the project is kept anyway when something failed.
import { execFile, execFileSync, spawn } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const fixture = join(root, 'test', 'consumer');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8'));
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const started = Date.now();

// What a user of every subpath and of the documented snippets installs next to oncely.
const PEERS = [
  'graphql-yoga', 'graphql', '@envelop/core', '@trpc/server', '@trpc/client', 'superjson',
  'prisma', '@prisma/client', '@prisma/adapter-libsql', '@libsql/client',
  'typescript', '@types/node', 'ioredis', 'redis', '@opentelemetry/api', '@apollo/client', 'rxjs', '@urql/core', '@urql/exchange-retry',
  '@tanstack/query-core', '@tanstack/react-query', 'react', '@types/react', 'vitest',
  // The PostgreSQL and MariaDB quickstarts' driver adapters.
  '@prisma/adapter-pg', 'pg', '@types/pg', '@prisma/adapter-mariadb', 'mariadb',
  // oncely/hono and oncely/express snippets.
  'hono', 'express', '@types/express',
  // docs/workers.md: the Worker over D1.
  '@prisma/adapter-d1', '@cloudflare/workers-types',
];

/** The Prisma providers, each with its schema folder test/consumer/schema/<provider> and client generated/<provider>. */
const PROVIDERS = ['sqlite', 'postgresql', 'mysql'];
// The database servers of the PostgreSQL and MySQL quickstarts: the same settings and the same rule
// as the vitest suite (test/support/services.ts): required in CI, announced and skipped elsewhere.
const SERVERS = {
  postgresql: { label: 'PostgreSQL', url: process.env.ONCELY_TEST_POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432/test' },
  mysql: { label: 'MariaDB', url: process.env.ONCELY_TEST_MARIADB_URL ?? 'mariadb://root@127.0.0.1:3306/test' },
};
const servicesRequired = process.env.CI === 'true' || process.env.CI === '1' || process.env.ONCELY_REQUIRE_SERVICES === '1';

let passed = 0;
let failed = 0;
let skipped = 0;
/** Providers whose database server was not reachable outside CI: announced, not run. */
const notRun = [];
function pass(name) {
  passed += 1;
  console.log(`  ok    ${name}`);
}
function fail(name, detail) {
  failed += 1;
  console.log(`  FAIL  ${name}${detail ? `\n${String(detail).replace(/^/gm, '        ')}` : ''}`);
}
function check(name, ok, detail) {
  if (ok) pass(name);
  else fail(name, typeof detail === 'function' ? detail() : detail);
  return ok;
}
const section = (title) => console.log(`\n== ${title}`);
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)} s`;

function sh(file, args, options = {}) {
  return execFileSync(file, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024, ...options });
}
/** Runs a command; returns { ok, output } instead of throwing. */
function tryRun(file, args, options = {}) {
  try {
    return { ok: true, output: sh(file, args, options) };
  } catch (error) {
    return { ok: false, output: `${error.stdout ?? ''}${error.stderr ?? ''}` || String(error) };
  }
}

/** tryRun without blocking the event loop (for commands run side by side). */
function tryRunAsync(file, args, options = {}) {
  return new Promise((resolvePromise) => {
    execFile(file, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, ...options }, (error, stdout, stderr) => {
      resolvePromise(error ? { ok: false, output: `${stdout ?? ''}${stderr ?? ''}` || String(error) } : { ok: true, output: stdout });
    });
  });
}

const work = mkdtempSync(join(tmpdir(), 'oncely-consumer-'));
const app = join(work, 'app');
let fatal;
try {
  await main();
} catch (error) {
  fatal = error;
  fail('consumer test aborted', error?.stack ?? error);
}

const keep = failed > 0 || process.env.ONCELY_CONSUMER_KEEP === '1';
if (keep) console.log(`\nthe consumer project is kept in ${work}`);
else rmSync(work, { recursive: true, force: true });
if (process.env.ONCELY_TEST_REPORT_DIR) {
  // Counted with vitest's reports in CI's closing line (.ci/summary.mjs reads the same fields).
  writeFileSync(
    join(process.env.ONCELY_TEST_REPORT_DIR, `consumer-node${process.versions.node}.json`),
    JSON.stringify({ numPassedTests: passed, numFailedTests: failed, numPendingTests: skipped + notRun.length, numTodoTests: 0 }),
  );
}
if (notRun.length > 0) banner(`${notRun.join(', ')} NOT RUN: the quickstarts ran without them (see the warning above).`);
console.log(`\n${skipped ? `${skipped} snippets skipped on purpose; ` : ""}took ${elapsed()}`);
console.log(`consumer: ${passed} passed, ${failed} failed`);
process.exit(failed > 0 || fatal || passed === 0 ? 1 : 0);

async function main() {
  // Asked first, so that a missing server is announced before the minute of npm install.
  const reachable = await checkServers();
  section('pack');
  if (!existsSync(join(root, 'dist', 'index.js'))) throw new Error('dist/ is missing: run `npm run build` first');
  const [packed] = JSON.parse(sh(npm, ['pack', '--json', '--pack-destination', work], { cwd: root }));
  const tarball = join(work, packed.filename);
  console.log(`  ${relative(work, tarball)}: ${packed.entryCount} files, ${(packed.size / 1024).toFixed(0)} KiB (${elapsed()})`);

  section('tarball contents');
  checkFileList(sh('tar', ['-tzf', tarball]).split('\n').filter(Boolean).map((f) => f.replace(/^package\//, '')));

  section('install into a fresh project');
  install(tarball);

  section('prisma generate (the shipped oncely.prisma next to the app model, per provider)');
  const generated = await generatePrismaClients();

  section('README.md and docs/*.md snippets: tsc --noEmit --strict');
  typecheckSnippets(generated.has('sqlite'));

  section('quickstart servers');
  if (generated.size < PROVIDERS.length) {
    fail('quickstarts', `not run: the Prisma client of ${PROVIDERS.filter((p) => !generated.has(p)).join(', ')} could not be generated`);
    return;
  }
  const build = tryRun(process.execPath, [join(app, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'server.tsconfig.json', '--pretty', 'false'], { cwd: app });
  if (!check(`the quickstart servers compile (tsc --strict, NodeNext) against the installed package (${elapsed()})`, build.ok, build.output)) return;

  const targets = [{ provider: 'sqlite', label: 'SQLite', yoga: `file:${join(work, 'yoga.db')}`, trpc: `file:${join(work, 'trpc.db')}` }];
  const databases = [];
  try {
    for (const provider of Object.keys(SERVERS)) {
      if (!reachable[provider]) continue;
      const created = await createDatabases(provider);
      databases.push(...created.made);
      if (created.target) targets.push(created.target);
    }
    for (const target of targets) {
      section(`quickstarts over HTTP on ${target.label}`);
      await yogaQuickstart(target);
      await trpcQuickstart(target);
    }
  } finally {
    await dropDatabases(databases);
  }
}

/** Which database servers answer: { postgresql, mysql } booleans; a missing one fails in CI, is announced elsewhere. */
async function checkServers() {
  const result = {};
  const missing = [];
  for (const [provider, server] of Object.entries(SERVERS)) {
    const u = new URL(server.url);
    result[provider] = await portOpen(u.hostname, Number(u.port || (provider === 'postgresql' ? 5432 : 3306)));
    if (!result[provider]) missing.push(`${server.label} (${u.host})`);
  }
  if (missing.length > 0) {
    const message = `consumer test: ${missing.join(', ')} not reachable.`;
    if (servicesRequired) {
      fail(`database servers are reachable (required in CI)`, `${message} CI requires every service: start them (see .ci/run).`);
    } else {
      for (const [provider, ok] of Object.entries(result)) if (!ok) notRun.push(SERVERS[provider].label);
      banner(`${message}\nTHE QUICKSTARTS ON ${notRun.join(' AND ').toUpperCase()} WILL NOT RUN. Start the servers, or run with CI=true to make this an error.`);
    }
  }
  return result;
}

function banner(message) {
  const line = '!'.repeat(100);
  console.warn(`\n${line}\n${message}\n${line}`);
}

function portOpen(host, port, timeoutMs = 1500) {
  return new Promise((resolvePromise) => {
    const socket = net.connect({ host, port });
    const done = (ok) => {
      socket.destroy();
      resolvePromise(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** The URL of database `name` on the server of `provider`. */
function databaseUrl(provider, name) {
  const u = new URL(SERVERS[provider].url);
  u.pathname = `/${name}`;
  return u.toString();
}

/**
 * Runs SQL on the server of `provider` (connected to its configured database) through the driver
 * installed in the consumer project.
 */
async function onServer(provider, statements) {
  const require = createRequire(join(app, 'package.json'));
  if (provider === 'postgresql') {
    const { Client } = require('pg');
    const client = new Client({ connectionString: SERVERS.postgresql.url });
    await client.connect();
    try {
      for (const statement of statements) await client.query(statement);
    } finally {
      await client.end();
    }
  } else {
    const mariadb = require('mariadb');
    const connection = await mariadb.createConnection(SERVERS.mysql.url);
    try {
      for (const statement of statements) await connection.query(statement);
    } finally {
      await connection.end();
    }
  }
}

/** Fresh databases for the two quickstarts on `provider`'s server: { made: [{ provider, name }], target }. */
async function createDatabases(provider) {
  const { label } = SERVERS[provider];
  const names = ['yoga', 'trpc'].map((server) => `oncely_consumer_${process.pid}_${server}`);
  const quote = (name) => (provider === 'postgresql' ? `"${name}"` : `\`${name}\``);
  const made = [];
  try {
    for (const name of names) {
      // A database left by an earlier run of the same pid (killed before its clean-up) is replaced.
      await onServer(provider, [dropStatement(provider, name), `CREATE DATABASE ${quote(name)}`]);
      made.push({ provider, name });
    }
    pass(`${label}: fresh databases ${names.join(', ')} created`);
    return { made, target: { provider, label, yoga: databaseUrl(provider, names[0]), trpc: databaseUrl(provider, names[1]) } };
  } catch (error) {
    fail(`${label}: fresh databases ${names.join(', ')} created on ${new URL(SERVERS[provider].url).host}`, error?.stack ?? error);
    return { made, target: undefined };
  }
}

function dropStatement(provider, name) {
  // WITH (FORCE) (PostgreSQL 13+): a connection the stopped server left behind does not block the drop.
  return provider === 'postgresql' ? `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)` : `DROP DATABASE IF EXISTS \`${name}\``;
}

async function dropDatabases(databases) {
  if (databases.length === 0) return;
  if (process.env.ONCELY_CONSUMER_KEEP === '1') {
    console.log(`\n  kept (ONCELY_CONSUMER_KEEP=1): ${databases.map((d) => `${SERVERS[d.provider].label} ${d.name}`).join(', ')}`);
    return;
  }
  for (const { provider, name } of databases) {
    try {
      await onServer(provider, [dropStatement(provider, name)]);
    } catch (error) {
      fail(`${SERVERS[provider].label}: drop the database ${name}`, error?.stack ?? error);
    }
  }
}

function checkFileList(files) {
  const has = new Set(files);
  const expected = new Map(); // file -> why
  const expect = (file, why) => expected.set(file.replace(/^\.\//, ''), why);
  for (const provider of readdirSync(join(root, 'prisma')).filter((d) => statSync(join(root, 'prisma', d)).isDirectory())) {
    expect(`prisma/${provider}/oncely.prisma`, 'the Prisma model');
    const migrations = join(root, 'prisma', provider, 'migrations');
    for (const entry of readdirSync(migrations)) {
      if (statSync(join(migrations, entry)).isDirectory()) {
        for (const file of readdirSync(join(migrations, entry))) expect(`prisma/${provider}/migrations/${entry}/${file}`, 'a migration');
      } else {
        expect(`prisma/${provider}/migrations/${entry}`, 'the migrations folder');
      }
    }
  }
  const conditionProblems = [];
  for (const [subpath, entry] of Object.entries(pkg.exports)) {
    if (typeof entry === 'string') {
      expect(entry, `export ${subpath}`);
      continue;
    }
    if (!entry.import?.types?.endsWith('.d.ts')) conditionProblems.push(`${subpath}: no import.types (.d.ts)`);
    if (!entry.require?.types?.endsWith('.d.cts')) conditionProblems.push(`${subpath}: no require.types (.d.cts)`);
    if (!entry.import?.default?.endsWith('.js')) conditionProblems.push(`${subpath}: no import.default (.js)`);
    if (!entry.require?.default?.endsWith('.cjs')) conditionProblems.push(`${subpath}: no require.default (.cjs)`);
    for (const [condition, target] of Object.entries(entry)) {
      for (const [kind, file] of Object.entries(target)) expect(file, `export ${subpath} (${condition}.${kind})`);
    }
  }
  for (const field of ['main', 'module', 'types']) if (pkg[field]) expect(pkg[field], `package.json "${field}"`);
  for (const [name, file] of Object.entries(pkg.bin ?? {})) expect(file, `bin ${name}`);
  for (const file of ['package.json', 'LICENSE', 'README.md']) expect(file, 'package metadata');
  // The README's links to docs/ must work from node_modules/oncely (and the registry page has no
  // repository to resolve them against), so the docs ship with it.
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  for (const [, file] of readme.matchAll(/\]\((docs\/[^)#\s]+\.md)(?:#[^)]*)?\)/g)) expect(file, 'linked from README.md');

  const missing = [...expected].filter(([file]) => !has.has(file));
  const migrationsShipped = [...expected.keys()].filter((f) => f.endsWith('migration.sql')).length;
  check(
    `every expected file ships (${expected.size}: ${migrationsShipped} migrations, dist JS, .d.ts and .d.cts of ${Object.keys(pkg.exports).length} exports, LICENSE, README.md)`,
    missing.length === 0,
    () => `missing from the tarball:\n${missing.map(([file, why]) => `${file}  (${why})`).join('\n')}`,
  );
  check('every export has import/require conditions with .d.ts/.d.cts types', conditionProblems.length === 0, conditionProblems.join('\n'));
  const stray = files.filter((f) => /^(src|test|examples|bench|scripts|generated)\//.test(f));
  check('no sources, tests, examples or generated clients in the tarball', stray.length === 0, stray.slice(0, 20).join('\n'));
  const license = existsSync(join(root, 'LICENSE')) ? readFileSync(join(root, 'LICENSE'), 'utf8') : '';
  check('LICENSE is the MIT license of package.json', pkg.license === 'MIT' && /MIT License/.test(license) && /Copyright \(c\) 2026 the oncely authors/.test(license));
}

function install(tarball) {
  mkdirSync(app, { recursive: true });
  const version = (name) => {
    const found = lock.packages[`node_modules/${name}`]?.version;
    if (!found) throw new Error(`${name} is not in package-lock.json`);
    return found;
  };
  const dependencies = { oncely: `file:${tarball}` };
  for (const name of PEERS) dependencies[name] = version(name);
  writeFileSync(join(app, 'package.json'), `${JSON.stringify({ name: 'oncely-consumer', private: true, type: 'module', dependencies }, null, 2)}\n`);
  // Install scripts are skipped: none of these packages needs one here, and Prisma's would try to
  // download engines this machine cannot reach (see scripts/prisma-generate.mjs).
  const result = tryRun(npm, ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', '--loglevel=error'], { cwd: app });
  if (!check(`npm install of the tarball and ${PEERS.length} peers (${elapsed()})`, result.ok, result.output)) {
    throw new Error('npm install failed');
  }
  const installed = JSON.parse(readFileSync(join(app, 'node_modules', 'oncely', 'package.json'), 'utf8'));
  check('the installed oncely is this checkout\'s version', installed.version === pkg.version, `installed ${installed.version}`);
  for (const file of readdirSync(fixture)) cpSync(join(fixture, file), join(app, file), { recursive: true });
}

/** Generates generated/<provider> from schema/<provider> for every provider, at the same time; resolves with the providers that succeeded. */
async function generatePrismaClients() {
  const cli = join(app, 'node_modules', 'prisma', 'build', 'index.js');
  // `generate` never runs the schema engine, but the CLI downloads it unless this names a file.
  const env = { ...process.env, PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY ?? process.execPath, PRISMA_HIDE_UPDATE_MESSAGE: '1' };
  const results = await Promise.all(PROVIDERS.map(async (provider) => {
    const shipped = join(app, 'node_modules', 'oncely', 'prisma', provider, 'oncely.prisma');
    if (!existsSync(shipped)) return { provider, ok: false, output: `node_modules/oncely/prisma/${provider}/oncely.prisma is not installed` };
    copyFileSync(shipped, join(app, 'schema', provider, 'oncely.prisma'));
    const result = await tryRunAsync(process.execPath, [cli, 'generate', '--schema', join('schema', provider)], { cwd: app, env });
    return { provider, ...result };
  }));
  const generated = new Set();
  for (const { provider, ok, output } of results) {
    const client = join(app, 'generated', provider, 'client.ts');
    if (check(`prisma generate: schema/${provider} with the shipped ${provider}/oncely.prisma (${elapsed()})`, ok && existsSync(client), output)) generated.add(provider);
  }
  return generated;
}

/** Every ```ts / ```typescript / ```tsx block of README.md and docs/*.md, with its position. */
function extractSnippets() {
  const sources = ['README.md', ...readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md')).sort().map((f) => `docs/${f}`)];
  const snippets = [];
  for (const source of sources) {
    const lines = readFileSync(join(root, source), 'utf8').split('\n');
    for (let i = 0; i < lines.length; i++) {
      const open = /^\s*```(ts|typescript|tsx)\b/.exec(lines[i]);
      if (!open) continue;
      const start = i;
      const body = [];
      for (i += 1; i < lines.length && !/^\s*```\s*$/.test(lines[i]); i++) body.push(lines[i]);
      let previous = start - 1;
      while (previous >= 0 && lines[previous].trim() === '') previous--;
      const marker = previous >= 0 ? /<!--\s*snippet:\s*skip\b(.*?)-->/.exec(lines[previous]) : null;
      snippets.push({
        source,
        fenceLine: start + 1,
        extension: open[1] === 'tsx' ? 'tsx' : 'ts',
        body: body.join('\n'),
        skip: marker ? (/^\s*\((.+)\)\s*$/.exec(marker[1])?.[1] ?? '') : undefined,
      });
    }
  }
  return snippets;
}

function typecheckSnippets(generated) {
  const snippets = extractSnippets();
  const dir = join(app, 'snippets');
  mkdirSync(dir, { recursive: true });
  const byFile = new Map();
  for (const snippet of snippets) {
    const where = `${snippet.source}:${snippet.fenceLine}`;
    if (snippet.skip !== undefined) {
      if (snippet.skip.trim()) {
        skipped += 1;
        console.log(`  skip  ${where} (${snippet.skip})`);
      } else {
        fail(`${where}: skipped without a reason`, 'write <!-- snippet: skip (why it cannot compile) -->');
      }
      continue;
    }
    const file = `snippets/${snippet.source.replace(/\//g, '-')}.L${snippet.fenceLine}.${snippet.extension}`;
    // Each block is its own module (a block without imports would otherwise share the global scope).
    writeFileSync(join(app, file), `${snippet.body}\nexport {};\n`);
    byFile.set(file, { ...snippet, where, errors: [] });
  }
  if (!generated) {
    fail('snippets', 'not type-checked: the prelude needs the generated Prisma client');
    return;
  }
  // tsc reports no type errors at all while any file has a syntax error: a snippet that does not
  // parse is reported, left out, and the others are checked again.
  const tsc = join(app, 'node_modules', 'typescript', 'bin', 'tsc');
  let result;
  let other;
  for (;;) {
    result = tryRun(process.execPath, [tsc, '-p', 'snippets.tsconfig.json', '--noEmit', '--strict', '--pretty', 'false'], { cwd: app });
    other = [];
    let last;
    for (const snippet of byFile.values()) if (!snippet.unparsable) snippet.errors = [];
    for (const line of result.output.split('\n')) {
      const error = /^(.+?)\((\d+),(\d+)\): error (TS\d+): (.*)$/.exec(line);
      if (error) {
        const target = byFile.get(error[1].replace(/\\/g, '/'));
        const message = `${error[4]}: ${error[5]}`;
        if (target) {
          last = { list: target.errors, text: `${target.source}:${target.fenceLine + Number(error[2])}:${error[3]} ${message}` };
          if (/^TS1\d{3}$/.test(error[4])) target.syntax = true;
        } else {
          last = { list: other, text: `${error[1]}(${error[2]},${error[3]}) ${message}` };
        }
        last.list.push(last.text);
      } else if (line.startsWith(' ') && last) {
        last.list[last.list.length - 1] += `\n${line}`;
      } else if (line.trim()) {
        other.push(line);
      }
    }
    const unparsable = [...byFile.entries()].filter(([, snippet]) => snippet.syntax && !snippet.unparsable);
    if (unparsable.length === 0) break;
    for (const [file, snippet] of unparsable) {
      snippet.unparsable = true;
      rmSync(join(app, file));
    }
  }
  for (const snippet of byFile.values()) check(`${snippet.where} (${snippet.extension})`, snippet.errors.length === 0, snippet.errors.join('\n'));
  check(`the snippet prelude and tsc run (${byFile.size} snippets, ${elapsed()})`, other.length === 0 && (result.ok || [...byFile.values()].some((s) => s.errors.length)), other.join('\n') || result.output);
}

/** Starts a compiled fixture server; resolves with its base URL and a stop function. */
function startServer(script, url) {
  const child = spawn(process.execPath, [join(app, 'build', script), `--url=${url}`], { cwd: app, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error(`${script} did not start within 30 s:\n${output}`));
    }, 30_000);
    const onData = (chunk) => {
      output += chunk;
      const port = /listening (\d+)/.exec(output)?.[1];
      if (port) {
        clearTimeout(timer);
        resolvePromise({
          url: `http://127.0.0.1:${port}`,
          output: () => output,
          stop: () => new Promise((done) => { child.once('exit', done); child.kill(); }),
        });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited with ${code}:\n${output}`));
    });
  });
}

async function post(url, body, headers = {}) {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  const text = await response.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {}
  return { status: response.status, headers: response.headers, text, json };
}
function show(response) {
  return `status ${response.status}, Idempotent-Replayed: ${response.headers.get('idempotent-replayed')}, body ${response.text.slice(0, 400)}`;
}
function uniqueKey(label) {
  return `consumer-${label}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
}

async function yogaQuickstart(target) {
  const name = `yoga/${target.provider}`;
  let server;
  try {
    server = await startServer('yoga-server.js', target.yoga);
  } catch (error) {
    fail(`${name}: the quickstart server starts (the shipped migration.sql applied)`, error.message);
    return;
  }
  try {
    const graphql = `${server.url}/graphql`;
    const pay = { query: 'mutation Pay($orderId: String!, $amount: Int!) { payOrder(orderId: $orderId, amount: $amount) { id orderId amount } }' };
    const count = async () => (await post(graphql, { query: '{ paymentCount }' })).json?.data?.paymentCount;
    const key = uniqueKey('yoga');
    const first = await post(graphql, { ...pay, variables: { orderId: 'ord_1', amount: 100 } }, { 'idempotency-key': key });
    check(`${name}: the first call with an Idempotency-Key runs the mutation`, first.status === 200 && first.json?.data?.payOrder?.orderId === 'ord_1' && !first.headers.get('idempotent-replayed'), show(first));
    const again = await post(graphql, { ...pay, variables: { orderId: 'ord_1', amount: 100 } }, { 'idempotency-key': key });
    check(
      `${name}: the retry is a replay (Idempotent-Replayed: true, the key echoed, the same status and body)`,
      again.status === first.status && again.headers.get('idempotent-replayed') === 'true' && again.headers.get('idempotency-key') === key && again.text === first.text,
      `first: ${show(first)}\nretry: ${show(again)}, Idempotency-Key: ${again.headers.get('idempotency-key')}`,
    );
    const executions = await count();
    check(`${name}: the mutation ran once (one Payment row)`, executions === 1, `rows: ${executions}`);
    const reused = await post(graphql, { ...pay, variables: { orderId: 'ord_2', amount: 100 } }, { 'idempotency-key': key });
    check(`${name}: the same key with another payload is refused with 422`, reused.status === 422 && /IDEMPOTENCY_KEY_REUSED/.test(reused.text), show(reused));
    const missing = await post(graphql, { ...pay, variables: { orderId: 'ord_3', amount: 100 } });
    check(`${name}: no key where required is 400 IDEMPOTENCY_KEY_MISSING`, missing.status === 400 && /IDEMPOTENCY_KEY_MISSING/.test(missing.text), show(missing));
    const invalid = await post(graphql, { ...pay, variables: { orderId: 'ord_4', amount: 100 } }, { 'idempotency-key': 'k'.repeat(300) });
    check(`${name}: an invalid key is 400 IDEMPOTENCY_KEY_INVALID`, invalid.status === 400 && /IDEMPOTENCY_KEY_INVALID/.test(invalid.text), show(invalid));
    const after = await count();
    check(`${name}: refused calls ran nothing`, after === 1, `rows: ${after}`);
    // Keys are case-sensitive on every database (on MariaDB, the shipped migration's utf8mb4_bin).
    const upper = await post(graphql, { ...pay, variables: { orderId: 'ord_1', amount: 100 } }, { 'idempotency-key': key.toUpperCase() });
    const executed = await count();
    check(
      `${name}: a key differing only by case is another key (runs, no replay)`,
      upper.status === 200 && !upper.headers.get('idempotent-replayed') && upper.json?.data?.payOrder?.id !== first.json?.data?.payOrder?.id && executed === 2,
      `${show(upper)}; rows: ${executed}`,
    );
  } catch (error) {
    fail(`${name}: quickstart`, `${error.stack}\nserver output:\n${server.output()}`);
  } finally {
    await server.stop();
  }
}

async function trpcQuickstart(target) {
  const name = `trpc/${target.provider}`;
  let server;
  try {
    server = await startServer('trpc-server.js', target.trpc);
  } catch (error) {
    fail(`${name}: the quickstart server starts (applyMigration)`, error.message);
    return;
  }
  try {
    const migrated = /applyMigration: (\S+) (\S+)/.exec(server.output());
    check(`${name}: applyMigration created oncely's table in the fresh database`, migrated?.[1] === 'oncely_idempotency' && migrated[2] === 'created', server.output());
    // The tRPC HTTP format with the superjson transformer: the input in `json`, the output in result.data.json.
    const pay = (input, headers) => post(`${server.url}/pay`, { json: input }, headers);
    const count = async () => (await (await fetch(`${server.url}/paymentCount`)).json())?.result?.data?.json;
    const key = uniqueKey('trpc');
    const first = await pay({ orderId: 'ord_1', amount: 100 }, { 'idempotency-key': key });
    const data = first.json?.result?.data;
    check(
      `${name}: the first call with an Idempotency-Key runs the procedure (superjson output: Date and BigInt)`,
      first.status === 200 && data?.json?.orderId === 'ord_1' && data?.meta?.values?.paidAt?.[0] === 'Date' && data?.meta?.values?.cents?.[0] === 'bigint' && !first.headers.get('idempotent-replayed'),
      show(first),
    );
    const again = await pay({ orderId: 'ord_1', amount: 100 }, { 'idempotency-key': key });
    check(
      `${name}: the retry is a replay (Idempotent-Replayed: true, the same status and body)`,
      again.status === first.status && again.headers.get('idempotent-replayed') === 'true' && again.text === first.text,
      `first: ${show(first)}\nretry: ${show(again)}`,
    );
    const executions = await count();
    check(`${name}: the procedure ran once (one Payment row)`, executions === 1, `rows: ${executions}`);
    const reused = await pay({ orderId: 'ord_2', amount: 100 }, { 'idempotency-key': key });
    check(`${name}: the same key with another input is refused with 422 UNPROCESSABLE_CONTENT`, reused.status === 422 && /UNPROCESSABLE_CONTENT/.test(reused.text), show(reused));
    const missing = await pay({ orderId: 'ord_3', amount: 100 });
    check(`${name}: no key is 400 BAD_REQUEST`, missing.status === 400 && /BAD_REQUEST/.test(missing.text), show(missing));
    const invalid = await pay({ orderId: 'ord_4', amount: 100 }, { 'idempotency-key': 'k'.repeat(300) });
    check(`${name}: an invalid key is 400 BAD_REQUEST`, invalid.status === 400 && /BAD_REQUEST/.test(invalid.text), show(invalid));
    const after = await count();
    check(`${name}: refused calls ran nothing`, after === 1, `rows: ${after}`);
    // The README's client: oncely/client/trpc links with superjson, as the server uses.
    const client = tryRun(process.execPath, [join(app, 'build', 'trpc-client.js'), `--url=${server.url}`], { cwd: app });
    let seen;
    try {
      seen = JSON.parse(client.output.trim().split('\n').pop());
    } catch {}
    check(
      `${name}: the README's client (idempotencyLink, retryLink, httpBatchLink with superjson) gets keys, a replay with the same Date and BigInt`,
      client.ok && seen?.ran && seen.replayedSameId && seen.date && seen.bigint,
      client.output,
    );
    const total = await count();
    check(`${name}: the client ran two operations once each`, total === 3, `rows: ${total}`);
  } catch (error) {
    fail(`${name}: quickstart`, `${error.stack}\nserver output:\n${server.output()}`);
  } finally {
    await server.stop();
  }
}
