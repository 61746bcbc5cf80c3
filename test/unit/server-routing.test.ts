// The dialect servers' shared layer: route matching on raw segments (a key is exactly one segment, decoded once),
// the body cap, the seeded fault plan, and the request log — over a real loopback listener with a tiny dialect.
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { FaultPlan, seededRandom } from '../../src/server/faults';
import { jsonReply, listenDialect, Router, SharedFailureError, type Dialect, type RunningServer } from '../../src/server/http';

function noop() {
  return Promise.resolve(jsonReply(200, {}));
}

describe('server routing', () => {
  const router = new Router()
    .add('GET', '/ns/:namespace/values/:key', noop)
    .add('PUT', '/ns/:namespace/values/:key', noop)
    .add('GET', '/ns/:namespace/keys', noop);

  it('decodes each parameter exactly once from its own segment', () => {
    const match = router.match('GET', '/ns/n1/values/a%2Fb%20c%252F');
    assert.ok(match.ok);
    assert.deepEqual(match.params, { namespace: 'n1', key: 'a/b c%2F' });
  });

  it('refuses a key that arrives as more than one segment', () => {
    const match = router.match('GET', '/ns/n1/values/a/b');
    assert.deepEqual(match, { ok: false, failure: { kind: 'no-route' } });
  });

  it('refuses malformed percent-encoding as no route', () => {
    assert.deepEqual(router.match('GET', '/ns/n1/values/%E0%A4%A'), { ok: false, failure: { kind: 'no-route' } });
  });

  it('compares literal segments raw, so an encoded literal is not the route', () => {
    assert.deepEqual(router.match('GET', '/ns/n1/%6Beys'), { ok: false, failure: { kind: 'no-route' } });
  });

  it('tells a wrong method from a missing route', () => {
    assert.deepEqual(router.match('DELETE', '/ns/n1/values/k'), {
      ok: false,
      failure: { kind: 'method-not-allowed', allowed: ['GET', 'PUT'] },
    });
  });

  it('keeps an empty trailing segment as an empty parameter', () => {
    const match = router.match('GET', '/ns/n1/values/');
    assert.ok(match.ok);
    assert.equal(match.params.key, '');
  });
});

describe('fault plan', () => {
  it('repeats the same faults for the same seed', () => {
    const sequence = (seed: number) => {
      const plan = new FaultPlan({ rate: 0.5, seed, kinds: ['429', '500', '503', 'drop', 'slow'] });
      return Array.from({ length: 200 }, () => plan.next('GET') ?? 'none');
    };
    assert.deepEqual(sequence(7), sequence(7));
    assert.notDeepEqual(sequence(7), sequence(8));
  });

  it('faults about the given share of requests', () => {
    const plan = new FaultPlan({ rate: 0.3, seed: 42 });
    const faulted = Array.from({ length: 2000 }, () => plan.next('PUT')).filter(Boolean).length;
    assert.ok(faulted > 500 && faulted < 700, `faulted ${faulted} of 2000`);
  });

  it('faults every request at rate 1 and none at rate 0, and only the listed methods', () => {
    const always = new FaultPlan({ rate: 1, kinds: ['500'], methods: ['PUT'] });
    assert.equal(always.next('PUT'), '500');
    assert.equal(always.next('GET'), undefined);
    const never = new FaultPlan({ rate: 0 });
    assert.ok(Array.from({ length: 100 }, () => never.next('GET')).every((kind) => kind === undefined));
  });

  it('refuses a rate outside 0–1', () => {
    assert.throws(() => new FaultPlan({ rate: 1.5 }), RangeError);
  });

  it('spreads the PRNG over [0, 1)', () => {
    const random = seededRandom(3);
    const values = Array.from({ length: 1000 }, random);
    assert.ok(values.every((value) => value >= 0 && value < 1));
    assert.ok(Math.min(...values) < 0.05 && Math.max(...values) > 0.95);
  });
});

/** A minimal dialect: echoes the key and the body length; failures become `{failure: kind}`. */
function echoDialect(applied: string[]): Dialect {
  return {
    name: 'Echo',
    router: new Router()
      .add('PUT', '/values/:key', async (request) => {
        const body = await request.body(16);
        applied.push(request.params.key);
        return jsonReply(200, { key: request.params.key, bytes: body.length });
      })
      .add('GET', '/secret', async () => jsonReply(200, { secret: true })),
    authenticate(request) {
      if (request.rawPath === '/secret' && request.headers.authorization !== 'Bearer ok') throw new Error('denied');
    },
    errorReply(error) {
      if (error instanceof SharedFailureError) {
        const failure = error.failure;
        const headers: Record<string, string> = failure.kind === 'injected' ? { 'retry-after': String(failure.retryAfterSeconds) } : {};
        const status = failure.kind === 'injected' ? failure.status : failure.kind === 'body-too-large' ? 413 : failure.kind === 'no-route' ? 404 : 400;
        return jsonReply(status, { failure: failure.kind, ...(failure.kind === 'body-too-large' ? { actual: failure.actual } : {}) }, headers);
      }
      return jsonReply(401, { failure: (error as Error).message });
    },
  };
}

