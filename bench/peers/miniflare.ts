// Miniflare's KV binding as a peer: what a developer would use for a local Workers KV (wrangler dev runs the same
// code). Values live as one file each; keys, expiration and metadata in a SQLite table of a Durable Object.

import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Miniflare } from 'miniflare';
import { ensureNode22 } from '../../test/support/node22';
import { benchKey, benchValue } from '../dataset';

const run = promisify(execFile);

/** The subset of the Workers KV binding the bench calls. */
export interface KvBinding {
  get(key: string, type: 'arrayBuffer'): Promise<ArrayBuffer | null>;
  put(key: string, value: string): Promise<void>;
  list(options: { prefix?: string; cursor?: string; limit?: number }): Promise<{ keys: { name: string }[]; list_complete: boolean; cursor?: string }>;
}

export const MINIFLARE_NAMESPACE = 'BENCH';
/** A second namespace for the put case, so the seeded one keeps its exact key count. */
export const MINIFLARE_PUT_NAMESPACE = 'PUTS';

export interface MiniflarePeer {
  kv: KvBinding;
  puts: KvBinding;
  dispose(): Promise<void>;
}

/** Starts Miniflare (workerd on 127.0.0.1) with both namespaces persisted in `persistDir`. */
export async function startMiniflare(persistDir: string): Promise<MiniflarePeer> {
  const miniflare = new Miniflare({
    modules: true,
    script: 'export default { fetch() { return new Response("bench"); } };',
    host: '127.0.0.1',
    port: 0,
    kvNamespaces: [MINIFLARE_NAMESPACE, MINIFLARE_PUT_NAMESPACE],
    kvPersist: persistDir,
  });
  await miniflare.ready;
  const kv = (await miniflare.getKVNamespace(MINIFLARE_NAMESPACE)) as unknown as KvBinding;
  const puts = (await miniflare.getKVNamespace(MINIFLARE_PUT_NAMESPACE)) as unknown as KvBinding;
  return { kv, puts, dispose: () => miniflare.dispose() };
}

/**
 * Seeds Miniflare's namespace with `total` bench keys. Through the binding that would take hours (about a hundred
 * puts per second here), so: the first key goes through the binding, which creates the namespace's SQLite table
 * and one value file; then the other rows are inserted into that same table in one transaction (Node 22's
 * node:sqlite, in a child process), all pointing at that value file. Every measured operation still goes through
 * the binding; listing reads only the table.
 */
export async function seedMiniflare(persistDir: string, total: number): Promise<void> {
  const peer = await startMiniflare(persistDir);
  try {
    await peer.kv.put(benchKey(0), benchValue(0));
  } finally {
    await peer.dispose();
  }
  const objectDir = join(persistDir, 'miniflare-KVNamespaceObject');
  const tables = readdirSync(objectDir).filter((name) => name.endsWith('.sqlite') && name !== 'metadata.sqlite');
  if (tables.length !== 1) throw new Error(`Expected one KV namespace table in ${objectDir}; found ${tables.join(', ') || 'none'}.`);
  const node22 = await ensureNode22();
  await run(node22, ['--no-warnings', join(__dirname, 'miniflareSeeder.js'), join(objectDir, tables[0]), String(total)], {
    timeout: 30 * 60_000,
    maxBuffer: 16 * 1024 * 1024,
  });
}

/** Every key name of the namespace through the binding, 1000 per page (the most it gives). */
export async function miniflareListAll(kv: KvBinding): Promise<number> {
  let count = 0;
  let cursor: string | undefined;
  for (;;) {
    const page = await kv.list({ cursor, limit: 1000 });
    count += page.keys.length;
    if (page.list_complete || !page.cursor) return count;
    cursor = page.cursor;
  }
}
