// The bad-input table's cases that go through the extension's own entry points, in the real VS Code: adding a
// connection with an http:// URL to another machine, saving an oversize value from an editor, importing malformed
// bulk files. Each is refused with a clear message; no connection to another host is attempted; no write or key
// request reaches the server; nothing stored changes. (The store-level table is bad-input.test.ts.)
import * as assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as vscode from 'vscode';
import type { KvError } from '../../src/core/errors';
import { isLoopbackHost } from '../../src/providers/http';
import { LocalStore } from '../../src/providers/local';
import { startCloudflareServer, startTelnyxServer, type RunningServer } from '../../src/server';
import type { KvExplorerApi } from '../../src/vscode/api';
import type { ImportResult } from '../../src/vscode/commands/bulk';
import { kvUri } from '../../src/vscode/kvUri';
import { NetworkWatch, snapshotNamespace } from './common';

const TOKEN = 'reliability-bad-input-vscode-token-31f9';
const ACCOUNT = '31f931f931f931f931f931f931f931f9';
const MiB = 1024 * 1024;
const INSECURE = ['http://10.1.2.3/client/v4', 'http://kv.example.com/client/v4', 'http://localhost.example.com/v2'];

interface Backend {
  name: 'cloudflare' | 'telnyx';
  connectionId: string;
  backing: LocalStore;
  /** The namespace as the backing store knows it, and as the connection knows it (Telnyx shows a uuid). */
  backingNamespaceId: string;
  namespaceId: string;
  server: RunningServer;
  maxValueBytes: number;
}

function run<T>(command: string, target: unknown, options: Record<string, unknown>): Promise<T> {
  const args = target === undefined ? [{ interactive: false, ...options }] : [target, { interactive: false, ...options }];
  return Promise.resolve(vscode.commands.executeCommand<T>(`kvExplorer.${command}`, ...args));
}

/** Requests that write, or that name a key: none may follow bad input. */
function writesOrKeyRequests(server: RunningServer, since: number): string[] {
  return server.requests.entries
    .slice(since)
    .filter((entry) => entry.method !== 'GET' || /\/(values|metadata|keys)\/[^/?]+/.test(entry.url.split('?')[0]))
    .map((entry) => `${entry.method} ${entry.url}`);
}

