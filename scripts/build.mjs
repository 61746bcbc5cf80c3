// Builds the extension bundles (dist/extension.js, dist/undici.js) and compiles src, test and bench to out/ for the test runners.
// Usage: node scripts/build.mjs [--production] [--bundle-only]
import * as esbuild from 'esbuild';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
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

// What VS Code loads, in dist/. lmdb is native (N-API), so it stays external and ships in node_modules.
// undici is most of the code but only needed once a remote store sends its first request, so it is a bundle of its
// own, dist/undici.js, that extension.js requires on first use: kept inside extension.js, even unevaluated, it
// would add its parse time (about 15 ms) to every activation.
const undiciBesideBundle = {
  name: 'undici-beside-bundle',
  setup(build) {
    build.onResolve({ filter: /^undici$/ }, () => ({ path: './undici.js', external: true }));
  },
};
const bundleOptions = {
  absWorkingDir: root,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  sourcemap: !production,
  minify: production,
  logLevel: 'warning',
};
await esbuild.build({
  ...bundleOptions,
  entryPoints: ['src/extension.ts'],
  outfile: 'dist/extension.js',
  external: ['vscode', 'lmdb'],
  plugins: [undiciBesideBundle],
});
await esbuild.build({ ...bundleOptions, entryPoints: [createRequire(import.meta.url).resolve('undici')], outfile: 'dist/undici.js' });

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
