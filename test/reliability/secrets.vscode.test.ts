// Secrets, in the real VS Code: after connections are added through the connection manager and used (requests,
// retries under faults, errors, a server that echoes credentials back), every token is found in SecretStorage and
// nowhere else: not in settings, global state, workspace state, the log (the lines the extension wrote and the
// 'KV Explorer' output channel's file), nor in any file of the profile or the workspace. Authorization-style headers
// are redacted in every log line. Removing a connection removes its secret.
import * as assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import * as vscode from 'vscode';
import { LocalStore } from '../../src/providers/local';
import { startCloudflareServer, startTelnyxServer, type CloudflareServer, type TelnyxServer } from '../../src/server';
import type { KvExplorerApi } from '../../src/vscode/api';
import { secretKeyFor } from '../../src/vscode/connections';
import type { TreeNode } from '../../src/vscode/tree';

const ACCOUNT = '0123456789abcdef0123456789abcdef';
const EMAIL = 'ops@example.com';
const token = (label: string): string => `${label}-${randomBytes(16).toString('hex')}`;

/** Every file under `root` (files over 64 MiB are skipped: no profile file is that large). */
function filesUnder(root: string): string[] {
  if (!existsSync(root)) return [];
  return readdirSync(root, { recursive: true, encoding: 'utf8' })
    .map((name) => join(root, name))
    .filter((path) => {
      try {
        const stat = statSync(path);
        return stat.isFile() && stat.size < 64 * 1024 * 1024;
      } catch {
        return false; // removed while listing
      }
    });
}

/** Files under `roots` that contain any of `secrets` as bytes (UTF-8 or UTF-16LE, as SQLite may store text). */
function filesContaining(roots: string[], secrets: string[]): string[] {
  const needles = secrets.flatMap((secret) => [Buffer.from(secret, 'utf8'), Buffer.from(secret, 'utf16le')]);
  return [...new Set(roots.flatMap(filesUnder))].filter((path) => {
    const bytes = readFileSync(path);
    return needles.some((needle) => bytes.includes(needle));
  });
}

