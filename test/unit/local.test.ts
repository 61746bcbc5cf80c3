// The local store's own rules, on a real LMDB in a temp directory: validation, namespaces, expiry with an
// injected clock, cursors under concurrent writes, children() seeking, and the on-disk layout.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KvError } from '../../src/core/errors';
import type { KvStore } from '../../src/core/store';
import { LOCAL_DATA_FILE, LocalStore } from '../../src/providers/local';

const MiB = 1024 * 1024;
const T0 = 1_900_000_000;

function bytes(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

function text(value: Uint8Array | undefined): string | undefined {
  return value === undefined ? undefined : Buffer.from(value).toString('utf8');
}

async function rejectsWith(work: Promise<unknown>, kind: KvError['kind'], rule?: string): Promise<void> {
  await assert.rejects(work, (error: unknown) => {
    assert.ok(error instanceof KvError, `expected a KvError, got ${String(error)}`);
    assert.equal(error.kind, kind, error.message);
    if (rule !== undefined) assert.equal(error.rule, rule, error.message);
    return true;
  });
}

async function allKeys(store: KvStore, namespaceId: string, prefix?: string): Promise<string[]> {
  const names: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.list(namespaceId, { prefix, cursor });
    names.push(...page.keys.map((key) => key.name));
    cursor = page.complete ? undefined : page.cursor;
  } while (cursor);
  return names;
}

