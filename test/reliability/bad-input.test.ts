// The bad-input table: input that breaks a provider's rules gets a clear message naming the rule BEFORE any
// request leaves the machine, and nothing stored changes. Every provider runs against a real server on 127.0.0.1:
// local (LMDB on disk), Cloudflare (the project's Cloudflare-dialect server), wrangler dev (Miniflare's explorer
// API) and Telnyx (the project's Telnyx-dialect server).
// "No request": the server's own request log AND every request undici creates in this process (diagnostics channel).
// "Nothing changes": a byte-exact snapshot of the namespace (values, metadata, expirations) before and after.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startMiniflareExplorer } from '../support/miniflareExplorer';
import { parseBulkFile } from '../../src/core/bulkFile';
import { KvError } from '../../src/core/errors';
import type { KvStore } from '../../src/core/store';
import { nowSeconds, parseMetadataText } from '../../src/core/validation';
import { CloudflareStore } from '../../src/providers/cloudflare';
import { RestClient } from '../../src/providers/http';
import { LocalStore } from '../../src/providers/local';
import { TelnyxStore } from '../../src/providers/telnyx';
import { startCloudflareServer, startTelnyxServer, type CloudflareServer } from '../../src/server';
import { NetworkWatch, snapshotNamespace } from './common';

type ProviderName = 'local' | 'cloudflare' | 'wrangler-dev' | 'telnyx';

interface Target {
  name: ProviderName;
  store: KvStore;
  namespaceId: string;
  /** Origin of the provider's server; undefined for the local store, which has none. */
  origin?: string;
  /** Requests the provider's server has received, where it keeps a log. */
  serverRequests?: () => number;
}

/** What a refusal said: from a thrown KvError, or from a bulk file's problem list. */
interface Refusal {
  rule: string;
  message: string;
}

interface BadInputCase {
  name: string;
  /** Which providers the case applies to. */
  providers: readonly ProviderName[];
  /** Must refuse; returns what it said. */
  run(target: Target): Promise<Refusal>;
  /** The rule the refusal must name (KvError.rule or a bulk problem's rule). */
  rule: RegExp;
  /** What the message must say, so a person can act on it (the limit, the bad character…). */
  message: RegExp | ((target: Target) => RegExp);
}

const MiB = 1024 * 1024;
const TOKEN = 'reliability-bad-input-token-5f1c9a';
const ALL: readonly ProviderName[] = ['local', 'cloudflare', 'wrangler-dev', 'telnyx'];
const CLOUDFLARE_RULES: readonly ProviderName[] = ['local', 'cloudflare', 'wrangler-dev'];
const WITH_EXPIRATION: readonly ProviderName[] = ['local', 'cloudflare'];
const NAMESPACE_ADMIN: readonly ProviderName[] = ['local', 'cloudflare'];

/** Expects `work` to reject with a KvError (a refusal), and hands back its rule and message. */
async function refused(work: () => Promise<unknown>): Promise<Refusal> {
  let caught: unknown;
  try {
    await work();
  } catch (error) {
    caught = error;
  }
  assert.ok(caught !== undefined, 'expected a refusal, but the call succeeded');
  assert.ok(caught instanceof KvError, `expected a KvError, got ${String(caught)}`);
  assert.ok(caught.kind === 'invalid' || caught.kind === 'too-large', `expected an input error, got ${caught.kind}: ${caught.message}`);
  return { rule: caught.rule ?? '', message: caught.message };
}

/** Reads a bulk file as the import command does (with the target's rules); it must be refused whole. */
function refusedFile(target: Target, text: string): Refusal {
  const contents = parseBulkFile(text, {
    limits: target.store.limits,
    expiration: target.store.capabilities.expiration,
    refuseFalsyMetadata: target.store.kind === 'wrangler-dev',
  });
  assert.ok(contents.problems.length > 0, 'expected the file to be refused, but it has no problems');
  assert.equal(contents.entries.length, 0, 'a refused file hands over no entries to write');
  return { rule: contents.problems.map((problem) => problem.rule).join(' '), message: contents.problems.map((problem) => problem.message).join('\n') };
}

const circular: Record<string, unknown> = { name: 'loop' };
circular.self = circular;

