import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// README.md's "Runtime support" table against the runtimes scripts/runtime-specs.mjs runs (which
// `npm test` runs, so a row here is a runtime CI passed on): the same runtimes, the versions it
// tests, the spec sets it bundles, and the flags and permissions it needs named in the notes.
const root = fileURLToPath(new URL('../../', import.meta.url));
const driver = (await import(new URL('../../scripts/runtime-specs.mjs', import.meta.url).href)) as {
  runtimes(): { id: string; name: string; runtime: string; tested: string }[];
  specFiles(): string[];
  SPEC_SETS: Record<string, string>;
  WORKERD_COMPATIBILITY_FLAGS: string[];
  DENO_PERMISSIONS: string[];
};

interface Row {
  runtime: string;
  version: string;
  runs: string[];
  notes: string;
}

function tableRows(): Row[] {
  const readme = readFileSync(`${root}README.md`, 'utf8');
  const section = readme.split(/^## Runtime support$/m)[1]?.split(/^## /m)[0];
  if (!section) throw new Error('README.md has no "## Runtime support" section');
  return section
    .split('\n')
    .filter((line) => line.startsWith('|'))
    .slice(2)
    .map((line) => {
      const cells = line.slice(1, -1).split('|').map((cell) => cell.trim());
      if (cells.length !== 4) throw new Error(`README runtime table: a row without 4 cells: ${line}`);
      const [runtime, version, runs, notes] = cells as [string, string, string, string];
      return { runtime, version, runs: runs.split(',').map((s) => s.trim()), notes };
    });
}

describe('README "Runtime support"', () => {
  const rows = tableRows();
  const targets = driver.runtimes();

  it('lists exactly the runtimes scripts/runtime-specs.mjs runs, in its order', () => {
    expect(rows.map((r) => r.runtime)).toEqual(targets.map((t) => t.name));
  });

  it.each(targets.map((t) => [t.name, t] as const))('%s: the version the script tests', (_, target) => {
    expect(rows.find((r) => r.runtime === target.name)?.version).toBe(`\`${target.tested}\``);
  });

  it('every spec file has a name, and every row names exactly the spec sets the script bundles', () => {
    const files = driver.specFiles();
    expect(files.filter((f) => !(f in driver.SPEC_SETS)), 'spec files without an entry in SPEC_SETS').toEqual([]);
    const sets = files.map((f) => driver.SPEC_SETS[f]!);
    for (const row of rows) expect([...row.runs].sort(), row.runtime).toEqual([...sets].sort());
  });

  it('the notes name the workerd compatibility flags and the Deno permissions the script uses', () => {
    const workerd = rows.find((r) => r.runtime === targets.find((t) => t.runtime === 'workerd')!.name)!;
    for (const flag of driver.WORKERD_COMPATIBILITY_FLAGS) expect(workerd.notes).toContain(`\`${flag}\``);
    const deno = rows.find((r) => r.runtime === targets.find((t) => t.runtime === 'deno')!.name)!;
    expect(deno.notes).toContain(`deno run ${driver.DENO_PERMISSIONS.join(' ')}`);
  });
});
