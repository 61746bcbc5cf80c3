// The benchmark namespace's keys, and seeded copies of it cached under .cache/bench so repeated runs do not
// write a million keys again.
//
// Layout: `t{00..19}/s{000..249}/k{index}`. The root holds 20 folders; each of them holds 250 sub-folders once the
// namespace has 5,000 keys or more; the keys sit one level further down. So a top folder shows the same 250
// children at 10k keys as at 1M keys (where 50,000 keys lie below it): the tree suite uses that to show that
// expanding a folder costs what it shows, not what lies below.

import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { log } from './harness';

export const TOP_FOLDERS = 20;
export const SUB_FOLDERS = 250;

const pad = (value: number, width: number) => String(value).padStart(width, '0');

export function benchKey(index: number): string {
  const top = index % TOP_FOLDERS;
  const sub = Math.floor(index / TOP_FOLDERS) % SUB_FOLDERS;
  return `t${pad(top, 2)}/s${pad(sub, 3)}/k${pad(index, 7)}`;
}

/** A small value, like a config entry or a session record. */
export function benchValue(index: number): string {
  return `{"id":${index},"v":"value-${pad(index, 7)}"}`;
}

/** The folder the tree suite expands. */
export const EXPANDED_FOLDER = 't07/';

export const REPO_ROOT = join(__dirname, '..', '..');
export const CACHE_ROOT = join(REPO_ROOT, '.cache', 'bench');

/** "1m", "100k", "20k": how cache folders and notes name sizes. */
export function sizeLabel(keys: number): string {
  if (keys % 1_000_000 === 0) return `${keys / 1_000_000}m`;
  if (keys % 1000 === 0) return `${keys / 1000}k`;
  return String(keys);
}

/**
 * A seeded directory, cached by name: `seed(dir)` runs only when no complete copy exists (an interrupted seeding
 * leaves no manifest and is redone). Returns the manifest the seeding wrote.
 */
export async function cachedSeed<Manifest extends object>(name: string, seed: (dir: string) => Promise<Manifest>): Promise<{ dir: string; manifest: Manifest }> {
  const dir = join(CACHE_ROOT, name);
  const manifestFile = join(dir, 'seeded.json');
  if (existsSync(manifestFile)) {
    return { dir, manifest: JSON.parse(readFileSync(manifestFile, 'utf8')) as Manifest };
  }
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  log(`  seeding ${name} (cached in ${dir} for later runs)…`);
  const started = Date.now();
  const manifest = await seed(dir);
  writeFileSync(manifestFile, JSON.stringify(manifest, null, 2));
  log(`  seeded ${name} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return { dir, manifest };
}

/** Indexes [from, to) in chunks, so a million entries never sit in memory at once. */
export function* chunks(total: number, size: number): Generator<[number, number]> {
  for (let from = 0; from < total; from += size) yield [from, Math.min(total, from + size)];
}