describe('LocalStore', function () {
  this.timeout(20_000);
  let directory: string;
  let clock: number;
  let store: LocalStore;
  let ns: string;

  beforeEach(async () => {
    directory = mkdtempSync(join(tmpdir(), 'kv-local-'));
    clock = T0;
    store = await LocalStore.open(join(directory, 'store'), { now: () => clock, sweepIntervalMs: 0 });
    ns = (await store.createNamespace('main')).id;
  });

  afterEach(async () => {
    await store.close();
    rmSync(directory, { recursive: true, force: true });
  });

  describe('open', () => {
    it('creates the directory and its data file, and reopens with the data intact', async () => {
      assert.ok(existsSync(join(directory, 'store', LOCAL_DATA_FILE)));
      await store.put(ns, 'kept', 'value');
      await store.close();
      store = await LocalStore.open(join(directory, 'store'), { now: () => clock, sweepIntervalMs: 0 });
      assert.equal(text((await store.get(ns, 'kept'))?.value), 'value');
      assert.deepEqual((await store.listNamespaces()).items, [{ id: ns, title: 'main' }]);
    });

    it('refuses every call after close', async () => {
      await store.close();
      await rejectsWith(store.get(ns, 'a'), 'unavailable');
      store = await LocalStore.open(join(directory, 'store'), { sweepIntervalMs: 0 });
    });
  });

  describe('namespaces', () => {
    it('creates, renames and deletes, with generated 32-hex ids', async () => {
      const other = await store.createNamespace('other');
      assert.match(other.id, /^[0-9a-f]{32}$/);
      assert.notEqual(other.id, ns);
      await store.renameNamespace(other.id, 'renamed');
      const titles = (await store.listNamespaces()).items.map((item) => item.title).sort();
      assert.deepEqual(titles, ['main', 'renamed']);
      await store.deleteNamespace(other.id);
      assert.deepEqual((await store.listNamespaces()).items.map((item) => item.id), [ns]);
    });

    it('refuses a duplicate title with conflict, on create and rename', async () => {
      await rejectsWith(store.createNamespace('main'), 'conflict');
      const other = await store.createNamespace('other');
      await rejectsWith(store.renameNamespace(other.id, 'main'), 'conflict');
      await store.renameNamespace(ns, 'main'); // renaming to its own title is not a conflict
    });

    it('rejects an empty or too long title', async () => {
      await rejectsWith(store.createNamespace('  '), 'invalid', 'namespace.empty');
      await rejectsWith(store.createNamespace('x'.repeat(513)), 'too-large', 'namespace.maxChars');
    });

    it('reports not-found for unknown namespaces on every operation', async () => {
      const missing = '0'.repeat(32);
      await rejectsWith(store.get(missing, 'a'), 'not-found');
      await rejectsWith(store.put(missing, 'a', 'v'), 'not-found');
      await rejectsWith(store.list(missing), 'not-found');
      await rejectsWith(store.children(missing, ''), 'not-found');
      await rejectsWith(store.delete(missing, 'a'), 'not-found');
      await rejectsWith(store.bulkPut(missing, [{ key: 'a', value: 'v' }]), 'not-found');
      await rejectsWith(store.renameNamespace(missing, 'x'), 'not-found');
      await rejectsWith(store.deleteNamespace(missing), 'not-found');
      await rejectsWith(store.get('not-an-id', 'a'), 'not-found');
      await store.put(ns, 'secret', 'v');
      // The id and the key are stored back to back; a shifted split must not reach the key.
      await rejectsWith(store.get(ns.slice(0, 31), ns.slice(31) + 'secret'), 'not-found');
      await rejectsWith(store.list(ns.slice(0, 31), { prefix: ns.slice(31) }), 'not-found');
    });

    it('deleting a namespace removes its keys and leaves other namespaces alone', async () => {
      const other = (await store.createNamespace('other')).id;
      await store.bulkPut(other, Array.from({ length: 50 }, (_, i) => ({ key: `k${i}`, value: 'v', expirationTtl: 600 })));
      await store.put(ns, 'k1', 'mine');
      await store.deleteNamespace(other);
      const again = (await store.createNamespace('other')).id;
      assert.deepEqual(await allKeys(store, again), []);
      assert.equal(text((await store.get(ns, 'k1'))?.value), 'mine');
      clock += 700;
      assert.equal(await store.purgeExpired(), 0, 'the deleted keys left no expiry entries behind');
    });

    it('pages namespaces with limit and cursor', async () => {
      for (let i = 0; i < 4; i++) await store.createNamespace(`ns${i}`);
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await store.listNamespaces({ limit: 2, cursor });
        assert.ok(page.items.length <= 2);
        seen.push(...page.items.map((item) => item.id));
        cursor = page.complete ? undefined : page.cursor;
      } while (cursor);
      assert.equal(seen.length, 5);
      assert.equal(new Set(seen).size, 5);
    });
  });

  describe('validation: nothing is written when input breaks a rule', () => {
    beforeEach(async () => {
      await store.put(ns, 'existing', 'before');
    });

    afterEach(async () => {
      assert.deepEqual(await allKeys(store, ns), ['existing']);
      assert.equal(text((await store.get(ns, 'existing'))?.value), 'before');
    });

    it('rejects the empty key, "." and ".."', async () => {
      await rejectsWith(store.put(ns, '', 'v'), 'invalid', 'key.empty');
      await rejectsWith(store.put(ns, '.', 'v'), 'invalid', 'key.forbidden');
      await rejectsWith(store.put(ns, '..', 'v'), 'invalid', 'key.forbidden');
      await rejectsWith(store.get(ns, ''), 'invalid', 'key.empty');
      await rejectsWith(store.delete(ns, '..'), 'invalid', 'key.forbidden');
    });

    it('accepts a 512-byte key and rejects a 513-byte one (counted in UTF-8 bytes)', async () => {
      await rejectsWith(store.put(ns, 'k'.repeat(513), 'v'), 'too-large', 'key.maxBytes');
      await rejectsWith(store.put(ns, 'é'.repeat(257), 'v'), 'too-large', 'key.maxBytes');
      await store.put(ns, 'k'.repeat(512), 'v');
      assert.equal(text((await store.get(ns, 'k'.repeat(512)))?.value), 'v');
      await store.delete(ns, 'k'.repeat(512));
    });

    it('rejects a value over 25 MiB', async () => {
      await rejectsWith(store.put(ns, 'existing', new Uint8Array(25 * MiB + 1)), 'too-large', 'value.maxBytes');
    });

    it('rejects metadata that is not JSON or is over 1024 bytes', async () => {
      await rejectsWith(store.put(ns, 'existing', 'v', { metadata: 10n }), 'invalid', 'metadata.json');
      await rejectsWith(store.put(ns, 'existing', 'v', { metadata: () => 1 }), 'invalid', 'metadata.json');
      await rejectsWith(store.put(ns, 'existing', 'v', { metadata: { a: 'x'.repeat(1020) } }), 'too-large', 'metadata.maxBytes');
    });

    it('rejects an expiration under 60 seconds away, a past one, and a TTL of 59', async () => {
      await rejectsWith(store.put(ns, 'existing', 'v', { expiration: T0 + 59 }), 'invalid', 'expiration.absolute');
      await rejectsWith(store.put(ns, 'existing', 'v', { expiration: T0 - 1 }), 'invalid', 'expiration.absolute');
      await rejectsWith(store.put(ns, 'existing', 'v', { expirationTtl: 59 }), 'invalid', 'expiration.ttl');
      await rejectsWith(store.put(ns, 'existing', 'v', { expirationTtl: 60.5 }), 'invalid', 'expiration.ttl');
    });

    it('rejects a whole bulkPut when any entry is bad, naming the entry', async () => {
      const entries = [
        { key: 'fine', value: 'v' },
        { key: '..', value: 'v' },
        { key: 'fine2', value: 'v', expirationTtl: 10 },
      ];
      await assert.rejects(store.bulkPut(ns, entries), (error: unknown) => {
        assert.ok(error instanceof KvError && error.kind === 'invalid');
        assert.match(error.message, /#1 \("\.\."\)/);
        assert.match(error.message, /#2 \("fine2"\)/);
        return true;
      });
    });

    it('rejects a whole bulkDelete when any key is bad', async () => {
      await rejectsWith(store.bulkDelete(ns, ['existing', '']), 'invalid', 'bulk.keys');
    });

    it('rejects list and children limits outside 1..1000, a foreign cursor and a prefix without "/"', async () => {
      await rejectsWith(store.list(ns, { limit: 0 }), 'invalid', 'list.limit');
      await rejectsWith(store.list(ns, { limit: 1001 }), 'invalid', 'list.limit');
      await rejectsWith(store.children(ns, '', { limit: 0 }), 'invalid', 'list.limit');
      await rejectsWith(store.list(ns, { cursor: 'not a cursor!' }), 'invalid', 'list.cursor');
      await rejectsWith(store.children(ns, 'a'), 'invalid', 'children.prefix');
    });

    it('honours an aborted signal before touching the store', async () => {
      const controller = new AbortController();
      controller.abort();
      await rejectsWith(store.put(ns, 'existing', 'after', { signal: controller.signal }), 'cancelled');
    });
  });

  describe('values', () => {
    it('stores exactly 25 MiB byte-exact', async () => {
      const big = new Uint8Array(25 * MiB);
      for (let i = 0; i < big.length; i += 4093) big[i] = i % 251;
      big[big.length - 1] = 7;
      await store.put(ns, 'big', big);
      const entry = await store.get(ns, 'big');
      assert.ok(entry);
      assert.equal(entry.value.byteLength, big.byteLength);
      assert.ok(Buffer.from(entry.value).equals(Buffer.from(big)));
    });

    it('keeps every byte value and the empty value', async () => {
      const all = Uint8Array.from({ length: 256 }, (_, i) => i);
      await store.put(ns, 'all', all);
      await store.put(ns, 'empty', new Uint8Array(0));
      assert.ok(Buffer.from((await store.get(ns, 'all'))!.value).equals(Buffer.from(all)));
      assert.equal((await store.get(ns, 'empty'))!.value.byteLength, 0);
    });

    it('returns a value the caller may keep after later reads', async () => {
      await store.put(ns, 'one', 'first');
      await store.put(ns, 'two', 'second');
      const first = await store.get(ns, 'one');
      await store.get(ns, 'two');
      assert.equal(text(first?.value), 'first');
    });
  });

  describe('expiry (injected clock)', () => {
    it('TTL wins over an absolute expiration', async () => {
      await store.put(ns, 'k', 'v', { expiration: T0 + 10_000, expirationTtl: 120 });
      assert.equal((await store.get(ns, 'k'))?.expiration, T0 + 120);
      assert.equal((await store.list(ns)).keys[0].expiration, T0 + 120);
    });

    it('an expired key vanishes from get, list and children, and is purged', async () => {
      await store.put(ns, 'soon', 'v', { expirationTtl: 60 });
      await store.put(ns, 'dir/soon', 'v', { expiration: T0 + 60 });
      await store.put(ns, 'later', 'v', { expirationTtl: 3600 });
      clock = T0 + 59;
      assert.ok(await store.get(ns, 'soon'));
      assert.deepEqual(await allKeys(store, ns), ['dir/soon', 'later', 'soon']);
      clock = T0 + 60;
      assert.equal(await store.get(ns, 'soon'), undefined);
      assert.deepEqual(await allKeys(store, ns), ['later']);
      assert.deepEqual((await store.children(ns, '')).items.map((item) => item.name), ['later']);
      assert.equal(await store.purgeExpired(), 0, 'the reads already purged them');
      clock = T0 + 3600;
      assert.equal(await store.purgeExpired(), 1);
      clock = T0; // the data is gone, not just hidden
      assert.deepEqual(await allKeys(store, ns), []);
    });

    it('rewriting a key without expiration keeps it past the old expiration', async () => {
      await store.put(ns, 'k', 'v1', { expirationTtl: 60 });
      await store.put(ns, 'k', 'v2');
      clock = T0 + 1000;
      assert.equal(await store.purgeExpired(), 0);
      assert.equal(text((await store.get(ns, 'k'))?.value), 'v2');
    });

    it('the sweep purges without any read touching the keys', async () => {
      await store.bulkPut(ns, Array.from({ length: 30 }, (_, i) => ({ key: `e${i}`, value: 'v', expirationTtl: 60 + i })));
      clock = T0 + 60 + 9;
      assert.equal(await store.purgeExpired(), 10);
      assert.equal((await allKeys(store, ns)).length, 20);
    });

    it('a folder whose keys have all expired disappears from children', async () => {
      await store.put(ns, 'gone/a', 'v', { expirationTtl: 60 });
      await store.put(ns, 'gone/b', 'v', { expirationTtl: 60 });
      await store.put(ns, 'half/a', 'v', { expirationTtl: 60 });
      await store.put(ns, 'half/b', 'v');
      clock = T0 + 61;
      assert.deepEqual((await store.children(ns, '')).items, [{ type: 'folder', name: 'half', prefix: 'half/' }]);
    });
  });

  describe('cursors under concurrent writes', () => {
    it('list resumes strictly after the last key returned while keys are added and removed', async () => {
      await store.bulkPut(ns, Array.from({ length: 100 }, (_, i) => ({ key: `k${String(i).padStart(3, '0')}`, value: 'v' })));
      const first = await store.list(ns, { limit: 10 });
      assert.equal(first.keys.at(-1)?.name, 'k009');
      // Another writer deletes the last key returned, inserts before and after the cursor.
      await store.delete(ns, 'k009');
      await store.put(ns, 'k005x', 'v');
      await store.put(ns, 'k0095', 'v');
      const second = await store.list(ns, { limit: 10, cursor: first.cursor });
      assert.deepEqual(
        second.keys.map((key) => key.name),
        ['k0095', 'k010', 'k011', 'k012', 'k013', 'k014', 'k015', 'k016', 'k017', 'k018'],
      );
    });

    it('children resumes after a folder even if the folder is removed in between', async () => {
      await store.bulkPut(ns, ['a/1', 'a/2', 'b/1', 'c', 'd/1'].map((key) => ({ key, value: 'v' })));
      const first = await store.children(ns, '', { limit: 2 });
      assert.deepEqual(first.items.map((item) => item.name), ['a', 'b']);
      await store.bulkDelete(ns, ['b/1']);
      await store.put(ns, 'b0', 'v');
      const second = await store.children(ns, '', { limit: 2, cursor: first.cursor });
      assert.deepEqual(second.items.map((item) => item.name), ['b0', 'c']);
      const third = await store.children(ns, '', { limit: 2, cursor: second.cursor });
      assert.deepEqual(third.items.map((item) => item.name), ['d']);
      assert.equal(third.complete, true);
    });

    it('a list cursor taken under one prefix never leaves it', async () => {
      await store.bulkPut(ns, ['a1', 'a2', 'b1'].map((key) => ({ key, value: 'v' })));
      const page = await store.list(ns, { prefix: 'a', limit: 1 });
      const next = await store.list(ns, { prefix: 'a', limit: 1, cursor: page.cursor });
      assert.deepEqual(next.keys.map((key) => key.name), ['a2']);
      assert.equal(next.complete, true);
    });
  });

  describe('bulk', () => {
    it('reports progress per batch and honours abort between batches', async () => {
      const entries = Array.from({ length: 25_000 }, (_, i) => ({ key: `b${String(i).padStart(5, '0')}`, value: 'v' }));
      const controller = new AbortController();
      const progress: number[] = [];
      const result = await store.bulkPut(ns, entries, {
        signal: controller.signal,
        onProgress: ({ done, total }) => {
          progress.push(done);
          assert.equal(total, 25_000);
          controller.abort();
        },
      });
      assert.deepEqual(progress, [10_000]);
      assert.equal(result.succeeded.length, 10_000);
      assert.equal(result.failed.length, 15_000);
      assert.equal(result.failed[0].key, 'b10000');
      assert.equal((await allKeys(store, ns)).length, 10_000);
    });

    it('bulkDelete removes the named keys and reports missing ones as succeeded', async () => {
      await store.bulkPut(ns, ['x', 'y', 'z'].map((key) => ({ key, value: 'v' })));
      const result = await store.bulkDelete(ns, ['x', 'z', 'never']);
      assert.deepEqual(result, { succeeded: ['x', 'z', 'never'], failed: [] });
      assert.deepEqual(await allKeys(store, ns), ['y']);
    });
  });

  describe('children seeks past folders', () => {
    it('expands a folder of many keys by reading only its children', async () => {
      const entries = [];
      for (let i = 0; i < 2000; i++) entries.push({ key: `big/${i}`, value: 'v' });
      entries.push({ key: 'big0', value: 'v' }, { key: 'big/', value: 'v' }, { key: 'a', value: 'v' });
      await store.bulkPut(ns, entries);
      const page = await store.children(ns, '', { limit: 1000 });
      assert.deepEqual(page.items.map((item) => `${item.type}:${item.name}`), ['key:a', 'folder:big', 'key:big0']);
      assert.equal(page.complete, true);
    });

    it('reads a number of index entries proportional to the children, not to the keys below them', async () => {
      const entries = [];
      for (let folder = 0; folder < 5; folder++) {
        for (let i = 0; i < 2000; i++) entries.push({ key: `f${folder}/sub${i % 10}/${i}`, value: 'v' });
      }
      entries.push({ key: 'loose1', value: 'v' }, { key: 'loose2', value: 'v' });
      await store.bulkPut(ns, entries);
      // White-box on purpose: the property under test is how much of the ordered index children() touches.
      const records = (store as unknown as { records: { getRange: (options: object) => Iterable<unknown> } }).records;
      const getRange = records.getRange;
      let read = 0;
      records.getRange = function (options: object) {
        const range = getRange.call(this, options);
        return (function* () {
          for (const entry of range) {
            read++;
            yield entry;
          }
        })();
      };
      try {
        assert.equal((await store.children(ns, '')).items.length, 7);
        assert.ok(read <= 7 + 5, `children('') read ${read} index entries for 7 children over 10,002 keys`);
        read = 0;
        assert.equal((await store.children(ns, 'f3/')).items.length, 10);
        assert.ok(read <= 10 + 10, `children('f3/') read ${read} index entries for 10 children over 2,000 keys`);
      } finally {
        records.getRange = getRange;
      }
    });
  });
});
