// Key encoding fuzz through the document URIs, in the real VS Code: 10,000 generated keys survive vscode.Uri in
// every form VS Code moves it in (toString, toString(true), JSON), and for every provider a sample of keys opens as
// documents showing exactly that key's value, and saves back to exactly that key (every other key unchanged, and
// every request the dialect servers saw named one of the generated keys).
import * as assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startMiniflareExplorer } from '../support/miniflareExplorer';
import * as vscode from 'vscode';
import { CLOUDFLARE_LIMITS } from '../../src/core/limits';
import type { KvStore } from '../../src/core/store';
import { LocalStore } from '../../src/providers/local';
import { startCloudflareServer, startTelnyxServer, type RequestLog } from '../../src/server';
import type { KvExplorerApi } from '../../src/vscode/api';
import { LOCAL_CONNECTION_ID } from '../../src/vscode/connections';
import { kvUri, parseKvUri } from '../../src/vscode/kvUri';
import { FULL, SEED, sized } from './common';
import { CLOUDFLARE_PIECES, generateKeys, TELNYX_PIECES, valueFor } from './keyFuzz';

const TOKEN = 'reliability-uri-fuzz-token-77a1';
const ACCOUNT = '77a177a177a177a177a177a177a177a1';
/** Keys opened as documents per provider, and how many of them are edited and saved. */
const OPENED = sized(500, 2_000);
const SAVED = sized(60, 300);

interface Target {
  name: string;
  connectionId: string;
  store: KvStore;
  namespaceId: string;
  pieces: readonly string[];
  /** The dialect server's request log and the raw path of the namespace's key routes, where there is a server. */
  requests?: { log: RequestLog; keyRoutePrefix: string };
}

function text(bytes: Uint8Array | undefined): string | undefined {
  return bytes === undefined ? undefined : Buffer.from(bytes).toString('utf8');
}

