// Values as documents, in the real VS Code: open, edit, Ctrl+S (document.save), read back through the store.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { nowSeconds } from '../../src/core/validation';
import type { KvExplorerApi } from '../../src/vscode/api';
import { KvFileSystemProvider, type SaveQuestion } from '../../src/vscode/fileSystem';
import type { KvStore } from '../../src/core/store';
import { kvUri, parseKvUri } from '../../src/vscode/kvUri';
import { LocalStore } from '../../src/providers/local';
import { TelnyxStore } from '../../src/providers/telnyx';
import { startCloudflareServer, startTelnyxServer } from '../../src/server';
import { generatedKeys } from '../support/generatedKeys';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BACKENDS, CF_ACCOUNT, CF_TOKEN, type Backend } from './commandsSupport';
import { activateApi } from './treeSupport';

async function openText(uri: vscode.Uri): Promise<vscode.TextDocument> {
  const document = await vscode.workspace.openTextDocument(uri);
  await vscode.window.showTextDocument(document);
  return document;
}

async function replaceText(document: vscode.TextDocument, text: string): Promise<void> {
  const edit = new vscode.WorkspaceEdit();
  edit.replace(document.uri, new vscode.Range(0, 0, document.lineCount, 0), text);
  assert.ok(await vscode.workspace.applyEdit(edit));
}

function text(bytes: Uint8Array | undefined): string | undefined {
  return bytes === undefined ? undefined : Buffer.from(bytes).toString('utf8');
}

/** Reverts every unsaved kv document (so none reloads after its connection is gone) and closes all editors. */
async function closeAll(): Promise<void> {
  for (const document of vscode.workspace.textDocuments.filter((candidate) => candidate.isDirty && candidate.uri.scheme === 'kv')) {
    await vscode.window.showTextDocument(document);
    await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
  }
  await vscode.commands.executeCommand('workbench.action.closeAllEditors');
}

