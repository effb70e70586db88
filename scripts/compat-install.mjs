// Installs the compatibility fixture under test/compat (its own lockfile: see its package.json)
// when it is missing, so that `npm test` needs nothing more than `npm install` first.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

for (const dir of ['test/compat/trpc-tanstack']) {
  if (existsSync(`${dir}/node_modules/@trpc/tanstack-react-query`)) continue;
  console.log(`installing the test fixture in ${dir}`);
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  execFileSync(npm, ['ci', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: dir, stdio: 'inherit' });
}
