// The Telnyx provider against the project's Telnyx-dialect server over a real LocalStore: the shared contract,
// validation that never leaves the machine, namespace statuses, error mapping, Content-Type, ttl_secs and faults.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isKvError, KvError } from '../../src/core/errors';
import { LocalStore } from '../../src/providers/local';
import { TelnyxStore } from '../../src/providers/telnyx';
import { startTelnyxServer, type TelnyxServer } from '../../src/server/telnyx';
import { runStoreContract } from '../support/storeContract';

const API_KEY = 'telnyx-test-key-0123456789';

interface Backend {
  local: LocalStore;
  server: TelnyxServer;
  store: TelnyxStore;
  close(): Promise<void>;
}

async function startBackend(options: { provisioningDelayMs?: number } = {}): Promise<Backend> {
  const directory = mkdtempSync(join(tmpdir(), 'kv-telnyx-'));
  const local = await LocalStore.open(directory, { sweepIntervalMs: 0 });
  const server = await startTelnyxServer({ store: local, apiKey: API_KEY, ...options });
  const store = new TelnyxStore({ baseUrl: server.baseUrl, apiKey: API_KEY });
  return {
    local,
    server,
    store,
    close: async () => {
      await store.close();
      await server.close();
      await local.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

let counter = 0;
function uniqueName(): string {
  return `ns-${process.pid}-${++counter}`;
}

function text(bytes: Uint8Array | undefined): string | undefined {
  return bytes === undefined ? undefined : Buffer.from(bytes).toString('utf8');
}

describe('Telnyx provider', function () {
  this.timeout(30_000);

  describe('contract', () => {
    let backend: Backend;
    before(async () => {
      backend = await startBackend();
    });
    after(async () => backend.close());
    runStoreContract('Telnyx provider → Telnyx-dialect server', async () => {
      const namespace = await backend.store.createNamespace(uniqueName());
      return { store: backend.store, namespaceId: namespace.id, cleanup: async () => backend.store.deleteNamespace(namespace.id) };
    });
  });

  describe('against the Telnyx-dialect server', () => {
    let backend: Backend;
    let ns: string;
    before(async () => {
      backend = await startBackend();
    });
    after(async () => backend.close());
    beforeEach(async () => {
      ns = (await backend.store.createNamespace(uniqueName())).id;
    });

    const badKeys: [string, string, RegExp][] = [
      ['a colon', 'user:1', /letters, digits/],
      ['a space', 'a b', /letters, digits/],
      ['257 characters', 'k'.repeat(257), /at most 256/],
      ['a leading underscore', '_internal', /reserves keys that start with "_"/],
      ['an empty key', '', /empty/],
    ];
    for (const [what, key, message] of badKeys) {
      it(`refuses a key with ${what} before any request, naming the rule`, async () => {
        const before = backend.server.requests.count;
        await assert.rejects(backend.store.put(ns, key, 'v'), (error: unknown) => isKvError(error) && message.test(error.message));
        assert.equal(backend.server.requests.count, before, 'no request reached the server');
      });
    }

    it('refuses a value over 1 MiB before any request, naming the limit and the size', async () => {
      const before = backend.server.requests.count;
      await assert.rejects(backend.store.put(ns, 'big', new Uint8Array(1024 * 1024 + 1)), (error: unknown) => isKvError(error, 'too-large') && /1048577 bytes/.test(error.message) && /1 MiB/.test(error.message));
      assert.equal(backend.server.requests.count, before);
    });

    it('refuses metadata, which Telnyx does not store', async () => {
      await assert.rejects(backend.store.put(ns, 'k', 'v', { metadata: { a: 1 } }), /does not store metadata/);
    });

    it('keeps the Content-Type a value was written with', async () => {
      await backend.store.put(ns, 'page.html', '<p>hi</p>', { contentType: 'text/html' });
      const entry = await backend.store.get(ns, 'page.html');
      assert.equal(text(entry?.value), '<p>hi</p>');
      assert.match(entry?.contentType ?? '', /^text\/html/);
    });

    it('sends a TTL as ttl_secs, and an absolute expiration as the TTL from now', async () => {
      await backend.store.put(ns, 'ttl', 'v', { expirationTtl: 120 });
      await backend.store.put(ns, 'abs', 'v', { expiration: Math.floor(Date.now() / 1000) + 300 });
      const puts = backend.server.requests.entries.filter((entry) => entry.method === 'PUT').slice(-2).map((entry) => entry.url);
      assert.match(puts[0], /ttl_secs=120\b/);
      assert.match(puts[1], /ttl_secs=(29[5-9]|300)\b/);
    });

    it('lists keys with their size and update time, paged by cursor', async () => {
      for (let i = 0; i < 5; i++) await backend.store.put(ns, `k${i}`, 'x'.repeat(i + 1));
      const first = await backend.store.list(ns, { limit: 2 });
      assert.equal(first.complete, false);
      assert.deepEqual(first.keys.map((k) => [k.name, k.sizeBytes]), [['k0', 1], ['k1', 2]]);
      assert.ok(first.keys[0].updatedAt);
      const rest = await backend.store.list(ns, { cursor: first.cursor, limit: 10 });
      assert.deepEqual(rest.keys.map((k) => k.name), ['k2', 'k3', 'k4']);
      assert.equal(rest.complete, true);
    });

    it('maps a wrong API key to unauthorized, with Telnyx\'s own message', async () => {
      const wrong = new TelnyxStore({ baseUrl: backend.server.baseUrl, apiKey: 'wrong-key-0000' });
      try {
        await assert.rejects(wrong.listNamespaces(), (error: unknown) => isKvError(error, 'unauthorized') && /Telnyx .*HTTP 401/.test(error.message));
        await assert.rejects(TelnyxStore.verify({ baseUrl: backend.server.baseUrl, apiKey: 'wrong-key-0000' }), (error: unknown) => isKvError(error, 'unauthorized'));
      } finally {
        await wrong.close();
      }
    });

    it('says when a namespace does not exist, and a missing key is simply absent', async () => {
      assert.equal(await backend.store.get(ns, 'missing'), undefined);
      await assert.rejects(backend.store.get('00000000-0000-4000-8000-000000000000', 'k'), (error: unknown) => isKvError(error, 'not-found') && /namespace/.test(error.message));
    });

    it('deletes idempotently', async () => {
      await backend.store.put(ns, 'gone', 'v');
      await backend.store.delete(ns, 'gone');
      await backend.store.delete(ns, 'gone');
      assert.equal(await backend.store.get(ns, 'gone'), undefined);
    });

    it('cannot rename a namespace, and says so', async () => {
      await assert.rejects(backend.store.renameNamespace(), /cannot rename/);
    });

    it('writes every key of a bulk put one request at a time, reporting each', async () => {
      const entries = Array.from({ length: 30 }, (_, i) => ({ key: `bulk/${i}`, value: `v${i}` }));
      const result = await backend.store.bulkPut(ns, entries);
      assert.equal(result.succeeded.length, 30);
      assert.deepEqual(result.failed, []);
      assert.equal(text((await backend.store.get(ns, 'bulk/29'))?.value), 'v29');
      const deleted = await backend.store.bulkDelete(ns, entries.map((entry) => entry.key));
      assert.equal(deleted.succeeded.length, 30);
      assert.equal((await backend.store.list(ns, { prefix: 'bulk/' })).keys.length, 0);
    });

    it('under injected 429s, 5xx and dropped connections, every write lands or fails typed', async () => {
      backend.server.setFaults({ rate: 0.4, kinds: ['429', '500', '503', 'drop'], retryAfterSeconds: 0, seed: 11 });
      const outcomes: (true | KvError)[] = [];
      try {
        for (let i = 0; i < 20; i++) {
          outcomes.push(
            await backend.store.put(ns, `f${i}`, `v${i}`).then(
              () => true as const,
              (error: unknown) => {
                assert.ok(error instanceof KvError, `typed: ${String(error)}`);
                return error;
              },
            ),
          );
        }
      } finally {
        backend.server.setFaults(undefined);
      }
      for (let i = 0; i < 20; i++) {
        const stored = text((await backend.store.get(ns, `f${i}`))?.value);
        if (outcomes[i] === true) assert.equal(stored, `v${i}`, `f${i} reported written`);
      }
      assert.ok(outcomes.filter((outcome) => outcome === true).length >= 15, 'retries carry most writes through');
    });
  });

  describe('namespace status', () => {
    let backend: Backend;
    before(async () => {
      backend = await startBackend({ provisioningDelayMs: 1500 });
    });
    after(async () => backend.close());

    it('shows a new namespace as provisioning and refuses key operations with a clear message until it is ready', async () => {
      const namespace = await backend.store.createNamespace(uniqueName());
      assert.equal(namespace.status, 'provisioning');
      backend.server.requests.clear();
      await assert.rejects(backend.store.put(namespace.id, 'k', 'v'), (error: unknown) => isKvError(error, 'conflict') && /still provisioning/.test(error.message));
      assert.deepEqual(backend.server.requests.entries.map((entry) => entry.method), ['GET'], 'only its status was read; no key request was sent');
      let ready = false;
      for (let attempt = 0; attempt < 40 && !ready; attempt++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        const listed = (await backend.store.listNamespaces()).items.find((item) => item.id === namespace.id);
        ready = listed?.status === 'ready';
      }
      assert.ok(ready, 'the namespace became ready');
      await backend.store.put(namespace.id, 'k', 'v');
      assert.equal(text((await backend.store.get(namespace.id, 'k'))?.value), 'v');
    });
  });
});
