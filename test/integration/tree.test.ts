// The Stores tree in a real VS Code, over the real local store in a temp directory: nested folders, every
// naming edge case, paging with "Load more", the prefix filter, refresh after outside changes, and reveal.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { KvStore } from '../../src/core/store';
import type { KvExplorerApi } from '../../src/vscode/api';
import { kvUri } from '../../src/vscode/kvUri';
import type { TreeNode } from '../../src/vscode/tree';
import { activateApi, child, itemOf, labelOf, labels, markdown, path, setSetting, useTempLocalStore } from './treeSupport';

const LONG_NAME = 'x'.repeat(480);
const IN_TWO_HOURS = Math.floor(Date.now() / 1000) + 2 * 3600 + 30;

/** Realistic keys plus every naming edge case, with the value being the key itself unless stated. */
const SEED: { key: string; value?: string; expiration?: number; metadata?: unknown }[] = [
  { key: 'config/app.json', value: '{"name":"shop","debug":false}' },
  { key: 'config/routes.yaml', value: 'home: /\n' },
  { key: 'users/42/profile', value: '{"name":"Ada"}', metadata: { plan: 'pro', seats: 3 } },
  { key: 'users/42/settings', value: '{"theme":"dark"}' },
  { key: 'users/7/profile', value: '{"name":"Grace"}' },
  { key: 'feature-flags/checkout-v2', value: 'true', expiration: IN_TWO_HOURS },
  { key: 'feature-flags/dark-mode', value: 'false' },
  { key: 'README.md', value: '# shop\n' },
  { key: 'a' },
  { key: 'a/' },
  { key: 'a/b' },
  { key: 'a//b' },
  { key: '/leading' },
  { key: `long/${LONG_NAME}` },
];

async function allLoadedNodes(api: KvExplorerApi, node: TreeNode): Promise<TreeNode[]> {
  const out: TreeNode[] = [node];
  for (const child of await api.tree.getChildren(node)) out.push(...(await allLoadedNodes(api, child)));
  return out;
}

