// Values as documents, in the real VS Code: open, edit, Ctrl+S (document.save), read back through the store.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { nowSeconds } from '../../src/core/validation';
import type { KvExplorerApi } from '../../src/vscode/api';
import type { SaveQuestion } from '../../src/vscode/fileSystem';
import { kvUri, parseKvUri } from '../../src/vscode/kvUri';
import { LocalStore } from '../../src/providers/local';
import { TelnyxStore } from '../../src/providers/telnyx';
import { startTelnyxServer } from '../../src/server';
import { generatedKeys } from '../support/generatedKeys';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BACKENDS, type Backend } from './commandsSupport';
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

async function closeAll(): Promise<void> {
  await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
  await vscode.commands.executeCommand('workbench.action.closeAllEditors');
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

  it('round-trips 10,000 generated keys through vscode.Uri.parse(uri.toString())', () => {
    for (const key of generatedKeys(10_000, 7)) {
      const uri = kvUri('local', 'ns', key);
      assert.deepEqual(parseKvUri(vscode.Uri.parse(uri.toString())), { connectionId: 'local', namespaceId: 'ns', key, kind: 'value' }, JSON.stringify(key));
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

      it('opens a binary value read-only as a hex dump and never changes its bytes', async () => {
        const bytes = new Uint8Array([0xff, 0xfe, 0x00, 0x41, 0x80, 0x0a]);
        await backend.store.put(ns, 'blob.bin', bytes);
        const uri = kvUri(backend.connectionId, ns, 'blob.bin');
        const stat = await vscode.workspace.fs.stat(uri);
        assert.equal(stat.permissions, vscode.FilePermission.Readonly);
        const document = await openText(uri);
        assert.match(document.getText(), /ff fe 00 41 80 0a/);
        await assert.rejects(Promise.resolve(vscode.workspace.fs.writeFile(uri, Buffer.from('text'))));
        assert.deepEqual((await backend.store.get(ns, 'blob.bin'))?.value, bytes);
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
      assert.equal(text((await backend.store.get(ns, 'site/index.html'))?.value), '<h1>Hello</h1>');
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
