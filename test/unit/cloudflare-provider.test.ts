// Provider details the real servers cannot provoke on demand: Cloudflare's documented error bodies, the token-verify
// fallback for account-owned tokens, keys a bulk write reports as unsuccessful, batch packing, the transport rule,
// and credentials kept out of the log. A loopback server replays the documented answers (shared notes §1).
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KvError } from '../../src/core/errors';
import type { Logger } from '../../src/core/log';
import { CloudflareStore } from '../../src/providers/cloudflare';
import { settleWithConcurrency } from '../../src/core/concurrency';
import { packBatches } from '../../src/providers/http/bulkJobs';
import { RestClient } from '../../src/providers/http';

interface Received {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

type Answer = (request: Received) => { status: number; body?: unknown; headers?: Record<string, string> };

function envelopeError(code: number, message: string, extra: Record<string, unknown> = {}): unknown {
  return { success: false, errors: [{ code, message, ...extra }], messages: [], result: null };
}

function ok(result: unknown, resultInfo?: unknown): unknown {
  return { success: true, errors: [], messages: [], result, ...(resultInfo ? { result_info: resultInfo } : {}) };
}

describe('CloudflareStore: documented answers, replayed by a loopback server', function () {
  this.timeout(20_000);
  let server: Server;
  let baseUrl: string;
  let answer: Answer;
  const received: Received[] = [];

  before(async () => {
    server = createServer((req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const request = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) };
        received.push(request);
        const { status, body, headers } = answer(request);
        const payload = body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body);
        res.writeHead(status, { 'content-type': typeof body === 'string' ? 'text/html' : 'application/json', ...headers }).end(payload);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/client/v4`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  beforeEach(() => {
    received.length = 0;
  });

  function store(logger?: Logger): CloudflareStore {
    const client = new RestClient({ baseUrl, provider: 'Cloudflare', headers: { authorization: 'Bearer tok-secret-value-42' }, retry: { maxAttempts: 2, baseDelayMs: 1 }, logger });
    return new CloudflareStore({ baseUrl, accountId: 'acc', client });
  }

  async function expectError(work: Promise<unknown>, check: { kind: string; codes?: number[]; message?: RegExp; status?: number }): Promise<void> {
    await assert.rejects(work, (error: unknown) => {
      assert.ok(error instanceof KvError, String(error));
      assert.equal(error.kind, check.kind, error.message);
      if (check.codes) assert.deepEqual(error.providerCodes, check.codes);
      if (check.message) assert.match(error.message, check.message);
      if (check.status) assert.equal(error.status, check.status);
      return true;
    });
  }

  it('maps Cloudflare error bodies to kinds, with codes and statuses in the message', async () => {
    const s = store();
    const cases: [number, unknown, string, number[], RegExp][] = [
      [404, envelopeError(10009, "get: 'key not found'"), 'not-found', [10009], /^Cloudflare 10009: get: 'key not found' \(HTTP 404\)$/],
      [414, envelopeError(10030, 'UTF-8 encoded length of 600 exceeds key length limit of 512.'), 'too-large', [10030], /10030.*\(HTTP 414\)/],
      [413, envelopeError(10024, 'Value length of 30000000 exceeds limit of 26214400.'), 'too-large', [10024], /10024/],
      [400, envelopeError(10034, 'Invalid expiration_ttl of 30. Expiration TTL must be at least 60.'), 'invalid', [10034], /10034/],
      [400, envelopeError(6003, 'Invalid request headers', { error_chain: [{ code: 6111, message: 'Invalid format for Authorization header' }] }), 'invalid', [6003, 6111], /6003: Invalid request headers; 6111: Invalid format/],
      [403, envelopeError(10000, 'Authentication error'), 'unauthorized', [10000], /10000: Authentication error \(HTTP 403\)\. Check the API token/],
      [429, envelopeError(10022, 'too many requests'), 'rate-limited', [10022], /10022.*\(HTTP 429\); try again in 300 s/],
      [400, envelopeError(10014, "create namespace: 'a namespace with this account ID and title already exists'"), 'conflict', [10014], /10014/],
    ];
    for (const [status, body, kind, codes, message] of cases) {
      answer = () => ({ status, body, headers: status === 429 ? { 'retry-after': '300' } : undefined });
      await expectError(s.put('ns', 'k', 'v'), { kind, codes, message, status });
    }
    await s.close();
  });

  it('maps bodies that are not Cloudflare\'s: a 502 page is unavailable (after retrying), a 404 page is not "missing key"', async () => {
    const s = store();
    answer = () => ({ status: 502, body: '<html>Bad gateway</html>' });
    await expectError(s.put('ns', 'k', 'v'), { kind: 'unavailable', message: /^Cloudflare could not write the value: HTTP 502 "<html>Bad gateway<\/html>"$/ });
    assert.equal(received.length, 2, 'a 502 is retried');
    answer = () => ({ status: 404, body: '<html>Not found</html>' });
    await expectError(s.get('ns', 'k'), { kind: 'not-found', message: /HTTP 404/ });
    await s.close();
  });

  it('treats a 2xx envelope with success: false as a failure', async () => {
    const s = store();
    answer = () => ({ status: 200, body: { success: false, errors: [{ code: 10001, message: 'odd' }], messages: [], result: null } });
    await expectError(s.put('ns', 'k', 'v'), { kind: 'unavailable', codes: [10001] });
    await s.close();
  });

  it('falls back to the account route to verify an account-owned token', async () => {
    answer = (request) =>
      request.url === '/client/v4/user/tokens/verify'
        ? { status: 401, body: envelopeError(1000, 'Invalid API Token') }
        : { status: 200, body: ok({ id: 'tid', status: 'active', expires_on: '2030-01-01T00:00:00Z' }) };
    const verified = await CloudflareStore.verifyToken({ baseUrl, token: 'account-token-xyz', accountId: 'a/b' });
    assert.deepEqual(verified, { id: 'tid', status: 'active', expiresOn: '2030-01-01T00:00:00Z', via: 'account' });
    assert.deepEqual(received.map((request) => request.url), ['/client/v4/user/tokens/verify', '/client/v4/accounts/a%2Fb/tokens/verify']);
    assert.equal(received[1].headers.authorization, 'Bearer account-token-xyz');
  });

  it('follows account pages until the total', async () => {
    answer = (request) => {
      const page = Number(new URL(request.url, 'http://x').searchParams.get('page'));
      const items = page === 1 ? Array.from({ length: 50 }, (_, i) => ({ id: `a${i}`, name: `A${i}` })) : [{ id: 'a50', name: 'A50' }];
      return { status: 200, body: ok(items, { page, per_page: 50, count: items.length, total_count: 51 }) };
    };
    const accounts = await CloudflareStore.listAccounts({ baseUrl, auth: { email: 'me@example.test', key: 'global-key' } });
    assert.equal(accounts.length, 51);
    assert.equal(received[0].headers['x-auth-email'], 'me@example.test');
    assert.equal(received[0].headers['x-auth-key'], 'global-key');
  });

  it('reports the keys a bulk write says it did not write as failed, and the rest as succeeded', async () => {
    const s = store();
    answer = () => ({ status: 200, body: ok({ successful_key_count: 2, unsuccessful_keys: ['b'] }) });
    const result = await s.bulkPut('ns', [
      { key: 'a', value: 'x' },
      { key: 'b', value: new Uint8Array([1]) },
      { key: 'c', value: 'z', expirationTtl: 120, metadata: { m: 1 } },
    ]);
    assert.deepEqual(result.succeeded, ['a', 'c']);
    assert.deepEqual(result.failed.map((failure) => failure.key), ['b']);
    assert.deepEqual(JSON.parse(received[0].body.toString()), [
      { key: 'a', value: 'x' },
      { key: 'b', value: 'AQ==', base64: true },
      { key: 'c', value: 'z', expiration_ttl: 120, metadata: { m: 1 } },
    ]);
    assert.equal(received[0].method, 'PUT');
    assert.equal(received[0].url, '/client/v4/accounts/acc/storage/kv/namespaces/ns/bulk');
    await s.close();
  });

  it('sends a binary value whose base64 would exceed the value limit by a single put instead', async () => {
    const s = store();
    answer = (request) => ({ status: 200, body: ok(request.url.endsWith('/bulk') ? { successful_key_count: 1, unsuccessful_keys: [] } : {}) });
    const big = new Uint8Array(20 * 1024 * 1024);
    const result = await s.bulkPut('ns', [
      { key: 'small', value: 's' },
      { key: 'big', value: big },
    ]);
    assert.deepEqual(result.succeeded.sort(), ['big', 'small']);
    const single = received.find((request) => request.url.includes('/values/big'));
    assert.equal(single?.method, 'PUT');
    assert.equal(single?.body.byteLength, big.byteLength);
    await s.close();
  });

  it('writes metadata as a multipart body and a bare value as octet-stream', async () => {
    const s = store();
    answer = () => ({ status: 200, body: ok({}) });
    await s.put('ns', 'a b', new Uint8Array([0, 255]), { metadata: { x: 1 }, expirationTtl: 90 });
    await s.put('ns', 'plain', 'text', { expiration: 4102444800 });
    const [multi, raw] = received;
    assert.equal(multi.url, '/client/v4/accounts/acc/storage/kv/namespaces/ns/values/a%20b?expiration_ttl=90');
    const form = await new Response(new Uint8Array(multi.body), { headers: { 'content-type': String(multi.headers['content-type']) } }).formData();
    assert.deepEqual([...new Uint8Array(await (form.get('value') as Blob).arrayBuffer())], [0, 255]);
    assert.equal(String(form.get('metadata')), '{"x":1}');
    assert.equal(raw.headers['content-type'], 'application/octet-stream');
    assert.equal(raw.url, '/client/v4/accounts/acc/storage/kv/namespaces/ns/values/plain?expiration=4102444800');
    assert.equal(raw.body.toString(), 'text');
    await s.close();
  });

  it('never writes the token into the log', async () => {
    const lines: string[] = [];
    const s = store({ log: (_level, message) => lines.push(message) });
    answer = () => ({ status: 503, body: envelopeError(10001, 'busy') });
    await assert.rejects(s.get('ns', 'k'));
    assert.ok(lines.length >= 2);
    assert.ok(lines.every((line) => !line.includes('tok-secret-value-42')), lines.join('\n'));
    await s.close();
  });

  it('refuses an insecure base URL and a shared client for another URL, before any request', () => {
    const refuses = (make: () => unknown, rule: string): void =>
      assert.throws(make, (error: unknown) => error instanceof KvError && error.kind === 'invalid' && error.rule === rule);
    refuses(() => new CloudflareStore({ baseUrl: 'http://api.example.test/client/v4', accountId: 'a', auth: { token: 't' } }), 'url.insecure');
    const client = new RestClient({ baseUrl });
    refuses(() => new CloudflareStore({ baseUrl: 'http://127.0.0.1:1/other', accountId: 'a', client }), 'connection.client');
    refuses(() => new CloudflareStore({ baseUrl, accountId: ' ', client }), 'connection.accountId');
    assert.equal(received.length, 0);
    void client.close();
  });
});

describe('bulk batching', () => {
  it('packs in order by count and by bytes, giving an oversized item its own batch', () => {
    const items = [5, 5, 5, 5, 5].map((bytes, item) => ({ item, bytes }));
    assert.deepEqual(packBatches(items, 2, 100), [[0, 1], [2, 3], [4]]);
    assert.deepEqual(packBatches(items, 10, 12), [[0, 1], [2, 3], [4]]);
    assert.deepEqual(packBatches([{ item: 'a', bytes: 3 }, { item: 'huge', bytes: 50 }, { item: 'b', bytes: 3 }], 10, 10), [['a'], ['huge'], ['b']]);
    assert.deepEqual(packBatches([], 10, 10), []);
  });

  it('settles every job with bounded concurrency, keeping order', async () => {
    let running = 0;
    let peak = 0;
    const results = await settleWithConcurrency([1, 2, 3, 4, 5, 6], 2, async (n) => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((resolve) => setTimeout(resolve, 5));
      running--;
      if (n === 4) throw new Error('four');
      return n * 10;
    });
    assert.equal(peak, 2);
    assert.deepEqual(
      results.map((result) => (result.status === 'fulfilled' ? result.value : (result.reason as Error).message)),
      [10, 20, 30, 'four', 50, 60],
    );
  });
});