describe('Stores tree (local store)', function () {
  let api: KvExplorerApi;
  let local: { store: KvStore; dispose(): Promise<void> };
  let namespaceId: string;

  before(async () => {
    api = await activateApi();
    local = await useTempLocalStore(api);
    namespaceId = (await local.store.createNamespace('shop')).id;
    for (const entry of SEED) {
      await local.store.put(namespaceId, entry.key, entry.value ?? entry.key, { expiration: entry.expiration, metadata: entry.metadata });
    }
  });

  after(async () => {
    await setSetting('pageSize', undefined);
    await local?.dispose();
  });

  it('shows Local as a root, and a brand-new local store starts with a "default" namespace', async () => {
    const roots = await api.tree.getChildren();
    const localNode = roots.find((node) => node.type === 'connection' && node.connection.id === 'local');
    assert.ok(localNode, 'Local is a root');
    assert.equal(itemOf(api, localNode).contextValue, 'connection.local');
    assert.deepEqual(await labels(api, localNode), ['default', 'shop']);
  });

  it('shows a namespace by title with its id in the tooltip', async () => {
    const shop = await path(api, 'Local', 'shop');
    const item = itemOf(api, shop);
    assert.equal(item.contextValue, 'namespace');
    assert.ok(markdown(item.tooltip).includes(namespaceId), 'the tooltip names the namespace id');
  });

  it('groups keys into folders on "/", keeping every edge case apart', async () => {
    const shop = await path(api, 'Local', 'shop');
    const top = await api.tree.getChildren(shop);
    assert.deepEqual(
      top.map((node) => [labelOf(api, node), itemOf(api, node).contextValue]),
      [
        ['(empty)', 'folder'], // leading '/': a folder with an empty name
        ['README.md', 'key'],
        ['a', 'key'], // the key `a` ...
        ['a', 'folder'], // ... and the folder `a/`, side by side
        ['config', 'folder'],
        ['feature-flags', 'folder'],
        ['long', 'folder'],
        ['users', 'folder'],
      ],
    );
    const folderA = top[3];
    const underA = await api.tree.getChildren(folderA);
    assert.deepEqual(
      underA.map((node) => [labelOf(api, node), itemOf(api, node).contextValue, node.type === 'key' ? node.key.name : node.type === 'folder' ? node.prefix : '']),
      [
        ['(empty)', 'key', 'a/'], // the key `a/` itself
        ['(empty)', 'folder', 'a//'], // `a//b`: a folder with an empty name
        ['b', 'key', 'a/b'],
      ],
    );
    assert.equal(itemOf(api, underA[0]).description, 'empty name');
    assert.deepEqual(await labels(api, underA[1]), ['b']);
    assert.deepEqual(await labels(api, top[0]), ['leading']);
    const long = await api.tree.getChildren(top[6]);
    assert.deepEqual(long.map((node) => labelOf(api, node)), [LONG_NAME]);

    const everything = await allLoadedNodes(api, shop);
    const ids = everything.map((node) => itemOf(api, node).id);
    assert.equal(new Set(ids).size, ids.length, 'tree item ids are unique');
  });

  it('shows a key by its last segment, with a kv: resource, an open command, expiration and a Markdown tooltip', async () => {
    const flag = await path(api, 'Local', 'shop', 'feature-flags', 'checkout-v2');
    const item = itemOf(api, flag);
    const uri = kvUri('local', namespaceId, 'feature-flags/checkout-v2');
    assert.equal(item.resourceUri?.toString(), uri.toString());
    assert.equal(item.command?.command, 'vscode.open');
    assert.equal(String(item.command?.arguments?.[0]), uri.toString());
    assert.match(String(item.description), /^expires in (2h|1h [1-5]\d?m)$/);
    const tooltip = markdown(item.tooltip);
    assert.ok(tooltip.includes('feature-flags/checkout-v2'), tooltip);
    assert.match(tooltip, /Expires \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC/);

    const profile = itemOf(api, await path(api, 'Local', 'shop', 'users', '42', 'profile'));
    assert.equal(profile.description, '');
    assert.match(markdown(profile.tooltip), /```json\n\{\n {2}"plan": "pro",\n {2}"seats": 3\n\}\n```/);
    assert.ok(markdown(profile.tooltip).includes('Never expires'));

    const appJson = itemOf(api, await path(api, 'Local', 'shop', 'config', 'app.json'));
    assert.ok(appJson.resourceUri?.path.endsWith('/app.json'), `the file-icon theme sees app.json in ${appJson.resourceUri?.toString()}`);
  });

  it('implements getParent all the way up', async () => {
    const profile = await path(api, 'Local', 'shop', 'users', '42', 'profile');
    const chain: string[] = [];
    for (let node: TreeNode | undefined = profile; node; node = api.tree.getParent(node)) chain.push(labelOf(api, node));
    assert.deepEqual(chain, ['profile', '42', 'users', 'shop', 'Local']);
  });

  describe('paging', () => {
    let pagedId: string;

    before(async () => {
      await setSetting('pageSize', 3);
      pagedId = (await local.store.createNamespace('paged')).id;
      for (let i = 0; i < 7; i++) await local.store.put(pagedId, `item-${i}`, String(i));
      api.tree.refresh({ connectionId: 'local' }); // the namespace list was loaded before 'paged' existed
    });

    after(async () => {
      await setSetting('pageSize', undefined);
    });

    it('loads a page, then "Load more…" fetches each next page once, however often it is clicked', async () => {
      const paged = await path(api, 'Local', 'paged');
      let children = await api.tree.getChildren(paged);
      assert.deepEqual(children.map((node) => labelOf(api, node)), ['item-0', 'item-1', 'item-2', 'Load more…']);
      const more = children[3];
      assert.equal(itemOf(api, more).contextValue, 'loadMore');
      assert.equal(itemOf(api, more).command?.command, 'kvExplorer.loadMore');

      const store = await api.storeFor('local');
      const original = store.children;
      let fetches = 0;
      store.children = (...args) => {
        fetches++;
        return original.apply(store, args);
      };
      try {
        // A double click: two commands for the same "Load more…" item, one fetch.
        await Promise.all([
          vscode.commands.executeCommand('kvExplorer.loadMore', more),
          vscode.commands.executeCommand('kvExplorer.loadMore', more),
        ]);
        assert.equal(fetches, 1, 'the same page is fetched once');
        // A late click on the old item (its page already came) does nothing either.
        await vscode.commands.executeCommand('kvExplorer.loadMore', more);
        assert.equal(fetches, 1);
      } finally {
        store.children = original;
      }
      children = await api.tree.getChildren(paged);
      assert.deepEqual(children.map((node) => labelOf(api, node)), ['item-0', 'item-1', 'item-2', 'item-3', 'item-4', 'item-5', 'Load more…']);
      await vscode.commands.executeCommand('kvExplorer.loadMore', children[6]);
      assert.deepEqual(await labels(api, paged), ['item-0', 'item-1', 'item-2', 'item-3', 'item-4', 'item-5', 'item-6']);
    });

    it('keeps the pages a folder showed when it is refreshed', async () => {
      const paged = await path(api, 'Local', 'paged');
      await local.store.put(pagedId, 'item-00', 'inserted');
      await vscode.commands.executeCommand('kvExplorer.refreshItem', paged);
      const shown = await labels(api, paged);
      assert.deepEqual(shown.slice(0, 3), ['item-0', 'item-00', 'item-1']);
      assert.ok(shown.length >= 7, `refresh reloads as many pages as were shown: ${JSON.stringify(shown)}`);
    });

    it('reveals a key on a later page, loading pages on the way', async () => {
      await local.store.put(pagedId, 'deep/one', '1');
      for (let i = 0; i < 8; i++) await local.store.put(pagedId, `deep/k${i}`, String(i));
      await vscode.commands.executeCommand('kvExplorer.stores.focus');
      const node = await api.revealKey('local', pagedId, 'deep/k7');
      assert.equal(node.key.name, 'deep/k7');
      assert.equal(api.treeView.selection[0]?.id, node.id);
      const deep = api.tree.getParent(node)!;
      assert.equal(labelOf(api, deep), 'deep');
      assert.ok((await labels(api, deep)).includes('k7'));
    });
  });

  describe('prefix filter', () => {
    it('shows only matching items, says so in the description, and clears', async () => {
      const shop = await path(api, 'Local', 'shop');
      await vscode.commands.executeCommand('kvExplorer.filterNamespace', shop, 'users/4');
      let item = itemOf(api, shop);
      assert.equal(item.contextValue, 'namespace.filtered');
      assert.equal(item.description, 'prefix: users/4');
      assert.deepEqual(await labels(api, shop), ['users/42']);
      assert.deepEqual(await labels(api, await child(api, shop, 'users/42')), ['profile', 'settings']);

      await vscode.commands.executeCommand('kvExplorer.filterNamespace', shop, 'feature-flags/');
      assert.equal(itemOf(api, shop).description, 'prefix: feature-flags/');
      assert.deepEqual(await labels(api, shop), ['feature-flags/checkout-v2', 'feature-flags/dark-mode']);

      await vscode.commands.executeCommand('kvExplorer.clearFilter', shop);
      item = itemOf(api, shop);
      assert.equal(item.contextValue, 'namespace');
      assert.equal(item.description, '');
      assert.equal((await labels(api, shop)).length, 8);
    });

    it('a reveal of a key the filter hides clears the filter', async () => {
      const shop = await path(api, 'Local', 'shop');
      await vscode.commands.executeCommand('kvExplorer.filterNamespace', shop, 'config/');
      const node = await api.tree.findKey('local', namespaceId, 'users/7/profile');
      assert.equal(node.key.name, 'users/7/profile');
      assert.equal(itemOf(api, shop).description, '');
    });
  });

  describe('refresh', () => {
    it('shows a key written behind the tree\'s back after refreshing its folder', async () => {
      const folder = await path(api, 'Local', 'shop', 'users', '42');
      assert.deepEqual(await labels(api, folder), ['profile', 'settings']);
      await local.store.put(namespaceId, 'users/42/avatar.png', new Uint8Array([0x89, 0x50, 0x4e, 0x47]));
      assert.deepEqual(await labels(api, folder), ['profile', 'settings'], 'listings are cached until refreshed');
      await vscode.commands.executeCommand('kvExplorer.refreshItem', folder);
      assert.deepEqual(await labels(api, folder), ['avatar.png', 'profile', 'settings']);
    });

    it('refreshes the whole view', async () => {
      await local.store.delete(namespaceId, 'users/42/avatar.png');
      await local.store.put(namespaceId, 'zebra', 'z');
      await vscode.commands.executeCommand('kvExplorer.refresh');
      assert.deepEqual(await labels(api, await path(api, 'Local', 'shop', 'users', '42')), ['profile', 'settings']);
      assert.ok((await labels(api, await path(api, 'Local', 'shop'))).includes('zebra'));
    });

    it('refreshes the folders holding keys the extension changed, including new folders', async () => {
      const shop = await path(api, 'Local', 'shop');
      await api.tree.getChildren(shop);
      await local.store.put(namespaceId, 'orders/2024/1001', '{}');
      api.tree.keysChanged([{ connectionId: 'local', namespaceId, key: 'orders/2024/1001' }]);
      assert.deepEqual(await labels(api, await path(api, 'Local', 'shop', 'orders', '2024')), ['1001']);
    });
  });
});
