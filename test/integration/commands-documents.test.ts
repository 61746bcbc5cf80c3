// Commands that open documents of the kv: file system, in a real VS Code, against the Local store and the
// Cloudflare-dialect server: new key (a draft until its first save, then the key's own document and tree item),
// edit metadata, compare two keys or a key with a file, and the full key path.
import * as assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as vscode from 'vscode';
import type { KvStore } from '../../src/core/store';
import type { KvExplorerApi } from '../../src/vscode/api';
import { kvUri } from '../../src/vscode/kvUri';
import { activateApi, BACKENDS, RecordingPrompter, run, runOnSelection, tempDir, text, type Backend } from './commandsSupport';

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function closeEditors(): Promise<void> {
  await vscode.commands.executeCommand('workbench.action.closeAllEditors');
}

/** The active tab's diff sides, once VS Code shows one. */
async function activeDiff(): Promise<{ original: string; modified: string }> {
  for (let i = 0; i < 40; i++) {
    const input = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
    if (input instanceof vscode.TabInputTextDiff) return { original: input.original.toString(), modified: input.modified.toString() };
    await pause(50);
  }
  assert.fail('no diff editor became active');
}

for (const { name, make } of BACKENDS) {
  describe(`commands: documents (${name})`, function () {
    this.timeout(60_000);
    let api: KvExplorerApi;
    let backend: Backend;
    let store: KvStore;
    let files: { dir: string; dispose(): void };

    before(async () => {
      api = await activateApi();
      backend = await make(api);
      store = backend.store;
      files = tempDir('documents');
    });

    afterEach(closeEditors);

    after(async () => {
      await backend?.dispose();
      files?.dispose();
    });

    const at = (namespaceId: string, extra: Record<string, string> = {}) => ({ connectionId: backend.connectionId, namespaceId, ...extra });
    const uriOf = (namespaceId: string, key: string, kind?: 'metadata') => kvUri(backend.connectionId, namespaceId, key, kind).toString();

    it('opens a new key that exists only after its first save, then shows its own document and the tree item', async () => {
      const namespaceId = await backend.namespace();
      const result = await run<{ key: string; uri: vscode.Uri }>('newKey', at(namespaceId, { prefix: 'config/' }), { key: 'config/new.json' });
      assert.equal(result.uri.toString(), uriOf(namespaceId, 'config/new.json'));
      const draft = vscode.window.activeTextEditor;
      assert.equal(draft?.document.uri.scheme, 'kv-new', 'a draft is open');
      assert.equal(draft?.document.uri.path, vscode.Uri.parse(uriOf(namespaceId, 'config/new.json')).path, 'with the key\'s tab label');
      assert.equal(draft?.document.getText(), '');
      assert.equal(await store.get(namespaceId, 'config/new.json'), undefined, 'not in the store before the first save');

      await draft!.edit((edit) => edit.insert(new vscode.Position(0, 0), '{"fresh": true}'));
      assert.equal(await draft!.document.save(), true);
      assert.equal(text((await store.get(namespaceId, 'config/new.json'))?.value), '{"fresh": true}');
      for (let i = 0; i < 40 && vscode.window.activeTextEditor?.document.uri.scheme !== 'kv'; i++) await pause(50);
      const own = vscode.window.activeTextEditor?.document;
      assert.equal(own?.uri.toString(), uriOf(namespaceId, 'config/new.json'), "the key's own document replaces the draft");
      assert.equal(own?.getText(), '{"fresh": true}');
      const draftOpen = () =>
        vscode.window.tabGroups.all.flatMap((group) => group.tabs).some((tab) => tab.input instanceof vscode.TabInputText && tab.input.uri.scheme === 'kv-new');
      for (let i = 0; i < 40 && draftOpen(); i++) await pause(50);
      assert.equal(draftOpen(), false, 'the draft is closed');
      for (let i = 0; i < 40 && api.treeView.selection[0]?.type !== 'key'; i++) await pause(50);
      const selected = api.treeView.selection[0];
      assert.equal(selected?.type === 'key' ? selected.key.name : undefined, 'config/new.json', 'revealed in the tree after the save');
    });

    it("a new key's first save goes through the kv: file system: a key created meanwhile is not overwritten unasked", async () => {
      const namespaceId = await backend.namespace();
      await run('newKey', at(namespaceId), { key: 'race' });
      const draft = vscode.window.activeTextEditor!;
      await store.put(namespaceId, 'race', 'written elsewhere');
      const asked: string[] = [];
      const ask = api.files.ask;
      api.files.ask = async (question) => {
        asked.push(question.id);
        return undefined; // Escape
      };
      try {
        await draft.edit((edit) => edit.insert(new vscode.Position(0, 0), 'mine'));
        assert.equal(await draft.document.save(), false, 'the save is refused');
      } finally {
        api.files.ask = ask;
      }
      assert.deepEqual(asked, ['exists']);
      assert.equal(draft.document.isDirty, true, 'the draft keeps the text');
      assert.equal(text((await store.get(namespaceId, 'race'))?.value), 'written elsewhere');
    });

    it('opens an existing key when "new" names one, instead of replacing it', async () => {
      const namespaceId = await backend.namespace();
      await store.put(namespaceId, 'present', 'old value');
      const prompter = new RecordingPrompter({ key: 'present' });
      await run('newKey', at(namespaceId), { prompter });
      assert.equal(vscode.window.activeTextEditor?.document.getText(), 'old value');
      assert.match(prompter.messages[0]?.message ?? '', /exists already/);
    });

    it('opens the metadata of a key as a JSON document', async () => {
      const namespaceId = await backend.namespace();
      await store.put(namespaceId, 'tagged', 'v', { metadata: { owner: 'ops', n: 3 } });
      const uri = await run<vscode.Uri>('editMetadata', at(namespaceId, { key: 'tagged' }));
      assert.equal(uri.toString(), uriOf(namespaceId, 'tagged', 'metadata'));
      const document = vscode.window.activeTextEditor?.document;
      assert.equal(document?.uri.toString(), uri.toString());
      assert.deepEqual(JSON.parse(document!.getText()), { owner: 'ops', n: 3 });
      assert.equal(document?.languageId, 'json');
    });

    it('compares two selected keys, or a key with one picked by prefix, in the diff editor', async () => {
      const namespaceId = await backend.namespace();
      await store.put(namespaceId, 'a/v1', 'one\ntwo\n');
      await store.put(namespaceId, 'a/v2', 'one\nthree\n');
      const first = at(namespaceId, { key: 'a/v1' });
      const second = at(namespaceId, { key: 'a/v2' });
      await runOnSelection('compareKeys', [first, second]);
      assert.deepEqual(await activeDiff(), { original: uriOf(namespaceId, 'a/v1'), modified: uriOf(namespaceId, 'a/v2') });
      await closeEditors();

      const prompter = new RecordingPrompter({ otherKey: 'a/' });
      await run('compareKeys', first, { prompter });
      assert.deepEqual(await activeDiff(), { original: uriOf(namespaceId, 'a/v1'), modified: uriOf(namespaceId, 'a/v2') }, 'the key itself is not offered');
    });

    it('compares a key with a local file', async () => {
      const namespaceId = await backend.namespace();
      await store.put(namespaceId, 'settings.json', '{"a": 1}');
      const file = join(files.dir, 'settings.json');
      writeFileSync(file, '{"a": 2}');
      await run('compareWithFile', at(namespaceId, { key: 'settings.json' }), { file });
      assert.deepEqual(await activeDiff(), { original: vscode.Uri.file(file).toString(), modified: uriOf(namespaceId, 'settings.json') });
    });

    it('copies the full key path: the kv: address that opens the key', async () => {
      const namespaceId = await backend.namespace();
      await store.put(namespaceId, 'deep/path/to key', 'x');
      const path = await run<string>('copyKeyPath', at(namespaceId, { key: 'deep/path/to key' }));
      assert.equal(path, uriOf(namespaceId, 'deep/path/to key'));
      const document = await vscode.workspace.openTextDocument(vscode.Uri.parse(path));
      assert.equal(document.getText(), 'x');
    });
  });
}
