// Namespace and key commands in a real VS Code, against the Local store and against the project's
// Cloudflare-dialect server: each flow driven through its arguments (or a recording Prompter) and checked in the
// store itself.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { KeyInfo, KvStore } from '../../src/core/store';
import type { KvExplorerApi } from '../../src/vscode/api';
import type { TreeNode } from '../../src/vscode/tree';
import {
  activateApi,
  BACKENDS,
  keysOf,
  RecordingPrompter,
  rejectsWith,
  run,
  runOnSelection,
  seed,
  text,
  type Backend,
} from './commandsSupport';
import { labelOf } from './treeSupport';

const now = () => Math.floor(Date.now() / 1000);

async function titleOf(store: KvStore, namespaceId: string): Promise<string | undefined> {
  return (await store.listNamespaces({ limit: 1000 })).items.find((namespace) => namespace.id === namespaceId)?.title;
}

/** The tree node at a path of labels under the backend's connection and a namespace. */
async function node(api: KvExplorerApi, backend: Backend, namespaceId: string, ...labels: string[]): Promise<TreeNode> {
  const namespace = await api.tree.findNamespace(backend.connectionId, namespaceId);
  let current: TreeNode = namespace;
  for (const label of labels) {
    const children = await api.tree.getChildren(current);
    const found = children.find((child) => labelOf(api, child) === label);
    assert.ok(found, `"${label}" among ${JSON.stringify(children.map((child) => labelOf(api, child)))}`);
    current = found;
  }
  return current;
}

