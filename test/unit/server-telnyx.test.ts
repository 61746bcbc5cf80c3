// The Telnyx-dialect server over a real LocalStore, over HTTP on 127.0.0.1 (shared notes kv-rest-apis.md §2):
// namespaces with provisioning status, cursor-paged keys, raw values with their Content-Type, ttl_secs, Telnyx's
// limits, and its error bodies.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalStore } from '../../src/providers/local';
import { startTelnyxServer, uuidForStoreId, type TelnyxServer } from '../../src/server/telnyx';

const API_KEY = 'KEY-test-0123456789';
const MiB = 1024 * 1024;

interface TelnyxError {
  code: string;
  title: string;
  detail: string;
}

function text(bytes: Uint8Array | undefined): string | undefined {
  return bytes === undefined ? undefined : Buffer.from(bytes).toString('utf8');
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

describe('Telnyx-dialect server', function () {
  this.timeout(30_000);
  let directory: string;
  let store: LocalStore;
  let server: TelnyxServer;
  let storeNs: string;
  let ns: string;

  async function call(method: string, path: string, init: { body?: BodyInit; headers?: Record<string, string>; auth?: boolean } = {}) {
    const headers = { ...(init.auth === false ? {} : { authorization: `Bearer ${API_KEY}` }), ...init.headers };
    const response = await fetch(`${server.baseUrl}${path}`, { method, headers, body: init.body });
    const body = Buffer.from(await response.arrayBuffer());
    const json = () => JSON.parse(body.toString('utf8'));
    return { status: response.status, headers: response.headers, body, json };
  }

  async function expectError(reply: Promise<{ status: number; json: () => any }>, status: number, code: string): Promise<TelnyxError> {
    const { status: actual, json } = await reply;
    const body = json();
    assert.equal(actual, status, JSON.stringify(body));
    assert.equal(body.errors?.[0]?.code, code, JSON.stringify(body));
    assert.equal(typeof body.errors[0].title, 'string');
    assert.equal(typeof body.errors[0].detail, 'string');
    return body.errors[0];
  }

  const keyPath = (key: string, namespace = ns) => `/storage/kvs/${namespace}/keys/${encodeURIComponent(key)}`;

  beforeEach(async () => {
    directory = mkdtempSync(join(tmpdir(), 'kv-telnyx-server-'));
    store = await LocalStore.open(directory, { sweepIntervalMs: 0 });
    storeNs = (await store.createNamespace('main')).id;
    server = await startTelnyxServer({ store, apiKey: API_KEY });
    ns = server.namespaceUuid(storeNs);
  });

  afterEach(async () => {
    await server.close();
    await store.close();
    rmSync(directory, { recursive: true, force: true });
  });

  it('shows store ids as uuids, reversibly for hex ids', () => {
    assert.equal(uuidForStoreId('0123456789abcdef0123456789abcdef'), '01234567-89ab-cdef-0123-456789abcdef');
    const named = uuidForStoreId('NS');
    assert.match(named, /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(uuidForStoreId('NS'), named);
  });

  it('refuses a missing or wrong API key with 401', async () => {
    await expectError(call('GET', '/storage/kvs', { auth: false }), 401, '10009');
    await expectError(call('GET', '/storage/kvs', { auth: false, headers: { authorization: 'Bearer nope' } }), 401, '10009');
    assert.equal(server.requests.count, 2);
  });

  describe('namespaces', () => {
    it('creates a namespace as pending; it becomes provision_ok after the delay and refuses keys until then', async () => {
      await server.close();
      server = await startTelnyxServer({ store, apiKey: API_KEY, provisioningDelayMs: 400 });
      const created = await call('POST', '/storage/kvs', { body: JSON.stringify({ name: 'fresh-one' }), headers: { 'content-type': 'application/json' } });
      assert.equal(created.status, 201);
      const data = created.json().data;
      assert.equal(data.status, 'pending');
      assert.equal(data.name, 'fresh-one');
      assert.equal(data.record_type, 'storage_kv');
      assert.match(data.id, /^[0-9a-f-]{36}$/);
      assert.equal((await call('GET', `/storage/kvs/${data.id}`)).json().data.status, 'pending');
      await expectError(call('PUT', keyPath('k', data.id), { body: 'v' }), 409, '10017');
      await expectError(call('GET', `/storage/kvs/${data.id}/keys`), 409, '10017');
      await sleep(450);
      assert.equal((await call('GET', `/storage/kvs/${data.id}`)).json().data.status, 'provision_ok');
      assert.equal((await call('PUT', keyPath('k', data.id), { body: 'v' })).status, 201);
      assert.equal(text((await store.get(data.id.replace(/-/g, ''), 'k'))?.value), 'v');
    });

    it('refuses a bad name with 400 and a taken one with 409', async () => {
      await expectError(call('POST', '/storage/kvs', { body: JSON.stringify({ name: 'Bad_Name' }) }), 400, '10015');
      await expectError(call('POST', '/storage/kvs', { body: JSON.stringify({}) }), 400, '10015');
      await expectError(call('POST', '/storage/kvs', { body: JSON.stringify({ name: 'main' }) }), 409, '10017');
    });

    it('pages namespaces with page[number] and page[size]', async () => {
      for (const name of ['b', 'c', 'd', 'e']) await store.createNamespace(name);
      const page = (await call('GET', '/storage/kvs?page[number]=2&page[size]=2')).json();
      assert.equal(page.data.length, 2);
      assert.deepEqual(page.meta, { page_number: 2, page_size: 2, total_pages: 3, total_results: 5 });
      assert.ok(page.data.every((item: { status: string }) => item.status === 'provision_ok'));
      const first = (await call('GET', '/storage/kvs')).json();
      assert.equal(first.data.length, 5);
      assert.equal(first.meta.page_size, 20);
      await expectError(call('GET', '/storage/kvs?page[size]=251'), 400, '10015');
      await expectError(call('GET', '/storage/kvs?page[number]=0'), 400, '10015');
    });

    it('gets and deletes a namespace; a non-uuid id is 400 and an unknown one 404', async () => {
      assert.equal((await call('GET', `/storage/kvs/${ns}`)).json().data.name, 'main');
      await expectError(call('GET', '/storage/kvs/main'), 400, '10015');
      await expectError(call('GET', `/storage/kvs/${uuidForStoreId('0'.repeat(32))}`), 404, '10005');
      const deleted = await call('DELETE', `/storage/kvs/${ns}`);
      assert.equal(deleted.status, 200);
      assert.equal(deleted.json().data.status, 'deleting');
      await expectError(call('GET', `/storage/kvs/${ns}`), 404, '10005');
      await expectError(call('PUT', keyPath('k'), { body: 'v' }), 404, '10005');
      assert.deepEqual((await store.listNamespaces()).items, []);
    });
  });

  describe('values', () => {
    it('stores a raw body with its Content-Type: 201 created, 200 updated', async () => {
      const created = await call('PUT', keyPath('conf/app.json'), { body: '{"a":1}', headers: { 'content-type': 'application/json' } });
      assert.equal(created.status, 201);
      assert.equal(created.body.length, 0);
      const updated = await call('PUT', keyPath('conf/app.json'), { body: '{"a":2}', headers: { 'content-type': 'application/json' } });
      assert.equal(updated.status, 200);
      assert.equal(text((await store.get(storeNs, 'conf/app.json'))?.value), '{"a":2}');
      const read = await call('GET', keyPath('conf/app.json'));
      assert.equal(read.status, 200);
      assert.equal(read.headers.get('content-type'), 'application/json');
      assert.equal(read.body.toString(), '{"a":2}');
    });

    it('serves a value written behind its back as application/octet-stream', async () => {
      await store.put(storeNs, 'raw', new Uint8Array([1, 2, 3]));
      const read = await call('GET', keyPath('raw'));
      assert.equal(read.headers.get('content-type'), 'application/octet-stream');
      assert.deepEqual([...read.body], [1, 2, 3]);
    });

    it('enforces Telnyx key rules with 400 10015, and writes nothing', async () => {
      for (const bad of ['a:b', 'with space', '_reserved', 'k'.repeat(257), 'ünï']) {
        await expectError(call('PUT', keyPath(bad), { body: 'v' }), 400, '10015');
      }
      assert.equal((await call('PUT', keyPath('k'.repeat(256)), { body: 'v' })).status, 201);
      assert.deepEqual((await store.list(storeNs)).keys.map((key) => key.name), ['k'.repeat(256)]);
    });

    it('refuses a key with a raw "/" as no route', async () => {
      const status = await new Promise<number>((resolve, reject) => {
        const req = httpRequest(
          { host: '127.0.0.1', port: server.port, path: `/v2/storage/kvs/${ns}/keys/a/b`, method: 'PUT', agent: false, headers: { authorization: `Bearer ${API_KEY}` } },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        req.on('error', reject);
        req.end('v');
      });
      assert.equal(status, 404);
      assert.deepEqual((await store.list(storeNs)).keys, []);
    });

    it('takes 1 MiB and refuses 1 MiB + 1 with 413', async () => {
      assert.equal((await call('PUT', keyPath('exact'), { body: Buffer.alloc(MiB, 1) })).status, 201);
      await expectError(call('PUT', keyPath('over'), { body: Buffer.alloc(MiB + 1, 1) }), 413, '10015');
      assert.equal(await store.get(storeNs, 'over'), undefined);
    });

    it('answers a missing key with 404 and deletes idempotently', async () => {
      await expectError(call('GET', keyPath('missing')), 404, '10005');
      await store.put(storeNs, 'there', 'x');
      assert.equal((await call('DELETE', keyPath('there'))).status, 200);
      assert.equal((await call('DELETE', keyPath('there'))).status, 200);
      assert.equal(await store.get(storeNs, 'there'), undefined);
    });

    it('applies ttl_secs, even below the store minimum, and refuses bad TTLs with 422', async () => {
      assert.equal((await call('PUT', `${keyPath('short')}?ttl_secs=1`, { body: 'v' })).status, 201);
      assert.equal((await call('PUT', `${keyPath('long')}?ttl_secs=3600`, { body: 'v' })).status, 201);
      const long = await store.get(storeNs, 'long');
      const now = Math.floor(Date.now() / 1000);
      assert.ok(long?.expiration !== undefined && Math.abs(long.expiration - (now + 3600)) <= 2);
      assert.equal((await call('GET', keyPath('short'))).status, 200);
      await sleep(2100);
      await expectError(call('GET', keyPath('short')), 404, '10005');
      const listed = (await call('GET', `/storage/kvs/${ns}/keys`)).json();
      assert.deepEqual(listed.data.map((item: { key: string }) => item.key), ['long']);
      await expectError(call('PUT', `${keyPath('k')}?ttl_secs=0`, { body: 'v' }), 422, '10015');
      await expectError(call('PUT', `${keyPath('k')}?ttl_secs=abc`, { body: 'v' }), 422, '10015');
      await expectError(call('PUT', `${keyPath('k')}?ttl=60`, { body: 'v' }), 422, '10015');
    });
  });

  describe('listing keys', () => {
    it('pages by cursor with prefix and reports size and update time', async () => {
      for (const key of ['a/1', 'a/2', 'a/3', 'a/4', 'a/5', 'b']) {
        assert.equal((await call('PUT', keyPath(key), { body: 'x'.repeat(key.length) })).status, 201);
      }
      const keys: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const query = `prefix=a%2F&limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
        const page = (await call('GET', `/storage/kvs/${ns}/keys?${query}`)).json();
        assert.equal(page.record_type, 'storage_kv_key');
        for (const item of page.data) {
          assert.equal(item.size_bytes, 3);
          assert.ok(Date.parse(item.updated_at) > Date.now() - 60_000, item.updated_at);
        }
        keys.push(...page.data.map((item: { key: string }) => item.key));
        assert.equal(page.meta.has_more, page.meta.cursor !== undefined);
        cursor = page.meta.cursor;
        pages++;
      } while (cursor && pages < 10);
      assert.deepEqual(keys, ['a/1', 'a/2', 'a/3', 'a/4', 'a/5']);
      assert.equal(pages, 3);
    });

    it('measures keys written behind its back, caps limit at 1000 and refuses limit 0', async () => {
      await store.put(storeNs, 'foreign', 'twelve bytes');
      const page = (await call('GET', `/storage/kvs/${ns}/keys?limit=5000`)).json();
      assert.deepEqual(page.data, [{ key: 'foreign', size_bytes: 12, updated_at: new Date(0).toISOString() }]);
      assert.deepEqual(page.meta, { has_more: false });
      await expectError(call('GET', `/storage/kvs/${ns}/keys?limit=0`), 400, '10015');
    });
  });

  it('injects faults in Telnyx error bodies, before the store is touched', async () => {
    server.setFaults({ rate: 1, kinds: ['429'], retryAfterSeconds: 2 });
    const limited = call('PUT', keyPath('f'), { body: 'v' });
    await expectError(limited, 429, '10011');
    assert.equal((await limited).headers.get('retry-after'), '2');
    server.setFaults({ rate: 1, kinds: ['500'] });
    await expectError(call('PUT', keyPath('f'), { body: 'v' }), 500, '10007');
    assert.equal(await store.get(storeNs, 'f'), undefined);
  });
});
