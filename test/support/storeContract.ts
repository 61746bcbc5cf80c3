// THE store contract: mocha tests every KvStore must pass (local, Cloudflare, wrangler dev, Telnyx).
// Capability-aware: it reads `capabilities` and `limits` instead of checking provider names, so a store
// without metadata skips the metadata tests and a store whose list minimum is 10 pages in tens.
//
// Usage, in a *.test.ts file:
//   runStoreContract('local', async () => ({ store, namespaceId, cleanup }));
// The factory runs before every test and must hand over an EMPTY namespace; `cleanup` runs after it.
import assert from 'node:assert/strict';
import { KvError, type KvErrorKind } from '../../src/core/errors';
import type { ChildItem, KvStore } from '../../src/core/store';
import { keyProblem } from '../../src/core/validation';

export interface StoreContractFixture {
  store: KvStore;
  /** An empty namespace the tests may fill. */
  namespaceId: string;
  cleanup: () => Promise<void>;
}

export interface StoreContractOptions {
  /** Per-test timeout; remote stores behind a local server need more than the default. */
  timeoutMs?: number;
}

const encoder = new TextEncoder();

function utf8Order(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

function sameBytes(actual: Uint8Array | undefined, expected: Uint8Array): boolean {
  return actual !== undefined && Buffer.from(actual.buffer, actual.byteOffset, actual.byteLength).equals(Buffer.from(expected));
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

async function rejectsWithKind(work: Promise<unknown>, kinds: KvErrorKind[], what: string): Promise<KvError> {
  let caught: unknown;
  try {
    await work;
  } catch (error) {
    caught = error;
  }
  assert.ok(caught !== undefined, `${what}: expected a rejection, but it succeeded`);
  assert.ok(caught instanceof KvError, `${what}: expected a KvError, got ${String(caught)}`);
  assert.ok(kinds.includes(caught.kind), `${what}: expected kind ${kinds.join(' or ')}, got ${caught.kind}: ${caught.message}`);
  return caught;
}

/** Every key under `prefix`, following cursors; asserts each page respects the limit. */
export async function listAll(store: KvStore, namespaceId: string, prefix?: string, limit?: number): Promise<string[]> {
  const names: string[] = [];
  let cursor: string | undefined;
  for (let pages = 0; pages < 10_000; pages++) {
    const page = await store.list(namespaceId, { prefix, cursor, limit });
    if (limit !== undefined) assert.ok(page.keys.length <= limit, `a list page holds ${page.keys.length} keys, over the limit ${limit}`);
    names.push(...page.keys.map((key) => key.name));
    if (page.complete) return names;
    assert.ok(page.cursor, 'an incomplete page must carry a cursor');
    cursor = page.cursor;
  }
  throw new Error('listing did not complete within 10,000 pages');
}

/** Every child under `prefix`, following cursors, as 'folder:<prefix>' / 'key:<name>'. */
export async function childrenAll(store: KvStore, namespaceId: string, prefix: string, limit?: number): Promise<string[]> {
  const seen: string[] = [];
  let cursor: string | undefined;
  for (let pages = 0; pages < 10_000; pages++) {
    const page = await store.children(namespaceId, prefix, { cursor, limit });
    if (limit !== undefined && store.capabilities.nativeChildren) {
      assert.ok(page.items.length <= limit, `a children page holds ${page.items.length} items, over the limit ${limit}`);
    }
    seen.push(...page.items.map(describeChild));
    if (page.complete) return seen;
    assert.ok(page.cursor, 'an incomplete page must carry a cursor');
    cursor = page.cursor;
  }
  throw new Error('children did not complete within 10,000 pages');
}

function describeChild(item: ChildItem): string {
  return item.type === 'folder' ? `folder:${item.prefix}` : `key:${item.key.name}`;
}

export function runStoreContract(
  name: string,
  createFixture: () => Promise<StoreContractFixture>,
  options: StoreContractOptions = {},
): void {
  describe(`KvStore contract: ${name}`, function () {
    this.timeout(options.timeoutMs ?? 30_000);
    let fixture: StoreContractFixture;
    let store: KvStore;
    let ns: string;

    beforeEach(async () => {
      fixture = await createFixture();
      store = fixture.store;
      ns = fixture.namespaceId;
    });

    afterEach(async () => {
      await fixture?.cleanup();
    });

    /** Keys the store's own rules allow, so one suite serves stores with different key alphabets. */
    const allowed = (keys: string[]): string[] => keys.filter((key) => keyProblem(store.limits, key) === undefined);

    /** How long a key may be, in the unit the store counts (UTF-8 bytes, else characters). */
    const maxKeyLength = (): number => store.limits.key.maxBytes ?? store.limits.key.maxChars ?? 512;

    /** A page size that still makes several pages from a handful of keys. */
    const smallLimit = (): number => Math.max(store.limits.listLimit.min, 2);

    async function putAll(keys: string[], value = 'v'): Promise<void> {
      for (const key of keys) await store.put(ns, key, value);
    }

    describe('values', () => {
      it('round-trips bytes exactly, including every byte value', async () => {
        const all = Uint8Array.from({ length: 256 }, (_, i) => i);
        await store.put(ns, 'bytes', all);
        assert.ok(sameBytes((await store.get(ns, 'bytes'))?.value, all));
      });

      it('stores text as UTF-8', async () => {
        await store.put(ns, 'text', 'héllo ✓ 😀');
        assert.ok(sameBytes((await store.get(ns, 'text'))?.value, encoder.encode('héllo ✓ 😀')));
      });

      it('accepts a value of exactly the maximum size', async () => {
        const max = new Uint8Array(store.limits.maxValueBytes);
        max[0] = 1;
        max[max.length - 1] = 2;
        await store.put(ns, 'max', max);
        const entry = await store.get(ns, 'max');
        assert.equal(entry?.value.byteLength, max.byteLength);
        assert.ok(sameBytes(entry?.value, max));
      });

      it('overwrites, reports a missing key as undefined, and deletes', async () => {
        await store.put(ns, 'k', 'one');
        await store.put(ns, 'k', 'two');
        assert.ok(sameBytes((await store.get(ns, 'k'))?.value, encoder.encode('two')));
        assert.equal(await store.get(ns, 'missing'), undefined);
        await store.delete(ns, 'k');
        assert.equal(await store.get(ns, 'k'), undefined);
        assert.deepEqual(await listAll(store, ns), []);
        await store.delete(ns, 'k'); // deleting a missing key is not an error
      });

      it('accepts a key of exactly the maximum length', async () => {
        const key = 'k'.repeat(maxKeyLength());
        await store.put(ns, key, 'v');
        assert.ok(sameBytes((await store.get(ns, key))?.value, encoder.encode('v')));
        assert.deepEqual(await listAll(store, ns), [key]);
      });
    });

    describe('list', () => {
      it('orders keys by their UTF-8 bytes', async () => {
        // '\uFFFD' sorts before '😀' in UTF-8 but after it in UTF-16, which is what JS `<` compares.
        const keys = allowed(['ord/b', 'ord/B', 'ord/a-1', 'ord/a', 'ord/A', 'ord/é', 'ord/\uFFFD', 'ord/😀', 'ord/0', 'ord/~']);
        await putAll([...keys].reverse());
        assert.deepEqual(await listAll(store, ns), [...keys].sort(utf8Order));
      });

      it('filters by prefix', async () => {
        await putAll(['p/1', 'p/2', 'p2', 'q/1', 'o']);
        assert.deepEqual(await listAll(store, ns, 'p/'), ['p/1', 'p/2']);
        assert.deepEqual(await listAll(store, ns, 'p'), ['p/1', 'p/2', 'p2']);
        assert.deepEqual(await listAll(store, ns, 'zzz'), []);
      });

      it('pages with limit and cursor, ending with complete and no repeats', async () => {
        const limit = smallLimit();
        const keys = Array.from({ length: limit * 2 + 3 }, (_, i) => `page/${String(i).padStart(4, '0')}`);
        await store.bulkPut(ns, keys.map((key) => ({ key, value: 'v' })));
        const first = await store.list(ns, { limit });
        assert.equal(first.keys.length, limit);
        assert.equal(first.complete, false);
        assert.deepEqual(await listAll(store, ns, undefined, limit), keys);
        assert.deepEqual(await listAll(store, ns, 'page/', limit), keys);
      });

      it('reports a small namespace as complete in one page', async () => {
        await putAll(['one', 'two']);
        const page = await store.list(ns);
        assert.deepEqual(page.keys.map((key) => key.name), ['one', 'two']);
        assert.equal(page.complete, true);
      });
    });

    describe('metadata and expiration', () => {
      it('round-trips metadata through get and list', async function () {
        if (!store.capabilities.metadata) this.skip();
        const metadata = { owner: 'me', tags: ['a', 'é'], n: 1.5, nested: { ok: true, none: null } };
        await store.put(ns, 'meta', 'v', { metadata });
        assert.deepEqual((await store.get(ns, 'meta'))?.metadata, metadata);
        assert.deepEqual((await store.list(ns)).keys[0].metadata, metadata);
      });

      it('accepts metadata of exactly the maximum size', async function () {
        const max = store.limits.maxMetadataBytes;
        if (!store.capabilities.metadata || max === undefined) this.skip();
        const metadata = { a: 'x'.repeat(max - '{"a":""}'.length) };
        await store.put(ns, 'meta', 'v', { metadata });
        assert.deepEqual((await store.get(ns, 'meta'))?.metadata, metadata);
      });

      it('round-trips a TTL as an absolute expiration in list (and get where the store reports it)', async function () {
        if (store.capabilities.expiration === 'none') this.skip();
        const ttl = Math.max(store.limits.minExpirationSeconds, 3600);
        const before = nowSeconds();
        await store.put(ns, 'ttl', 'v', { expirationTtl: ttl });
        const after = nowSeconds();
        // A store that reports expirations nowhere (Telnyx) can only show that the write was accepted.
        if (!store.capabilities.readsExpiration) return assert.deepEqual((await store.get(ns, 'ttl'))?.value, encoder.encode('v'));
        const listed = (await store.list(ns)).keys[0].expiration;
        assert.ok(listed !== undefined && listed >= before + ttl - 1 && listed <= after + ttl + 1, `listed expiration ${listed}`);
        if (store.capabilities.readsExpiration) assert.equal((await store.get(ns, 'ttl'))?.expiration, listed);
      });

      it('round-trips an absolute expiration exactly', async function () {
        if (store.capabilities.expiration !== 'absolute-and-ttl') this.skip();
        const expiration = nowSeconds() + 7200;
        await store.put(ns, 'abs', 'v', { expiration });
        assert.equal((await store.list(ns)).keys[0].expiration, expiration);
        if (store.capabilities.readsExpiration) assert.equal((await store.get(ns, 'abs'))?.expiration, expiration);
      });

      it('lists a key without expiration or metadata without those fields', async () => {
        await store.put(ns, 'plain', 'v');
        const [key] = (await store.list(ns)).keys;
        assert.equal(key.name, 'plain');
        assert.equal(key.expiration, undefined);
        assert.equal(key.metadata, undefined);
      });
    });

    describe('bulk', () => {
      it('bulkPut writes every entry and reports each key as succeeded', async () => {
        const entries = Array.from({ length: 25 }, (_, i) => ({ key: `bulk/${i}`, value: `value ${i}` }));
        const result = await store.bulkPut(ns, entries);
        assert.deepEqual([...result.succeeded].sort(), entries.map((entry) => entry.key).sort());
        assert.deepEqual(result.failed, []);
        for (const entry of entries) assert.ok(sameBytes((await store.get(ns, entry.key))?.value, encoder.encode(entry.value)));
      });

      it('bulkPut carries metadata and expiration per entry', async function () {
        if (!store.capabilities.metadata || store.capabilities.expiration === 'none') this.skip();
        const ttl = Math.max(store.limits.minExpirationSeconds, 3600);
        await store.bulkPut(ns, [
          { key: 'm', value: 'v', metadata: { i: 1 }, expirationTtl: ttl },
          { key: 'n', value: new Uint8Array([0, 1, 2]) },
        ]);
        const [m, n] = (await store.list(ns)).keys;
        assert.deepEqual(m.metadata, { i: 1 });
        assert.ok(m.expiration !== undefined && m.expiration > nowSeconds());
        assert.equal(n.metadata, undefined);
        assert.ok(sameBytes((await store.get(ns, 'n'))?.value, new Uint8Array([0, 1, 2])));
      });

      it('bulkDelete removes the named keys and reports them', async () => {
        await store.bulkPut(ns, ['d/1', 'd/2', 'd/3', 'keep'].map((key) => ({ key, value: 'v' })));
        const result = await store.bulkDelete(ns, ['d/1', 'd/2', 'd/3']);
        assert.deepEqual([...result.succeeded].sort(), ['d/1', 'd/2', 'd/3']);
        assert.deepEqual(result.failed, []);
        assert.deepEqual(await listAll(store, ns), ['keep']);
      });
    });

    describe('children', () => {
      it('keeps key `a`, folder `a/`, the key `a/` itself, `a//b` and a leading "/" apart', async () => {
        await putAll(allowed(['a', 'a/', 'a/b', 'a//b', '/lead', 'b']));
        assert.deepEqual(await childrenAll(store, ns, ''), ['folder:/', 'key:a', 'folder:a/', 'key:b']);
        const underA = (await store.children(ns, 'a/')).items;
        assert.deepEqual(underA.map(describeChild), ['key:a/', 'folder:a//', 'key:a/b']);
        assert.deepEqual(underA.map((item) => item.name), ['', '', 'b']);
        assert.deepEqual(await childrenAll(store, ns, 'a//'), ['key:a//b']);
        assert.deepEqual(await childrenAll(store, ns, '/'), ['key:/lead']);
        const root = (await store.children(ns, '')).items;
        assert.deepEqual(root.map((item) => item.name), ['', 'a', 'a', 'b']);
      });

      it('shows each folder once however many keys it holds, with keys carrying their info', async () => {
        await store.bulkPut(ns, [
          ...Array.from({ length: 30 }, (_, i) => ({ key: `many/${String(i).padStart(2, '0')}`, value: 'v' })),
          { key: 'many/deep/x', value: 'v' },
          { key: 'top', value: 'v' },
        ]);
        assert.deepEqual(await childrenAll(store, ns, ''), ['folder:many/', 'key:top']);
        const many = await childrenAll(store, ns, 'many/');
        assert.equal(many.length, 31);
        assert.ok(many.includes('folder:many/deep/'));
        const keyItem = (await store.children(ns, 'many/')).items.find((item) => item.type === 'key');
        assert.ok(keyItem && keyItem.type === 'key' && keyItem.key.name === 'many/00' && keyItem.name === '00');
      });

      it('pages with limit and cursor without losing or repeating a child', async () => {
        const limit = smallLimit();
        const entries = [];
        for (let i = 0; i < limit + 3; i++) {
          entries.push({ key: `f${String(i).padStart(3, '0')}/x`, value: 'v' }, { key: `f${String(i).padStart(3, '0')}/y`, value: 'v' });
          entries.push({ key: `k${String(i).padStart(3, '0')}`, value: 'v' });
        }
        await store.bulkPut(ns, entries);
        const expected = await childrenAll(store, ns, '');
        assert.equal(expected.length, (limit + 3) * 2);
        const paged = await childrenAll(store, ns, '', limit);
        assert.deepEqual(paged, expected);
      });

      it('handles long segment names', async () => {
        const max = maxKeyLength();
        const folder = 'f'.repeat(Math.floor(max / 2));
        const leaf = 'l'.repeat(max - folder.length - 1);
        const key = `${folder}/${leaf}`;
        await store.put(ns, key, 'v');
        assert.deepEqual(await childrenAll(store, ns, ''), [`folder:${folder}/`]);
        const [item] = (await store.children(ns, `${folder}/`)).items;
        assert.ok(item.type === 'key' && item.name === leaf && item.key.name === key);
      });
    });

    describe('bad input is rejected before anything is stored', () => {
      beforeEach(async () => {
        await store.put(ns, 'keep', 'before');
      });

      afterEach(async function () {
        if (this.currentTest?.state === 'pending') return;
        assert.deepEqual(await listAll(store, ns), ['keep']);
        assert.ok(sameBytes((await store.get(ns, 'keep'))?.value, encoder.encode('before')));
      });

      it('rejects an empty key', async () => {
        await rejectsWithKind(store.put(ns, '', 'v'), ['invalid'], 'put("")');
        await rejectsWithKind(store.bulkPut(ns, [{ key: '', value: 'v' }]), ['invalid'], 'bulkPut("")');
      });

      it('rejects the key names the store forbids ("." and ".." for Cloudflare semantics)', async function () {
        const forbidden = store.limits.key.forbidden.filter((key) => key !== '');
        if (forbidden.length === 0) this.skip();
        for (const key of forbidden) await rejectsWithKind(store.put(ns, key, 'v'), ['invalid'], `put(${JSON.stringify(key)})`);
      });

      it('rejects a key one over the length limit as too-large', async () => {
        const error = await rejectsWithKind(store.put(ns, 'k'.repeat(maxKeyLength() + 1), 'v'), ['too-large'], 'long key');
        assert.equal(error.limit, maxKeyLength());
      });

      it('rejects a value one byte over the limit as too-large, also on the key already stored', async () => {
        const over = new Uint8Array(store.limits.maxValueBytes + 1);
        const error = await rejectsWithKind(store.put(ns, 'keep', over), ['too-large'], 'big value');
        assert.equal(error.limit, store.limits.maxValueBytes);
        await rejectsWithKind(store.bulkPut(ns, [{ key: 'keep', value: over }]), ['invalid', 'too-large'], 'bulk big value');
      });

      it('rejects metadata that is not JSON or too large (or any metadata where the store has none)', async () => {
        if (!store.capabilities.metadata) {
          await rejectsWithKind(store.put(ns, 'keep', 'v', { metadata: { a: 1 } }), ['invalid'], 'unsupported metadata');
          return;
        }
        await rejectsWithKind(store.put(ns, 'keep', 'v', { metadata: 1n }), ['invalid'], 'BigInt metadata');
        const max = store.limits.maxMetadataBytes ?? 1024;
        await rejectsWithKind(store.put(ns, 'keep', 'v', { metadata: { a: 'x'.repeat(max) } }), ['too-large'], 'big metadata');
      });

      it('rejects an expiration too soon and a TTL under the minimum', async function () {
        if (store.capabilities.expiration === 'none') this.skip();
        const min = store.limits.minExpirationSeconds;
        await rejectsWithKind(store.put(ns, 'keep', 'v', { expirationTtl: min - 1 }), ['invalid'], `TTL ${min - 1}`);
        if (store.capabilities.expiration === 'absolute-and-ttl') {
          await rejectsWithKind(store.put(ns, 'keep', 'v', { expiration: nowSeconds() - 10 }), ['invalid'], 'past expiration');
          if (min > 2) {
            await rejectsWithKind(store.put(ns, 'keep', 'v', { expiration: nowSeconds() + Math.floor(min / 2) }), ['invalid'], 'expiration too soon');
          }
        }
      });

      it('rejects a whole bulkPut when one entry is bad, writing none of the good ones', async () => {
        const entries = [
          { key: 'good/1', value: 'v' },
          { key: 'k'.repeat(maxKeyLength() + 1), value: 'v' },
          { key: 'good/2', value: 'v' },
        ];
        await rejectsWithKind(store.bulkPut(ns, entries), ['invalid', 'too-large'], 'bulkPut with a bad entry');
      });

      it('rejects list limits outside the store range', async () => {
        const { min, max } = store.limits.listLimit;
        await rejectsWithKind(store.list(ns, { limit: min - 1 }), ['invalid'], `limit ${min - 1}`);
        await rejectsWithKind(store.list(ns, { limit: max + 1 }), ['invalid'], `limit ${max + 1}`);
      });
    });

    describe('namespaces', () => {
      it('lists the fixture namespace', async () => {
        const ids: string[] = [];
        let cursor: string | undefined;
        do {
          const page = await store.listNamespaces({ cursor });
          ids.push(...page.items.map((item) => item.id));
          cursor = page.complete ? undefined : page.cursor;
        } while (cursor);
        assert.ok(ids.includes(ns));
      });

      it('creates, renames and deletes where the store allows, refusing a duplicate title', async function () {
        const { namespaceCreate, namespaceRename, namespaceDelete } = store.capabilities;
        if (!namespaceCreate || !namespaceDelete) this.skip();
        const suffix = Math.random().toString(36).slice(2, 10);
        const created = await store.createNamespace(`contract-${suffix}`);
        try {
          assert.equal(created.title, `contract-${suffix}`);
          await rejectsWithKind(store.createNamespace(`contract-${suffix}`), ['conflict'], 'duplicate title');
          if (namespaceRename) {
            await store.renameNamespace(created.id, `contract-${suffix}-renamed`);
            const titles = (await store.listNamespaces()).items.filter((item) => item.id === created.id).map((item) => item.title);
            assert.deepEqual(titles, [`contract-${suffix}-renamed`]);
          }
        } finally {
          await store.deleteNamespace(created.id);
        }
        assert.ok(!(await store.listNamespaces()).items.some((item) => item.id === created.id));
      });
    });
  });
}
