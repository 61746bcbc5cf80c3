// The raw engine: lmdb (the package the local store is built on) used directly, key → value bytes, with none of
// the store's semantics (no namespaces, validation, expiration or metadata). It is the floor the store is
// measured against: the store should stay within 2× of it.

import { join } from 'node:path';
import { open, type Database, type RootDatabase } from 'lmdb';
import { benchKey, benchValue, chunks } from '../dataset';

export interface RawLmdb {
  root: RootDatabase;
  /** The seeded keys. */
  keys: Database<Buffer, string>;
  /** Where the put case writes, so the seeded database keeps its exact key count. */
  puts: Database<Buffer, string>;
  close(): Promise<void>;
}

export function openRawLmdb(dir: string): RawLmdb {
  // Same file settings as the store (lmdb's defaults): a put resolves once committed to the file.
  const root = open({ path: join(dir, 'data.mdb'), maxDbs: 4 });
  const keys = root.openDB<Buffer, string>({ name: 'keys', encoding: 'binary' });
  const puts = root.openDB<Buffer, string>({ name: 'puts', encoding: 'binary' });
  return { root, keys, puts, close: () => root.close() };
}

/** Writes the bench keys in transactions of 10,000 (lmdb's fast bulk path). */
export async function seedRawLmdb(dir: string, total: number): Promise<void> {
  const raw = openRawLmdb(dir);
  try {
    for (const [from, to] of chunks(total, 10_000)) {
      await raw.root.transaction(() => {
        for (let index = from; index < to; index++) raw.keys.putSync(benchKey(index), Buffer.from(benchValue(index)));
      });
    }
  } finally {
    await raw.close();
  }
}

/**
 * Reads every entry in order, name and stored bytes, and returns how many there were: a listing returns per-key
 * information (Cloudflare's: expiration and metadata), so the floor reads each entry, not only the names. Like the
 * store's paged listing counted by the bench, it keeps nothing.
 */
export function rawListAll(db: Database<Buffer, string>): number {
  let count = 0;
  let bytes = 0;
  for (const { key, value } of db.getRange({})) {
    count += key.length > 0 ? 1 : 0;
    bytes += value.length;
  }
  if (bytes === 0 && count > 0) throw new Error('raw list read no value bytes');
  return count;
}

/**
 * The next level under the root by seeking: after a folder `a/`, jump to `a0` ('0' is the byte after '/'),
 * so nothing inside the folder is read. The same algorithm the store uses, without its semantics.
 */
export function rawRootChildren(db: Database<Buffer, string>): string[] {
  const children: string[] = [];
  let start: string | undefined = '';
  while (start !== undefined) {
    let next: string | undefined;
    for (const key of db.getKeys({ start, limit: 1 })) {
      const slash = key.indexOf('/');
      if (slash === -1) {
        children.push(key);
        next = key + '\u0000';
      } else {
        children.push(key.slice(0, slash + 1));
        next = key.slice(0, slash) + '0';
      }
    }
    start = next;
  }
  return children;
}