for (const { name, make } of BACKENDS) {
  describe(`commands: namespaces and keys (${name})`, function () {
    this.timeout(60_000);
    let api: KvExplorerApi;
    let backend: Backend;
    let store: KvStore;

    before(async () => {
      api = await activateApi();
      backend = await make(api);
      store = backend.store;
    });

    after(async () => {
      await backend?.dispose();
    });

    const at = (namespaceId: string, extra: Record<string, string> = {}) => ({ connectionId: backend.connectionId, namespaceId, ...extra });

    it('creates, renames and deletes a namespace, naming what a delete loses', async () => {
      const connection = { connectionId: backend.connectionId };
      await rejectsWith(run('createNamespace', connection, { title: '   ' }), { rule: 'prompt.title', message: /empty/ });
      await rejectsWith(run('createNamespace', connection, { title: 'x'.repeat(513) }), { rule: 'prompt.title', message: /at most 512/ });
      const created = await run<{ id: string; title: string }>('createNamespace', connection, { title: 'Orders' });
      assert.equal(await titleOf(store, created.id), 'Orders');

      const prompter = new RecordingPrompter({ title: (request: { value: string }) => `${request.value} v2` });
      assert.equal(await run('renameNamespace', at(created.id), { prompter }), 'Orders v2');
      assert.equal(await titleOf(store, created.id), 'Orders v2');

      await seed(store, created.id, { a: '1', b: '2', 'c/d': '3' });
      const refuse = new RecordingPrompter({ confirm: false });
      assert.equal(await run('deleteNamespace', at(created.id), { prompter: refuse }), false);
      assert.equal(refuse.request<{ message: string }>('confirm').message, 'Delete the namespace "Orders v2" and its 3 keys?');
      assert.equal(await titleOf(store, created.id), 'Orders v2', 'kept without a yes');

      assert.equal(await run('deleteNamespace', undefined, { connection: backend.connectionId, namespace: 'Orders v2', confirm: true }), true);
      assert.equal(await titleOf(store, created.id), undefined);
    });

    it('creates a new key only with a name the provider allows', async () => {
      const namespaceId = await backend.namespace();
      await rejectsWith(run('newKey', at(namespaceId), { key: '' }), { rule: 'prompt.key', message: /empty/ });
      await rejectsWith(run('newKey', at(namespaceId), { key: '..' }), { rule: 'prompt.key', message: /does not allow the key name/ });
      await rejectsWith(run('newKey', at(namespaceId), { key: 'é'.repeat(300) }), { rule: 'prompt.key', message: /600 bytes.*at most 512/ });
      const prompter = new RecordingPrompter({ key: null });
      await run('newKey', at(namespaceId, { prefix: 'users/' }), { prompter });
      assert.equal(prompter.request<{ value: string }>('key').value, 'users/', 'a folder pre-fills its prefix');
    });

    it('deletes one key, a multi-selection and a whole folder, confirming the count', async () => {
      const namespaceId = await backend.namespace();
      await seed(store, namespaceId, { a: '1', b: '2', c: '3', 'dir/1': '1', 'dir/2': '2', 'dir/sub/3': '3', dirx: 'x' });

      await run('deleteKeys', at(namespaceId, { key: 'a' }), { confirm: true });
      assert.deepEqual(await keysOf(store, namespaceId), ['b', 'c', 'dir/1', 'dir/2', 'dir/sub/3', 'dirx']);

      const b = await node(api, backend, namespaceId, 'b');
      const c = await node(api, backend, namespaceId, 'c');
      const refuse = new RecordingPrompter({ confirm: false });
      await runOnSelection('deleteKeys', [b, c], { prompter: refuse });
      assert.equal(refuse.request<{ message: string }>('confirm').message, 'Delete 2 keys?');
      assert.equal((await keysOf(store, namespaceId)).length, 6, 'nothing deleted without a yes');

      await runOnSelection('deleteKeys', [b, c], { confirm: true });
      assert.deepEqual(await keysOf(store, namespaceId), ['dir/1', 'dir/2', 'dir/sub/3', 'dirx']);

      const folder = await node(api, backend, namespaceId, 'dir');
      const prompter = new RecordingPrompter({ confirm: true });
      const [result] = await run<{ outcome: { written: string[] } }[]>('deleteKeys', folder, { prompter });
      assert.match(prompter.request<{ message: string }>('confirm').message, /^Delete 3 keys \(1 folder: "dir\/"\)\?$/);
      assert.deepEqual(result.outcome.written, ['dir/1', 'dir/2', 'dir/sub/3']);
      assert.deepEqual(await keysOf(store, namespaceId), ['dirx'], 'a sibling that shares the prefix text stays');
      assert.deepEqual((await api.tree.getChildren(await api.tree.findNamespace(backend.connectionId, namespaceId))).map((child) => labelOf(api, child)), ['dirx'], 'the tree shows it');
    });

    it('Delete and F2 in the Stores view act on the selection: keys, and a namespace as a whole', async () => {
      const namespaceId = await backend.namespace('keyboard');
      await seed(store, namespaceId, { one: '1', two: '2' });
      const one = await node(api, backend, namespaceId, 'one');
      await api.treeView.reveal(one, { select: true, focus: true });
      for (let i = 0; i < 40 && api.treeView.selection[0] !== one; i++) await new Promise((resolve) => setTimeout(resolve, 50));
      // What the keybindings send: no item, just { useSelection: true }.
      await vscode.commands.executeCommand('kvExplorer.deleteKeys', { useSelection: true, interactive: false, confirm: true });
      assert.deepEqual(await keysOf(store, namespaceId), ['two']);

      const namespace = await api.tree.findNamespace(backend.connectionId, namespaceId);
      const renamed = await run<string>('renameKey', namespace, { title: 'keyboard renamed' });
      assert.equal(renamed, 'keyboard renamed', 'F2 on a namespace renames the namespace');
      const prompter = new RecordingPrompter({ confirm: true });
      const refreshed = await api.tree.findNamespace(backend.connectionId, namespaceId);
      assert.equal(await run('deleteKeys', refreshed, { prompter }), true);
      assert.match(prompter.request<{ message: string }>('confirm').message, /^Delete the namespace "keyboard renamed" and its 1 key\?$/);
      assert.equal(await titleOf(store, namespaceId), undefined);
    });

    it('asks for the key to delete from the palette, searching by prefix', async () => {
      const namespaceId = await backend.namespace();
      await seed(store, namespaceId, { 'users/1': 'a', 'users/2': 'b' });
      let offered: string[] = [];
      const prompter = new RecordingPrompter({
        connection: backend.connectionId,
        namespace: namespaceId,
        pickKey: (request: { search(text: string, signal: AbortSignal): Promise<{ label: string }[]> }) =>
          request.search('users/', new AbortController().signal).then((items) => {
            offered = items.map((item) => item.label);
            return 'users/2';
          }),
        confirm: true,
      });
      await run('deleteKeys', undefined, { prompter });
      assert.deepEqual(offered, ['users/1', 'users/2']);
      assert.deepEqual(await keysOf(store, namespaceId), ['users/1']);
    });

    it('renames a key with its value, metadata and expiration, and overwrites only when told', async () => {
      const namespaceId = await backend.namespace();
      const expiration = now() + 3600;
      await store.put(namespaceId, 'old', new Uint8Array([0, 255, 1]), { metadata: { owner: 'ops' }, expiration });
      await store.put(namespaceId, 'taken', 'keep me');

      await rejectsWith(run('renameKey', at(namespaceId, { key: 'old' }), { newKey: 'old' }), { rule: 'prompt.newKey', message: /different/ });
      await rejectsWith(run('renameKey', at(namespaceId, { key: 'old' }), { newKey: '.' }), { rule: 'prompt.newKey' });
      const refuse = new RecordingPrompter({ newKey: 'taken', overwrite: false });
      assert.equal(await run('renameKey', at(namespaceId, { key: 'old' }), { prompter: refuse }), undefined);
      assert.equal(refuse.request<{ message: string }>('overwrite').message, '"taken" exists already. Overwrite it?');
      assert.equal(text((await store.get(namespaceId, 'taken'))?.value), 'keep me');
      assert.ok(await store.get(namespaceId, 'old'), 'the original stays when the move is refused');

      await run('renameKey', at(namespaceId, { key: 'old' }), { newKey: 'moved/new' });
      const moved = await store.get(namespaceId, 'moved/new');
      assert.deepEqual(moved?.value, new Uint8Array([0, 255, 1]));
      assert.deepEqual(moved?.metadata, { owner: 'ops' });
      assert.equal(moved?.expiration, expiration);
      assert.equal(await store.get(namespaceId, 'old'), undefined);

      await run('renameKey', at(namespaceId, { key: 'moved/new' }), { newKey: 'taken', overwrite: true });
      assert.deepEqual((await store.get(namespaceId, 'taken'))?.value, new Uint8Array([0, 255, 1]));
    });

    it('moves a folder, refusing a move whose keys would land on keys being moved', async () => {
      const namespaceId = await backend.namespace();
      await seed(store, namespaceId, { 'f/1': 'one', 'f/2': 'two', 'f/g/3': 'three', 'q/1': 'existing' });
      const result = await run<{ copied: string[]; removed: string[] }>('renameKey', at(namespaceId, { prefix: 'f/' }), { newPrefix: 'h/' });
      assert.deepEqual(result.copied.sort(), ['h/1', 'h/2', 'h/g/3']);
      assert.deepEqual(await keysOf(store, namespaceId), ['h/1', 'h/2', 'h/g/3', 'q/1']);
      assert.equal(text((await store.get(namespaceId, 'h/g/3'))?.value), 'three');

      await rejectsWith(run('renameKey', at(namespaceId, { prefix: 'h/' }), { newPrefix: 'q' }), { rule: 'prompt.newPrefix', message: /ends with "\/"/ });
      const refuse = new RecordingPrompter({ newPrefix: 'q/', overwrite: false });
      await run('renameKey', at(namespaceId, { prefix: 'h/' }), { prompter: refuse });
      assert.match(refuse.request<{ detail: string }>('overwrite').detail, /"q\/1"/);
      assert.deepEqual(await keysOf(store, namespaceId), ['h/1', 'h/2', 'h/g/3', 'q/1'], 'nothing moved');

      await seed(store, namespaceId, { 'a/b/x': 'x', 'a/b/b/x': 'bx' });
      await rejectsWith(run('renameKey', at(namespaceId, { prefix: 'a/b/' }), { newPrefix: 'a/' }), { rule: 'key.moveOverlap' });
      assert.equal(text((await store.get(namespaceId, 'a/b/x'))?.value), 'x', 'untouched');
    });

    it('duplicates a key under a suggested name', async () => {
      const namespaceId = await backend.namespace();
      await store.put(namespaceId, 'config/app.json', '{"debug":true}', { metadata: { v: 2 } });
      const prompter = new RecordingPrompter({ newKey: (request: { value: string }) => request.value });
      await run('duplicateKey', at(namespaceId, { key: 'config/app.json' }), { prompter });
      const copy = await store.get(namespaceId, 'config/app copy.json');
      assert.equal(text(copy?.value), '{"debug":true}');
      assert.deepEqual(copy?.metadata, { v: 2 });
      assert.ok(await store.get(namespaceId, 'config/app.json'), 'the original stays');
    });

    it('copies the key name, its full path and its text value; refuses to copy bytes that are not text', async () => {
      const namespaceId = await backend.namespace();
      await store.put(namespaceId, 'greeting/hello', 'héllo ✓');
      await store.put(namespaceId, 'blob', new Uint8Array([0xff, 0xfe]));
      const key = at(namespaceId, { key: 'greeting/hello' });
      assert.equal(await run('copyKeyName', key), 'greeting/hello');
      assert.equal(await vscode.env.clipboard.readText(), 'greeting/hello');
      const path = await run<string>('copyKeyPath', key);
      assert.match(path, /^kv:/);
      assert.equal(await run('copyValue', key), 'héllo ✓');
      assert.equal(await vscode.env.clipboard.readText(), 'héllo ✓');
      await rejectsWith(run('copyValue', at(namespaceId, { key: 'blob' })), { rule: 'value.binary' });
      await rejectsWith(run('copyValue', at(namespaceId, { key: 'missing' })), { kind: 'not-found' });
    });

    it('sets an expiration (TTL, duration or date, at least 60 s ahead) and removes it, keeping value and metadata', async () => {
      const namespaceId = await backend.namespace();
      await store.put(namespaceId, 'session', 'token-data', { metadata: { user: 7 } });
      const key = at(namespaceId, { key: 'session' });
      await rejectsWith(run('setExpiration', key, { expiration: '30' }), { rule: 'prompt.expiration', message: /at least 60/ });
      await rejectsWith(run('setExpiration', key, { expiration: '2001-01-01T00:00:00Z' }), { rule: 'prompt.expiration', message: /in the past/ });
      await rejectsWith(run('setExpiration', key, { expiration: 'soon' }), { rule: 'prompt.expiration', message: /neither seconds/ });

      await run('setExpiration', key, { expiration: '2h' });
      let entry = await store.get(namespaceId, 'session');
      assert.ok(entry?.expiration && Math.abs(entry.expiration - (now() + 7200)) <= 5, String(entry?.expiration));
      assert.equal(text(entry?.value), 'token-data');
      assert.deepEqual(entry?.metadata, { user: 7 });

      const at2030 = Date.UTC(2030, 0, 1) / 1000;
      await run('setExpiration', key, { expiration: '2030-01-01T00:00:00Z' });
      entry = await store.get(namespaceId, 'session');
      assert.equal(entry?.expiration, at2030);

      await run('removeExpiration', key);
      entry = await store.get(namespaceId, 'session');
      assert.equal(entry?.expiration, undefined);
      assert.equal(text(entry?.value), 'token-data');
      assert.deepEqual(entry?.metadata, { user: 7 });
    });

    it('goes to a key: searches by prefix as typed and reveals the choice in the tree', async () => {
      const namespaceId = await backend.namespace();
      await seed(store, namespaceId, { 'users/1': 'a', 'users/2': 'b', 'users/20/x': 'c', other: 'd' });
      let offered: string[] = [];
      const prompter = new RecordingPrompter({
        pickKey: async (request: { value: string; search(text: string, signal: AbortSignal): Promise<{ label: string; value: KeyInfo }[]> }) => {
          assert.equal(request.value, '', 'a namespace starts the search empty');
          offered = (await request.search('users/2', new AbortController().signal)).map((item) => item.label);
          return 'users/20/x';
        },
      });
      const found = await run<{ key: string }>('goToKey', at(namespaceId), { prompter });
      assert.deepEqual(offered, ['users/2', 'users/20/x']);
      assert.equal(found.key, 'users/20/x');
      // The selection reaches the extension host a moment after reveal() resolves.
      for (let i = 0; i < 40 && api.treeView.selection[0]?.type !== 'key'; i++) await new Promise((resolve) => setTimeout(resolve, 50));
      const selected = api.treeView.selection[0];
      assert.equal(selected?.type, 'key');
      assert.equal(selected?.type === 'key' ? selected.key.name : undefined, 'users/20/x');
    });
  });
}
