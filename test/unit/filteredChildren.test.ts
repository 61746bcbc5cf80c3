// The tree's prefix filter over a real local store: the indexed path (children() seeks) and the flat-listing path
// (genericChildren over list()) must show the same items, page after page, for the same filter.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { filteredChildren } from '../../src/core/filteredChildren';
import type { ChildItem, KvStore } from '../../src/core/store';
import { LocalStore } from '../../src/providers/local';

const KEYS = [
  'users/4',
  'users/40/profile',
  'users/42/profile',
  'users/42/settings',
  'users/43',
  'users/5/profile',
  'users/4x',
  'users/4/',
  'users//x',
  'usersX',
  'config/app.json',
  'a',
  'a/',
  'a/b',
  'a//b',
];

function show(item: ChildItem): string {
  return item.type === 'folder' ? `folder:${item.prefix}` : `key:${item.key.name}`;
}

async function allPages(store: Pick<KvStore, 'children' | 'list' | 'capabilities'>, namespaceId: string, filter: string, limit: number): Promise<string[]> {
  const shown: string[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < 100; page++) {
    const result = await filteredChildren(store, namespaceId, filter, { limit, cursor });
    shown.push(...result.items.map(show));
    if (result.complete) return shown;
    assert.ok(result.cursor, 'an incomplete page has a cursor');
    cursor = result.cursor;
  }
  throw new Error('filteredChildren did not finish within 100 pages');
}

describe('filteredChildren (tree prefix filter)', () => {
  let dir: string;
  let store: LocalStore;
  let namespaceId: string;
  /** The same store seen as a flat-listing provider, so the genericChildren path runs against the same keys. */
  let flat: Pick<KvStore, 'children' | 'list' | 'capabilities'>;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kv-filter-'));
    store = await LocalStore.open(dir, { sweepIntervalMs: 0 });
    namespaceId = (await store.createNamespace('filter')).id;
    for (const key of KEYS) await store.put(namespaceId, key, key);
    flat = {
      capabilities: { ...store.capabilities, nativeChildren: false },
      list: store.list.bind(store),
      children: () => Promise.reject(new Error('the flat path must not call children()')),
    };
  });

  after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const expectedFor4 = ['key:users/4', 'folder:users/4/', 'folder:users/40/', 'folder:users/42/', 'key:users/43', 'key:users/4x'];

  it('a filter ending in "/" is that folder', async () => {
    assert.deepEqual(await allPages(store, namespaceId, 'users/42/', 100), ['key:users/42/profile', 'key:users/42/settings']);
  });

  it('a partial segment keeps the items one level below whose names start with it, in key order', async () => {
    assert.deepEqual(await allPages(store, namespaceId, 'users/4', 100), expectedFor4);
  });

  it('pages of one item give the same result (the run of matches spans pages)', async () => {
    assert.deepEqual(await allPages(store, namespaceId, 'users/4', 1), expectedFor4);
  });

  it('a flat-listing store shows the same items, reading only keys under the filter', async () => {
    const listedPrefixes: (string | undefined)[] = [];
    const spy = { ...flat, list: (ns: string, options?: Parameters<KvStore['list']>[1]) => (listedPrefixes.push(options?.prefix), store.list(ns, options)) };
    assert.deepEqual(await allPages(spy, namespaceId, 'users/4', 100), expectedFor4);
    assert.ok(listedPrefixes.length > 0 && listedPrefixes.every((prefix) => prefix === 'users/4'), `listed ${JSON.stringify(listedPrefixes)}`);
  });

  it('at the root, a filter matches top-level keys and folders alike (a and a/ stay apart)', async () => {
    assert.deepEqual(await allPages(store, namespaceId, 'a', 100), ['key:a', 'folder:a/']);
    assert.deepEqual(await allPages(flat, namespaceId, 'a', 100), ['key:a', 'folder:a/']);
  });

  it('a filter that matches nothing gives an empty, complete page', async () => {
    assert.deepEqual(await allPages(store, namespaceId, 'users/9', 2), []);
    assert.deepEqual(await allPages(flat, namespaceId, 'users/9', 2), []);
  });
});