describe(`reliability: key encoding fuzz through document URIs${FULL ? ' (full)' : ''}`, function () {
  this.timeout(sized(10 * 60_000, 60 * 60_000));
  let api: KvExplorerApi;
  const cleanups: (() => Promise<unknown>)[] = [];

  before(async () => {
    api = await vscode.extensions.getExtension<KvExplorerApi>('kv-explorer.kv-explorer')!.activate();
  });

  after(async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  });

  function tempDir(prefix: string): string {
    const directory = mkdtempSync(join(tmpdir(), prefix));
    cleanups.push(async () => rmSync(directory, { recursive: true, force: true }));
    return directory;
  }

  // (toString(true) is for display only: it leaves the query unencoded, so VS Code never parses it back.)
  it('10,000 generated keys survive vscode.Uri: toString and parse, JSON, with()', () => {
    const { keys } = generateKeys(10_000, SEED + 10, CLOUDFLARE_PIECES, CLOUDFLARE_LIMITS);
    const connections = ['local', '0b5c2e7a-9d1f-4c3b-8e2a-6f4d1c9b7a05', 'wrangler-dev@8787'];
    keys.forEach((key, index) => {
      for (const kind of ['value', 'metadata'] as const) {
        const expected = { connectionId: connections[index % 3], namespaceId: `ns-${index % 7}`, key, kind };
        const uri = kvUri(expected.connectionId, expected.namespaceId, key, kind);
        const what = `${JSON.stringify(key)} (${kind})`;
        assert.deepEqual(parseKvUri(vscode.Uri.parse(uri.toString())), expected, `${what}: toString/parse`);
        assert.deepEqual(parseKvUri(vscode.Uri.from(JSON.parse(JSON.stringify(uri)) as Parameters<typeof vscode.Uri.from>[0])), expected, `${what}: JSON`);
        assert.deepEqual(parseKvUri(uri.with({ fragment: 'x' })), expected, `${what}: with()`);
      }
    });
  });

  async function localTarget(): Promise<Target> {
    await vscode.workspace.getConfiguration('kvExplorer').update('localStore.path', tempDir('kv-rel-urifuzz-local-'), vscode.ConfigurationTarget.Global);
    cleanups.push(async () => {
      await vscode.workspace.getConfiguration('kvExplorer').update('localStore.path', undefined, vscode.ConfigurationTarget.Global);
      await api.storeFor(LOCAL_CONNECTION_ID); // reopens the default store, closing the temp one
    });
    const store = await api.storeFor(LOCAL_CONNECTION_ID);
    return { name: 'local', connectionId: LOCAL_CONNECTION_ID, store, namespaceId: (await store.createNamespace('uri-fuzz')).id, pieces: CLOUDFLARE_PIECES };
  }

  async function cloudflareTarget(): Promise<Target> {
    const backing = await LocalStore.open(tempDir('kv-rel-urifuzz-cf-'), { sweepIntervalMs: 0 });
    const server = await startCloudflareServer({ store: backing, token: TOKEN, accountId: ACCOUNT });
    cleanups.push(() => backing.close(), () => server.close());
    const connection = await api.connections.addConnection({ kind: 'cloudflare', name: 'URI fuzz: Cloudflare', accountId: ACCOUNT, authType: 'api-token', baseUrl: server.baseUrl }, TOKEN);
    cleanups.push(() => api.connections.removeConnection(connection.id));
    const store = await api.storeFor(connection.id);
    const namespaceId = (await store.createNamespace('uri-fuzz')).id;
    const keyRoutePrefix = `/client/v4/accounts/${ACCOUNT}/storage/kv/namespaces/${namespaceId}/`;
    return { name: 'cloudflare', connectionId: connection.id, store, namespaceId, pieces: CLOUDFLARE_PIECES, requests: { log: server.requests, keyRoutePrefix } };
  }

  async function telnyxTarget(): Promise<Target> {
    const backing = await LocalStore.open(tempDir('kv-rel-urifuzz-tx-'), { sweepIntervalMs: 0 });
    const server = await startTelnyxServer({ store: backing, apiKey: TOKEN });
    cleanups.push(() => backing.close(), () => server.close());
    const connection = await api.connections.addConnection({ kind: 'telnyx', name: 'URI fuzz: Telnyx', authType: 'api-key', baseUrl: server.baseUrl }, TOKEN);
    cleanups.push(() => api.connections.removeConnection(connection.id));
    const store = await api.storeFor(connection.id);
    const namespaceId = (await store.createNamespace('uri-fuzz')).id;
    return { name: 'telnyx', connectionId: connection.id, store, namespaceId, pieces: TELNYX_PIECES, requests: { log: server.requests, keyRoutePrefix: `/v2/storage/kvs/${namespaceId}/` } };
  }

  async function wranglerDevTarget(): Promise<Target> {
    const { miniflare, url } = await startMiniflareExplorer(['NS']);
    cleanups.push(() => miniflare.dispose());
    const connection = await api.connections.addConnection({ kind: 'wrangler-dev', name: 'URI fuzz: wrangler dev', authType: 'none', baseUrl: url.origin });
    cleanups.push(() => api.connections.removeConnection(connection.id));
    const store = await api.storeFor(connection.id);
    const [namespace] = (await store.listNamespaces()).items;
    return { name: 'wrangler-dev', connectionId: connection.id, store, namespaceId: namespace.id, pieces: CLOUDFLARE_PIECES };
  }

  const targets: [string, () => Promise<Target>][] = [
    ['local', localTarget],
    ['Cloudflare (Cloudflare-dialect server)', cloudflareTarget],
    ['Telnyx (Telnyx-dialect server)', telnyxTarget],
    ['wrangler dev (Miniflare)', wranglerDevTarget],
  ];

  targets.forEach(([title, make], index) => {
    it(`${title}: ${OPENED} generated keys open as their own documents; ${SAVED} save back to exactly their key`, async () => {
      const target = await make();
      const { keys } = generateKeys(OPENED, SEED + 20 + index, target.pieces, target.store.limits);
      const written = await target.store.bulkPut(target.namespaceId, keys.map((key) => ({ key, value: valueFor(key) })));
      assert.deepEqual(written.failed.slice(0, 3), [], 'seeding');
      target.requests?.log.clear();

      // Documents nobody shows may be closed by VS Code at any time: each is edited and saved as soon as it is read.
      const edited = new Map<string, string>();
      for (const [position, key] of keys.entries()) {
        const document = await vscode.workspace.openTextDocument(kvUri(target.connectionId, target.namespaceId, key));
        assert.equal(document.getText(), valueFor(key), `${target.name}: the document of ${JSON.stringify(key)} shows another value`);
        assert.deepEqual(parseKvUri(document.uri), { connectionId: target.connectionId, namespaceId: target.namespaceId, key, kind: 'value' });
        if (position >= SAVED) continue;
        const content = `edited through its document: ${JSON.stringify(key)}`;
        const edit = new vscode.WorkspaceEdit();
        edit.replace(document.uri, new vscode.Range(0, 0, document.lineCount, 0), content);
        assert.ok(await vscode.workspace.applyEdit(edit));
        assert.ok(await document.save(), `${target.name}: saving ${JSON.stringify(key)}`);
        edited.set(key, content);
      }
      for (const key of keys) {
        const stored = text((await target.store.get(target.namespaceId, key))?.value);
        assert.equal(stored, edited.get(key) ?? valueFor(key), `${target.name}: ${JSON.stringify(key)} holds the wrong value after the saves`);
      }

      if (target.requests) {
        const known = new Set(keys);
        const astray = target.requests.log.entries.flatMap((entry) => {
          const path = entry.url.split('?')[0];
          if (!path.startsWith(target.requests!.keyRoutePrefix)) return [];
          const segments = path.slice(target.requests!.keyRoutePrefix.length).split('/');
          if (segments.length === 1) return []; // the namespace's own routes (e.g. the key listing)
          if (segments.length !== 2) return [`${entry.method} ${entry.url}: extra segments`];
          const key = decodeURIComponent(segments[1]);
          return known.has(key) ? [] : [`${entry.method} ${entry.url}: ${JSON.stringify(key)} is no generated key`];
        });
        assert.deepEqual(astray.slice(0, 5), [], `${astray.length} requests went astray`);
        assert.ok(target.requests.log.count >= OPENED, 'the documents were read through the server');
      }
    });
  });
});
