// Generates the Prisma clients used by oncely's tests and examples, one per provider, from a schema
// folder made of oncely's shipped model (prisma/<provider>/oncely.prisma) and the demo shop's
// models (examples/shared/prisma/demo.prisma): the same way a user drops oncely's model into a
// multi-file schema.
//
// `prisma generate` never runs the schema engine, but the CLI downloads it unless
// PRISMA_SCHEMA_ENGINE_BINARY names a file; pointing it at node avoids a download that machines
// without internet access cannot make, and changes nothing on machines with it.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);
const cli = join(dirname(require.resolve('prisma/package.json')), 'build', 'index.js');
const env = {
  ...process.env,
  PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY ?? process.execPath,
  PRISMA_HIDE_UPDATE_MESSAGE: '1',
};

for (const provider of ['sqlite', 'postgresql', 'mysql']) {
  const schemaDir = join('generated', 'schema', provider);
  rmSync(schemaDir, { recursive: true, force: true });
  mkdirSync(schemaDir, { recursive: true });
  writeFileSync(
    join(schemaDir, 'schema.prisma'),
    `generator client {\n  provider = "prisma-client"\n  output   = "../../${provider}"\n}\n\ndatasource db {\n  provider = "${provider}"\n}\n`,
  );
  copyFileSync(join('prisma', provider, 'oncely.prisma'), join(schemaDir, 'oncely.prisma'));
  copyFileSync(join('examples', 'shared', 'prisma', 'demo.prisma'), join(schemaDir, 'demo.prisma'));
  execFileSync(process.execPath, [cli, 'generate', '--schema', schemaDir], { stdio: ['ignore', 'ignore', 'inherit'], env });
  console.log(`prisma generate: generated/${provider}`);
}

// The Cloudflare Worker example's client (examples/worker): SQLite for D1, built for workerd
// (the query compiler as a WASM module instead of Node's loader).
const workerSchemaDir = join('generated', 'schema', 'worker');
rmSync(workerSchemaDir, { recursive: true, force: true });
mkdirSync(workerSchemaDir, { recursive: true });
writeFileSync(
  join(workerSchemaDir, 'schema.prisma'),
  'generator client {\n  provider = "prisma-client"\n  output   = "../../worker"\n  runtime  = "workerd"\n}\n\ndatasource db {\n  provider = "sqlite"\n}\n',
);
copyFileSync(join('prisma', 'sqlite', 'oncely.prisma'), join(workerSchemaDir, 'oncely.prisma'));
copyFileSync(join('examples', 'worker', 'prisma', 'worker.prisma'), join(workerSchemaDir, 'worker.prisma'));
execFileSync(process.execPath, [cli, 'generate', '--schema', workerSchemaDir], { stdio: ['ignore', 'ignore', 'inherit'], env });
console.log('prisma generate: generated/worker');
