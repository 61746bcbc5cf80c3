// Key encoding fuzz: generated keys full of `/`, `..`, `%`, `?`, `#`, `+`, spaces, unicode and empty segments must
// round-trip EXACTLY through every provider: written in bulk, listed (whole and by prefix), grouped into folders,
// read back one by one, deleted one by one and in bulk. A value names its key, so a read that reached another
// key's path shows. The servers' request logs prove the routes: every request was answered with a success and
// every key route decodes to exactly one of the generated keys. The stored names are also checked from the other
// side (the dialect servers' backing stores; Miniflare's own KV binding). Document addresses (src/core/kvPath)
// round-trip too; the real vscode.Uri and opened documents are in uri-fuzz.vscode.test.ts.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startMiniflareExplorer } from '../support/miniflareExplorer';
import { childOf } from '../../src/core/keys';
import { decodeKvAddress, encodeKvAddress, type KvAddress } from '../../src/core/kvPath';
import { CLOUDFLARE_LIMITS, TELNYX_LIMITS } from '../../src/core/limits';
import type { KvStore } from '../../src/core/store';
import { CloudflareStore } from '../../src/providers/cloudflare';
import { settleWithConcurrency } from '../../src/core/concurrency';
import { LocalStore } from '../../src/providers/local';
import { TelnyxStore } from '../../src/providers/telnyx';
import { startCloudflareServer, startTelnyxServer, type RequestLogEntry } from '../../src/server';
import { childrenAll, listAll } from '../support/storeContract';
import { FULL, NetworkWatch, SEED, seededRandom, sized } from './common';
import { CLOUDFLARE_FEATURES, CLOUDFLARE_PIECES, generateKeys, TELNYX_FEATURES, TELNYX_PIECES, valueFor } from './keyFuzz';

const TOKEN = 'reliability-fuzz-token-0b7e21';

interface FuzzTarget {
  store: KvStore;
  namespaceId: string;
  /** The names as stored, read from the other side of the API (not through the provider). */
  storedNames(): Promise<string[]>;
}

/** Paths of requests as the server (or, for Miniflare, the client) saw them, with their status where known. */
interface RouteLog {
  entries(): { method: string; url: string; status?: number }[];
  /** Raw path of the namespace's routes, e.g. `/client/v4/accounts/local/storage/kv/namespaces/<id>`. */
  namespacePath: string;
  /** The segment before a key in the dialect's key routes: 'values' and 'metadata' (Cloudflare), 'keys' (Telnyx). */
  keyRoutes: string[];
}

const sortUtf8 = (names: string[]): string[] => [...names].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));

async function all<T>(items: T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  const outcomes = await settleWithConcurrency(items, concurrency, work);
  const failures = outcomes.flatMap((outcome, index) => (outcome.status === 'rejected' ? [`${JSON.stringify(items[index])}: ${String(outcome.reason)}`] : []));
  assert.deepEqual(failures.slice(0, 5), [], `${failures.length} of ${items.length} operations failed`);
}

/** Expected `childrenAll` output for a folder prefix, computed from the key set with the one grouping rule. */
function expectedChildren(keys: string[], prefix: string): string[] {
  const seen = new Set<string>();
  const items: string[] = [];
  for (const key of sortUtf8(keys.filter((name) => name.startsWith(prefix)))) {
    const child = childOf(prefix, key);
    const item = child.type === 'folder' ? `folder:${child.prefix}` : `key:${key}`;
    if (!seen.has(item)) {
      seen.add(item);
      items.push(item);
    }
  }
  return items;
}

