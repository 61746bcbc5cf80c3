// The Cloudflare provider, target 'wrangler-dev', against Miniflare's explorer API (the code `wrangler dev` runs),
// code nobody here wrote. Data is checked from the other side through Miniflare's own KV binding.
import assert from 'node:assert/strict';
import type { Miniflare } from 'miniflare';
import { startMiniflareExplorer } from '../support/miniflareExplorer';
import { KvError } from '../../src/core/errors';
import { CloudflareStore } from '../../src/providers/cloudflare';
import { runStoreContract } from '../support/storeContract';

/** The part of Miniflare's KV binding these tests use (its published type needs workers-types, not installed). */
interface Binding {
  get(key: string): Promise<string | null>;
  get(key: string, type: 'arrayBuffer'): Promise<ArrayBuffer | null>;
  getWithMetadata(key: string, options: { type: 'arrayBuffer' }): Promise<{ value: ArrayBuffer | null; metadata: unknown }>;
  put(key: string, value: string | Uint8Array, options?: { metadata?: unknown; expiration?: number }): Promise<void>;
  delete(key: string): Promise<void>;
  list(options?: { prefix?: string }): Promise<{ keys: { name: string }[] }>;
}

const NAMESPACE = 'NS';

async function startMiniflare(): Promise<{ mf: Miniflare; baseUrl: string; kv: Binding }> {
  const { miniflare: mf, apiRoot } = await startMiniflareExplorer([NAMESPACE]);
  return { mf, baseUrl: apiRoot, kv: (await mf.getKVNamespace(NAMESPACE)) as unknown as Binding };
}

/** Deletes every key through the binding, so each test starts from an empty namespace. */
async function clear(kv: Binding): Promise<void> {
  for (let round = 0; round < 1000; round++) {
    const { keys } = await kv.list();
    if (keys.length === 0) return;
    await Promise.all(keys.map((key) => kv.delete(key.name)));
  }
  throw new Error('could not empty the namespace');
}

const decoder = new TextDecoder();

