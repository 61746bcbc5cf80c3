// Builds the extension bundle (dist/extension.js) and compiles src, test and bench to out/ for the test runners.
// Usage: node scripts/build.mjs [--production] [--bundle-only]
import * as esbuild from 'esbuild';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const production = process.argv.includes('--production');
const bundleOnly = process.argv.includes('--bundle-only');
const root = new URL('..', import.meta.url).pathname;

function tsFiles(dir) {
  if (!existsSync(join(root, dir))) return []; // git keeps no empty folders: a fresh clone may lack bench/
  const out = [];
  for (const name of readdirSync(join(root, dir))) {
    const rel = join(dir, name);
    if (statSync(join(root, rel)).isDirectory()) out.push(...tsFiles(rel));
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(rel);
  }
  return out;
}

// One file for VS Code to load. lmdb is native (N-API), so it stays external and ships in node_modules.
await esbuild.build({
  absWorkingDir: root,
  entryPoints: ['src/extension.ts'],
  bundle: true,
  outfile: 'dist/extension.js',
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  external: ['vscode', 'lmdb'],
  sourcemap: !production,
  minify: production,
  logLevel: 'warning',
});

if (!bundleOnly) {
  // Per-file transpile (no type check: `npm run typecheck` does that) so mocha and the benches run plain JS.
  await esbuild.build({
    absWorkingDir: root,
    entryPoints: [...tsFiles('src'), ...tsFiles('test'), ...tsFiles('bench')],
    outdir: 'out',
    outbase: '.',
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    sourcemap: 'inline',
    logLevel: 'warning',
  });
}
