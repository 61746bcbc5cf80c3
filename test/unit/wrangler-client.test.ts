// wrangler — code nobody here wrote — as the client of the Cloudflare-dialect server: `kv key put/get/list/delete`
// (with --metadata and --ttl) and `kv bulk put/delete` must succeed and leave the expected data, checked in the
// backing LocalStore rather than through wrangler. wrangler 4 needs Node ≥ 22.12 (test/support/node22.ts).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalStore } from '../../src/providers/local';
import { startCloudflareServer, type CloudflareServer } from '../../src/server/cloudflare';
import { ensureNode22 } from '../support/node22';
import { makeWranglerSandbox, type WranglerSandbox } from '../support/wranglerSandbox';

const TOKEN = 'wrangler-test-token-0123456789';
const ACCOUNT = 'acc';
const WRANGLER_TIMEOUT_MS = 60_000;

interface WranglerRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

function text(bytes: Uint8Array | undefined): string | undefined {
  return bytes === undefined ? undefined : Buffer.from(bytes).toString('utf8');
}

describe('wrangler as a client of the Cloudflare-dialect server', function () {
  this.timeout(WRANGLER_TIMEOUT_MS);
  let node22: string;
  let sandbox: WranglerSandbox;
  let work: string;
  let storeDir: string;
  let store: LocalStore;
  let server: CloudflareServer;
  let ns: string;

  before(async function () {
    this.timeout(6 * 60_000); // a first run may install Node 22 into .cache/node22
    node22 = await ensureNode22();
    storeDir = mkdtempSync(join(tmpdir(), 'kv-wrangler-store-'));
    store = await LocalStore.open(storeDir, { sweepIntervalMs: 0 });
    server = await startCloudflareServer({ store, token: TOKEN, accountId: ACCOUNT });
    sandbox = makeWranglerSandbox({ baseUrl: server.baseUrl, token: TOKEN, accountId: ACCOUNT }, 'kv-wrangler-');
    work = sandbox.work;
  });

  beforeEach(async () => {
    ns = (await store.createNamespace(`ns-${Date.now()}-${Math.random().toString(36).slice(2)}`)).id;
    server.requests.clear();
  });

  after(async () => {
    await server?.close();
    await store?.close();
    if (work) rmSync(work, { recursive: true, force: true });
    if (storeDir) rmSync(storeDir, { recursive: true, force: true });
  });

  function wrangler(args: string[]): Promise<WranglerRun> {
    // The server of the moment: a test may swap in another one.
    const env = { ...sandbox.env, CLOUDFLARE_API_BASE_URL: server.baseUrl };
    return new Promise((resolve) => {
      execFile(node22, [sandbox.wranglerJs, ...args], { cwd: join(work, 'cwd'), env, timeout: WRANGLER_TIMEOUT_MS - 5_000 }, (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
        resolve({ code, stdout, stderr });
      });
    });
  }

  async function ok(args: string[]): Promise<string> {
    const run = await wrangler(args);
    const log = server.requests.entries.map((entry) => `${entry.method} ${entry.url} -> ${entry.status}`).join('\n');
    assert.equal(run.code, 0, `wrangler ${args.join(' ')} failed:\n${run.stdout}\n${run.stderr}\nrequests:\n${log}`);
    return run.stdout;
  }

  /** Every request wrangler made reached this server and was answered 2xx. */
  function assertAllServed(minimum: number): void {
    assert.ok(server.requests.count >= minimum, `expected at least ${minimum} requests, got ${server.requests.count}`);
    for (const entry of server.requests.entries) assert.ok(entry.status !== undefined && entry.status < 300, `${entry.method} ${entry.url} -> ${entry.status}`);
  }

  it('kv key put with --metadata and --ttl, then get, list and delete', async () => {
    const key = 'dir/a b?#%ü';
    const before = Math.floor(Date.now() / 1000);
    await ok(['kv', 'key', 'put', key, 'héllo wörld', '--namespace-id', ns, '--metadata', '{"owner":"wrangler","n":2}', '--ttl', '120', '--remote']);
    const stored = await store.get(ns, key);
    assert.equal(text(stored?.value), 'héllo wörld');
    assert.deepEqual(stored?.metadata, { owner: 'wrangler', n: 2 });
    assert.ok(stored?.expiration !== undefined && stored.expiration >= before + 120 && stored.expiration <= before + 180, String(stored?.expiration));
    const put = server.requests.entries.find((entry) => entry.method === 'PUT');
    assert.ok(put?.url.includes('/values/dir%2Fa%20b%3F%23%25%C3%BC?expiration_ttl=120'), put?.url);

    await store.put(ns, 'dir/other', 'second');
    const got = await ok(['kv', 'key', 'get', key, '--namespace-id', ns, '--remote', '--text']);
    assert.equal(got.trim(), 'héllo wörld');

    const listed = JSON.parse(await ok(['kv', 'key', 'list', '--namespace-id', ns, '--prefix', 'dir/', '--remote'])) as { name: string; metadata?: unknown }[];
    assert.deepEqual(listed.map((item) => item.name).sort(), ['dir/a b?#%ü', 'dir/other']);
    assert.deepEqual(listed.find((item) => item.name === key)?.metadata, { owner: 'wrangler', n: 2 });

    await ok(['kv', 'key', 'delete', key, '--namespace-id', ns, '--remote']);
    assert.equal(await store.get(ns, key), undefined);
    assert.equal(text((await store.get(ns, 'dir/other'))?.value), 'second');
    assertAllServed(4);
  });

  it('kv key put of a file as a raw body', async () => {
    const file = join(work, 'cwd', 'value.bin');
    const bytes = Buffer.from([0, 1, 2, 250, 255]);
    writeFileSync(file, bytes);
    await ok(['kv', 'key', 'put', 'bin', '--path', file, '--namespace-id', ns, '--remote']);
    assert.deepEqual(Buffer.from((await store.get(ns, 'bin'))!.value), bytes);
    assertAllServed(1);
  });

  it('kv bulk put and kv bulk delete', async () => {
    const pairs = [
      { key: 'bulk/1', value: 'one' },
      { key: 'bulk/2', value: Buffer.from([0, 255]).toString('base64'), base64: true },
      { key: 'bulk/3', value: 'three', metadata: { tag: 3 }, expiration_ttl: 600 },
      ...Array.from({ length: 1200 }, (_, i) => ({ key: `many/${String(i).padStart(4, '0')}`, value: `v${i}` })),
    ];
    const putFile = join(work, 'cwd', 'bulk-put.json');
    writeFileSync(putFile, JSON.stringify(pairs));
    await ok(['kv', 'bulk', 'put', putFile, '--namespace-id', ns, '--remote']);
    assert.equal(text((await store.get(ns, 'bulk/1'))?.value), 'one');
    assert.deepEqual(Buffer.from((await store.get(ns, 'bulk/2'))!.value), Buffer.from([0, 255]));
    const third = await store.get(ns, 'bulk/3');
    assert.deepEqual(third?.metadata, { tag: 3 });
    assert.ok(third?.expiration !== undefined);
    assert.equal(text((await store.get(ns, 'many/1199'))?.value), 'v1199');
    // wrangler sends batches of 1000.
    assert.equal(server.requests.entries.filter((entry) => entry.method === 'PUT' && entry.url.endsWith('/bulk')).length, 2);

    server.requests.clear();
    const deleteFile = join(work, 'cwd', 'bulk-delete.json');
    writeFileSync(deleteFile, JSON.stringify(['bulk/1', 'bulk/2', ...Array.from({ length: 1200 }, (_, i) => `many/${String(i).padStart(4, '0')}`)]));
    await ok(['kv', 'bulk', 'delete', deleteFile, '--namespace-id', ns, '--remote', '--force']);
    const left = await store.list(ns);
    assert.deepEqual(left.keys.map((key) => key.name), ['bulk/3']);
    assertAllServed(2);
  });

  it('kv namespace create, list, rename and delete', async () => {
    const title = `made-by-wrangler-${Date.now()}`;
    await ok(['kv', 'namespace', 'create', title]);
    const made = (await store.listNamespaces()).items.find((namespace) => namespace.title === title);
    assert.ok(made, 'the namespace is in the store');
    const listed = JSON.parse(await ok(['kv', 'namespace', 'list'])) as { id: string; title: string }[];
    assert.ok(listed.some((namespace) => namespace.id === made.id && namespace.title === title), JSON.stringify(listed));
    await ok(['kv', 'namespace', 'rename', '--namespace-id', made.id, '--new-name', `${title}-renamed`]);
    assert.equal((await store.listNamespaces()).items.find((namespace) => namespace.id === made.id)?.title, `${title}-renamed`);
    await ok(['kv', 'namespace', 'delete', '--namespace-id', made.id, '--skip-confirmation']);
    assert.equal((await store.listNamespaces()).items.find((namespace) => namespace.id === made.id), undefined);
    assertAllServed(4);
  });

  it('a wrong token makes wrangler fail, and nothing is written', async () => {
    const other = await startCloudflareServer({ store, token: 'a-different-token', accountId: ACCOUNT });
    const saved = server;
    server = other;
    try {
      const run = await wrangler(['kv', 'key', 'put', 'denied', 'v', '--namespace-id', ns, '--remote']);
      assert.notEqual(run.code, 0);
      assert.match(run.stdout + run.stderr, /Authentication error|10000/);
      assert.equal(await store.get(ns, 'denied'), undefined);
      // The refused PUT, then wrangler's own follow-ups (tokens/verify, /user) to explain it: all refused.
      assert.equal(other.requests.entries[0].method, 'PUT');
      for (const entry of other.requests.entries) assert.ok(entry.status === 401 || entry.status === 403, `${entry.method} ${entry.url} -> ${entry.status}`);
    } finally {
      server = saved;
      await other.close();
    }
  });
});