describe('CloudflareStore (wrangler-dev) against Miniflare explorer API', function () {
  this.timeout(60_000);
  let mf: Miniflare;
  let baseUrl: string;
  let kv: Binding;
  let store: CloudflareStore;

  before(async () => {
    ({ mf, baseUrl, kv } = await startMiniflare());
  });
  after(async () => {
    await mf?.dispose();
  });
  beforeEach(async () => {
    await clear(kv);
    store = new CloudflareStore({ baseUrl, target: 'wrangler-dev' });
  });
  afterEach(async () => {
    await store.close();
  });

  it('reports what the explorer API can do', () => {
    assert.equal(store.kind, 'wrangler-dev');
    assert.equal(store.capabilities.namespaceCreate, false);
    assert.equal(store.capabilities.bulkWrite, false);
    assert.equal(store.capabilities.expiration, 'none');
    assert.equal(store.limits.listLimit.min, 10);
  });

  it('lists the bound namespace', async () => {
    const page = await store.listNamespaces();
    assert.deepEqual(page, { items: [{ id: NAMESPACE, title: NAMESPACE }], complete: true });
  });

  const awkwardKeys = ['plain', 'a/b', 'a/b c', ' lead and trail ', 'ünïcödé/日本/😀', 'q?x=1#frag', '100%', 'a/../b', '/leading', 'trailing/', '+plus'];

  it('writes keys with "/", spaces, unicode and URL syntax exactly as named (seen through the binding)', async () => {
    for (const [index, key] of awkwardKeys.entries()) await store.put(NAMESPACE, key, `value ${index}`);
    const listed = (await kv.list()).keys.map((key) => key.name).sort();
    assert.deepEqual(listed, [...awkwardKeys].sort());
    for (const [index, key] of awkwardKeys.entries()) assert.equal(await kv.get(key), `value ${index}`, key);
  });

  it('reads, lists and deletes keys the binding wrote, with their metadata and expiration', async () => {
    const expiration = Math.floor(Date.now() / 1000) + 3600;
    await kv.put('dir/ä ö', new Uint8Array([0, 1, 254, 255]), { metadata: { by: 'binding' }, expiration });
    await kv.put('dir/plain', 'text');
    const entry = await store.get(NAMESPACE, 'dir/ä ö');
    assert.deepEqual(entry, { value: new Uint8Array([0, 1, 254, 255]), metadata: { by: 'binding' }, expiration });
    assert.deepEqual(await store.get(NAMESPACE, 'dir/plain'), { value: new TextEncoder().encode('text') });
    const page = await store.list(NAMESPACE, { prefix: 'dir/' });
    assert.deepEqual(page, {
      keys: [{ name: 'dir/plain' }, { name: 'dir/ä ö', metadata: { by: 'binding' }, expiration }],
      complete: true,
    });
    await store.delete(NAMESPACE, 'dir/ä ö');
    assert.equal(await kv.get('dir/ä ö'), null);
    assert.equal(await store.get(NAMESPACE, 'dir/ä ö'), undefined);
  });

  it('writes metadata as a multipart part that the binding reads back', async () => {
    await store.put(NAMESPACE, 'with/meta', new Uint8Array([9, 8, 7]), { metadata: { tag: 'é', n: 1 } });
    const { value, metadata } = await kv.getWithMetadata('with/meta', { type: 'arrayBuffer' });
    assert.deepEqual([...new Uint8Array(value!)], [9, 8, 7]);
    assert.deepEqual(metadata, { tag: 'é', n: 1 });
  });

  it('finds a key\'s metadata even when many keys share its name as a prefix', async () => {
    await Promise.all(Array.from({ length: 30 }, (_, i) => kv.put(`p${String(i).padStart(2, '0')}`, 'x', { metadata: { i } })));
    await kv.put('p', 'root', { metadata: { root: true } });
    assert.deepEqual((await store.get(NAMESPACE, 'p'))?.metadata, { root: true });
    assert.deepEqual((await store.get(NAMESPACE, 'p07'))?.metadata, { i: 7 });
  });

  it('pages a listing by cursor until the empty cursor', async () => {
    await Promise.all(Array.from({ length: 25 }, (_, i) => kv.put(`k${String(i).padStart(2, '0')}`, 'v')));
    const names: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await store.list(NAMESPACE, { limit: 10, cursor });
      names.push(...page.keys.map((key) => key.name));
      cursor = page.complete ? undefined : page.cursor;
      pages++;
    } while (cursor && pages < 10);
    assert.equal(pages, 3);
    assert.deepEqual(names, Array.from({ length: 25 }, (_, i) => `k${String(i).padStart(2, '0')}`));
  });

  it('groups children on "/" over the flat listing', async () => {
    for (const key of ['a/1', 'a/2', 'a/b/3', 'top']) await kv.put(key, 'v');
    const root = await store.children(NAMESPACE, '');
    assert.deepEqual(root.items.map((item) => (item.type === 'folder' ? `folder:${item.prefix}` : `key:${item.key.name}`)), ['folder:a/', 'key:top']);
  });

  it('bulk writes and deletes one key at a time (the explorer has no bulk routes)', async () => {
    const entries = Array.from({ length: 20 }, (_, i) => ({ key: `bulk/${i}`, value: `v${i}` }));
    const written = await store.bulkPut(NAMESPACE, entries);
    assert.equal(written.succeeded.length, 20);
    assert.equal((await kv.list({ prefix: 'bulk/' })).keys.length, 20);
    const deleted = await store.bulkDelete(NAMESPACE, entries.map((entry) => entry.key));
    assert.equal(deleted.succeeded.length, 20);
    assert.equal((await kv.list({ prefix: 'bulk/' })).keys.length, 0);
  });

  it('refuses what the explorer cannot do, before any request, and leaves the data alone', async () => {
    await kv.put('keep', 'before');
    const refusals: [Promise<unknown>, string][] = [
      [store.createNamespace('new'), 'capability.namespaceCreate'],
      [store.renameNamespace(NAMESPACE, 'x'), 'capability.namespaceRename'],
      [store.deleteNamespace(NAMESPACE), 'capability.namespaceDelete'],
      [store.put(NAMESPACE, 'keep', 'after', { expirationTtl: 3600 }), 'expiration.unsupported'],
      [store.bulkPut(NAMESPACE, [{ key: 'keep', value: 'after', expiration: Math.floor(Date.now() / 1000) + 3600 }]), 'expiration.unsupported'],
      // The explorer would store these values but silently drop metadata that is not truthy.
      [store.put(NAMESPACE, 'keep', 'after', { metadata: 0 }), 'metadata.falsy'],
      [store.bulkPut(NAMESPACE, [{ key: 'keep', value: 'after', metadata: false }]), 'metadata.falsy'],
    ];
    for (const [work, rule] of refusals) {
      await assert.rejects(work, (error: unknown) => error instanceof KvError && error.kind === 'invalid' && error.rule === rule, rule);
    }
    assert.equal(await kv.get('keep'), 'before');
    assert.deepEqual((await store.listNamespaces()).items, [{ id: NAMESPACE, title: NAMESPACE }]);
  });

  it('maps a missing namespace to not-found with the provider code', async () => {
    await assert.rejects(store.list('NOPE'), (error: unknown) => {
      assert.ok(error instanceof KvError);
      assert.equal(error.kind, 'not-found');
      assert.deepEqual(error.providerCodes, [10013]);
      assert.equal(error.message, "wrangler dev 10013: list keys: 'namespace not found' (HTTP 404)");
      return true;
    });
    await assert.rejects(store.get('NOPE', 'k'), (error: unknown) => error instanceof KvError && error.kind === 'not-found');
  });

  it('round-trips binary values through the REST API', async () => {
    const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
    await store.put(NAMESPACE, 'bin', bytes);
    assert.deepEqual((await store.get(NAMESPACE, 'bin'))?.value, bytes);
    assert.equal(decoder.decode(new Uint8Array((await kv.get('bin', 'arrayBuffer'))!)), decoder.decode(bytes));
  });
});

describe('KvStore contract against Miniflare explorer API (wrangler-dev)', function () {
  let mf: Miniflare;
  let baseUrl: string;
  let kv: Binding;

  before(async function () {
    this.timeout(60_000);
    ({ mf, baseUrl, kv } = await startMiniflare());
  });
  after(async () => {
    await mf?.dispose();
  });

  runStoreContract(
    'cloudflare provider on Miniflare (wrangler-dev)',
    async () => {
      await clear(kv);
      const store = new CloudflareStore({ baseUrl, target: 'wrangler-dev' });
      return {
        store,
        namespaceId: NAMESPACE,
        cleanup: async () => {
          await store.close();
        },
      };
    },
    { timeoutMs: 60_000 },
  );
});