/** Polls until `probe` gives a value (VS Code applies some changes, like a language switch, a moment later). */
async function waitFor<T>(probe: () => T | undefined, what: string, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function openDocument(uri: vscode.Uri): vscode.TextDocument | undefined {
  return vscode.workspace.textDocuments.find((document) => document.uri.toString() === uri.toString());
}

function allTabs(): vscode.Tab[] {
  return vscode.window.tabGroups.all.flatMap((group) => group.tabs);
}

/** After a value that is not UTF-8 opens, its tab is replaced by the read-only hex view. */
async function showsHexViewInsteadOf(uri: vscode.Uri): Promise<{ document: vscode.TextDocument; isReadonly: boolean }> {
  const address = parseKvUri(uri)!;
  const hexUri = kvUri(address.connectionId, address.namespaceId, address.key, 'hex');
  const editor = await waitFor(
    () => vscode.window.visibleTextEditors.find((candidate) => candidate.document.uri.toString() === hexUri.toString()),
    'the hex view',
  );
  await waitFor(() => (allTabs().some((tab) => tab.input instanceof vscode.TabInputText && tab.input.uri.toString() === uri.toString()) ? undefined : true), 'the value tab to close');
  const stat = await vscode.workspace.fs.stat(hexUri);
  return { document: editor.document, isReadonly: stat.permissions === vscode.FilePermission.Readonly };
}

function diffTabFor(uri: vscode.Uri): vscode.TabInputTextDiff | undefined {
  for (const tab of allTabs()) {
    if (tab.input instanceof vscode.TabInputTextDiff && tab.input.modified.toString() === uri.toString()) return tab.input;
  }
  return undefined;
}

const TELNYX_KEY = 'telnyx-edit-key-7f3a9c21';

/** A Telnyx connection to the Telnyx-dialect server; `store` talks to the same server, as a second client. */
async function telnyxBackend(api: KvExplorerApi) {
  const dir = mkdtempSync(join(tmpdir(), 'kv-edit-telnyx-'));
  const local = await LocalStore.open(dir, { sweepIntervalMs: 0 });
  const server = await startTelnyxServer({ store: local, apiKey: TELNYX_KEY });
  const store = new TelnyxStore({ baseUrl: server.baseUrl, apiKey: TELNYX_KEY });
  const connection = await api.connections.addConnection({ kind: 'telnyx', name: 'Telnyx edit test', authType: 'api-key', baseUrl: server.baseUrl }, TELNYX_KEY);
  let counter = 0;
  return {
    connectionId: connection.id,
    store,
    server,
    namespace: async () => (await store.createNamespace(`edit-${Date.now().toString(36)}-${++counter}`)).id,
    async dispose() {
      await api.connections.removeConnection(connection.id);
      await store.close();
      await server.close();
      await local.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

describe('editing: kv documents', function () {
  this.timeout(60_000);
  let api: KvExplorerApi;
  let questions: SaveQuestion[];
  let answer: (question: SaveQuestion) => string | undefined;

  before(async () => {
    api = await activateApi();
  });

  beforeEach(() => {
    questions = [];
    answer = () => undefined;
    api.files.ask = async (question) => {
      questions.push(question);
      return answer(question);
    };
  });

  afterEach(closeAll);

  it('round-trips 10,000 generated keys through vscode.Uri.parse(uri.toString()), path included', () => {
    const places = [
      { connectionId: 'local', namespaceId: 'ns' },
      { connectionId: 'my account #2', namespaceId: 'ns/1?#%' },
    ];
    for (const [index, key] of generatedKeys(10_000, 7).entries()) {
      const { connectionId, namespaceId } = places[index % places.length];
      const kind = index % 3 === 0 ? 'metadata' : 'value';
      const uri = kvUri(connectionId, namespaceId, key, kind);
      const parsed = vscode.Uri.parse(uri.toString());
      assert.deepEqual(parseKvUri(parsed), { connectionId, namespaceId, key, kind }, JSON.stringify(key));
      // The file system tells a key's own document from a parent folder by its path, so that must survive too.
      assert.equal(parsed.path, uri.path, JSON.stringify(key));
    }
  });

  for (const { name, make } of BACKENDS) {
    describe(`editing on ${name}`, () => {
      let backend: Backend;
      let ns: string;
      before(async () => {
        backend = await make(api);
      });
      after(async () => backend.dispose());
      beforeEach(async () => {
        ns = await backend.namespace('edit');
      });

      it('opens a value, saves an edit and the store holds it; the tab shows the last segment', async () => {
        await backend.store.put(ns, 'config/app.json', '{"theme":"light"}');
        const document = await openText(kvUri(backend.connectionId, ns, 'config/app.json'));
        assert.equal(document.getText(), '{"theme":"light"}');
        assert.equal(document.languageId, 'json');
        assert.equal(vscode.window.tabGroups.activeTabGroup.activeTab?.label, 'app.json');
        await replaceText(document, '{"theme":"dark"}');
        assert.ok(await document.save(), 'saved');
        assert.equal(document.isDirty, false);
        assert.equal(text((await backend.store.get(ns, 'config/app.json'))?.value), '{"theme":"dark"}');
        assert.deepEqual(questions, []);
      });

      it('keeps metadata and expiration when only the value is saved', async () => {
        const expiration = nowSeconds() + 3600;
        await backend.store.put(ns, 'flags/beta', 'off', { metadata: { owner: 'ops' }, expiration });
        const document = await openText(kvUri(backend.connectionId, ns, 'flags/beta'));
        await replaceText(document, 'on');
        assert.ok(await document.save());
        const entry = await backend.store.get(ns, 'flags/beta');
        assert.equal(text(entry?.value), 'on');
        assert.deepEqual(entry?.metadata, { owner: 'ops' });
        assert.equal(entry?.expiration, expiration);
      });

      it('saves metadata as its own JSON document, with the value untouched', async () => {
        await backend.store.put(ns, 'user/1', 'Ada', { metadata: { role: 'admin' } });
        const document = await openText(kvUri(backend.connectionId, ns, 'user/1', 'metadata'));
        assert.deepEqual(JSON.parse(document.getText()), { role: 'admin' });
        assert.equal(document.languageId, 'json');
        await replaceText(document, '{"role":"owner"}');
        assert.ok(await document.save());
        const entry = await backend.store.get(ns, 'user/1');
        assert.equal(text(entry?.value), 'Ada');
        assert.deepEqual(entry?.metadata, { role: 'owner' });
      });

      it('refuses metadata that is not JSON and keeps the editor dirty', async () => {
        await backend.store.put(ns, 'user/2', 'Grace', { metadata: { role: 'dev' } });
        const document = await openText(kvUri(backend.connectionId, ns, 'user/2', 'metadata'));
        await replaceText(document, '{ not json');
        assert.equal(await document.save(), false);
        assert.equal(document.isDirty, true);
        assert.deepEqual((await backend.store.get(ns, 'user/2'))?.metadata, { role: 'dev' });
      });

      it('detects a conflicting write made elsewhere: Cancel keeps the editor dirty, Overwrite writes', async () => {
        await backend.store.put(ns, 'doc', 'v1');
        const document = await openText(kvUri(backend.connectionId, ns, 'doc'));
        await replaceText(document, 'mine');
        await backend.store.put(ns, 'doc', 'changed elsewhere');
        assert.equal(await document.save(), false, 'cancelled save reports failure');
        assert.equal(document.isDirty, true);
        assert.deepEqual(questions.map((q) => q.id), ['conflict']);
        assert.equal(text((await backend.store.get(ns, 'doc'))?.value), 'changed elsewhere');

        answer = (question) => (question.id === 'conflict' ? 'Overwrite' : undefined);
        assert.ok(await document.save());
        assert.equal(text((await backend.store.get(ns, 'doc'))?.value), 'mine');
      });

      it('says so when the key was deleted meanwhile, and re-creates it only when asked', async () => {
        await backend.store.put(ns, 'gone', 'here');
        const document = await openText(kvUri(backend.connectionId, ns, 'gone'));
        await backend.store.delete(ns, 'gone');
        await replaceText(document, 'back');
        assert.equal(await document.save(), false);
        assert.deepEqual(questions.map((q) => q.id), ['deleted']);
        assert.equal(await backend.store.get(ns, 'gone'), undefined);
        answer = () => 'Re-create';
        assert.ok(await document.save());
        assert.equal(text((await backend.store.get(ns, 'gone'))?.value), 'back');
      });

      it('reads a binary value as its exact bytes, shows it as a read-only hex view, and never changes it', async () => {
        const bytes = new Uint8Array([0xff, 0xfe, 0x00, 0x41, 0x80, 0x0a]);
        await backend.store.put(ns, 'blob.bin', bytes);
        await backend.store.put(ns, 'latin1.txt', new Uint8Array([0x63, 0x61, 0x66, 0xe9])); // "café" in Latin-1: no NUL
        for (const [key, dump] of [['blob.bin', /ff fe 00 41 80 0a/], ['latin1.txt', /63 61 66 e9/]] as const) {
          const value = (await backend.store.get(ns, key))!.value;
          const uri = kvUri(backend.connectionId, ns, key);
          assert.ok(Buffer.from(await vscode.workspace.fs.readFile(uri)).equals(Buffer.from(value)), `${key}: exact bytes for binary-capable editors`);
          assert.equal((await vscode.workspace.fs.stat(uri)).permissions, vscode.FilePermission.Readonly);
          await vscode.commands.executeCommand('vscode.open', uri); // what a click in the tree does
          const hex = await showsHexViewInsteadOf(uri);
          assert.equal(hex.isReadonly, true, `${key}: the hex view is read-only`);
          assert.match(hex.document.getText(), dump);
          await assert.rejects(Promise.resolve(vscode.workspace.fs.writeFile(uri, Buffer.from('text'))), /binary/);
          await assert.rejects(Promise.resolve(vscode.workspace.fs.writeFile(hex.document.uri, Buffer.from('text'))), /read-only/);
          assert.ok(Buffer.from((await backend.store.get(ns, key))!.value).equals(Buffer.from(value)), `${key}: bytes untouched`);
        }
      });

      it('compares two binary values as hex views', async () => {
        await backend.store.put(ns, 'bin/a', new Uint8Array([0x00, 0x01, 0xff]));
        await backend.store.put(ns, 'bin/b', new Uint8Array([0x00, 0x02, 0xff]));
        const a = kvUri(backend.connectionId, ns, 'bin/a');
        const b = kvUri(backend.connectionId, ns, 'bin/b');
        await vscode.commands.executeCommand('vscode.diff', a, b, 'a ↔ b');
        const hexA = kvUri(backend.connectionId, ns, 'bin/a', 'hex').toString();
        await waitFor(() => allTabs().find((tab) => tab.input instanceof vscode.TabInputTextDiff && tab.input.original.toString() === hexA), 'the hex diff');
        assert.ok(!allTabs().some((tab) => tab.input instanceof vscode.TabInputTextDiff && tab.input.original.toString() === a.toString()), 'the byte diff is replaced');
      });

      it('opens JSON under a key without an extension as JSON, and other text as plain text', async () => {
        await backend.store.put(ns, 'settings', '{"retries": 3}');
        await backend.store.put(ns, 'greeting', 'hello {');
        const settings = kvUri(backend.connectionId, ns, 'settings');
        await openText(settings);
        await waitFor(() => (openDocument(settings)?.languageId === 'json' ? true : undefined), 'the JSON language');
        const greeting = await openText(kvUri(backend.connectionId, ns, 'greeting'));
        assert.equal(greeting.languageId, 'plaintext');
        // An extension no language claims does not stop JSON detection; one that names plain text does.
        await backend.store.put(ns, 'user.42', '{"name": "Ada"}');
        const user = kvUri(backend.connectionId, ns, 'user.42');
        await openText(user);
        await waitFor(() => (openDocument(user)?.languageId === 'json' ? true : undefined), 'the JSON language for user.42');
        await backend.store.put(ns, 'notes.txt', '{"plain": true}');
        const notes = kvUri(backend.connectionId, ns, 'notes.txt');
        await openText(notes);
        await new Promise((resolve) => setTimeout(resolve, 300));
        assert.equal(openDocument(notes)?.languageId, 'plaintext');
      });

      it('asks before opening a value over kvExplorer.maxOpenSizeBytes, and opens it only when told', async () => {
        const settings = vscode.workspace.getConfiguration('kvExplorer');
        await settings.update('maxOpenSizeBytes', 100, vscode.ConfigurationTarget.Global);
        try {
          await backend.store.put(ns, 'big.txt', 'x'.repeat(200));
          const uri = kvUri(backend.connectionId, ns, 'big.txt');
          await assert.rejects(Promise.resolve(vscode.workspace.openTextDocument(uri)), /maxOpenSizeBytes/);
          assert.deepEqual(questions.map((q) => q.id), ['large']);
          assert.match(questions[0].message, /200 bytes/);
          answer = (question) => (question.id === 'large' ? 'Open' : undefined);
          const document = await openText(uri);
          assert.equal(document.getText(), 'x'.repeat(200));
        } finally {
          await settings.update('maxOpenSizeBytes', undefined, vscode.ConfigurationTarget.Global);
        }
      });

      it('refuses metadata over 1024 bytes, naming the limit and the size, and keeps the editor dirty', async () => {
        await backend.store.put(ns, 'user/3', 'Lin', { metadata: { role: 'dev' } });
        const document = await openText(kvUri(backend.connectionId, ns, 'user/3', 'metadata'));
        await replaceText(document, JSON.stringify({ note: 'x'.repeat(1100) }));
        assert.equal(await document.save(), false);
        assert.equal(document.isDirty, true);
        assert.ok(
          api.log.recentLines().some((line) => line.includes('Save of "user/3"') && line.includes('1111 bytes') && line.includes('at most 1024')),
          'the reason names the size and the limit',
        );
        const entry = await backend.store.get(ns, 'user/3');
        assert.deepEqual(entry?.metadata, { role: 'dev' });
        assert.equal(text(entry?.value), 'Lin');
      });

      it('Compare shows the store version beside yours; saving after it overwrites what was compared', async () => {
        await backend.store.put(ns, 'cmp.txt', 'v1');
        const uri = kvUri(backend.connectionId, ns, 'cmp.txt');
        const document = await openText(uri);
        await replaceText(document, 'mine');
        await backend.store.put(ns, 'cmp.txt', 'theirs');
        answer = (question) => (question.id === 'conflict' ? 'Compare' : undefined);
        assert.equal(await document.save(), false, 'Compare does not save');
        assert.equal(document.isDirty, true);
        const diff = await waitFor(() => diffTabFor(uri), 'the diff editor');
        assert.equal(diff.original.scheme, 'kv-snapshot');
        assert.equal((await vscode.workspace.openTextDocument(diff.original)).getText(), 'theirs');
        assert.equal(text((await backend.store.get(ns, 'cmp.txt'))?.value), 'theirs');

        answer = () => undefined;
        assert.ok(await document.save(), 'the compared version is overwritten without asking again');
        assert.deepEqual(questions.map((q) => q.id), ['conflict']);
        assert.equal(text((await backend.store.get(ns, 'cmp.txt'))?.value), 'mine');
      });

      it('announces its own saves: one batch of file events for the key\'s documents, and the changed key', async () => {
        await backend.store.put(ns, 'events/a', '1');
        const uri = kvUri(backend.connectionId, ns, 'events/a');
        const document = await openText(uri);
        const fileEvents: vscode.FileChangeEvent[][] = [];
        const keyEvents: unknown[] = [];
        const subscriptions = [api.files.onDidChangeFile((events) => fileEvents.push(events)), api.files.onDidChangeKeys((keys) => keyEvents.push(...keys))];
        try {
          await replaceText(document, '2');
          assert.ok(await document.save());
          await waitFor(() => (fileEvents.length > 0 ? true : undefined), 'the file change events');
        } finally {
          subscriptions.forEach((subscription) => subscription.dispose());
        }
        assert.deepEqual(keyEvents, [{ connectionId: backend.connectionId, namespaceId: ns, key: 'events/a' }]);
        assert.equal(fileEvents.length, 1, 'one batch');
        assert.deepEqual(
          fileEvents[0].map((event) => [event.type, event.uri.toString()]),
          (['value', 'metadata', 'hex'] as const).map((kind) => [vscode.FileChangeType.Changed, kvUri(backend.connectionId, ns, 'events/a', kind).toString()]),
        );
      });

      it('reloads an open, unmodified editor when a command changes its key', async () => {
        await backend.store.put(ns, 'events/b', 'before');
        const uri = kvUri(backend.connectionId, ns, 'events/b');
        const document = await openText(uri);
        await backend.store.put(ns, 'events/b', 'after');
        api.files.keysChanged([{ connectionId: backend.connectionId, namespaceId: ns, key: 'events/b' }]);
        await waitFor(() => (document.getText() === 'after' ? true : undefined), 'the editor to show the new value');
        assert.equal(document.isDirty, false);
      });

      it('checks a key\'s value and metadata documents each against what that document showed', async () => {
        await backend.store.put(ns, 'pair', 'v1', { metadata: { rev: 1 } });
        const metadataDocument = await openText(kvUri(backend.connectionId, ns, 'pair', 'metadata'));
        const valueDocument = await openText(kvUri(backend.connectionId, ns, 'pair'));
        // Our own value save does not make the open metadata document conflict.
        await replaceText(valueDocument, 'v2');
        assert.ok(await valueDocument.save());
        await replaceText(metadataDocument, '{"rev": 2}');
        assert.ok(await metadataDocument.save());
        assert.equal(questions.length, 0);
        assert.deepEqual(await backend.store.get(ns, 'pair').then((entry) => [text(entry?.value), entry?.metadata]), ['v2', { rev: 2 }]);

        // A change made elsewhere, then another document of the key is opened (and reads the new state):
        // the metadata document still detects that its own view is stale.
        await backend.store.put(ns, 'pair', 'v2', { metadata: { rev: 'theirs' } });
        await vscode.commands.executeCommand('workbench.action.closeActiveEditor');
        await openText(kvUri(backend.connectionId, ns, 'pair'));
        await replaceText(metadataDocument, '{"rev": 3}');
        assert.equal(await metadataDocument.save(), false);
        assert.deepEqual(questions.map((q) => q.id), ['conflict']);
        assert.deepEqual((await backend.store.get(ns, 'pair'))?.metadata, { rev: 'theirs' });
      });

      it('creates a new key on its first save', async () => {
        const uri = kvUri(backend.connectionId, ns, 'new/key.txt');
        await assert.rejects(Promise.resolve(vscode.workspace.fs.stat(uri)));
        await vscode.workspace.fs.writeFile(uri, Buffer.from('fresh'));
        assert.equal(text((await backend.store.get(ns, 'new/key.txt'))?.value), 'fresh');
      });
    });
  }

  describe('editing on telnyx', () => {
    let backend: Awaited<ReturnType<typeof telnyxBackend>>;
    let ns: string;
    before(async () => {
      backend = await telnyxBackend(api);
      ns = await backend.namespace();
    });
    after(async () => backend.dispose());

    it('opens, edits and saves a value, and the Telnyx store holds it', async () => {
      await backend.store.put(ns, 'site/index.html', '<h1>Hi</h1>', { contentType: 'text/html' });
      const document = await openText(kvUri(backend.connectionId, ns, 'site/index.html'));
      assert.equal(document.getText(), '<h1>Hi</h1>');
      await replaceText(document, '<h1>Hello</h1>');
      assert.ok(await document.save());
      const entry = await backend.store.get(ns, 'site/index.html');
      assert.equal(text(entry?.value), '<h1>Hello</h1>');
      assert.equal(entry?.contentType, 'text/html', 'the stored Content-Type survives the save');
      assert.ok(
        api.log.recentLines().some((line) => line.includes('Telnyx does not report a key\'s expiration') && line.includes('site/index.html')),
        'the save says that a TTL cannot be kept',
      );
    });

    it('reads a binary value as its exact bytes and shows a text editor the read-only hex view', async () => {
      const bytes = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0xff]);
      await backend.store.put(ns, 'img/logo.png', bytes, { contentType: 'image/png' });
      const uri = kvUri(backend.connectionId, ns, 'img/logo.png');
      assert.equal((await vscode.workspace.fs.stat(uri)).permissions, vscode.FilePermission.Readonly);
      assert.ok(Buffer.from(await vscode.workspace.fs.readFile(uri)).equals(Buffer.from(bytes)), 'exact bytes, for an image preview');
      await vscode.window.showTextDocument(uri); // a text editor, explicitly: .png would otherwise open in the image preview
      const hex = await showsHexViewInsteadOf(uri);
      assert.match(hex.document.getText(), /89 50 4e 47 0d 0a 1a 0a ff/);
      await assert.rejects(Promise.resolve(vscode.workspace.fs.writeFile(uri, Buffer.from(hex.document.getText()))));
      const entry = await backend.store.get(ns, 'img/logo.png');
      assert.deepEqual(entry?.value, bytes);
      assert.equal(entry?.contentType, 'image/png');
    });

    it('saves under injected 429s and 5xx, and keeps the editor dirty when the server keeps failing', async () => {
      await backend.store.put(ns, 'flaky', 'before');
      const document = await openText(kvUri(backend.connectionId, ns, 'flaky'));
      await replaceText(document, 'after');
      backend.server.setFaults({ rate: 0.5, kinds: ['429', '500', '503'], retryAfterSeconds: 0, seed: 5 });
      try {
        assert.ok(await document.save(), 'retried until it landed');
      } finally {
        backend.server.setFaults(undefined);
      }
      assert.equal(text((await backend.store.get(ns, 'flaky'))?.value), 'after');

      await replaceText(document, 'never stored');
      backend.server.setFaults({ rate: 1, kinds: ['503'], methods: ['PUT'], retryAfterSeconds: 0, seed: 1 });
      try {
        assert.equal(await document.save(), false);
      } finally {
        backend.server.setFaults(undefined);
      }
      assert.equal(document.isDirty, true);
      assert.ok(api.log.recentLines().some((line) => line.includes('Save of "flaky"') && line.includes('503')), 'the reason is shown');
      assert.equal(text((await backend.store.get(ns, 'flaky'))?.value), 'after');
    });

    it('detects a conflicting write made elsewhere', async () => {
      await backend.store.put(ns, 'conflict', 'v1');
      const document = await openText(kvUri(backend.connectionId, ns, 'conflict'));
      await replaceText(document, 'mine');
      await backend.store.put(ns, 'conflict', 'theirs');
      assert.equal(await document.save(), false);
      assert.deepEqual(questions.map((q) => q.id), ['conflict']);
      assert.equal(text((await backend.store.get(ns, 'conflict'))?.value), 'theirs');
    });

    it('refuses a key Telnyx does not allow and a value over 1 MiB before any request, naming the rule', async () => {
      const before = backend.server.requests.count;
      await assert.rejects(Promise.resolve(vscode.workspace.fs.writeFile(kvUri(backend.connectionId, ns, 'user:1'), Buffer.from('v'))), /letters, digits/);
      await assert.rejects(Promise.resolve(vscode.workspace.fs.writeFile(kvUri(backend.connectionId, ns, 'big'), new Uint8Array(1024 * 1024 + 1))), /1 MiB/);
      assert.equal(backend.server.requests.count, before);
    });

    it('offers no metadata document, since Telnyx has none', async () => {
      await backend.store.put(ns, 'plain', 'v');
      await assert.rejects(Promise.resolve(vscode.workspace.fs.readFile(kvUri(backend.connectionId, ns, 'plain', 'metadata'))), /does not store metadata/);
    });
  });

  describe('a save when the stored expiration is under 60 s away (Cloudflare-dialect server)', () => {
    // The server's store runs on a clock the test can move back, to store an expiration closer than Cloudflare allows
    // to write, as happens when a key simply ages.
    let clockOffset = 0;
    let dir: string;
    let local: LocalStore;
    let server: Awaited<ReturnType<typeof startCloudflareServer>>;
    let connectionId: string;
    let ns: string;
    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'kv-edit-expiring-'));
      local = await LocalStore.open(dir, { sweepIntervalMs: 0, now: () => nowSeconds() + clockOffset });
      server = await startCloudflareServer({ store: local, token: CF_TOKEN, accountId: CF_ACCOUNT });
      connectionId = (
        await api.connections.addConnection(
          { kind: 'cloudflare', name: 'CF expiring', accountId: CF_ACCOUNT, authType: 'api-token', baseUrl: server.baseUrl },
          CF_TOKEN,
        )
      ).id;
      ns = (await local.createNamespace('expiring')).id;
    });
    after(async () => {
      await api.connections.removeConnection(connectionId);
      await server.close();
      await local.close();
      rmSync(dir, { recursive: true, force: true });
    });

    async function seedExpiringSoon(key: string): Promise<number> {
      const expiration = nowSeconds() + 30;
      clockOffset = -120;
      try {
        await local.put(ns, key, 'old', { expiration, metadata: { keep: true } });
      } finally {
        clockOffset = 0;
      }
      return expiration;
    }

    async function editAndSave(key: string): Promise<{ saved: boolean; document: vscode.TextDocument }> {
      const document = await openText(kvUri(connectionId, ns, key));
      await replaceText(document, 'new');
      return { saved: await document.save(), document };
    }

    /** The expiration this save set is our own change, not someone else's: saving again asks nothing. */
    async function savesAgainWithoutQuestions(document: vscode.TextDocument): Promise<void> {
      const asked = questions.length;
      await replaceText(document, 'newer');
      assert.ok(await document.save());
      assert.deepEqual(questions.slice(asked), []);
    }

    it('asks, and Cancel keeps the editor dirty and the key as it was', async () => {
      const expiration = await seedExpiringSoon('soon-cancel');
      const { saved, document } = await editAndSave('soon-cancel');
      assert.equal(saved, false);
      assert.equal(document.isDirty, true);
      assert.deepEqual(questions.map((q) => q.id), ['expiring']);
      assert.match(questions[0].message, /expires in \d+ s/);
      const entry = await local.get(ns, 'soon-cancel');
      assert.equal(text(entry?.value), 'old');
      assert.equal(entry?.expiration, expiration);
    });

    it('gives the key a little more time when asked (a TTL the next save keeps), with its metadata', async () => {
      await seedExpiringSoon('soon-keep');
      answer = (question) => question.choices.find((choice) => choice.startsWith('Expire in'));
      const { saved, document } = await editAndSave('soon-keep');
      assert.ok(saved);
      const entry = await local.get(ns, 'soon-keep');
      assert.equal(text(entry?.value), 'new');
      assert.deepEqual(entry?.metadata, { keep: true });
      assert.ok(entry?.expiration !== undefined && entry.expiration >= nowSeconds() + 120, `expiration ${entry?.expiration}`);
      await savesAgainWithoutQuestions(document);
    });

    it('drops the expiration when asked, with its metadata kept', async () => {
      await seedExpiringSoon('soon-drop');
      answer = (question) => (question.id === 'expiring' ? 'Remove Expiration' : undefined);
      const { saved, document } = await editAndSave('soon-drop');
      assert.ok(saved);
      const entry = await local.get(ns, 'soon-drop');
      assert.equal(text(entry?.value), 'new');
      assert.deepEqual(entry?.metadata, { keep: true });
      assert.equal(entry?.expiration, undefined);
      await savesAgainWithoutQuestions(document);
    });
  });

  describe('a store that cannot write', () => {
    // No provider reports `write: false` today (a read-only target would); the file system must still refuse cleanly.
    let dir: string;
    let local: LocalStore;
    let files: KvFileSystemProvider;
    let ns: string;
    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'kv-edit-readonly-'));
      local = await LocalStore.open(dir, { sweepIntervalMs: 0 });
      ns = (await local.createNamespace('readonly')).id;
      const capabilities = { ...local.capabilities, write: false };
      const readOnly = new Proxy(local, {
        get: (target, property) => {
          if (property === 'capabilities') return capabilities;
          const value: unknown = Reflect.get(target, property);
          return typeof value === 'function' ? value.bind(target) : value;
        },
      }) as KvStore;
      files = new KvFileSystemProvider({ storeFor: async () => readOnly }, api.log);
    });
    after(async () => {
      files.dispose();
      await local.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('opens values read-only and refuses to save or create, leaving the store as it was', async () => {
      await local.put(ns, 'config/app.json', '{"a":1}');
      const uri = kvUri('readonly-test', ns, 'config/app.json');
      assert.equal((await files.stat(uri)).permissions, vscode.FilePermission.Readonly);
      assert.equal(text(await files.readFile(uri)), '{"a":1}');
      const refusal = (error: unknown) => error instanceof vscode.FileSystemError && error.code === 'NoPermissions' && /read-only/.test(error.message);
      await assert.rejects(files.writeFile(uri, Buffer.from('{"a":2}'), { create: false, overwrite: true }), refusal);
      await assert.rejects(files.writeFile(kvUri('readonly-test', ns, 'new-key'), Buffer.from('x'), { create: true, overwrite: false }), refusal);
      assert.equal(text((await local.get(ns, 'config/app.json'))?.value), '{"a":1}');
      assert.equal(await local.get(ns, 'new-key'), undefined);
    });
  });

  describe('saves through faults (Cloudflare-dialect server)', () => {
    let backend: Backend & { server?: { setFaults(options: unknown): void; requests: { count: number } } };
    let ns: string;
    before(async () => {
      backend = await BACKENDS.find((b) => b.name === 'cloudflare')!.make(api);
      ns = await backend.namespace('faults');
    });
    after(async () => backend.dispose());

    it('succeeds under injected 429s and 5xx, retrying with backoff', async () => {
      await backend.store.put(ns, 'flaky', 'before');
      const document = await openText(kvUri(backend.connectionId, ns, 'flaky'));
      backend.server!.setFaults({ rate: 0.5, kinds: ['429', '500', '503'], retryAfterSeconds: 0, seed: 3 });
      try {
        await replaceText(document, 'after');
        assert.ok(await document.save());
      } finally {
        backend.server!.setFaults(undefined);
      }
      assert.equal(text((await backend.store.get(ns, 'flaky'))?.value), 'after');
    });

    it('keeps the editor dirty with the reason when the server keeps failing, and stores nothing', async () => {
      await backend.store.put(ns, 'down', 'before');
      const document = await openText(kvUri(backend.connectionId, ns, 'down'));
      await replaceText(document, 'after');
      backend.server!.setFaults({ rate: 1, kinds: ['503'], methods: ['PUT'], seed: 1 });
      try {
        assert.equal(await document.save(), false);
      } finally {
        backend.server!.setFaults(undefined);
      }
      assert.equal(document.isDirty, true);
      assert.ok(api.log.recentLines().some((line) => line.includes('Save of "down"')), 'the failure is logged with its reason');
      assert.equal(text((await backend.store.get(ns, 'down'))?.value), 'before');
    });

    it('does not call its own landed write a conflict when the response was lost', async () => {
      await backend.store.put(ns, 'lost-reply', 'before');
      const document = await openText(kvUri(backend.connectionId, ns, 'lost-reply'));
      await replaceText(document, 'after');
      backend.server!.setFaults({ rate: 1, kinds: ['drop-after'], methods: ['PUT'], seed: 2 });
      try {
        assert.equal(await document.save(), false, 'no response, so the save is reported failed');
      } finally {
        backend.server!.setFaults(undefined);
      }
      assert.equal(text((await backend.store.get(ns, 'lost-reply'))?.value), 'after', 'the write itself landed');
      assert.ok(await document.save(), 'saving again succeeds');
      assert.deepEqual(questions, [], 'without asking about a conflict');
    });

    it('refuses a value over the limit before any request, naming the limit', async () => {
      const uri = kvUri(backend.connectionId, ns, 'huge');
      const before = backend.server!.requests.count;
      await assert.rejects(Promise.resolve(vscode.workspace.fs.writeFile(uri, new Uint8Array(25 * 1024 * 1024 + 1))), /25 MiB/);
      assert.equal(backend.server!.requests.count, before);
    });
  });
});
