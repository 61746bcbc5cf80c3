// The Cloudflare-dialect server over a real LocalStore, spoken to over HTTP on 127.0.0.1: paths, envelopes,
// statuses and error codes as in the shared notes (kv-rest-apis.md §1), and what ends up in the store.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalStore } from '../../src/providers/local';
import { startCloudflareServer, type CloudflareServer } from '../../src/server/cloudflare';

const TOKEN = 'test-token-0123456789';
const MiB = 1024 * 1024;

interface Envelope {
  success: boolean;
  errors: { code: number; message: string; error_chain?: { code: number; message: string }[] }[];
  messages: unknown[];
  result: any;
  result_info?: any;
}

function text(bytes: Uint8Array | undefined): string | undefined {
  return bytes === undefined ? undefined : Buffer.from(bytes).toString('utf8');
}

describe('Cloudflare-dialect server', function () {
  this.timeout(30_000);
  let directory: string;
  let store: LocalStore;
  let server: CloudflareServer;
  let ns: string;
  let kvUrl: string;

  async function call(method: string, path: string, init: { body?: BodyInit; headers?: Record<string, string>; auth?: boolean } = {}) {
    const headers: Record<string, string> = { ...(init.auth === false ? {} : { authorization: `Bearer ${TOKEN}` }), ...init.headers };
    return fetch(`${server.baseUrl}${path}`, { method, headers, body: init.body });
  }

  async function api(method: string, path: string, init: { body?: BodyInit; json?: unknown; headers?: Record<string, string>; auth?: boolean } = {}) {
    const headers = { ...init.headers, ...(init.json === undefined ? {} : { 'content-type': 'application/json' }) };
    const body = init.json === undefined ? init.body : JSON.stringify(init.json);
    const response = await call(method, path, { ...init, headers, body });
    return { status: response.status, headers: response.headers, json: (await response.json()) as Envelope };
  }

  /** node:http, so the path goes out exactly as written (fetch would normalize `.`/`..` segments). */
  function raw(method: string, path: string, body?: Buffer | string): Promise<{ status: number; json: Envelope }> {
    return new Promise((resolve, reject) => {
      // host/port/path rather than a URL string: URL parsing would resolve %2E%2E segments before sending.
      const target = { host: '127.0.0.1', port: server.port, path, method, agent: false as const, headers: { authorization: `Bearer ${TOKEN}` } };
      const req = httpRequest(target, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Envelope }));
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  function expectError(reply: { status: number; json: Envelope }, status: number, code: number): void {
    assert.equal(reply.status, status, JSON.stringify(reply.json));
    assert.equal(reply.json.success, false);
    assert.equal(reply.json.result, null);
    assert.equal(reply.json.errors[0]?.code, code, JSON.stringify(reply.json.errors));
  }

  const values = (key: string) => `${kvUrl}/${ns}/values/${encodeURIComponent(key)}`;

  beforeEach(async () => {
    directory = mkdtempSync(join(tmpdir(), 'kv-cf-server-'));
    store = await LocalStore.open(directory, { sweepIntervalMs: 0 });
    ns = (await store.createNamespace('main')).id;
    server = await startCloudflareServer({ store, token: TOKEN, email: 'me@example.com', apiKey: 'global-key-123', accountId: 'acc' });
    kvUrl = '/accounts/acc/storage/kv/namespaces';
  });

  afterEach(async () => {
    await server.close();
    await store.close();
    rmSync(directory, { recursive: true, force: true });
  });

  describe('authentication', () => {
    it('refuses a missing or wrong token with 403 10000', async () => {
      expectError(await api('GET', kvUrl, { auth: false }), 403, 10000);
      expectError(await api('GET', kvUrl, { auth: false, headers: { authorization: 'Bearer wrong-token' } }), 403, 10000);
    });

    it('answers a malformed Authorization header with 400 6003 and chain 6111', async () => {
      const reply = await api('GET', kvUrl, { auth: false, headers: { authorization: 'Token abc' } });
      expectError(reply, 400, 6003);
      assert.deepEqual(reply.json.errors[0].error_chain, [{ code: 6111, message: 'Invalid format for Authorization header' }]);
    });

    it('accepts email plus global key, and refuses a wrong key', async () => {
      const good = await api('GET', kvUrl, { auth: false, headers: { 'x-auth-email': 'me@example.com', 'x-auth-key': 'global-key-123' } });
      assert.equal(good.status, 200);
      expectError(await api('GET', kvUrl, { auth: false, headers: { 'x-auth-email': 'me@example.com', 'x-auth-key': 'nope' } }), 403, 10000);
    });

    it('refuses another account id', async () => {
      expectError(await api('GET', '/accounts/other/storage/kv/namespaces'), 403, 10000);
    });

    it('verifies the token at user and account level', async () => {
      for (const path of ['/user/tokens/verify', '/accounts/acc/tokens/verify']) {
        const reply = await api('GET', path);
        assert.equal(reply.status, 200);
        assert.equal(reply.json.result.status, 'active');
        assert.match(reply.json.result.id, /^[0-9a-f]{32}$/);
        assert.ok(!JSON.stringify(reply.json).includes(TOKEN), 'the token is never echoed');
        assert.deepEqual(reply.json.messages, [{ code: 10000, message: 'This API Token is valid and active', type: null }]);
      }
      expectError(await api('GET', '/user/tokens/verify', { auth: false, headers: { authorization: 'Bearer wrong' } }), 401, 1000);
    });

    it('lists the account, the membership and the user', async () => {
      const accounts = await api('GET', '/accounts');
      assert.deepEqual(accounts.json.result.map((account: { id: string }) => account.id), ['acc']);
      assert.equal(accounts.json.result_info.total_count, 1);
      const memberships = await api('GET', '/memberships');
      assert.equal(memberships.json.result[0].account.id, 'acc');
      assert.equal((await api('GET', '/user')).json.result.email, 'me@example.com');
      expectError(await api('GET', '/user', { auth: false, headers: { authorization: 'Bearer wrong' } }), 403, 10000);
    });
  });

  describe('routes', () => {
    it('answers an unknown path with 404 7003 and a wrong method with 405', async () => {
      expectError(await api('GET', '/accounts/acc/storage/kv/nothing'), 404, 7003);
      expectError(await api('POST', `${kvUrl}/${ns}/keys`), 405, 7001);
    });

    it('refuses a key with a raw "/" as no route, and the store is untouched', async () => {
      const reply = await raw('PUT', `/client/v4${kvUrl}/${ns}/values/a/b`, 'v');
      expectError(reply, 404, 7003);
      assert.deepEqual((await store.list(ns)).keys, []);
    });

    it('decodes the key exactly once: %252F stays %2F', async () => {
      const put = await raw('PUT', `/client/v4${kvUrl}/${ns}/values/x%252Fy`, 'v');
      assert.equal(put.status, 200);
      assert.equal(text((await store.get(ns, 'x%2Fy'))?.value), 'v');
      assert.equal(await store.get(ns, 'x/y'), undefined);
    });

    it('refuses "." and ".." sent encoded with 400 10042', async () => {
      expectError(await raw('PUT', `/client/v4${kvUrl}/${ns}/values/%2E%2E`, 'v'), 400, 10042);
      expectError(await raw('PUT', `/client/v4${kvUrl}/${ns}/values/%2E`, 'v'), 400, 10042);
    });
  });

  describe('namespaces', () => {
    it('creates, gets, renames and deletes a namespace', async () => {
      const created = await api('POST', kvUrl, { json: { title: 'second' } });
      assert.equal(created.status, 200);
      const id = created.json.result.id as string;
      assert.deepEqual(created.json.result, { id, title: 'second', supports_url_encoding: true });
      assert.equal((await api('GET', `${kvUrl}/${id}`)).json.result.title, 'second');
      const renamed = await api('PUT', `${kvUrl}/${id}`, { json: { title: 'third' } });
      assert.equal(renamed.json.result.title, 'third');
      assert.deepEqual((await store.listNamespaces()).items.map((n) => n.title).sort(), ['main', 'third']);
      assert.equal((await api('DELETE', `${kvUrl}/${id}`)).status, 200);
      expectError(await api('GET', `${kvUrl}/${id}`), 404, 10013);
      expectError(await api('DELETE', `${kvUrl}/${id}`), 404, 10013);
    });

    it('refuses a taken title with 400 10014 and a missing one with 400 10019', async () => {
      expectError(await api('POST', kvUrl, { json: { title: 'main' } }), 400, 10014);
      expectError(await api('POST', kvUrl, { json: {} }), 400, 10019);
      expectError(await api('POST', kvUrl, { body: 'not json', headers: { 'content-type': 'application/json' } }), 400, 10001);
    });

    it('pages namespaces with order, direction and result_info', async () => {
      for (const title of ['b', 'd', 'a', 'c']) await store.createNamespace(title);
      const page = await api('GET', `${kvUrl}?per_page=2&page=2&order=title&direction=desc`);
      assert.deepEqual(page.json.result.map((n: { title: string }) => n.title), ['c', 'b']);
      assert.deepEqual(page.json.result_info, { count: 2, page: 2, per_page: 2, total_count: 5 });
      const last = await api('GET', `${kvUrl}?per_page=2&page=3&order=title`);
      assert.deepEqual(last.json.result.map((n: { title: string }) => n.title), ['main']);
      expectError(await api('GET', `${kvUrl}?order=size`), 400, 10043);
      expectError(await api('GET', `${kvUrl}?direction=up`), 400, 10044);
      expectError(await api('GET', `${kvUrl}?per_page=0`), 400, 10001);
    });

    it('answers key operations on a missing namespace with 404 10013', async () => {
      const missing = '0'.repeat(32);
      expectError(await api('GET', `${kvUrl}/${missing}/keys`), 404, 10013);
      expectError(await api('PUT', `${kvUrl}/${missing}/values/k`, { body: 'v' }), 404, 10013);
    });
  });

  describe('values', () => {
    it('writes a raw body and reads it back as bytes with the expiration header', async () => {
      const bytes = Buffer.from([0, 1, 2, 254, 255]);
      const now = Math.floor(Date.now() / 1000);
      const put = await api('PUT', `${values('a/b c?#%')}?expiration=${now + 3600}&expiration_ttl=120`, { body: bytes });
      assert.equal(put.status, 200);
      assert.equal(put.json.success, true);
      const stored = await store.get(ns, 'a/b c?#%');
      assert.ok(stored);
      assert.deepEqual(Buffer.from(stored.value), bytes);
      // expiration_ttl wins over expiration.
      assert.ok(stored.expiration! >= now + 120 && stored.expiration! <= now + 122, String(stored.expiration));
      const read = await call('GET', values('a/b c?#%'));
      assert.equal(read.status, 200);
      assert.equal(read.headers.get('content-type'), 'application/octet-stream');
      assert.equal(read.headers.get('expiration'), String(stored.expiration));
      assert.deepEqual(Buffer.from(await read.arrayBuffer()), bytes);
    });

    it('writes multipart value and metadata, and serves the metadata', async () => {
      const form = new FormData();
      form.append('value', new Blob([Buffer.from('héllo')]));
      form.append('metadata', JSON.stringify({ owner: 'me', n: 1 }));
      assert.equal((await api('PUT', values('m'), { body: form })).status, 200);
      const stored = await store.get(ns, 'm');
      assert.equal(text(stored?.value), 'héllo');
      assert.deepEqual(stored?.metadata, { owner: 'me', n: 1 });
      assert.deepEqual((await api('GET', `${kvUrl}/${ns}/metadata/m`)).json.result, { owner: 'me', n: 1 });
      const stringForm = new FormData();
      stringForm.append('value', 'plain string part');
      assert.equal((await api('PUT', values('s'), { body: stringForm })).status, 200);
      assert.equal(text((await store.get(ns, 's'))?.value), 'plain string part');
      assert.equal((await api('GET', `${kvUrl}/${ns}/metadata/s`)).json.result, null);
    });

    it('answers a missing key with 404 10009 on read and metadata', async () => {
      const reply = await api('GET', values('nope'));
      expectError(reply, 404, 10009);
      assert.equal(reply.json.errors[0].message, "get: 'key not found'");
      expectError(await api('GET', `${kvUrl}/${ns}/metadata/nope`), 404, 10009);
    });

    it('deletes a value, and deleting a missing one succeeds', async () => {
      await store.put(ns, 'gone', 'x');
      assert.equal((await api('DELETE', values('gone'))).status, 200);
      assert.equal(await store.get(ns, 'gone'), undefined);
      assert.equal((await api('DELETE', values('gone'))).status, 200);
    });

    it('maps the limits to Cloudflare statuses and codes, and writes nothing', async () => {
      expectError(await api('PUT', values('k'.repeat(513)), { body: 'v' }), 414, 10030);
      const tooBig = await api('PUT', values('big'), { body: Buffer.alloc(25 * MiB + 1) });
      expectError(tooBig, 413, 10024);
      assert.equal(tooBig.json.errors[0].message, `Value length of ${25 * MiB + 1} exceeds limit of ${25 * MiB}.`);
      const metadata = new FormData();
      metadata.append('value', 'v');
      metadata.append('metadata', JSON.stringify({ pad: 'x'.repeat(1020) }));
      expectError(await api('PUT', values('meta'), { body: metadata }), 413, 10047);
      const badJson = new FormData();
      badJson.append('value', 'v');
      badJson.append('metadata', '{not json');
      expectError(await api('PUT', values('meta'), { body: badJson }), 400, 10047);
      expectError(await api('PUT', `${values('ttl')}?expiration_ttl=30`, { body: 'v' }), 400, 10034);
      expectError(await api('PUT', `${values('ttl')}?expiration_ttl=soon`, { body: 'v' }), 400, 10034);
      expectError(await api('PUT', `${values('exp')}?expiration=${Math.floor(Date.now() / 1000) + 10}`, { body: 'v' }), 400, 10033);
      assert.deepEqual((await store.list(ns)).keys, []);
    });

    it('accepts a value of exactly 25 MiB', async () => {
      assert.equal((await api('PUT', values('exact'), { body: Buffer.alloc(25 * MiB, 7) })).status, 200);
      assert.equal((await store.get(ns, 'exact'))?.value.byteLength, 25 * MiB);
    });
  });

  describe('listing keys', () => {
    it('pages by cursor with prefix, and ends with an empty cursor', async () => {
      await store.bulkPut(ns, Array.from({ length: 25 }, (_, i) => ({ key: `p/${String(i).padStart(2, '0')}`, value: 'v' })));
      await store.put(ns, 'q', 'v', { metadata: { m: 1 }, expirationTtl: 600 });
      const names: string[] = [];
      let cursor = '';
      let pages = 0;
      do {
        const reply = await api('GET', `${kvUrl}/${ns}/keys?prefix=p%2F&limit=10${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
        assert.equal(reply.status, 200);
        assert.equal(reply.json.result_info.count, reply.json.result.length);
        names.push(...reply.json.result.map((key: { name: string }) => key.name));
        cursor = reply.json.result_info.cursor;
        pages++;
      } while (cursor !== '' && pages < 10);
      assert.equal(pages, 3);
      assert.deepEqual(names, Array.from({ length: 25 }, (_, i) => `p/${String(i).padStart(2, '0')}`));
      const q = await api('GET', `${kvUrl}/${ns}/keys?prefix=q`);
      assert.equal(q.json.result.length, 1);
      assert.deepEqual(q.json.result[0].metadata, { m: 1 });
      assert.equal(typeof q.json.result[0].expiration, 'number');
      assert.ok(!('expiration' in (await api('GET', `${kvUrl}/${ns}/keys?prefix=p%2F00`)).json.result[0]));
    });

    it('refuses a limit outside 10–1000 with 400 10028 and a foreign cursor with 10041', async () => {
      expectError(await api('GET', `${kvUrl}/${ns}/keys?limit=5`), 400, 10028);
      expectError(await api('GET', `${kvUrl}/${ns}/keys?limit=1001`), 400, 10028);
      expectError(await api('GET', `${kvUrl}/${ns}/keys?limit=ten`), 400, 10028);
      expectError(await api('GET', `${kvUrl}/${ns}/keys?cursor=garbage`), 400, 10041);
    });
  });

  describe('bulk', () => {
    it('writes pairs with base64, metadata and TTL', async () => {
      const reply = await api('PUT', `${kvUrl}/${ns}/bulk`, {
        json: [
          { key: 'k1', value: 'v1' },
          { key: 'k2', value: Buffer.from([0, 255]).toString('base64'), base64: true },
          { key: 'k/3', value: 'v3', metadata: { tag: 3 }, expiration_ttl: 300 },
        ],
      });
      assert.equal(reply.status, 200);
      assert.deepEqual(reply.json.result, { successful_key_count: 3, unsuccessful_keys: [] });
      assert.equal(text((await store.get(ns, 'k1'))?.value), 'v1');
      assert.deepEqual(Buffer.from((await store.get(ns, 'k2'))!.value), Buffer.from([0, 255]));
      const third = await store.get(ns, 'k/3');
      assert.deepEqual(third?.metadata, { tag: 3 });
      assert.ok(third?.expiration !== undefined);
    });

    it('refuses the whole batch when one pair breaks a rule', async () => {
      expectError(await api('PUT', `${kvUrl}/${ns}/bulk`, { json: [{ key: 'ok', value: 'v' }, { key: 'x'.repeat(600), value: 'v' }] }), 414, 10030);
      expectError(await api('PUT', `${kvUrl}/${ns}/bulk`, { json: [{ key: 'b', value: '!!!', base64: true }] }), 400, 10001);
      expectError(await api('PUT', `${kvUrl}/${ns}/bulk`, { json: { key: 'not an array' } }), 400, 10001);
      expectError(await api('PUT', `${kvUrl}/${ns}/bulk`, { json: Array.from({ length: 10_001 }, (_, i) => ({ key: `k${i}`, value: '' })) }), 400, 10001);
      assert.deepEqual((await store.list(ns)).keys, []);
    });

    it('deletes with POST /bulk/delete and with the deprecated DELETE /bulk', async () => {
      await store.bulkPut(ns, ['a', 'b', 'c', 'd'].map((key) => ({ key, value: key })));
      const post = await api('POST', `${kvUrl}/${ns}/bulk/delete`, { json: ['a', 'b', 'missing'] });
      assert.deepEqual(post.json.result, { successful_key_count: 3, unsuccessful_keys: [] });
      const del = await api('DELETE', `${kvUrl}/${ns}/bulk`, { json: ['c'] });
      assert.equal(del.status, 200);
      assert.deepEqual((await store.list(ns)).keys.map((key) => key.name), ['d']);
      expectError(await api('POST', `${kvUrl}/${ns}/bulk/delete`, { json: [1, 2] }), 400, 10001);
    });

    it('gets several values as text, JSON, and with metadata', async () => {
      await store.put(ns, 'j', '{"x":1}', { metadata: { m: true }, expirationTtl: 600 });
      await store.put(ns, 't', 'plain');
      const asText = await api('POST', `${kvUrl}/${ns}/bulk/get`, { json: { keys: ['j', 't', 'none'] } });
      assert.deepEqual(asText.json.result, { values: { j: '{"x":1}', t: 'plain', none: null } });
      const asJson = await api('POST', `${kvUrl}/${ns}/bulk/get`, { json: { keys: ['j'], type: 'json', withMetadata: true } });
      const j = asJson.json.result.values.j;
      assert.deepEqual(j.value, { x: 1 });
      assert.deepEqual(j.metadata, { m: true });
      assert.equal(typeof j.expiration, 'number');
      expectError(await api('POST', `${kvUrl}/${ns}/bulk/get`, { json: { keys: ['t'], type: 'json' } }), 400, 10001);
      expectError(await api('POST', `${kvUrl}/${ns}/bulk/get`, { json: { keys: Array.from({ length: 101 }, (_, i) => `k${i}`) } }), 400, 10001);
    });
  });

  describe('faults and counting', () => {
    it('counts every request, including refused ones', async () => {
      assert.equal(server.requests.count, 0);
      await api('GET', kvUrl);
      await api('GET', kvUrl, { auth: false });
      assert.equal(server.requests.count, 2);
      assert.deepEqual(server.requests.entries.map((entry) => entry.status), [200, 403]);
    });

    it('an injected 429, 503 or drop never applies a write', async () => {
      server.setFaults({ rate: 1, kinds: ['429'], retryAfterSeconds: 3 });
      const limited = await api('PUT', values('f'), { body: 'v' });
      expectError(limited, 429, 10022);
      assert.equal(limited.headers.get('retry-after'), '3');
      server.setFaults({ rate: 1, kinds: ['503'] });
      expectError(await api('PUT', values('f'), { body: 'v' }), 503, 10001);
      server.setFaults({ rate: 1, kinds: ['drop'] });
      await assert.rejects(api('PUT', values('f'), { body: 'v' }));
      assert.equal(await store.get(ns, 'f'), undefined);
    });

    it('drop-after applies the write and loses the answer', async () => {
      server.setFaults({ rate: 1, kinds: ['drop-after'] });
      await assert.rejects(api('PUT', values('f'), { body: 'applied' }));
      assert.equal(text((await store.get(ns, 'f'))?.value), 'applied');
    });

    it('the same seed gives the same faults over HTTP', async () => {
      const run = async () => {
        server.setFaults({ rate: 0.5, kinds: ['500', '503'], seed: 11 });
        const statuses: number[] = [];
        for (let i = 0; i < 12; i++) statuses.push((await api('GET', kvUrl)).status);
        return statuses;
      };
      const first = await run();
      assert.deepEqual(await run(), first);
      assert.ok(first.includes(200) && first.some((status) => status >= 500), first.join(','));
    });

    it('enforces one write per second per key when asked', async () => {
      await server.close();
      server = await startCloudflareServer({ store, token: TOKEN, accountId: 'acc', enforceWriteRate: true });
      assert.equal((await api('PUT', values('hot'), { body: '1' })).status, 200);
      const second = await api('PUT', values('hot'), { body: '2' });
      expectError(second, 429, 10022);
      assert.equal(second.headers.get('retry-after'), '1');
      assert.equal((await api('PUT', values('other'), { body: '3' })).status, 200);
      assert.equal(text((await store.get(ns, 'hot'))?.value), '1');
    });
  });
});
