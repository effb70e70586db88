import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// README.md's "Supported versions" table against what the project declares (package.json) and
// what CI runs (node_modules from package-lock.json, the fixtures' lockfiles, the Node lines of
// .ci/run). Every failure names the stale row.
const root = fileURLToPath(new URL('../../', import.meta.url));
const read = (path: string) => readFileSync(`${root}${path}`, 'utf8');
const pkg = JSON.parse(read('package.json')) as { engines: { node: string }; peerDependencies: Record<string, string> };

interface Row {
  pkg: string;
  declared: string | undefined;
  tested: { version: string; fixture: string | undefined }[];
  notTested: string[];
}

function tableRows(readme: string): Row[] {
  const section = readme.split(/^## Supported versions$/m)[1]?.split(/^## /m)[0];
  if (!section) throw new Error('README.md has no "## Supported versions" section');
  const lines = section.split('\n').filter((line) => line.startsWith('|')).slice(2);
  return lines.map((line) => {
    const cells = line.slice(1, -1).split(/(?<!\\)\|/).map((cell) => cell.trim().replaceAll('\\|', '|'));
    if (cells.length !== 5) throw new Error(`README versions table: a row without 5 cells: ${line}`);
    const code = (cell: string) => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
    const [, name, declared, tested, notTested] = cells as [string, string, string, string, string];
    return {
      pkg: code(name)[0] ?? name,
      declared: declared === '—' ? undefined : code(declared)[0],
      tested: tested.split(';').map((part) => {
        const [version, fixture] = code(part);
        return { version: version!, fixture };
      }),
      notTested: notTested === '—' ? [] : notTested.split(',').map((s) => s.trim()),
    };
  });
}

/** A version's release line: the major, or 0.minor below 1.0 (where ^ stops at the minor). */
function lineOf(version: string): string {
  const [major, minor] = version.split('.');
  return major === '0' ? `0.${minor}` : major!;
}

/** The lines a range names (`^X.Y.Z || ...`), or 'open' when it has a lower bound only. */
function declaredLines(range: string): string[] | 'open' {
  const parts = range.split('||').map((s) => s.trim());
  if (parts.some((part) => part.startsWith('>='))) return 'open';
  return parts.map((part) => {
    if (!/^\^\d+\.\d+\.\d+$/.test(part)) throw new Error(`cannot read the range part "${part}"`);
    return lineOf(part.slice(1));
  });
}

function installedVersion(pkgName: string, fixture: string | undefined): string | undefined {
  if (fixture === undefined) {
    const path = `${root}node_modules/${pkgName}/package.json`;
    return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as { version: string }).version : undefined;
  }
  const lock = JSON.parse(read(`${fixture}/package-lock.json`)) as { packages: Record<string, { version?: string }> };
  return lock.packages[`node_modules/${pkgName}`]?.version;
}

const rows = tableRows(read('README.md'));

describe('README.md supported-versions table', () => {
  it('has a row for every peer dependency and for Node', () => {
    const listed = new Set(rows.map((row) => row.pkg));
    const missing = [...Object.keys(pkg.peerDependencies), 'node'].filter((name) => !listed.has(name));
    expect(missing, `peer dependencies without a row in the README table: ${missing.join(', ')}`).toEqual([]);
    expect(rows.length).toBe(listed.size);
  });

  it.each(rows.filter((row) => row.pkg !== 'node').map((row) => [row.pkg, row] as const))('row %s matches package.json and what CI installs', (name, row) => {
    const peer = pkg.peerDependencies[name];
    expect(row.declared, `row "${name}": declared ${row.declared ?? '—'}, package.json peerDependencies says ${peer ?? 'nothing'}`).toBe(peer);
    for (const { version, fixture } of row.tested) {
      const installed = installedVersion(name, fixture);
      expect(installed, `row "${name}": tested ${version}${fixture ? ` in ${fixture}` : ''}, but CI installs ${installed ?? 'nothing'}`).toBe(version);
    }
    if (peer === undefined) return;
    const lines = declaredLines(peer);
    const testedLines = new Set(row.tested.map((t) => lineOf(t.version)));
    if (lines === 'open') {
      expect(row.notTested.length, `row "${name}": ${peer} is open-ended, so the table must say what is declared but not tested`).toBeGreaterThan(0);
      return;
    }
    for (const line of testedLines) expect(lines, `row "${name}": tests ${line}, outside the declared ${peer}`).toContain(line);
    const untested = lines.filter((line) => !testedLines.has(line));
    expect(row.notTested.sort(), `row "${name}": declared ${peer}, tested ${[...testedLines].join(', ')}: the last column must list exactly the untested lines`).toEqual(untested.sort());
  });

  it('row node matches engines.node and the Node lines of .ci/run', () => {
    const row = rows.find((r) => r.pkg === 'node')!;
    expect(row.declared, `row "node": declared ${row.declared}, package.json engines.node says ${pkg.engines.node}`).toBe(pkg.engines.node);
    const ci = read('.ci/run');
    // `npm test` runs first on the runner's Node (the minimum line), then the suite on each line of the loop.
    expect(ci, '.ci/run no longer runs `npm test`').toMatch(/^npm test$/m);
    const loop = /^for major in ([\d ]+); do$/m.exec(ci);
    expect(loop, '.ci/run has no `for major in ...` loop of Node lines').not.toBeNull();
    const minimum = /^>=(\d+)\./.exec(pkg.engines.node)![1]!;
    const ciLines = [minimum, ...loop![1]!.trim().split(/\s+/)];
    expect(row.tested.map((t) => t.version), `row "node": tested lines differ from .ci/run (${ciLines.join(', ')})`).toEqual(ciLines);
    expect(row.notTested.length, 'row "node": the declared minimum is a lower bound; say what is not tested').toBeGreaterThan(0);
  });
});
