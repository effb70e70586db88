// Generates the Prisma clients of oncely's tests and examples (one per provider).
// `prisma generate` never runs the schema engine, but the CLI downloads it unless
// PRISMA_SCHEMA_ENGINE_BINARY names a file; pointing it at node avoids a download that machines
// without internet access cannot make, and changes nothing on machines with it.
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);
const cli = join(dirname(require.resolve('prisma/package.json')), 'build', 'index.js');
const env = { ...process.env, PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY ?? process.execPath, PRISMA_HIDE_UPDATE_MESSAGE: '1' };
const schemas = process.argv.slice(2).length > 0 ? process.argv.slice(2) : ['prisma/sqlite', 'prisma/postgresql', 'prisma/mysql'];
for (const schema of schemas) {
  execFileSync(process.execPath, [cli, 'generate', '--schema', schema], { stdio: ['ignore', 'ignore', 'inherit'], env });
  console.log(`prisma generate: ${schema}`);
}