describe('reliability: bad input through the extension — refused before any request, nothing changes', function () {
  this.timeout(120_000);
  let api: KvExplorerApi;
  let watch: NetworkWatch;
  const backends: Backend[] = [];
  const cleanups: (() => Promise<unknown>)[] = [];
  let directory: string;

  before(async () => {
    api = await vscode.extensions.getExtension<KvExplorerApi>('kv-explorer.kv-explorer')!.activate();
    directory = mkdtempSync(join(tmpdir(), 'kv-rel-bad-vscode-'));
    cleanups.push(async () => rmSync(directory, { recursive: true, force: true }));

    const cfBacking = await LocalStore.open(join(directory, 'cf'), { sweepIntervalMs: 0 });
    const cf = await startCloudflareServer({ store: cfBacking, token: TOKEN, accountId: ACCOUNT });
    const cfConnection = await api.connections.addConnection({ kind: 'cloudflare', name: 'Bad input: Cloudflare', accountId: ACCOUNT, authType: 'api-token', baseUrl: cf.baseUrl }, TOKEN);
    const cfNamespace = (await cfBacking.createNamespace('bad-input')).id;
    backends.push({ name: 'cloudflare', connectionId: cfConnection.id, backing: cfBacking, backingNamespaceId: cfNamespace, namespaceId: cfNamespace, server: cf, maxValueBytes: 25 * MiB });

    const txBacking = await LocalStore.open(join(directory, 'tx'), { sweepIntervalMs: 0 });
    const tx = await startTelnyxServer({ store: txBacking, apiKey: TOKEN });
    const txConnection = await api.connections.addConnection({ kind: 'telnyx', name: 'Bad input: Telnyx', authType: 'api-key', baseUrl: tx.baseUrl }, TOKEN);
    const txStore = await api.storeFor(txConnection.id);
    const txNamespace = (await txStore.createNamespace('bad-input')).id;
    const txBackingNamespace = (await txBacking.listNamespaces()).items[0].id;
    backends.push({ name: 'telnyx', connectionId: txConnection.id, backing: txBacking, backingNamespaceId: txBackingNamespace, namespaceId: txNamespace, server: tx, maxValueBytes: MiB });

    for (const backend of backends) {
      await backend.backing.put(backend.backingNamespaceId, 'keep/a', 'alpha');
      await backend.backing.put(backend.backingNamespaceId, 'doc.txt', 'the document');
      cleanups.push(
        () => api.connections.removeConnection(backend.connectionId),
        () => backend.server.close(),
        () => backend.backing.close(),
      );
    }
    watch = new NetworkWatch();
    cleanups.push(async () => watch.stop());
  });

  after(async () => {
    await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  });

  /** Connection attempts to anything but this machine, since `from`. */
  const remoteConnects = (from: number): string[] => watch.connects.slice(from).filter((hostPort) => !isLoopbackHost(hostPort.replace(/:\d+$/, '')));

  for (const baseUrl of INSECURE) {
    it(`adding a connection to ${baseUrl} through the commands is refused, with nothing sent anywhere`, async () => {
      const connects = watch.connects.length;
      const before = api.connections.list().length;
      const attempts: [string, Promise<unknown>][] = [
        ['Cloudflare', run('addCloudflareConnection', undefined, { baseUrl, method: 'api-token', token: TOKEN, accountId: ACCOUNT, name: 'insecure' })],
        ['Telnyx', run('addTelnyxConnection', undefined, { baseUrl, apiKey: TOKEN, name: 'insecure' })],
      ];
      for (const [what, attempt] of attempts) {
        await assert.rejects(attempt, (error: unknown) => {
          const kvError = error as KvError;
          assert.equal(kvError.name, 'KvError', `${what}: ${String(error)}`);
          assert.ok(['url.insecure', 'connection.baseUrl'].includes(kvError.rule ?? ''), `${what}: rule ${kvError.rule}: ${kvError.message}`);
          assert.match(kvError.message, /https:\/\//, `${what}: the message says what to use instead`);
          return true;
        });
      }
      assert.equal(api.connections.list().length, before, 'no connection was saved');
      assert.deepEqual(remoteConnects(connects), [], 'a connection to another machine was attempted');
    });
  }

  it('a connection saved with an http:// URL to another machine never connects; the tree says why', async () => {
    const connects = watch.connects.length;
    const connection = await api.connections
      .addConnection({ kind: 'cloudflare', name: 'Bad input: insecure', accountId: ACCOUNT, authType: 'api-token', baseUrl: INSECURE[0] }, TOKEN)
      .catch((error: unknown) => error as KvError);
    if (connection instanceof Error) {
      assert.match(connection.message, /https:\/\//, 'refused when added');
    } else {
      try {
        await assert.rejects(api.storeFor(connection.id), (error: unknown) => (error as KvError).rule === 'url.insecure');
        const root = (await api.tree.getChildren()).find((node) => node.type === 'connection' && node.connection.id === connection.id)!;
        const children = await api.tree.getChildren(root);
        assert.deepEqual(children.map((node) => node.type), ['error']);
        assert.match(String(api.tree.getTreeItem(children[0]).label), /plain http to another machine/);
      } finally {
        await api.connections.removeConnection(connection.id);
      }
    }
    assert.deepEqual(remoteConnects(connects), [], 'a connection to another machine was attempted');
  });

  for (const name of ['cloudflare', 'telnyx'] as const) {
    it(`${name}: saving a value one byte over the limit from an editor is refused; the editor stays dirty`, async function () {
      const backend = backends.find((candidate) => candidate.name === name)!;
      const before = await snapshotNamespace(backend.backing, backend.backingNamespaceId);
      const document = await vscode.workspace.openTextDocument(kvUri(backend.connectionId, backend.namespaceId, 'doc.txt'));
      await vscode.window.showTextDocument(document);
      const edit = new vscode.WorkspaceEdit();
      edit.replace(document.uri, new vscode.Range(0, 0, document.lineCount, 0), 'x'.repeat(backend.maxValueBytes + 1));
      assert.ok(await vscode.workspace.applyEdit(edit));
      const since = backend.server.requests.count;
      assert.equal(await document.save(), false, 'the save is refused');
      // VS Code may answer save() before the provider's refusal has come back (seen with large documents): wait for
      // the refusal, which the extension logs with the message VS Code shows, before checking what reached the server.
      const refusal = new RegExp(`Save of "doc\\.txt".*\\(${backend.maxValueBytes + 1} bytes\\).*allows at most`);
      let said: string | undefined;
      for (let waited = 0; said === undefined && waited < 15_000; waited += 100) {
        said = api.log.recentLines().find((line) => refusal.test(line));
        if (said === undefined) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      assert.ok(said, `the refusal names the size and the limit; last log lines: ${api.log.recentLines().slice(-3).join(' / ').slice(0, 600)}`);
      assert.equal(document.isDirty, true, 'the editor keeps the text');
      assert.deepEqual(writesOrKeyRequests(backend.server, since).filter((line) => !line.startsWith('GET')), [], 'a write reached the server');
      assert.deepEqual(await snapshotNamespace(backend.backing, backend.backingNamespaceId), before, 'what is stored changed');
      await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
    });
  }

  const files: [string, string, RegExp][] = [
    ['not JSON', '[{"key": "a", "value": "b"},', /^file\.json$/],
    ['the wrong shape', '{"entries": [{"key": "a", "value": "b"}]}', /^file\.shape$/],
    ['duplicate keys', JSON.stringify([{ key: 'dup', value: '1' }, { key: 'dup', value: '2' }]), /^entry\.key\.duplicate$/],
    ['bad base64', JSON.stringify([{ key: 'bin', value: 'bad*base64', base64: true }]), /^entry\.value\.base64$/],
  ];
  for (const name of ['cloudflare', 'telnyx'] as const) {
    for (const [what, content, rule] of files) {
      it(`${name}: importing a bulk file with ${what} is refused whole, with nothing written`, async () => {
        const backend = backends.find((candidate) => candidate.name === name)!;
        const file = join(directory, `${name}-${what.replace(/\W+/g, '-')}.json`);
        writeFileSync(file, content);
        const before = await snapshotNamespace(backend.backing, backend.backingNamespaceId);
        const since = backend.server.requests.count;
        const result = await run<ImportResult>('importJson', { connectionId: backend.connectionId, namespaceId: backend.namespaceId }, { file });
        assert.ok(result.problems.length > 0, 'the file is refused');
        assert.ok(result.problems.every((problem) => rule.test(problem.rule)), JSON.stringify(result.problems));
        assert.equal(result.outcome, undefined, 'no import ran');
        assert.deepEqual(writesOrKeyRequests(backend.server, since), [], 'a write or key request reached the server');
        assert.deepEqual(await snapshotNamespace(backend.backing, backend.backingNamespaceId), before, 'what is stored changed');
      });
    }
  }
});
