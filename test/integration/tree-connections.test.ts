// Connections in a real VS Code: secrets stay in SecretStorage, a failing connection shows its error (with Retry)
// while the rest of the tree keeps working, and a running wrangler dev (real Miniflare) is found through the
// workspace's wrangler config.
import * as assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Miniflare } from 'miniflare';
import { startMiniflareExplorer } from '../support/miniflareExplorer';
import * as vscode from 'vscode';
import type { KvError } from '../../src/core/errors';
import { LocalStore } from '../../src/providers/local';
import { startCloudflareServer, startTelnyxServer } from '../../src/server';
import type { KvExplorerApi } from '../../src/vscode/api';
import type { TreeNode } from '../../src/vscode/tree';
import { activateApi, itemOf, labelOf, labels, markdown, useTempLocalStore } from './treeSupport';

/** A 127.0.0.1 port that nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function root(api: KvExplorerApi, label: string): Promise<TreeNode | undefined> {
  return (await api.tree.getChildren()).find((node) => labelOf(api, node) === label);
}

async function rejectsWithRule(work: Promise<unknown>, rule: string): Promise<void> {
  // The extension's bundle has its own copy of the KvError class, so compare by shape.
  await assert.rejects(work, (error: unknown) => {
    const kvError = error as KvError;
    assert.equal(kvError.name, 'KvError');
    assert.equal(kvError.kind, 'invalid');
    assert.equal(kvError.rule, rule, kvError.message);
    return true;
  });
}

describe('Stores tree connections', function () {
  this.timeout(60_000);
  let api: KvExplorerApi;
  let local: { dispose(): Promise<void> };

  before(async () => {
    api = await activateApi();
    local = await useTempLocalStore(api);
  });

  after(async () => {
    await local?.dispose();
  });

  it('keeps a connection\'s secret only in SecretStorage, out of the log, and deletes it on removal', async () => {
    const token = 'cf-token-7d1e0c0a5b9f4e2aa1c3';
    const added = await api.connections.addConnection(
      { kind: 'cloudflare', name: 'Shop account', accountId: '0123456789abcdef', authType: 'api-token', baseUrl: 'http://127.0.0.1:9/client/v4' },
      token,
    );
    try {
      assert.equal(await api.connections.hasSecret(added.id), true);
      assert.ok(!JSON.stringify(api.connections.list()).includes(token), 'the connection list holds no secret');
      api.log.log('info', `request with Authorization: Bearer ${token}`);
      api.log.log('info', `a stray ${token} in a message`);
      const lines = api.log.recentLines().join('\n');
      assert.ok(lines.includes('a stray [REDACTED] in a message'), 'the line was written, redacted');
      assert.ok(!lines.includes(token), 'the token never reaches the log');
      const node = await root(api, 'Shop account');
      assert.ok(node, 'the connection is a root of the tree');
      assert.equal(itemOf(api, node).contextValue, 'connection.cloudflare');
    } finally {
      await api.connections.removeConnection(added.id);
    }
    assert.equal(await api.connections.hasSecret(added.id), false, 'removing the connection deletes its secret');
    assert.equal(await root(api, 'Shop account'), undefined);
  });

  it('refuses incomplete connections before storing anything', async () => {
    const before = api.connections.list().length;
    await rejectsWithRule(api.connections.addConnection({ kind: 'cloudflare', name: 'No account', authType: 'api-token' }, 'tok-1234'), 'connection.accountId');
    await rejectsWithRule(api.connections.addConnection({ kind: 'telnyx', name: 'No key', authType: 'api-key' }), 'connection.secret');
    await rejectsWithRule(
      api.connections.addConnection({ kind: 'wrangler-dev', name: 'Bad URL', authType: 'none', baseUrl: 'ftp://127.0.0.1:8787' }),
      'connection.baseUrl',
    );
    await rejectsWithRule(api.connections.removeConnection('local'), 'connection.builtin');
    assert.equal(api.connections.list().length, before);
  });

  it('shows a failing connection\'s error as a child with Retry, while Local keeps working', async () => {
    const port = await closedPort();
    const offline = await api.connections.addConnection({ kind: 'wrangler-dev', name: 'Offline dev', authType: 'none', baseUrl: `http://127.0.0.1:${port}` });
    try {
      const node = await root(api, 'Offline dev');
      assert.ok(node);
      assert.equal(itemOf(api, node).contextValue, 'connection.wrangler-dev');
      const children = await api.tree.getChildren(node);
      assert.equal(children.length, 1);
      const error = itemOf(api, children[0]);
      assert.equal(error.contextValue, 'error');
      assert.match(String(error.label), /refused|unreachable|could not (reach|connect)|ECONNREFUSED/i);
      assert.equal((error.iconPath as vscode.ThemeIcon).id, 'error');

      const localNode = await root(api, 'Local');
      assert.ok(localNode);
      assert.deepEqual(await labels(api, localNode), ['default'], 'the other connections keep working');

      await vscode.commands.executeCommand('kvExplorer.retry', children[0]);
      const afterRetry = await api.tree.getChildren(node);
      assert.equal(afterRetry.length, 1);
      assert.equal(itemOf(api, afterRetry[0]).contextValue, 'error', 'still failing, still shown as a child');
    } finally {
      await api.connections.removeConnection(offline.id);
    }
  });

  describe('hosted stores (the project\'s Cloudflare- and Telnyx-dialect servers)', () => {
    let backingDir: string;
    let backing: LocalStore;

    before(async () => {
      backingDir = mkdtempSync(join(tmpdir(), 'kv-tree-hosted-'));
      backing = await LocalStore.open(backingDir, { sweepIntervalMs: 0 });
    });

    after(async () => {
      await backing?.close();
      rmSync(backingDir, { recursive: true, force: true });
    });

    it('shows a rejected token as an error child, and the connection works once the token is fixed', async () => {
      const server = await startCloudflareServer({ store: backing, token: 'right-token-0123456789' });
      await backing.createNamespace('PRODUCTION_CACHE');
      const added = await api.connections.addConnection(
        { kind: 'cloudflare', name: 'Cloudflare test', accountId: server.accountId, authType: 'api-token', baseUrl: server.baseUrl },
        'wrong-token-0123456789',
      );
      try {
        const node = await root(api, 'Cloudflare test');
        assert.ok(node);
        const children = await api.tree.getChildren(node);
        assert.deepEqual(children.map((child) => itemOf(api, child).contextValue), ['error']);
        assert.match(labelOf(api, children[0]), /auth|token|unauthori[sz]ed|401|403/i);

        await api.connections.updateConnection(added.id, {}, 'right-token-0123456789');
        const fixed = await root(api, 'Cloudflare test');
        assert.ok(fixed);
        assert.deepEqual(await labels(api, fixed), ['PRODUCTION_CACHE']);
      } finally {
        await api.connections.removeConnection(added.id);
        await server.close();
      }
    });

    it('says when a Telnyx namespace is still provisioning', async () => {
      const server = await startTelnyxServer({ store: backing, apiKey: 'telnyx-key-0123456789', provisioningDelayMs: 10 * 60_000 });
      await backing.createNamespace('sessions');
      const added = await api.connections.addConnection(
        { kind: 'telnyx', name: 'Telnyx test', authType: 'api-key', baseUrl: server.baseUrl },
        'telnyx-key-0123456789',
      );
      try {
        await (await api.storeFor(added.id)).createNamespace('orders');
        const node = await root(api, 'Telnyx test');
        assert.ok(node);
        assert.equal(itemOf(api, node).contextValue, 'connection.telnyx');
        const namespaces = await api.tree.getChildren(node);
        const shown = Object.fromEntries(namespaces.map((child) => [labelOf(api, child), itemOf(api, child)]));
        assert.equal(shown.orders?.description, 'provisioning…');
        assert.equal((shown.orders?.iconPath as vscode.ThemeIcon).id, 'loading~spin');
        assert.equal(shown.sessions?.description, '');
      } finally {
        await api.connections.removeConnection(added.id);
        await server.close();
      }
    });
  });

  describe('wrangler dev', () => {
    let miniflare: Miniflare | undefined;
    let configFile: string | undefined;

    after(async () => {
      if (configFile) rmSync(configFile, { force: true });
      await miniflare?.dispose();
      await api.connections.detectWranglerDev();
    });

    it('is found through the workspace\'s wrangler config when its port answers, and lists its KV', async () => {
      const started = await startMiniflareExplorer(['CACHE'], 'shop worker');
      miniflare = started.miniflare;
      const url = started.url;
      for (const [key, value] of [['config/app.json', '{"debug":true}'], ['greeting', 'hello']]) {
        const put = await fetch(new URL(`/cdn-cgi/explorer/api/storage/kv/namespaces/CACHE/values/${encodeURIComponent(key)}`, url), { method: 'PUT', body: value });
        assert.equal(put.status, 200, await put.text());
      }

      const folder = vscode.workspace.workspaceFolders?.[0];
      assert.ok(folder, 'the test workspace has a folder');
      configFile = join(folder.uri.fsPath, 'wrangler.jsonc');
      writeFileSync(configFile, `{\n  // the worker under test\n  "name": "shop-worker",\n  "dev": { "port": ${url.port} },\n}\n`);
      await api.connections.detectWranglerDev();

      const node = await root(api, 'wrangler dev: shop-worker');
      assert.ok(node, `detected; roots are ${JSON.stringify(await labels(api))}`);
      const item = itemOf(api, node);
      assert.equal(item.contextValue, 'connection.wrangler-dev.detected');
      assert.equal(item.description, `127.0.0.1:${url.port}`);
      assert.match(markdown(item.tooltip), /wrangler config/, markdown(item.tooltip));

      const [namespace] = await api.tree.getChildren(node);
      assert.equal(labelOf(api, namespace), 'CACHE');
      assert.deepEqual(await labels(api, namespace), ['config', 'greeting']);

      await assert.rejects(api.connections.removeConnection(`wrangler-dev@${url.port}`), /detected automatically/);

      await miniflare.dispose();
      miniflare = undefined;
      await vscode.commands.executeCommand('kvExplorer.refresh'); // re-detects: the port no longer answers
      assert.equal(await root(api, 'wrangler dev: shop-worker'), undefined);
    });
  });
});
