// Installs the compatibility fixtures under test/compat (each with its own lockfile: see its
// package.json) when one is missing, so that `npm test` needs nothing more than `npm install` first.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

// Each fixture with the package whose presence says it is installed.
const fixtures = [
  ['test/compat/trpc-tanstack', '@trpc/tanstack-react-query'],
  ['test/compat/graphql-17', 'graphql-yoga'],
  ['test/compat/express-4', 'express'],
];
for (const [dir, marker] of fixtures) {
  if (existsSync(`${dir}/node_modules/${marker}`)) continue;
  console.log(`installing the test fixture in ${dir}`);
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  execFileSync(npm, ['ci', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: dir, stdio: 'inherit' });
}