/** The whole round trip; returns the keys it deleted. */
async function roundTrip(target: FuzzTarget, keys: string[], seed: number): Promise<Set<string>> {
  const { store, namespaceId } = target;
  const random = seededRandom(seed);
  const sample = (count: number, from: string[]): string[] => {
    const pool = [...from];
    const chosen: string[] = [];
    while (chosen.length < count && pool.length > 0) chosen.push(pool.splice(Math.floor(random() * pool.length), 1)[0]);
    return chosen;
  };

  const written = await store.bulkPut(namespaceId, keys.map((key) => ({ key, value: valueFor(key) })));
  assert.deepEqual(written.failed.slice(0, 5), [], `${written.failed.length} keys failed to write`);
  assert.equal(written.succeeded.length, keys.length);

  const listed = await listAll(store, namespaceId);
  assert.equal(new Set(listed).size, listed.length, 'the listing repeats a key');
  assert.deepEqual(sortUtf8(listed), sortUtf8(keys), 'the listing holds exactly the written keys');
  assert.deepEqual(sortUtf8(await target.storedNames()), sortUtf8(keys), 'the server stored exactly the written names');

  await all(keys, 16, async (key) => {
    const entry = await store.get(namespaceId, key);
    assert.ok(entry, `${JSON.stringify(key)} is missing`);
    assert.equal(Buffer.from(entry.value).toString('utf8'), valueFor(key), `${JSON.stringify(key)} read another key's value`);
  });

  // Prefixes go through query strings: cut generated keys at random points, '%', '?', '#', '+' and all.
  // Cut at code points: half a surrogate pair is not a prefix anyone can type.
  const prefixes = sample(Math.min(30, keys.length), keys).map((key) => {
    const characters = Array.from(key);
    return characters.slice(0, 1 + Math.floor(random() * characters.length)).join('');
  });
  for (const prefix of prefixes) {
    const expected = sortUtf8(keys.filter((key) => key.startsWith(prefix)));
    assert.deepEqual(sortUtf8(await listAll(store, namespaceId, prefix)), expected, `listing by prefix ${JSON.stringify(prefix)}`);
  }
  const folders = ['', ...sample(Math.min(15, keys.length), keys.filter((key) => key.includes('/'))).map((key) => key.slice(0, key.indexOf('/') + 1))];
  for (const folder of folders) {
    assert.deepEqual(await childrenAll(store, namespaceId, folder), expectedChildren(keys, folder), `children of ${JSON.stringify(folder)}`);
  }

  const deletedOneByOne = sample(Math.min(300, Math.floor(keys.length / 4)), keys);
  const gone = new Set(deletedOneByOne);
  const deletedInBulk = sample(Math.floor(keys.length / 4), keys.filter((key) => !gone.has(key)));
  await all(deletedOneByOne, 16, (key) => store.delete(namespaceId, key));
  const bulk = await store.bulkDelete(namespaceId, deletedInBulk);
  assert.deepEqual(bulk.failed.slice(0, 5), [], `${bulk.failed.length} keys failed to delete in bulk`);
  for (const key of deletedInBulk) gone.add(key);
  const remaining = keys.filter((key) => !gone.has(key));
  assert.deepEqual(sortUtf8(await listAll(store, namespaceId)), sortUtf8(remaining), 'after deletes, exactly the other keys remain');
  assert.deepEqual(sortUtf8(await target.storedNames()), sortUtf8(remaining), 'after deletes, the server holds exactly the other keys');
  for (const key of sample(20, deletedOneByOne)) assert.equal(await store.get(namespaceId, key), undefined, `${JSON.stringify(key)} was deleted`);
  return gone;
}

/**
 * Every request reached a route that exists and every key route named one generated key; GETs covered every key.
 * The only answer other than a success allowed is a 404 for reading a key the fuzz had deleted.
 */
function assertRoutes(log: RouteLog, keys: string[], deleted: Set<string>): void {
  const known = new Set(keys);
  const depth = log.namespacePath.split('/').length + 2; // …/<namespace>/values/<key>
  const readKeys = new Set<string>();
  const problems: string[] = [];
  for (const entry of log.entries()) {
    const path = entry.url.split('?')[0];
    const segments = path.split('/');
    const route = segments[segments.length - 2];
    const keyRoute = path.startsWith(`${log.namespacePath}/`) && log.keyRoutes.includes(route) && segments.length > log.namespacePath.split('/').length + 1;
    const key = keyRoute ? decodeURIComponent(segments[segments.length - 1]) : undefined;
    const readOfDeleted = entry.method === 'GET' && key !== undefined && deleted.has(key);
    const success = entry.status !== undefined && entry.status >= 200 && entry.status < 300;
    if (entry.status !== undefined && !success && !(entry.status === 404 && readOfDeleted)) {
      problems.push(`${entry.method} ${entry.url} → ${entry.status}`);
    }
    if (key === undefined) continue;
    if (segments.length !== depth) {
      problems.push(`${entry.method} ${entry.url}: a key route with ${segments.length - depth} extra segment(s)`);
      continue;
    }
    if (!known.has(key)) problems.push(`${entry.method} ${entry.url}: reached ${JSON.stringify(key)}, which is no generated key`);
    if (entry.method === 'GET' && route === log.keyRoutes[0]) readKeys.add(key);
  }
  assert.deepEqual(problems.slice(0, 10), [], `${problems.length} requests went astray`);
  const unread = keys.filter((key) => !readKeys.has(key));
  assert.deepEqual(unread.slice(0, 5), [], `${unread.length} keys were never read through their own value route`);
}

