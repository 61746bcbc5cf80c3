// The actions against a Telnyx connection (the project's Telnyx-dialect server on 127.0.0.1 over a LocalStore):
// the API key is verified by listing namespaces and kept only in SecretStorage, and every command stays within what
// Telnyx can do: lowercase namespace names, no rename, its key rules, TTL-only expirations, no metadata, no bulk.
import * as assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KvStore } from '../../src/core/store';
import { LocalStore } from '../../src/providers/local';
import { startTelnyxServer, type TelnyxServer } from '../../src/server';
import type { KvExplorerApi } from '../../src/vscode/api';
import type { Connection } from '../../src/vscode/connections';
import type { ImportResult } from '../../src/vscode/commands/bulk';
import { activateApi, assertOnlyInSecretStorage, keysOf, RecordingPrompter, rejectsWith, run, tempDir, text } from './commandsSupport';

const API_KEY = 'KEY0192837465TELNYXTESTKEYabcdef';

describe('commands: Telnyx', function () {
  this.timeout(60_000);
  let api: KvExplorerApi;
  let files: { dir: string; dispose(): void };
  let backing: LocalStore;
  let server: TelnyxServer;
  let connection: Connection;
  let store: KvStore;

  before(async () => {
    api = await activateApi();
    files = tempDir('telnyx');
    backing = await LocalStore.open(join(files.dir, 'store'), { sweepIntervalMs: 0 });
    server = await startTelnyxServer({ store: backing, apiKey: API_KEY });
  });

  after(async () => {
    if (connection) await api.connections.removeConnection(connection.id).catch(() => undefined);
    delete process.env.TELNYX_API_KEY;
    await server?.close();
    await backing?.close();
    files?.dispose();
  });

  /** A namespace made in the backing store, by the id the Telnyx API shows for it. */
  async function namespace(title: string): Promise<string> {
    const created = await backing.createNamespace(`${title}-${Date.now().toString(36)}`);
    return server.namespaceUuid(created.id);
  }
  const at = (namespaceId: string, extra: Record<string, string> = {}) => ({ connectionId: connection.id, namespaceId, ...extra });

  it('adds a connection after Telnyx accepts the API key, which is kept only in SecretStorage', async () => {
    await rejectsWith(run('addTelnyxConnection', undefined, { baseUrl: server.baseUrl, apiKey: 'wrong-key-000000', name: 'No' }), { kind: 'unauthorized' });
    process.env.TELNYX_API_KEY = API_KEY;
    const prompter = new RecordingPrompter({ method: 'environment', name: 'Telnyx test' });
    connection = await run<Connection>('addTelnyxConnection', undefined, { baseUrl: server.baseUrl, prompter });
    assert.deepEqual(prompter.request<{ items: { id?: string }[] }>('method').items.map((item) => item.id), ['environment', 'api-key']);
    assert.equal(connection.kind, 'telnyx');
    assert.equal(connection.baseUrl, server.baseUrl);
    store = await api.storeFor(connection.id);
    await assertOnlyInSecretStorage(api, connection, API_KEY);
  });

  it('creates namespaces with Telnyx names, refuses a rename, deletes after confirming', async () => {
    const target = { connectionId: connection.id };
    await rejectsWith(run('createNamespace', target, { title: 'Orders' }), { rule: 'prompt.title', message: /lowercase letters, digits and -/ });
    const created = await run<{ id: string; title: string }>('createNamespace', target, { title: 'orders' });
    assert.equal(created.title, 'orders');
    await rejectsWith(run('renameNamespace', at(created.id), { title: 'orders-2' }), { rule: 'capability.namespaceRename' });
    assert.equal(await run('deleteNamespace', at(created.id), { confirm: true }), true);
  });

  it("applies Telnyx's key rules, refuses metadata, and sets expirations as TTLs", async () => {
    const namespaceId = await namespace('keys');
    await rejectsWith(run('newKey', at(namespaceId), { key: 'has:colon' }), { rule: 'prompt.key', message: /no colons or spaces/ });
    await rejectsWith(run('newKey', at(namespaceId), { key: '_reserved' }), { rule: 'prompt.key', message: /reserves keys that start with "_"/ });
    await store.put(namespaceId, 'session/1', '{"user": 7}', { contentType: 'application/json' });
    await rejectsWith(run('editMetadata', at(namespaceId, { key: 'session/1' })), { rule: 'metadata.unsupported' });

    await run('setExpiration', at(namespaceId, { key: 'session/1' }), { expiration: new Date(Date.now() + 3_600_000).toISOString() });
    const write = server.requests.entries.filter((entry) => entry.method === 'PUT' && entry.url.includes('session%2F1')).at(-1);
    const ttl = Number(new URLSearchParams(write?.url.split('?')[1] ?? '').get('ttl_secs'));
    assert.ok(ttl > 3500 && ttl <= 3600, `the date went to Telnyx as a TTL (${write?.url})`);
    await run('renameKey', at(namespaceId, { key: 'session/1' }), { newKey: 'session/one' });
    const moved = await store.get(namespaceId, 'session/one');
    assert.equal(text(moved?.value), '{"user": 7}');
    assert.equal(moved?.contentType, 'application/json', 'the content type moves with the key');
    assert.deepEqual(await keysOf(store, namespaceId), ['session/one']);
  });

  it('imports one key at a time, refusing metadata up front, and deletes a folder', async () => {
    const namespaceId = await namespace('bulk');
    const bad = join(files.dir, 'with-metadata.json');
    writeFileSync(bad, JSON.stringify([{ key: 'a', value: 'x', metadata: { m: 1 } }, { key: 'b:c', value: 'y' }]));
    const refused = await run<ImportResult>('importJson', at(namespaceId), { file: bad });
    assert.deepEqual(refused.problems.map((problem) => `${problem.index}:${problem.rule}`), ['0:metadata.unsupported', '1:key.pattern']);

    const good = join(files.dir, 'good.json');
    writeFileSync(good, JSON.stringify(Array.from({ length: 120 }, (_, i) => ({ key: `items/${i}`, value: `v${i}`, expiration_ttl: 3600 }))));
    const imported = await run<ImportResult>('importJson', at(namespaceId), { file: good, confirm: true });
    assert.equal(imported.outcome?.written.length, 120);
    assert.equal((await keysOf(store, namespaceId, 'items/')).length, 120);

    await run('deleteKeys', at(namespaceId, { prefix: 'items/' }), { confirm: true });
    assert.deepEqual(await keysOf(store, namespaceId, 'items/'), []);
  });
});