/** A server that echoes the credentials it receives in its error message: what a broken proxy might do. */
async function startEchoServer(): Promise<{ server: Server; baseUrl: string }> {
  const server = createServer((request, response) => {
    const echoed = `you sent Authorization: ${request.headers.authorization ?? ''}; raw "${String(request.headers.authorization ?? '').replace(/^Bearer /, '')}"`;
    response.writeHead(400, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ success: false, errors: [{ code: 10000, message: echoed }], messages: [], result: null }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/client/v4` };
}

describe('reliability: secrets stay in SecretStorage', function () {
  this.timeout(120_000);
  let api: KvExplorerApi;
  let context: vscode.ExtensionContext;
  let directory: string;
  let backing: LocalStore;
  let cloudflare: CloudflareServer;
  let telnyx: TelnyxServer;
  let echo: { server: Server; baseUrl: string };
  const secrets = { cloudflareToken: token('cf-token'), cloudflareKey: token('cf-global-key'), telnyxKey: token('KEY'), echoToken: token('echo-token') };
  const added: Record<keyof typeof secrets, string> = { cloudflareToken: '', cloudflareKey: '', telnyxKey: '', echoToken: '' };
  let echoChildren: TreeNode[] = [];

  before(async () => {
    api = await vscode.extensions.getExtension<KvExplorerApi>('kv-explorer.kv-explorer')!.activate();
    // The api does not hand out the ExtensionContext; the connection manager holds the one VS Code gave the extension.
    context = (api.connections as unknown as { context: vscode.ExtensionContext }).context;
    assert.ok(context?.secrets && context.globalState, 'reached the extension context');
    directory = mkdtempSync(join(tmpdir(), 'kv-rel-secrets-'));
    backing = await LocalStore.open(directory, { sweepIntervalMs: 0 });
    cloudflare = await startCloudflareServer({ store: backing, token: secrets.cloudflareToken, email: EMAIL, apiKey: secrets.cloudflareKey, accountId: ACCOUNT });
    telnyx = await startTelnyxServer({ store: backing, apiKey: secrets.telnyxKey });
    echo = await startEchoServer();
  });

  after(async () => {
    for (const id of Object.values(added)) if (id && api.connections.get(id)) await api.connections.removeConnection(id).catch(() => undefined);
    await new Promise<void>((resolve) => echo?.server.close(() => resolve()));
    await telnyx?.close();
    await cloudflare?.close();
    await backing?.close();
    if (directory) rmSync(directory, { recursive: true, force: true });
  });

  function rootOf(connectionId: string): Promise<TreeNode> {
    return api.tree.getChildren().then((roots) => {
      const root = roots.find((node) => node.type === 'connection' && node.connection.id === connectionId);
      assert.ok(root, `the tree shows connection ${connectionId}`);
      return root;
    });
  }

  /** Adds the connections and uses them: plain requests, retries under faults, the tree, an echoing server. */
  before(async () => {
    added.cloudflareToken = (
      await api.connections.addConnection({ kind: 'cloudflare', name: 'Secrets: token', accountId: ACCOUNT, authType: 'api-token', baseUrl: cloudflare.baseUrl }, secrets.cloudflareToken)
    ).id;
    added.cloudflareKey = (
      await api.connections.addConnection(
        { kind: 'cloudflare', name: 'Secrets: global key', accountId: ACCOUNT, authType: 'global-api-key', email: EMAIL, baseUrl: cloudflare.baseUrl },
        secrets.cloudflareKey,
      )
    ).id;
    added.telnyxKey = (await api.connections.addConnection({ kind: 'telnyx', name: 'Secrets: telnyx', authType: 'api-key', baseUrl: telnyx.baseUrl }, secrets.telnyxKey)).id;
    added.echoToken = (
      await api.connections.addConnection({ kind: 'cloudflare', name: 'Secrets: echo', accountId: ACCOUNT, authType: 'api-token', baseUrl: echo.baseUrl }, secrets.echoToken)
    ).id;
    for (const id of [added.cloudflareToken, added.cloudflareKey]) {
      const store = await api.storeFor(id);
      const namespaceId = (await store.createNamespace(`secrets-${id.slice(0, 8)}`)).id;
      await store.put(namespaceId, 'k', 'v', { metadata: { note: 'secrets test' } });
      cloudflare.setFaults({ rate: 0.5, kinds: ['429', '500', '503', 'drop'], retryAfterSeconds: 0, seed: 7 });
      try {
        for (let i = 0; i < 10; i++) await store.get(namespaceId, 'k').catch(() => undefined);
      } finally {
        cloudflare.setFaults(undefined);
      }
      await api.tree.getChildren(await rootOf(id));
    }
    echoChildren = await api.tree.getChildren(await rootOf(added.echoToken));
  });

  it('the secrets of added connections are in SecretStorage, and the connections were used', async () => {
    for (const [name, id] of Object.entries(added) as [keyof typeof secrets, string][]) {
      assert.equal(await context.secrets.get(secretKeyFor(id)), secrets[name], `${name} is in SecretStorage`);
      assert.equal(await api.connections.hasSecret(id), true);
    }
    // The echo server's error message carries the token; the tree logs the failure.
    assert.ok(echoChildren.some((node) => node.type === 'error'), 'the echo connection shows its error');
    const echoLine = api.log.recentLines().find((line) => line.includes('you sent Authorization'));
    assert.ok(echoLine, 'the echoed error reached the log');
    assert.match(echoLine, /\[REDACTED\]/, 'and was redacted there');
    assert.ok(api.log.recentLines().some((line) => line.includes('retrying in')), 'the faults made the client log retries');
  });

  it('no token is in settings, global state, workspace state, the log lines or any file of the profile or workspace', async () => {
    const all = Object.values(secrets);
    const contains = (text: string): string[] => all.filter((secret) => text.includes(secret));

    // Settings: every value VS Code resolves, and the user settings file itself.
    await vscode.workspace.getConfiguration('kvExplorer').update('pageSize', 123, vscode.ConfigurationTarget.Global);
    try {
      const userDir = dirname(dirname(context.globalStorageUri.fsPath));
      const settingsFile = join(userDir, 'settings.json');
      assert.ok(existsSync(settingsFile), `the profile's settings file is at ${settingsFile}`);
      for (let waited = 0; !readFileSync(settingsFile, 'utf8').includes('"kvExplorer.pageSize"') && waited < 5_000; waited += 100) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const settingsText = readFileSync(settingsFile, 'utf8');
      assert.match(settingsText, /"kvExplorer\.pageSize": 123/, 'read the settings file VS Code writes');
      assert.deepEqual(contains(settingsText), [], 'settings.json');
      assert.deepEqual(contains(JSON.stringify(vscode.workspace.getConfiguration('kvExplorer'))), [], 'resolved settings');
    } finally {
      await vscode.workspace.getConfiguration('kvExplorer').update('pageSize', undefined, vscode.ConfigurationTarget.Global);
    }

    // Global and workspace state: everything the extension keeps there.
    const globalState = JSON.stringify(context.globalState.keys().map((key) => [key, context.globalState.get(key)]));
    assert.match(globalState, /Secrets: token/, 'the connections are in global state (without their secrets)');
    assert.deepEqual(contains(globalState), [], 'global state');
    const workspaceState = JSON.stringify(context.workspaceState.keys().map((key) => [key, context.workspaceState.get(key)]));
    assert.deepEqual(contains(workspaceState), [], 'workspace state');

    // The log: every line the extension wrote, and the output channel's file once it has caught up.
    const lines = api.log.recentLines().join('\n');
    assert.deepEqual(contains(lines), [], 'log lines');
    const marker = `secrets-marker-${randomBytes(6).toString('hex')}`;
    api.log.log('info', marker);
    const profileDir = dirname(dirname(dirname(context.globalStorageUri.fsPath)));
    const logRoot = dirname(context.logUri.fsPath);
    let logFiles: string[] = [];
    for (let waited = 0; waited < 10_000; waited += 200) {
      logFiles = [...new Set([...filesUnder(logRoot), ...filesUnder(profileDir)])]
        .filter((path) => path.endsWith('.log'))
        .filter((path) => readFileSync(path, 'utf8').includes(marker));
      if (logFiles.length > 0) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    assert.ok(logFiles.length > 0, `the KV Explorer log file was found (under ${logRoot} or ${profileDir})`);
    for (const file of logFiles) {
      const fileText = readFileSync(file, 'utf8');
      assert.match(fileText, /Added cloudflare connection "Secrets: token"/, `${file} is the extension's log`);
      assert.deepEqual(contains(fileText), [], file);
    }

    // Every file of the profile (settings, state databases, logs, storage) and of the workspace.
    const roots = [profileDir, logRoot, ...(vscode.workspace.workspaceFolders ?? []).map((folder) => folder.uri.fsPath)];
    if (context.storageUri) roots.push(context.storageUri.fsPath);
    assert.deepEqual(filesContaining(roots, all), [], 'files holding a token');
  });

  it('Authorization-style headers are redacted in every log line, known token or not', async () => {
    const unknown = token('never-registered');
    const marker = `redaction-${randomBytes(6).toString('hex')}`;
    const written = [
      `${marker} Authorization: Bearer ${unknown}`,
      `${marker} {"authorization":"Bearer ${unknown}"}`,
      `${marker} authorization=${unknown}`,
      `${marker} X-Auth-Key: ${unknown}`,
      `${marker} headers { cookie: session=${unknown} }`,
      `${marker} raw known token ${secrets.cloudflareKey} and ${secrets.telnyxKey}`,
    ];
    for (const line of written) api.log.log('warn', line);
    const logged = api.log.recentLines().filter((line) => line.includes(marker));
    assert.equal(logged.length, written.length);
    for (const line of logged) {
      assert.ok(!line.includes(unknown) && !line.includes(secrets.cloudflareKey) && !line.includes(secrets.telnyxKey), `not redacted: ${line}`);
      assert.match(line, /\[REDACTED\]/);
    }
    // The client's own request lines name the request, never its headers.
    const requestLines = api.log.recentLines().filter((line) => line.includes(cloudflare.url));
    assert.ok(requestLines.length > 0, 'the client logged its requests');
    for (const line of requestLines) assert.doesNotMatch(line, /authorization|x-auth-key/i, line);
  });

  it('removing a connection removes its secret', async () => {
    for (const [name, id] of Object.entries(added) as [keyof typeof secrets, string][]) {
      await api.connections.removeConnection(id);
      assert.equal(await context.secrets.get(secretKeyFor(id)), undefined, `${name}'s secret is gone`);
      assert.equal(await api.connections.hasSecret(id), false);
      assert.equal(api.connections.get(id), undefined, `${name} is no longer a connection`);
      await assert.rejects(api.storeFor(id), /no connection/i, `${name} cannot be opened any more`);
    }
    const globalState = JSON.stringify(context.globalState.keys().map((key) => [key, context.globalState.get(key)]));
    assert.doesNotMatch(globalState, /Secrets: /, 'the removed connections are gone from global state');
  });
});
