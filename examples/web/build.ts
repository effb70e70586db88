import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, 'dist');

/**
 * Bundles the page (src/main.tsx, React 19) into dist/app.js and copies index.html and the icon. The oncely
 * imports resolve to the built package (dist/ at the repo root): run `npm run build` first.
 */
export async function buildWebDemo(): Promise<void> {
  mkdirSync(dist, { recursive: true });
  await build({
    entryPoints: [join(here, 'src', 'main.tsx')],
    outfile: join(dist, 'app.js'),
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    jsx: 'automatic',
    minify: true,
    sourcemap: true,
    define: { 'process.env.NODE_ENV': '"production"' },
    logLevel: 'warning',
    // tsup's bare chunk imports in the built package are harmless (package.json says sideEffects: false).
    logOverride: { 'ignored-bare-import': 'silent' },
  });
  for (const file of ['index.html', 'favicon.svg']) writeFileSync(join(dist, file), readFileSync(join(here, 'src', file)));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await buildWebDemo();
  console.log(`web demo page built into ${dist}`);
}