describe(`reliability: key encoding fuzz${FULL ? ' (full)' : ''}`, function () {
  this.timeout(sized(180_000, 1_800_000));
  const cleanups: (() => Promise<void>)[] = [];

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  function tempDir(prefix: string): string {
    const directory = mkdtempSync(join(tmpdir(), prefix));
    cleanups.push(async () => rmSync(directory, { recursive: true, force: true }));
    return directory;
  }

  it('the generator covers every feature it promises', () => {
    const { features } = generateKeys(2_000, SEED, CLOUDFLARE_PIECES, CLOUDFLARE_LIMITS);
    for (const name of CLOUDFLARE_FEATURES) assert.ok(features[name] >= 20, `only ${features[name]} of 2,000 keys show ${name}`);
    const telnyx = generateKeys(2_000, SEED, TELNYX_PIECES, TELNYX_LIMITS);
    for (const name of TELNYX_FEATURES) assert.ok(telnyx.features[name] >= 20, `only ${telnyx.features[name]} of 2,000 Telnyx keys show ${name}`);
  });

  it('document addresses (src/core/kvPath): 10,000 keys round-trip, through a parsed URL too, with a display path VS Code cannot rewrite', () => {
    const { keys } = generateKeys(10_000, SEED + 3, CLOUDFLARE_PIECES, CLOUDFLARE_LIMITS);
    const awkwardIds = ['local', 'Conn-1', 'c/with/slashes?#', 'ns%2F..', ''];
    keys.forEach((key, index) => {
      for (const kind of ['value', 'metadata'] as const) {
        const address: KvAddress = { connectionId: awkwardIds[index % 4], namespaceId: awkwardIds[(index + 1) % 5] || 'n', key, kind };
        const parts = encodeKvAddress(address);
        assert.deepEqual(decodeKvAddress(parts), address, `key ${JSON.stringify(key)} (${kind})`);
        // The parts are URI components (a decoded path): let a URL parser encode them, print, and parse them again.
        const built = new URL(`kv://${parts.authority}`);
        built.pathname = parts.path;
        built.search = parts.query;
        const parsed = new URL(built.href);
        assert.deepEqual(decodeKvAddress({ query: parsed.search.slice(1) }), address, `key ${JSON.stringify(key)} (${kind}) through a URL parser`);
        const segments = parts.path.split('/').slice(1);
        assert.ok(!segments.some((segment) => segment === '' || segment === '.' || segment === '..'), `display path ${JSON.stringify(parts.path)} has a segment VS Code may normalise`);
      }
    });
  });

  const localCount = 10_000;
  it(`local store: ${localCount.toLocaleString('en')} keys round-trip exactly`, async () => {
    const store = await LocalStore.open(tempDir('kv-rel-fuzz-local-'), { sweepIntervalMs: 0 });
    cleanups.push(() => store.close());
    const namespaceId = (await store.createNamespace('fuzz')).id;
    const { keys } = generateKeys(localCount, SEED, CLOUDFLARE_PIECES, store.limits);
    await roundTrip({ store, namespaceId, storedNames: () => listAll(store, namespaceId) }, keys, SEED);
  });

  const cloudflareCount = 10_000;
  it(`Cloudflare provider → Cloudflare-dialect server: ${cloudflareCount.toLocaleString('en')} keys round-trip, every route exact`, async () => {
    const backing = await LocalStore.open(tempDir('kv-rel-fuzz-cf-'), { sweepIntervalMs: 0 });
    const server = await startCloudflareServer({ store: backing, token: TOKEN });
    const store = new CloudflareStore({ baseUrl: server.baseUrl, accountId: server.accountId, auth: { token: TOKEN } });
    cleanups.push(async () => {
      await store.close();
      await server.close();
      await backing.close();
    });
    const namespaceId = (await store.createNamespace('fuzz')).id;
    const { keys } = generateKeys(cloudflareCount, SEED + 1, CLOUDFLARE_PIECES, store.limits);
    server.requests.clear();
    const deleted = await roundTrip({ store, namespaceId, storedNames: () => listAll(backing, namespaceId) }, keys, SEED + 1);
    assertRoutes(
      { entries: (): RequestLogEntry[] => server.requests.entries, namespacePath: `/client/v4/accounts/${server.accountId}/storage/kv/namespaces/${namespaceId}`, keyRoutes: ['values', 'metadata'] },
      keys,
      deleted,
    );
  });

  const miniflareCount = sized(1_000, 10_000);
  it(`wrangler dev target → Miniflare explorer API: ${miniflareCount.toLocaleString('en')} keys round-trip, every route exact`, async () => {
    const { miniflare, url, apiRoot } = await startMiniflareExplorer(['NS']);
    cleanups.push(() => miniflare.dispose());
    const store = new CloudflareStore({ baseUrl: apiRoot, target: 'wrangler-dev' });
    cleanups.push(() => store.close());
    const binding = (await miniflare.getKVNamespace('NS')) as unknown as {
      list(options: { cursor?: string }): Promise<{ keys: { name: string }[]; list_complete: boolean; cursor?: string }>;
    };
    const bindingNames = async (): Promise<string[]> => {
      const names: string[] = [];
      let cursor: string | undefined;
      for (let page = 0; page < 10_000; page++) {
        const result = await binding.list({ cursor });
        names.push(...result.keys.map((key) => key.name));
        if (result.list_complete) return names;
        cursor = result.cursor;
      }
      throw new Error('the binding listing did not end');
    };
    const [namespace] = (await store.listNamespaces()).items;
    const { keys } = generateKeys(miniflareCount, SEED + 2, CLOUDFLARE_PIECES, store.limits);
    // Miniflare keeps no request log: watch what this process sends to it, and check statuses through the answers.
    const watch = new NetworkWatch();
    let deleted: Set<string>;
    try {
      deleted = await roundTrip({ store, namespaceId: namespace.id, storedNames: bindingNames }, keys, SEED + 2);
    } finally {
      watch.stop();
    }
    const entries = watch.exchangesWith(url.href).map((exchange) => ({ method: exchange.method, url: exchange.path, status: exchange.status }));
    assert.ok(entries.length >= miniflareCount, `only ${entries.length} requests to Miniflare were seen`);
    const unanswered = entries.filter((entry) => entry.status === undefined);
    assert.deepEqual(unanswered.slice(0, 5), [], `${unanswered.length} requests to Miniflare have no status`);
    assertRoutes({ entries: () => entries, namespacePath: `/cdn-cgi/explorer/api/storage/kv/namespaces/${namespace.id}`, keyRoutes: ['values', 'metadata'] }, keys, deleted);
  });
  const telnyxCount = 10_000;
  it(`Telnyx provider → Telnyx-dialect server: ${telnyxCount.toLocaleString('en')} keys of Telnyx's alphabet round-trip, every route exact`, async () => {
    const backing = await LocalStore.open(tempDir('kv-rel-fuzz-tx-'), { sweepIntervalMs: 0 });
    const server = await startTelnyxServer({ store: backing, apiKey: TOKEN });
    const store = new TelnyxStore({ baseUrl: server.baseUrl, apiKey: TOKEN });
    cleanups.push(async () => {
      await store.close();
      await server.close();
      await backing.close();
    });
    const namespaceId = (await store.createNamespace('fuzz')).id;
    const [backingNamespace] = (await backing.listNamespaces()).items;
    const { keys } = generateKeys(telnyxCount, SEED + 4, TELNYX_PIECES, store.limits);
    server.requests.clear();
    const deleted = await roundTrip({ store, namespaceId, storedNames: () => listAll(backing, backingNamespace.id) }, keys, SEED + 4);
    assertRoutes({ entries: (): RequestLogEntry[] => server.requests.entries, namespacePath: `/v2/storage/kvs/${namespaceId}`, keyRoutes: ['keys'] }, keys, deleted);
  });
});
