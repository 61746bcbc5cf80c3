// Provider outages, in the real VS Code: a connection whose server goes down shows its error in the Stores tree,
// and recovers on refresh (and on the error item's Retry) once the server is back on the same port; meanwhile the
// Local connection and another remote connection keep working, reads and writes alike.
import * as assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { LocalStore } from '../../src/providers/local';
import { startCloudflareServer, type CloudflareServer } from '../../src/server';
import type { KvExplorerApi } from '../../src/vscode/api';
import { LOCAL_CONNECTION_ID } from '../../src/vscode/connections';
import type { ErrorNode, TreeNode } from '../../src/vscode/tree';

const TOKEN = 'reliability-outage-token-4c1d7e';
const ACCOUNT = 'abcdefabcdefabcdefabcdefabcdef01';

function labelOf(api: KvExplorerApi, node: TreeNode): string {
  const label = api.tree.getTreeItem(node).label;
  return typeof label === 'string' ? label : (label?.label ?? '');
}

describe('reliability: provider outages', function () {
  this.timeout(120_000);
  let api: KvExplorerApi;
  const directories: string[] = [];
  const stores: LocalStore[] = [];
  const servers: CloudflareServer[] = [];
  const connectionIds: string[] = [];
  let localDirectory: string | undefined;

  async function backingStore(title: string): Promise<{ store: LocalStore; namespaceTitle: string }> {
    const directory = mkdtempSync(join(tmpdir(), 'kv-rel-outage-'));
    directories.push(directory);
    const store = await LocalStore.open(directory, { sweepIntervalMs: 0 });
    stores.push(store);
    await store.createNamespace(title);
    return { store, namespaceTitle: title };
  }

  async function rootOf(connectionId: string): Promise<TreeNode> {
    const root = (await api.tree.getChildren()).find((node) => node.type === 'connection' && node.connection.id === connectionId);
    assert.ok(root, `the tree shows connection ${connectionId}`);
    return root;
  }

  /** Refreshes the way the view's Refresh button does, then reads the connection's children as VS Code would. */
  async function refreshedChildren(connectionId: string): Promise<TreeNode[]> {
    await vscode.commands.executeCommand('kvExplorer.refresh');
    return api.tree.getChildren(await rootOf(connectionId));
  }

  before(async () => {
    api = await vscode.extensions.getExtension<KvExplorerApi>('kv-explorer.kv-explorer')!.activate();
    // The Local connection on a store of its own, through the real setting.
    localDirectory = mkdtempSync(join(tmpdir(), 'kv-rel-outage-local-'));
    await vscode.workspace.getConfiguration('kvExplorer').update('localStore.path', localDirectory, vscode.ConfigurationTarget.Global);
  });

  after(async () => {
    for (const id of connectionIds) await api.connections.removeConnection(id).catch(() => undefined);
    for (const server of servers) await server.close();
    await vscode.workspace.getConfiguration('kvExplorer').update('localStore.path', undefined, vscode.ConfigurationTarget.Global);
    await api.storeFor(LOCAL_CONNECTION_ID).catch(() => undefined); // reopens the default store, closing the temp one
    for (const store of stores) await store.close();
    for (const directory of [...directories, ...(localDirectory ? [localDirectory] : [])]) rmSync(directory, { recursive: true, force: true });
  });

  it('a down server shows as an error item, the others keep working, and refresh and Retry recover it', async () => {
    const down = await backingStore('orders');
    const healthy = await backingStore('sessions');
    const failing = await startCloudflareServer({ store: down.store, token: TOKEN, accountId: ACCOUNT });
    const steady = await startCloudflareServer({ store: healthy.store, token: TOKEN, accountId: ACCOUNT });
    servers.push(failing, steady);
    const failingId = (await api.connections.addConnection({ kind: 'cloudflare', name: 'Outage: failing', accountId: ACCOUNT, authType: 'api-token', baseUrl: failing.baseUrl }, TOKEN)).id;
    const steadyId = (await api.connections.addConnection({ kind: 'cloudflare', name: 'Outage: steady', accountId: ACCOUNT, authType: 'api-token', baseUrl: steady.baseUrl }, TOKEN)).id;
    connectionIds.push(failingId, steadyId);
    const localStore = await api.storeFor(LOCAL_CONNECTION_ID);
    const localNamespace = (await localStore.createNamespace('outage-local')).id;

    // All up.
    assert.deepEqual((await refreshedChildren(failingId)).map((node) => labelOf(api, node)), ['orders']);
    assert.deepEqual((await refreshedChildren(steadyId)).map((node) => labelOf(api, node)), ['sessions']);

    // The failing server goes away.
    const port = failing.port;
    await failing.close();
    servers.splice(servers.indexOf(failing), 1);
    const duringOutage = await refreshedChildren(failingId);
    assert.equal(duringOutage.length, 1, `one error item, got ${JSON.stringify(duringOutage.map((node) => labelOf(api, node)))}`);
    const errorNode = duringOutage[0] as ErrorNode;
    assert.equal(errorNode.type, 'error');
    const errorItem = api.tree.getTreeItem(errorNode);
    assert.equal(errorItem.contextValue, 'error', 'the error item offers Retry');
    assert.match(labelOf(api, errorNode), /connection refused/i, 'the error says what happened');
    assert.match(String(errorItem.tooltip ?? ''), new RegExp(`127\\.0\\.0\\.1:${port}`), 'and where');
    assert.ok(
      api.log.recentLines().some((line) => line.includes('Outage: failing') && /connection refused/i.test(line)),
      'the failure is in the log',
    );

    // Meanwhile the others work, reads and writes alike.
    assert.deepEqual((await refreshedChildren(steadyId)).map((node) => labelOf(api, node)), ['sessions']);
    const steadyStore = await api.storeFor(steadyId);
    const sessions = (await steadyStore.listNamespaces()).items[0].id;
    await steadyStore.put(sessions, 'during/outage', 'written while the other server was down');
    assert.equal(Buffer.from((await steadyStore.get(sessions, 'during/outage'))!.value).toString(), 'written while the other server was down');
    assert.ok((await refreshedChildren(LOCAL_CONNECTION_ID)).some((node) => labelOf(api, node) === 'outage-local'), 'Local lists its namespaces');
    await localStore.put(localNamespace, 'during/outage', 'local write');
    assert.equal(Buffer.from((await localStore.get(localNamespace, 'during/outage'))!.value).toString(), 'local write');

    // Still down: Retry keeps showing the error rather than something stale or empty.
    await api.tree.retry(errorNode);
    const stillDown = await api.tree.getChildren(await rootOf(failingId));
    assert.deepEqual(stillDown.map((node) => node.type), ['error']);

    // Back on the same port, same data: Retry on the error item recovers it...
    const restarted = await startCloudflareServer({ store: down.store, token: TOKEN, accountId: ACCOUNT, port });
    servers.push(restarted);
    await api.tree.retry(stillDown[0] as ErrorNode);
    assert.deepEqual((await api.tree.getChildren(await rootOf(failingId))).map((node) => labelOf(api, node)), ['orders'], 'Retry recovers');

    // ...and so does Refresh, after a second outage.
    await restarted.close();
    servers.splice(servers.indexOf(restarted), 1);
    assert.deepEqual((await refreshedChildren(failingId)).map((node) => node.type), ['error']);
    servers.push(await startCloudflareServer({ store: down.store, token: TOKEN, accountId: ACCOUNT, port }));
    assert.deepEqual((await refreshedChildren(failingId)).map((node) => labelOf(api, node)), ['orders'], 'Refresh recovers');
    const failingStore = await api.storeFor(failingId);
    const orders = (await failingStore.listNamespaces()).items[0].id;
    await failingStore.put(orders, 'after/outage', 'works again');
    assert.equal(Buffer.from((await down.store.get(orders, 'after/outage'))!.value).toString(), 'works again');
  });
});