const CASES: BadInputCase[] = [
  // ---------------------------------------------------------------- keys
  { name: 'put with an empty key', providers: ALL, run: (t) => refused(() => t.store.put(t.namespaceId, '', 'v')), rule: /^key\.empty$/, message: /key name is empty/ },
  { name: 'put with the key "."', providers: ALL, run: (t) => refused(() => t.store.put(t.namespaceId, '.', 'v')), rule: /^key\.forbidden$/, message: /does not allow the key name "\."/ },
  { name: 'put with the key ".."', providers: ALL, run: (t) => refused(() => t.store.put(t.namespaceId, '..', 'v')), rule: /^key\.forbidden$/, message: /does not allow the key name "\.\."/ },
  // '.' and '..' are also in Telnyx's key alphabet, but a URL resolves them away: DELETE …/keys/.. is DELETE of the
  // namespace's own path. No store may send them.
  { name: 'delete of the key ".." (would climb to the namespace path)', providers: ALL, run: (t) => refused(() => t.store.delete(t.namespaceId, '..')), rule: /^key\.forbidden$/, message: /"\.\."/ },
  { name: 'get of the key "."', providers: ALL, run: (t) => refused(() => t.store.get(t.namespaceId, '.')), rule: /^key\.forbidden$/, message: /"\."/ },
  { name: 'put with a 513-byte key', providers: CLOUDFLARE_RULES, run: (t) => refused(() => t.store.put(t.namespaceId, 'k'.repeat(513), 'v')), rule: /^key\.maxBytes$/, message: /513 bytes.*at most 512/ },
  {
    name: 'put with a key of 257 characters that is 513 bytes in UTF-8',
    providers: CLOUDFLARE_RULES,
    run: (t) => refused(() => t.store.put(t.namespaceId, 'é'.repeat(256) + 'k', 'v')),
    rule: /^key\.maxBytes$/,
    message: /513 bytes in UTF-8.*at most 512/,
  },
  { name: 'put with a 257-character key', providers: ['telnyx'], run: (t) => refused(() => t.store.put(t.namespaceId, 'k'.repeat(257), 'v')), rule: /^key\.maxChars$/, message: /257 characters.*at most 256/ },
  { name: 'put with a key containing a colon', providers: ['telnyx'], run: (t) => refused(() => t.store.put(t.namespaceId, 'user:42', 'v')), rule: /^key\.pattern$/, message: /":"/ },
  { name: 'put with a key containing a space', providers: ['telnyx'], run: (t) => refused(() => t.store.put(t.namespaceId, 'a b', 'v')), rule: /^key\.pattern$/, message: /" "/ },
  { name: 'put with a key starting with "_"', providers: ['telnyx'], run: (t) => refused(() => t.store.put(t.namespaceId, '_internal', 'v')), rule: /^key\.reserved$/, message: /reserves keys that start with "_"/ },

  // ---------------------------------------------------------------- values
  {
    name: 'put with a value of 25 MiB + 1 byte',
    providers: CLOUDFLARE_RULES,
    run: (t) => refused(() => t.store.put(t.namespaceId, 'keep/a', new Uint8Array(25 * MiB + 1))),
    rule: /^value\.maxBytes$/,
    message: /26214401 bytes.*at most 25 MiB \(26214400 bytes\)/,
  },
  {
    name: 'put with a value of 1 MiB + 1 byte',
    providers: ['telnyx'],
    run: (t) => refused(() => t.store.put(t.namespaceId, 'keep/a', new Uint8Array(MiB + 1))),
    rule: /^value\.maxBytes$/,
    message: /1048577 bytes.*at most 1 MiB \(1048576 bytes\)/,
  },

  // ---------------------------------------------------------------- metadata
  { name: 'metadata typed as text that is not JSON', providers: CLOUDFLARE_RULES, run: async (t) => refused(async () => parseMetadataText(t.store.limits, '{owner: alice')), rule: /^metadata\.json$/, message: /not valid JSON/ },
  { name: 'put with metadata that cannot be JSON (a cycle)', providers: CLOUDFLARE_RULES, run: (t) => refused(() => t.store.put(t.namespaceId, 'keep/a', 'v', { metadata: circular })), rule: /^metadata\.json$/, message: /cannot be serialized as JSON/ },
  { name: 'put with metadata that cannot be JSON (a BigInt)', providers: CLOUDFLARE_RULES, run: (t) => refused(() => t.store.put(t.namespaceId, 'keep/a', 'v', { metadata: { n: 10n } })), rule: /^metadata\.json$/, message: /JSON/ },
  {
    name: 'put with metadata over 1024 bytes',
    providers: CLOUDFLARE_RULES,
    run: (t) => refused(() => t.store.put(t.namespaceId, 'keep/a', 'v', { metadata: { note: 'm'.repeat(1100) } })),
    rule: /^metadata\.maxBytes$/,
    message: /1111 bytes as JSON.*at most 1024/,
  },
  { name: 'put with metadata on a provider without metadata', providers: ['telnyx'], run: (t) => refused(() => t.store.put(t.namespaceId, 'keep/a', 'v', { metadata: { a: 1 } })), rule: /^metadata\.unsupported$/, message: /does not store metadata/ },

  // ---------------------------------------------------------------- expiration
  {
    name: 'put with an expiration in the past',
    providers: ['local', 'cloudflare', 'wrangler-dev', 'telnyx'],
    run: (t) => refused(() => t.store.put(t.namespaceId, 'keep/a', 'v', { expiration: nowSeconds() - 3600 })),
    rule: /^expiration\.absolute$/,
    message: /in the past/,
  },
  {
    name: 'put with an expiration 30 s ahead',
    providers: WITH_EXPIRATION,
    run: (t) => refused(() => t.store.put(t.namespaceId, 'keep/a', 'v', { expiration: nowSeconds() + 30 })),
    rule: /^expiration\.absolute$/,
    message: /only (29|30) seconds from now.*at least 60 seconds/,
  },
  { name: 'put with a TTL of 59 s', providers: WITH_EXPIRATION, run: (t) => refused(() => t.store.put(t.namespaceId, 'keep/a', 'v', { expirationTtl: 59 })), rule: /^expiration\.ttl$/, message: /TTL is 59 seconds.*at least 60/ },
  { name: 'put with a TTL on a target that cannot expire keys', providers: ['wrangler-dev'], run: (t) => refused(() => t.store.put(t.namespaceId, 'keep/a', 'v', { expirationTtl: 3600 })), rule: /^expiration\.unsupported$/, message: /cannot set an expiration/ },
  { name: 'put with a TTL that is not whole seconds', providers: ['local', 'cloudflare', 'telnyx'], run: (t) => refused(() => t.store.put(t.namespaceId, 'keep/a', 'v', { expirationTtl: 90.5 })), rule: /^expiration\.ttl$/, message: /whole number of seconds/ },

  // ---------------------------------------------------------------- bulk writes and bulk files
  {
    name: 'bulk put where one entry of three has a bad key (none is written)',
    providers: ALL,
    run: (t) =>
      refused(() =>
        t.store.bulkPut(t.namespaceId, [
          { key: 'bulk/fine-1', value: 'one' },
          { key: '', value: 'bad' },
          { key: 'bulk/fine-2', value: 'two' },
        ]),
      ),
    rule: /^bulk\.entries$/,
    message: /1 of 3 entries are invalid:\n#1 \(""\): The key name is empty/,
  },
  { name: 'bulk delete where one key is ".."', providers: ALL, run: (t) => refused(() => t.store.bulkDelete(t.namespaceId, ['keep/a', '..'])), rule: /^bulk\.keys$/, message: /#1 \("\.\."\)/ },
  { name: 'import file that is not JSON', providers: ALL, run: async (t) => refusedFile(t, '[{"key": "a", "value": "b"},'), rule: /^file\.json$/, message: /not valid JSON/ },
  { name: 'import file of the wrong shape (an object)', providers: ALL, run: async (t) => refusedFile(t, '{"key": "a", "value": "b"}'), rule: /^file\.shape$/, message: /must hold an array.*holds an object/ },
  {
    name: 'import file with entries of the wrong shape',
    providers: ALL,
    run: async (t) => refusedFile(t, JSON.stringify([{ key: 'ok-1', value: 'x' }, 'just a string', { key: 7, value: 'x' }, { key: 'ok-2' }])),
    rule: /entry\.shape.*entry\.key\.type.*entry\.value\.missing/,
    message: /it is a string[\s\S]*"key" must be a string[\s\S]*no "value"/,
  },
  {
    name: 'import file with a duplicate key',
    providers: ALL,
    run: async (t) => refusedFile(t, JSON.stringify([{ key: 'dup', value: '1' }, { key: 'other', value: '2' }, { key: 'dup', value: '3' }])),
    rule: /^entry\.key\.duplicate$/,
    message: /also the key of entry #0/,
  },
  {
    name: 'import file with bad base64',
    providers: ALL,
    run: async (t) => refusedFile(t, JSON.stringify([{ key: 'bin', value: 'not*base64!', base64: true }, { key: 'url-safe', value: 'ab-_', base64: true }])),
    rule: /^entry\.value\.base64 entry\.value\.base64$/,
    message: /"\*", which is not a base64 character[\s\S]*URL-safe alphabet/,
  },
  {
    name: 'import file whose entry breaks the provider\'s key rule',
    providers: ALL,
    run: async (t) => refusedFile(t, JSON.stringify([{ key: t.name === 'telnyx' ? 'has:colon' : 'k'.repeat(513), value: 'x' }])),
    rule: /^key\.(pattern|maxBytes)$/,
    message: (t) => (t.name === 'telnyx' ? /":"/ : /513 bytes/),
  },

  // ---------------------------------------------------------------- namespaces
  {
    name: 'create a namespace with a 513-character title',
    providers: NAMESPACE_ADMIN,
    run: (t) => refused(() => t.store.createNamespace('t'.repeat(513))),
    rule: /^namespace\.maxChars$/,
    message: /513 characters.*at most 512/,
  },
  {
    name: 'rename a namespace to a 513-character title',
    providers: NAMESPACE_ADMIN,
    run: (t) => refused(() => t.store.renameNamespace(t.namespaceId, 't'.repeat(513))),
    rule: /^namespace\.maxChars$/,
    message: /513 characters.*at most 512/,
  },
  { name: 'create a namespace with a 256-character name', providers: ['telnyx'], run: (t) => refused(() => t.store.createNamespace('t'.repeat(256))), rule: /^namespace\.maxChars$/, message: /256 characters.*at most 255/ },
  { name: 'create a namespace with upper-case letters in its name', providers: ['telnyx'], run: (t) => refused(() => t.store.createNamespace('My-Cache')), rule: /^namespace\.pattern$/, message: /lowercase letters, digits and -/ },
  { name: 'create a namespace on a target whose namespaces are bindings', providers: ['wrangler-dev'], run: (t) => refused(() => t.store.createNamespace('extra')), rule: /^capability\.namespaceCreate$/, message: /kv_namespaces bindings/ },
];

/** Base URLs that would send credentials in clear text to another machine: refused before any connection. */
const INSECURE_BASE_URLS = [
  'http://10.1.2.3/client/v4',
  'http://kv.example.com/client/v4',
  'http://localhost.example.com/client/v4',
  'http://127.0.0.1.nip.io:8787/cdn-cgi/explorer/api',
  'http://[::ffff:a01:203]/client/v4',
];

describe('reliability: bad-input table — a clear message before any request, and nothing stored changes', function () {
  this.timeout(60_000);
  const targets = new Map<ProviderName, Target>();
  const cleanups: (() => Promise<void>)[] = [];
  let watch: NetworkWatch;

  async function seed(target: Target): Promise<void> {
    const { store, namespaceId } = target;
    await store.put(namespaceId, 'keep/a', 'alpha');
    await store.put(namespaceId, 'keep/b', new Uint8Array([0, 1, 2, 254, 255]));
    const expires = store.capabilities.expiration === 'none' ? {} : { expirationTtl: 3600 };
    const metadata = store.capabilities.metadata ? { metadata: { owner: 'reliability' } } : {};
    await store.put(namespaceId, 'keep/c', 'gamma', { ...expires, ...metadata });
  }

  before(async function () {
    this.timeout(120_000);
    const tempDirs: string[] = [];
    const tempDir = (prefix: string): string => {
      const directory = mkdtempSync(join(tmpdir(), prefix));
      tempDirs.push(directory);
      return directory;
    };
    cleanups.push(async () => tempDirs.forEach((directory) => rmSync(directory, { recursive: true, force: true })));

    const local = await LocalStore.open(tempDir('kv-rel-bad-local-'), { sweepIntervalMs: 0 });
    cleanups.push(() => local.close());
    targets.set('local', { name: 'local', store: local, namespaceId: (await local.createNamespace('bad-input')).id });

    const backing = await LocalStore.open(tempDir('kv-rel-bad-cf-'), { sweepIntervalMs: 0 });
    const server: CloudflareServer = await startCloudflareServer({ store: backing, token: TOKEN });
    const cloudflare = new CloudflareStore({ baseUrl: server.baseUrl, accountId: server.accountId, auth: { token: TOKEN } });
    cleanups.push(async () => {
      await cloudflare.close();
      await server.close();
      await backing.close();
    });
    targets.set('cloudflare', {
      name: 'cloudflare',
      store: cloudflare,
      namespaceId: (await cloudflare.createNamespace('bad-input')).id,
      origin: server.url,
      serverRequests: () => server.requests.count,
    });

    const { miniflare, url, apiRoot } = await startMiniflareExplorer(['NS']);
    const wranglerDev = new CloudflareStore({ baseUrl: apiRoot, target: 'wrangler-dev' });
    cleanups.push(async () => {
      await wranglerDev.close();
      await miniflare.dispose();
    });
    const [namespace] = (await wranglerDev.listNamespaces()).items;
    targets.set('wrangler-dev', { name: 'wrangler-dev', store: wranglerDev, namespaceId: namespace.id, origin: url.href });

    const telnyxBacking = await LocalStore.open(tempDir('kv-rel-bad-tx-'), { sweepIntervalMs: 0 });
    const telnyxServer = await startTelnyxServer({ store: telnyxBacking, apiKey: TOKEN });
    const telnyx = new TelnyxStore({ baseUrl: telnyxServer.baseUrl, apiKey: TOKEN });
    cleanups.push(async () => {
      await telnyx.close();
      await telnyxServer.close();
      await telnyxBacking.close();
    });
    targets.set('telnyx', {
      name: 'telnyx',
      store: telnyx,
      namespaceId: (await telnyx.createNamespace('bad-input')).id,
      origin: telnyxServer.url,
      serverRequests: () => telnyxServer.requests.count,
    });

    for (const target of targets.values()) await seed(target);
    watch = new NetworkWatch();
  });

  after(async () => {
    watch?.stop();
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  let caseCount = 0;
  for (const badInput of CASES) {
    for (const provider of badInput.providers) {
      caseCount++;
      it(`${provider}: ${badInput.name}`, async () => {
        const target = targets.get(provider)!;
        const before = await snapshotNamespace(target.store, target.namespaceId);
        const serverBefore = target.serverRequests?.();
        const requestsBefore = watch.requests.length;
        const connectsBefore = watch.connects.length;

        const refusal = await badInput.run(target);

        const sent = watch.requests.slice(requestsBefore);
        assert.deepEqual(sent, [], `requests left the process before the refusal: ${sent.join(', ')}`);
        assert.deepEqual(watch.connects.slice(connectsBefore), [], 'a connection was attempted');
        if (serverBefore !== undefined) assert.equal(target.serverRequests!(), serverBefore, 'the server received a request');
        assert.match(refusal.rule, badInput.rule, `rule (message: ${refusal.message})`);
        const expected = typeof badInput.message === 'function' ? badInput.message(target) : badInput.message;
        assert.match(refusal.message, expected);
        assert.deepEqual(await snapshotNamespace(target.store, target.namespaceId), before, 'what is stored changed');
      });
    }
  }

  for (const baseUrl of INSECURE_BASE_URLS) {
    caseCount++;
    it(`base URL ${baseUrl} is refused before any connection (Cloudflare, wrangler dev, Telnyx and the REST client itself)`, () => {
      const sockets = watch.sockets;
      const connects = watch.connects.length;
      const requests = watch.requests.length;
      const attempts: [string, () => unknown][] = [
        ['CloudflareStore (cloudflare)', () => new CloudflareStore({ baseUrl, accountId: 'acc', auth: { token: TOKEN } })],
        ['TelnyxStore', () => new TelnyxStore({ baseUrl, apiKey: TOKEN })],
        ['CloudflareStore (wrangler dev)', () => new CloudflareStore({ baseUrl, target: 'wrangler-dev' })],
        ['RestClient', () => new RestClient({ baseUrl, headers: { authorization: `Bearer ${TOKEN}` } })],
      ];
      for (const [what, attempt] of attempts) {
        assert.throws(attempt, (error: unknown) => {
          assert.ok(error instanceof KvError, `${what}: ${String(error)}`);
          assert.equal(error.rule, 'url.insecure', `${what}: ${error.message}`);
          assert.match(error.message, /plain http to another machine; use https:\/\//, what);
          assert.ok(!error.message.includes(TOKEN), `${what}: the message shows the token`);
          return true;
        });
      }
      assert.equal(watch.sockets, sockets, 'a socket was opened');
      assert.equal(watch.connects.length, connects, 'a connection was attempted');
      assert.equal(watch.requests.length, requests, 'a request was created');
    });
  }

  it('the table holds at least 30 cases', () => {
    assert.ok(caseCount >= 30, `only ${caseCount} cases`);
  });
});