/** node:http with host/port/path, so the path goes out exactly as written; a fresh connection unless `keepAlive`. */
function raw(server: RunningServer, method: string, path: string, body?: string, headers: Record<string, string> = {}, keepAlive = false) {
  return new Promise<{ status: number; body: string; headers: Record<string, unknown> }>((resolve, reject) => {
    const target = { host: '127.0.0.1', port: server.port, path, method, headers };
    const req = httpRequest(keepAlive ? target : { ...target, agent: false as const }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), headers: res.headers }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('shared server layer', function () {
  this.timeout(10_000);
  let server: RunningServer;
  let applied: string[];

  beforeEach(async () => {
    applied = [];
    server = await listenDialect(echoDialect(applied));
  });

  afterEach(() => server.close());

  it('listens on 127.0.0.1 with a port of its own', () => {
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.ok(server.port > 0);
  });

  it('serves a route and logs every request with its status', async () => {
    const ok = await raw(server, 'PUT', '/values/a%2Fb', 'hello');
    assert.equal(ok.status, 200);
    assert.deepEqual(JSON.parse(ok.body), { key: 'a/b', bytes: 5 });
    const missing = await raw(server, 'PUT', '/values/a/b', 'hello');
    assert.equal(missing.status, 404);
    assert.deepEqual(applied, ['a/b']);
    assert.equal(server.requests.count, 2);
    assert.deepEqual(server.requests.entries, [
      { method: 'PUT', url: '/values/a%2Fb', status: 200 },
      { method: 'PUT', url: '/values/a/b', status: 404 },
    ]);
    server.requests.clear();
    assert.equal(server.requests.count, 0);
  });

  it('answers 413 past the body cap with the size it saw, and applies nothing', async () => {
    const reply = await raw(server, 'PUT', '/values/k', 'x'.repeat(40));
    assert.equal(reply.status, 413);
    assert.deepEqual(JSON.parse(reply.body), { failure: 'body-too-large', actual: 40 });
    assert.deepEqual(applied, []);
  });

  it('authenticates after routing', async () => {
    assert.equal((await raw(server, 'GET', '/secret')).status, 401);
    assert.equal((await raw(server, 'GET', '/secret', undefined, { authorization: 'Bearer ok' })).status, 200);
  });

  it('injects 429 with Retry-After before the route runs', async () => {
    server.setFaults({ rate: 1, kinds: ['429'], retryAfterSeconds: 7 });
    const reply = await raw(server, 'PUT', '/values/k', 'v');
    assert.equal(reply.status, 429);
    assert.equal(reply.headers['retry-after'], '7');
    assert.deepEqual(applied, []);
    assert.equal(server.requests.entries[0].fault, '429');
  });

  it('drops the connection before the route runs', async () => {
    server.setFaults({ rate: 1, kinds: ['drop'] });
    await assert.rejects(raw(server, 'PUT', '/values/k', 'v'), /socket hang up|ECONNRESET/);
    assert.deepEqual(applied, []);
    assert.equal(server.requests.entries[0].status, undefined);
  });

  it('drop-after applies the request and then drops the connection', async () => {
    server.setFaults({ rate: 1, kinds: ['drop-after'] });
    await assert.rejects(raw(server, 'PUT', '/values/k', 'v'), /socket hang up|ECONNRESET/);
    assert.deepEqual(applied, ['k']);
  });

  it('slow delays the request and then serves it', async () => {
    server.setFaults({ rate: 1, kinds: ['slow'], slowMs: 150 });
    const started = Date.now();
    const reply = await raw(server, 'PUT', '/values/k', 'v');
    assert.equal(reply.status, 200);
    assert.ok(Date.now() - started >= 140);
    assert.deepEqual(applied, ['k']);
  });

  it('turns faults off again', async () => {
    server.setFaults({ rate: 1, kinds: ['500'] });
    assert.equal((await raw(server, 'PUT', '/values/k', 'v')).status, 500);
    server.setFaults(undefined);
    assert.equal((await raw(server, 'PUT', '/values/k', 'v')).status, 200);
  });

  it('close() cuts kept-alive connections and stops listening', async () => {
    await raw(server, 'PUT', '/values/k', 'v', {}, true);
    await server.close();
    await assert.rejects(raw(server, 'PUT', '/values/k', 'v'), /ECONNREFUSED/);
  });
});
