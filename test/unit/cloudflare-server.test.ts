// The Cloudflare provider (target 'cloudflare', with an account id) against the project's own Cloudflare-dialect
// server over a real LocalStore: the shared contract, per-key write spacing under the server's 1-write-per-second
// rule, bad input that never leaves the machine, and writes under heavy injected failure.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KvError } from '../../src/core/errors';
import type { KvStore } from '../../src/core/store';
import { CloudflareStore } from '../../src/providers/cloudflare';
import { RestClient } from '../../src/providers/http';
import { LocalStore } from '../../src/providers/local';
import type { FaultOptions } from '../../src/server/faults';
import { startCloudflareServer, type CloudflareServer } from '../../src/server/cloudflare';
import { runStoreContract } from '../support/storeContract';

const TOKEN = 'server-test-token-0123456789';
const ACCOUNT = 'acc-1';

interface Backend {
  directory: string;
  local: LocalStore;
  server: CloudflareServer;
  close(): Promise<void>;
}

async function startBackend(options: { enforceWriteRate?: boolean; faults?: FaultOptions } = {}): Promise<Backend> {
  const directory = mkdtempSync(join(tmpdir(), 'kv-cf-server-'));
  const local = await LocalStore.open(directory, { sweepIntervalMs: 0 });
  const server = await startCloudflareServer({ store: local, token: TOKEN, accountId: ACCOUNT, ...options });
  return {
    directory,
    local,
    server,
    close: async () => {
      await server.close();
      await local.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

function text(bytes: Uint8Array | undefined): string | undefined {
  return bytes === undefined ? undefined : Buffer.from(bytes).toString('utf8');
}

describe('KvStore contract against the Cloudflare-dialect server (target cloudflare)', function () {
  let backend: Backend;
  before(async () => {
    // The server enforces Cloudflare's one write per second per key, so the contract's rapid rewrites of one key
    // pass only because the client spaces them.
    backend = await startBackend({ enforceWriteRate: true });
  });
  after(async () => {
    try {
      const limited = backend.server.requests.entries.filter((entry) => entry.status === 429).map((entry) => `${entry.method} ${entry.url}`);
      assert.deepEqual(limited, [], 'no write ran into the per-key rate limit');
    } finally {
      await backend.close();
    }
  });

  runStoreContract(
    'cloudflare provider on the project server',
    async () => {
      const store = new CloudflareStore({ baseUrl: backend.server.baseUrl, accountId: ACCOUNT, auth: { token: TOKEN } });
      const { id } = await backend.local.createNamespace(`contract-${Math.random().toString(36).slice(2, 10)}`);
      return {
        store,
        namespaceId: id,
        cleanup: async () => {
          await store.close();
          await backend.local.deleteNamespace(id);
        },
      };
    },
    { timeoutMs: 60_000 },
  );
});

describe('CloudflareStore against the Cloudflare-dialect server', function () {
  this.timeout(60_000);
  let backend: Backend;
  let store: CloudflareStore;
  let ns: string;

  beforeEach(async () => {
    backend = await startBackend({ enforceWriteRate: true });
    store = new CloudflareStore({ baseUrl: backend.server.baseUrl, accountId: ACCOUNT, auth: { token: TOKEN } });
    ns = (await store.createNamespace('provider-tests')).id;
    backend.server.requests.clear();
  });
  afterEach(async () => {
    await store.close();
    await backend.close();
  });

  it('reports the full Cloudflare capabilities', () => {
    assert.equal(store.kind, 'cloudflare');
    assert.equal(store.capabilities.bulkWrite && store.capabilities.bulkDelete && store.capabilities.namespaceCreate, true);
    assert.equal(store.capabilities.expiration, 'absolute-and-ttl');
  });

  it('sends keys as one encoded segment, so no key reaches another path', async () => {
    const keys = ['a/b', '../escape', 'x/../../y', 'q?x#y', '100%', 'sp ace', 'ünï😀'];
    for (const key of keys) await store.put(ns, key, `v:${key}`);
    for (const key of keys) assert.equal(text((await backend.local.get(ns, key))?.value), `v:${key}`, key);
    assert.deepEqual((await backend.local.list(ns)).keys.map((key) => key.name).sort(), [...keys].sort());
    const paths = backend.server.requests.entries.filter((entry) => entry.method === 'PUT').map((entry) => entry.url);
    assert.ok(paths.includes(`/client/v4/accounts/${ACCOUNT}/storage/kv/namespaces/${ns}/values/..%2Fescape`), paths.join('\n'));
  });

  it('spaces rapid writes of one key under the server\'s 1-per-second rule: none hits a 429, the last one wins', async () => {
    const started = Date.now();
    await Promise.all(['one', 'two', 'three'].map((value) => store.put(ns, 'hot', value)));
    assert.ok(Date.now() - started >= 1900, 'three writes of one key take at least two intervals');
    assert.equal(text((await backend.local.get(ns, 'hot'))?.value), 'three');
    assert.deepEqual(backend.server.requests.entries.map((entry) => entry.status), [200, 200, 200]);
  });

  it('reads expiration from the response header and metadata from /metadata', async () => {
    const expiration = Math.floor(Date.now() / 1000) + 7200;
    await store.put(ns, 'k', new Uint8Array([1, 2, 3]), { expiration, metadata: { a: 'é' } });
    assert.deepEqual(await store.get(ns, 'k'), { value: new Uint8Array([1, 2, 3]), expiration, metadata: { a: 'é' } });
    const urls = backend.server.requests.entries.map((entry) => `${entry.method} ${entry.url.replace(/^.*namespaces\/[^/]+/, '')}`);
    assert.deepEqual(urls.sort(), ['GET /metadata/k', 'GET /values/k', `PUT /values/k?expiration=${expiration}`]);
  });

  it('bulk-writes in batches of at most 10,000 pairs, several at once, and reports every key', async () => {
    const entries = Array.from({ length: 20_500 }, (_, i) => ({ key: `bulk/${String(i).padStart(5, '0')}`, value: i % 2 ? `v${i}` : new Uint8Array([i % 256]) }));
    const progress: number[] = [];
    const result = await store.bulkPut(ns, entries, { onProgress: ({ done }) => progress.push(done) });
    assert.equal(result.succeeded.length, 20_500);
    assert.deepEqual(result.failed, []);
    const bulkRequests = backend.server.requests.entries.filter((entry) => entry.url.endsWith('/bulk'));
    assert.equal(bulkRequests.length, 3);
    assert.deepEqual(progress.sort((a, b) => a - b).at(-1), 20_500);
    assert.equal(text((await backend.local.get(ns, 'bulk/20499'))?.value), 'v20499');
    assert.deepEqual([...((await backend.local.get(ns, 'bulk/00256'))?.value ?? [])], [0]);

    const deleted = await store.bulkDelete(ns, entries.map((entry) => entry.key));
    assert.equal(deleted.succeeded.length, 20_500);
    assert.equal(backend.server.requests.entries.filter((entry) => entry.url.endsWith('/bulk/delete')).length, 3);
    assert.deepEqual((await backend.local.list(ns)).keys, []);
  });

  it('refuses bad input before any request leaves the machine, and keeps what is stored', async () => {
    await backend.local.put(ns, 'keep', 'before');
    backend.server.requests.clear();
    const tooBig = new Uint8Array(25 * 1024 * 1024 + 1);
    const now = Math.floor(Date.now() / 1000);
    const attempts: [string, () => Promise<unknown>, string][] = [
      ['key of 513 bytes', () => store.put(ns, 'k'.repeat(513), 'v'), 'key.maxBytes'],
      ['key of 513 bytes (2-byte chars)', () => store.put(ns, 'é'.repeat(256) + 'x', 'v'), 'key.maxBytes'],
      ['key "."', () => store.put(ns, '.', 'v'), 'key.forbidden'],
      ['key ".."', () => store.put(ns, '..', 'v'), 'key.forbidden'],
      ['empty key', () => store.put(ns, '', 'v'), 'key.empty'],
      ['value over 25 MiB', () => store.put(ns, 'keep', tooBig), 'value.maxBytes'],
      ['metadata over 1024 bytes', () => store.put(ns, 'keep', 'v', { metadata: { m: 'x'.repeat(1020) } }), 'metadata.maxBytes'],
      ['TTL of 59', () => store.put(ns, 'keep', 'v', { expirationTtl: 59 }), 'expiration.ttl'],
      ['expiration 30 s ahead', () => store.put(ns, 'keep', 'v', { expiration: now + 30 }), 'expiration.absolute'],
      ['read of a ".." key', () => store.get(ns, '..'), 'key.forbidden'],
      ['delete of a 513-byte key', () => store.delete(ns, 'k'.repeat(513)), 'key.maxBytes'],
      ['bulk put with one bad entry', () => store.bulkPut(ns, [{ key: 'fine', value: 'v' }, { key: '.', value: 'v' }]), 'bulk.entries'],
      ['bulk delete with one bad key', () => store.bulkDelete(ns, ['fine', 'k'.repeat(600)]), 'bulk.keys'],
      ['list limit 5', () => store.list(ns, { limit: 5 }), 'list.limit'],
      ['namespace title too long', () => store.createNamespace('t'.repeat(513)), 'namespace.maxChars'],
    ];
    for (const [what, attempt, rule] of attempts) {
      await assert.rejects(attempt(), (error: unknown) => {
        assert.ok(error instanceof KvError, `${what}: ${String(error)}`);
        assert.ok(error.kind === 'invalid' || error.kind === 'too-large', `${what}: ${error.kind}`);
        assert.equal(error.rule, rule, what);
        return true;
      });
    }
    assert.equal(backend.server.requests.count, 0, backend.server.requests.entries.map((entry) => entry.url).join('\n'));
    assert.equal(text((await backend.local.get(ns, 'keep'))?.value), 'before');
  });

  it('maps the server\'s errors to typed KvErrors carrying Cloudflare codes', async () => {
    await assert.rejects(store.list('0'.repeat(32)), (error: unknown) => {
      assert.ok(error instanceof KvError && error.kind === 'not-found');
      assert.ok(error.providerCodes?.includes(10013));
      assert.match(error.message, /^Cloudflare 10013: .*\(HTTP 404\)$/);
      return true;
    });
    await assert.rejects(store.createNamespace('provider-tests'), (error: unknown) => error instanceof KvError && error.kind === 'conflict' && error.providerCodes?.includes(10014) === true);
    const wrongToken = new CloudflareStore({ baseUrl: backend.server.baseUrl, accountId: ACCOUNT, auth: { token: 'wrong-token-000' } });
    try {
      await assert.rejects(wrongToken.list(ns), (error: unknown) => error instanceof KvError && error.kind === 'unauthorized' && error.status === 403);
    } finally {
      await wrongToken.close();
    }
    assert.equal(await store.get(ns, 'missing'), undefined);
    await store.delete(ns, 'missing');
  });

  it('creates, renames, pages and deletes namespaces', async () => {
    for (let i = 0; i < 5; i++) await store.createNamespace(`paged-${i}`);
    const titles: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await store.listNamespaces({ cursor, limit: 2 });
      titles.push(...page.items.map((item) => item.title));
      cursor = page.complete ? undefined : page.cursor;
      pages++;
    } while (cursor && pages < 10);
    assert.deepEqual(titles.sort(), ['paged-0', 'paged-1', 'paged-2', 'paged-3', 'paged-4', 'provider-tests']);
    assert.equal(pages, 3);
    await store.renameNamespace(ns, 'renamed');
    assert.ok((await store.listNamespaces()).items.some((item) => item.id === ns && item.title === 'renamed'));
    await store.deleteNamespace(ns);
    assert.ok(!(await store.listNamespaces()).items.some((item) => item.id === ns));
  });

  it('verifies the token and lists the account', async () => {
    const verified = await CloudflareStore.verifyToken({ baseUrl: backend.server.baseUrl, token: TOKEN });
    assert.equal(verified.status, 'active');
    assert.equal(verified.via, 'user');
    assert.deepEqual(
      (await CloudflareStore.listAccounts({ baseUrl: backend.server.baseUrl, auth: { token: TOKEN } })).map((account) => account.id),
      [ACCOUNT],
    );
    await assert.rejects(CloudflareStore.verifyToken({ baseUrl: backend.server.baseUrl, token: 'nope-nope-nope' }), (error: unknown) => {
      return error instanceof KvError && error.kind === 'unauthorized' && error.providerCodes?.includes(1000) === true;
    });
  });

  it('accepts email + global key credentials', async () => {
    await backend.close();
    const directory = mkdtempSync(join(tmpdir(), 'kv-cf-server-'));
    const local = await LocalStore.open(directory, { sweepIntervalMs: 0 });
    const server = await startCloudflareServer({ store: local, email: 'me@example.test', apiKey: 'global-key-0123', accountId: ACCOUNT });
    backend = { directory, local, server, close: async () => (await server.close(), await local.close(), rmSync(directory, { recursive: true, force: true })) };
    const keyed = new CloudflareStore({ baseUrl: server.baseUrl, accountId: ACCOUNT, auth: { email: 'me@example.test', key: 'global-key-0123' } });
    try {
      const created = await keyed.createNamespace('keyed');
      await keyed.put(created.id, 'k', 'v');
      assert.equal(text((await local.get(created.id, 'k'))?.value), 'v');
    } finally {
      await keyed.close();
    }
  });
});

describe('CloudflareStore under injected failure (429, 5xx, dropped connections)', function () {
  this.timeout(120_000);
  let backend: Backend;
  const stores: KvStore[] = [];

  /** A store whose client retries quickly and often, so heavy fault rates stay fast. */
  function faultTolerantStore(retry: { maxAttempts: number; maxTotalMs?: number }): CloudflareStore {
    const client = new RestClient({
      baseUrl: backend.server.baseUrl,
      provider: 'Cloudflare',
      headers: { authorization: `Bearer ${TOKEN}` },
      retry: { baseDelayMs: 10, maxDelayMs: 100, maxTotalMs: 30_000, ...retry },
      writeIntervalMs: 1000,
    });
    const store = new CloudflareStore({ baseUrl: backend.server.baseUrl, accountId: ACCOUNT, client });
    stores.push({ close: () => client.close() } as KvStore);
    return store;
  }

  beforeEach(async () => {
    backend = await startBackend();
  });
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((store) => store.close()));
    await backend.close();
  });

  it('every write either lands or fails with a typed error, under 50% injected faults of every kind', async () => {
    const store = faultTolerantStore({ maxAttempts: 12 });
    const { id: ns } = await backend.local.createNamespace('faults');
    backend.server.setFaults({ rate: 0.5, kinds: ['429', '500', '503', 'drop', 'drop-after', 'slow'], retryAfterSeconds: 0, slowMs: 20, seed: 7 });
    const keys = Array.from({ length: 60 }, (_, i) => `f/${i}`);
    const outcomes = await Promise.allSettled(keys.map((key, i) => store.put(ns, key, `value ${i}`, { metadata: { i } })));
    const bulk = await store.bulkPut(ns, Array.from({ length: 500 }, (_, i) => ({ key: `b/${i}`, value: `bulk ${i}` })));
    backend.server.setFaults(undefined);

    const injected = backend.server.requests.entries.filter((entry) => entry.fault !== undefined && entry.fault !== 'slow').length;
    assert.ok(injected >= 20, `only ${injected} faults were injected`);
    let landed = 0;
    for (const [i, outcome] of outcomes.entries()) {
      const stored = await backend.local.get(ns, keys[i]);
      if (outcome.status === 'fulfilled') {
        landed++;
        assert.equal(text(stored?.value), `value ${i}`, `${keys[i]} was reported written but is not stored`);
        assert.deepEqual(stored?.metadata, { i });
      } else {
        assert.ok(outcome.reason instanceof KvError, String(outcome.reason));
        assert.ok(['unavailable', 'rate-limited'].includes(outcome.reason.kind), outcome.reason.message);
      }
    }
    assert.ok(landed >= 55, `only ${landed} of 60 writes landed with 12 attempts each`);
    assert.equal(bulk.succeeded.length + bulk.failed.length, 500);
    for (const key of bulk.succeeded) assert.equal(text((await backend.local.get(ns, key))?.value), `bulk ${key.slice(2)}`, key);
    for (const failure of bulk.failed) assert.ok(failure.error.length > 0);
  });

  it('when every request fails, every write rejects with a typed error and none claims success', async () => {
    const store = faultTolerantStore({ maxAttempts: 3 });
    const { id: ns } = await backend.local.createNamespace('all-fail');
    backend.server.setFaults({ rate: 1, kinds: ['503', 'drop', '429'], retryAfterSeconds: 0 });
    const outcomes = await Promise.allSettled([
      store.put(ns, 'a', 'v'),
      store.delete(ns, 'a'),
      store.bulkPut(ns, [{ key: 'b', value: 'v' }]),
      store.bulkDelete(ns, ['b']),
    ]);
    for (const outcome of outcomes) {
      assert.equal(outcome.status, 'rejected');
      const reason = (outcome as PromiseRejectedResult).reason;
      assert.ok(reason instanceof KvError, String(reason));
      assert.ok(['unavailable', 'rate-limited'].includes(reason.kind), reason.message);
      if (reason.kind === 'rate-limited') assert.match(reason.message, /Cloudflare \d+: .*\(HTTP 429\)/);
    }
    backend.server.setFaults(undefined);
    assert.deepEqual((await backend.local.list(ns)).keys, []);
  });

  it('honours the Retry-After of injected 429s', async () => {
    const store = faultTolerantStore({ maxAttempts: 5 });
    const { id: ns } = await backend.local.createNamespace('retry-after');
    backend.server.setFaults({ rate: 1, kinds: ['429'], retryAfterSeconds: 1 });
    const started = Date.now();
    const pending = store.put(ns, 'k', 'v');
    setTimeout(() => backend.server.setFaults(undefined), 300);
    await pending;
    assert.ok(Date.now() - started >= 1000, 'the retry waited for Retry-After');
    const puts = backend.server.requests.entries.filter((entry) => entry.method === 'PUT');
    assert.deepEqual(puts.map((entry) => entry.status), [429, 200]);
  });

  it('does not repeat a namespace creation whose answer was lost (not idempotent)', async () => {
    const store = faultTolerantStore({ maxAttempts: 5 });
    backend.server.setFaults({ rate: 1, kinds: ['drop-after'] });
    await assert.rejects(store.createNamespace('once'), (error: unknown) => error instanceof KvError && error.kind === 'unavailable');
    backend.server.setFaults(undefined);
    assert.equal(backend.server.requests.entries.filter((entry) => entry.method === 'POST').length, 1);
    assert.deepEqual((await backend.local.listNamespaces()).items.filter((item) => item.title === 'once').length, 1);
  });
});
