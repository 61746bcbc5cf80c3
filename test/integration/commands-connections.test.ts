// Connection commands in a real VS Code, against the project's Cloudflare-dialect server on 127.0.0.1 and a real
// Miniflare for wrangler dev: credentials are verified before anything is saved, land in SecretStorage and
// nowhere else (settings, global state, workspace state, the log, the profile on disk), and are deleted on removal.
import * as assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Miniflare } from 'miniflare';
import { startMiniflareExplorer } from '../support/miniflareExplorer';
import * as vscode from 'vscode';
import { LocalStore } from '../../src/providers/local';
import { startCloudflareServer, type CloudflareServer } from '../../src/server';
import type { KvExplorerApi } from '../../src/vscode/api';
import type { Connection } from '../../src/vscode/connections';
import { activateApi, assertOnlyInSecretStorage, CF_ACCOUNT, CF_TOKEN, contextOf, RecordingPrompter, rejectsWith, run } from './commandsSupport';

const GLOBAL_KEY = 'global-api-key-0c8d7e6f5a4b3c2d1e0f';
const EMAIL = 'owner@example.com';

describe('commands: connections', function () {
  this.timeout(60_000);
  let api: KvExplorerApi;
  let dir: string;
  let backing: LocalStore;
  let server: CloudflareServer;
  const added: string[] = [];

  before(async () => {
    api = await activateApi();
    dir = mkdtempSync(join(tmpdir(), 'kv-commands-conn-'));
    backing = await LocalStore.open(dir, { sweepIntervalMs: 0 });
    await backing.createNamespace('SESSIONS');
    server = await startCloudflareServer({ store: backing, token: CF_TOKEN, email: EMAIL, apiKey: GLOBAL_KEY, accountId: CF_ACCOUNT });
  });

  afterEach(async () => {
    for (const id of added.splice(0)) await api.connections.removeConnection(id).catch(() => undefined);
    for (const name of ['CLOUDFLARE_API_TOKEN', 'CLOUDFLARE_ACCOUNT_ID', 'CLOUDFLARE_API_BASE_URL']) delete process.env[name];
  });

  after(async () => {
    await server?.close();
    await backing?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('adds a Cloudflare connection from a pasted token: verified, account picked, token only in SecretStorage', async () => {
    const prompter = new RecordingPrompter({ method: 'api-token', token: CF_TOKEN, account: CF_ACCOUNT, name: 'Shop' });
    const connection = await run<Connection>('addCloudflareConnection', undefined, { baseUrl: server.baseUrl, prompter });
    added.push(connection.id);
    assert.equal(connection.kind, 'cloudflare');
    assert.equal(connection.accountId, CF_ACCOUNT);
    assert.equal(connection.authType, 'api-token');
    assert.equal(connection.baseUrl, server.baseUrl);
    assert.equal(prompter.request<{ password?: boolean }>('token').password, true, 'the token is typed into a password box');
    const accountChoices = prompter.request<{ items: { label: string; id?: string }[] }>('account').items;
    assert.deepEqual(accountChoices.map((item) => item.id ?? item.label), [CF_ACCOUNT, 'Enter an account id…']);
    assert.equal(prompter.request<{ value?: string }>('name').value, 'KV Explorer local account', 'the account name is suggested');
    const paths = server.requests.entries.map((entry) => entry.url);
    assert.ok(paths.some((path) => path.endsWith('/user/tokens/verify')), 'the token was verified');
    assert.ok(paths.some((path) => path.includes(`/accounts/${CF_ACCOUNT}/storage/kv/namespaces`)), 'KV access was checked before saving');
    const namespaces = await (await api.storeFor(connection.id)).listNamespaces();
    assert.deepEqual(namespaces.items.map((namespace) => namespace.title), ['SESSIONS']);
    await assertOnlyInSecretStorage(api, connection, CF_TOKEN);
  });

  it('refuses a token the server does not accept, and saves nothing', async () => {
    const before = api.connections.list().length;
    await rejectsWith(run('addCloudflareConnection', undefined, { baseUrl: server.baseUrl, method: 'api-token', token: 'wrong-token-123456', accountId: CF_ACCOUNT }), {
      kind: 'unauthorized',
    });
    assert.equal(api.connections.list().length, before);
    assert.ok(!api.log.recentLines().join('\n').includes('wrong-token-123456'), 'a rejected token is not logged either');
  });

  it('checks what is typed, with the same rules as the input box', async () => {
    await rejectsWith(run('addCloudflareConnection', undefined, { baseUrl: server.baseUrl, method: 'api-token', token: 'has space' }), {
      rule: 'prompt.token',
      message: /no spaces/,
    });
    await rejectsWith(run('addCloudflareConnection', undefined, { baseUrl: 'ftp://127.0.0.1:1', method: 'api-token', token: 'x' }), { rule: 'connection.baseUrl' });
    await rejectsWith(run('addCloudflareConnection', undefined, { baseUrl: server.baseUrl }), { rule: 'prompt.unanswered', message: /"method"/ });
  });

  it('offers the environment\'s CLOUDFLARE_API_TOKEN and CLOUDFLARE_ACCOUNT_ID first, honouring CLOUDFLARE_API_BASE_URL', async () => {
    process.env.CLOUDFLARE_API_TOKEN = CF_TOKEN;
    process.env.CLOUDFLARE_ACCOUNT_ID = CF_ACCOUNT;
    process.env.CLOUDFLARE_API_BASE_URL = server.baseUrl;
    const prompter = new RecordingPrompter({ method: 'environment', name: 'From env' });
    const connection = await run<Connection>('addCloudflareConnection', undefined, { prompter });
    added.push(connection.id);
    const methods = prompter.request<{ items: { id?: string }[] }>('method').items.map((item) => item.id);
    assert.deepEqual(methods, ['environment', 'api-token', 'global-api-key'], 'the environment comes first');
    assert.equal(connection.baseUrl, server.baseUrl);
    assert.equal(connection.accountId, CF_ACCOUNT);
    assert.ok(!prompter.asked.some((question) => question.id === 'token' || question.id === 'account'), 'nothing else is asked');
    await assertOnlyInSecretStorage(api, connection, CF_TOKEN);
  });

  it('accepts an email and global API key, verified by listing the accounts', async () => {
    const connection = await run<Connection>('addCloudflareConnection', undefined, {
      baseUrl: server.baseUrl,
      method: 'global-api-key',
      email: EMAIL,
      apiKey: GLOBAL_KEY,
      account: CF_ACCOUNT,
      name: 'Global',
    });
    added.push(connection.id);
    assert.equal(connection.authType, 'global-api-key');
    assert.equal(connection.email, EMAIL);
    assert.deepEqual((await (await api.storeFor(connection.id)).listNamespaces()).items.map((n) => n.title), ['SESSIONS']);
    await assertOnlyInSecretStorage(api, connection, GLOBAL_KEY);
  });

  it('edits a connection: rename, replace the token (verified first), change the account (checked, undone on failure)', async () => {
    const connection = await run<Connection>('addCloudflareConnection', undefined, {
      baseUrl: server.baseUrl, method: 'api-token', token: CF_TOKEN, account: CF_ACCOUNT, name: 'Before',
    });
    added.push(connection.id);
    const target = { connectionId: connection.id };
    const renamed = await run<Connection>('editConnection', target, { field: 'name', name: 'After' });
    assert.equal(renamed.name, 'After');
    assert.equal(api.connections.get(connection.id)?.name, 'After');

    await rejectsWith(run('editConnection', target, { field: 'credentials', secret: 'not-the-token-999' }), { kind: 'unauthorized' });
    assert.equal(await contextOf(api).secrets.get(`kvExplorer.connection.${connection.id}`), CF_TOKEN, 'a refused token replaces nothing');

    await rejectsWith(run('editConnection', target, { field: 'accountId', accountId: 'other-account' }), { kind: 'unauthorized' });
    assert.equal(api.connections.get(connection.id)?.accountId, CF_ACCOUNT, 'an account the token cannot use is undone');

    await rejectsWith(run('editConnection', { connectionId: 'local' }, { field: 'name', name: 'x' }), { rule: 'connection.builtin' });
  });

  it('removes a connection after a modal confirmation, deleting its secret', async () => {
    const connection = await run<Connection>('addCloudflareConnection', undefined, {
      baseUrl: server.baseUrl, method: 'api-token', token: CF_TOKEN, account: CF_ACCOUNT, name: 'To remove',
    });
    added.push(connection.id);
    const prompter = new RecordingPrompter({ confirm: false });
    assert.equal(await run('removeConnection', { connectionId: connection.id }, { prompter }), false);
    assert.ok(api.connections.get(connection.id), 'not removed without a yes');
    assert.match(prompter.request<{ message: string; detail: string }>('confirm').detail, /credentials are deleted/);

    assert.equal(await run('removeConnection', undefined, { connection: 'To remove', confirm: true }), true, 'picked by name from the palette');
    assert.equal(api.connections.get(connection.id), undefined);
    assert.equal(await api.connections.hasSecret(connection.id), false, 'its secret is gone');
  });

  describe('wrangler dev', () => {
    let miniflare: Miniflare | undefined;
    let url: string;

    before(async function () {
      this.timeout(60_000);
      const started = await startMiniflareExplorer(['CACHE']);
      miniflare = started.miniflare;
      url = started.url.origin;
    });

    after(async () => {
      await miniflare?.dispose();
    });

    it('connects to a wrangler dev server by URL after checking that it answers', async () => {
      const connection = await run<Connection>('connectWranglerDev', undefined, { server: 'url', url, name: 'Dev' });
      added.push(connection.id);
      assert.equal(connection.kind, 'wrangler-dev');
      assert.equal(connection.baseUrl, url);
      const store = await api.storeFor(connection.id);
      assert.deepEqual((await store.listNamespaces()).items.map((namespace) => namespace.id), ['CACHE']);
      assert.equal(await api.connections.hasSecret(connection.id), false, 'wrangler dev needs no secret');
    });

    it('works within what wrangler dev can do: keys one request at a time, no namespaces or expirations', async () => {
      const connection = await run<Connection>('connectWranglerDev', undefined, { server: 'url', url, name: 'Dev limits' });
      added.push(connection.id);
      const at = (extra: Record<string, string> = {}) => ({ connectionId: connection.id, namespaceId: 'CACHE', ...extra });
      await rejectsWith(run('createNamespace', { connectionId: connection.id }, { title: 'x' }), { rule: 'capability.namespaceCreate', message: /kv_namespaces bindings/ });
      await rejectsWith(run('deleteNamespace', at(), { confirm: true }), { rule: 'capability.namespaceDelete' });

      const files = mkdtempSync(join(tmpdir(), 'kv-commands-dev-'));
      try {
        const bad = join(files, 'bad.json');
        writeFileSync(bad, JSON.stringify([{ key: 'a', value: 'x', expiration_ttl: 600 }, { key: 'b', value: 'y', metadata: false }]));
        const refused = await run<{ problems: { index: number; rule: string }[] }>('importJson', at(), { file: bad });
        assert.deepEqual(refused.problems.map((problem) => `${problem.index}:${problem.rule}`), ['0:expiration.unsupported', '1:metadata.falsy']);

        const good = join(files, 'good.json');
        writeFileSync(good, JSON.stringify(Array.from({ length: 150 }, (_, i) => ({ key: `dev/${i}`, value: `v${i}`, metadata: { i } }))));
        const imported = await run<{ outcome: { written: string[] } }>('importJson', at(), { file: good, confirm: true });
        assert.equal(imported.outcome.written.length, 150, 'written one request per key');
        const store = await api.storeFor(connection.id);
        assert.deepEqual((await store.get('CACHE', 'dev/42'))?.metadata, { i: 42 });

        await rejectsWith(run('setExpiration', at({ key: 'dev/1' }), { expiration: '1h' }), { rule: 'expiration.unsupported' });
        await run('deleteKeys', at({ prefix: 'dev/' }), { confirm: true });
        assert.equal((await store.list('CACHE', { prefix: 'dev/' })).keys.length, 0);
      } finally {
        rmSync(files, { recursive: true, force: true });
      }
    });

    it('refuses a URL where no wrangler dev answers', async () => {
      await rejectsWith(run('connectWranglerDev', undefined, { server: 'url', url: 'http://127.0.0.1:9', name: 'Nothing' }), {
        message: /does not answer as wrangler dev/,
      });
    });
  });
});
