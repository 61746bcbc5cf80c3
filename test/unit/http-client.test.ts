// The shared REST client against a real node:http server on 127.0.0.1: retries (429 + Retry-After, 503,
// dropped connections, timeouts), no blind retry of a POST, cancellation, the concurrency bound, keep-alive,
// per-key write spacing, and credentials kept out of the log.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { KvError, type KvErrorKind } from '../../src/core/errors';
import type { Logger, LogLevel } from '../../src/core/log';
import type { Clock } from '../../src/core/retry';
import { systemClock } from '../../src/core/retry';
import { RestClient, type RestClientOptions } from '../../src/providers/http';

type Behaviour = (req: IncomingMessage, res: ServerResponse, body: Buffer) => void;

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
  at: number;
  socket: Socket;
}

/** A loopback server that answers each request with the next scripted behaviour (the last one repeats). */
class ScriptedServer {
  readonly seen: Seen[] = [];
  private script: Behaviour[] = [];
  private readonly sockets = new Set<Socket>();
  inFlight = 0;
  maxInFlight = 0;
  private server!: Server;
  baseUrl = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        this.seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body, at: Date.now(), socket: req.socket });
        const behaviour = this.script.length > 1 ? this.script.shift()! : this.script[0];
        this.inFlight++;
        this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
        res.on('close', () => this.inFlight--);
        behaviour(req, res, body);
      });
    });
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.baseUrl = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/api/v1`;
  }

  then(...behaviours: Behaviour[]): void {
    this.script = behaviours;
  }

  reset(): void {
    this.seen.length = 0;
    this.maxInFlight = 0;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

const ok =
  (text = 'ok', delayMs = 0): Behaviour =>
  (_req, res) => {
    const send = (): void => {
      res.writeHead(200, { 'content-type': 'text/plain' }).end(text);
    };
    if (delayMs > 0) setTimeout(send, delayMs);
    else send();
  };
const status =
  (code: number, headers: Record<string, string> = {}): Behaviour =>
  (_req, res) => {
    res.writeHead(code, { 'content-type': 'application/json', ...headers }).end(JSON.stringify({ code }));
  };
const drop: Behaviour = (req) => req.socket.destroy();
const hang: Behaviour = () => undefined;

/** Real time, but retry waits are recorded and shortened so the tests stay fast. */
class RecordingClock implements Clock {
  readonly sleeps: number[] = [];
  now(): number {
    return Date.now();
  }
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    this.sleeps.push(ms);
    return systemClock.sleep(Math.min(ms, 5), signal);
  }
}

class CapturingLogger implements Logger {
  readonly lines: string[] = [];
  log(level: LogLevel, message: string): void {
    this.lines.push(`${level} ${message}`);
  }
}

async function rejectsKind(work: Promise<unknown>, kind: KvErrorKind): Promise<KvError> {
  try {
    await work;
  } catch (error) {
    assert.ok(error instanceof KvError, `expected a KvError, got ${String(error)}`);
    assert.equal(error.kind, kind, error.message);
    return error;
  }
  assert.fail(`expected a ${kind} rejection`);
}

describe('RestClient against a loopback server', function () {
  this.timeout(15_000);
  const server = new ScriptedServer();
  let clock: RecordingClock;
  const clients: RestClient[] = [];

  before(() => server.start());
  after(() => server.stop());
  beforeEach(() => {
    server.reset();
    clock = new RecordingClock();
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.close()));
  });

  function client(options: Partial<RestClientOptions> = {}): RestClient {
    const made = new RestClient({ baseUrl: server.baseUrl, provider: 'Test', clock, random: () => 0.5, ...options });
    clients.push(made);
    return made;
  }

  it('sends method, path, query, headers and body, and hands back status, headers and body', async () => {
    server.then((req, res, body) => {
      res.writeHead(201, { 'x-echo': String(req.headers['x-extra']), expiration: '1234' }).end(Buffer.concat([Buffer.from('got:'), body]));
    });
    const response = await client({ headers: { 'x-extra': 'default' } }).request({
      method: 'PUT',
      path: `/values/${encodeURIComponent('a/b c')}`,
      query: { expiration_ttl: 60, skip: undefined },
      body: new Uint8Array([1, 2]),
    });
    assert.equal(response.status, 201);
    assert.equal(response.ok, true);
    assert.equal(response.header('X-Echo'), 'default');
    assert.equal(response.header('expiration'), '1234');
    assert.deepEqual([...response.body], [...Buffer.from('got:'), 1, 2]);
    assert.equal(server.seen[0].url, '/api/v1/values/a%2Fb%20c?expiration_ttl=60');
    assert.equal(response.attempts, 1);
  });

  it('sends JSON bodies with their content type and reads JSON back', async () => {
    server.then((_req, res, body) => res.writeHead(200, { 'content-type': 'application/json' }).end(body));
    const response = await client().request({ method: 'POST', path: '/echo', json: { a: ['é'] } });
    assert.equal(server.seen[0].headers['content-type'], 'application/json');
    assert.deepEqual(response.json(), { a: ['é'] });
  });

  it('a body that is not JSON is an unavailable KvError when read as JSON', async () => {
    server.then(ok('<html>'));
    const response = await client().request({ method: 'GET', path: '/x' });
    assert.throws(() => response.json(), (error: unknown) => error instanceof KvError && error.kind === 'unavailable' && /not JSON/.test(error.message));
  });

  it('retries a 429, waiting at least what Retry-After asks (seconds)', async () => {
    server.then(status(429, { 'retry-after': '2' }), ok('done'));
    const response = await client().request({ method: 'GET', path: '/x' });
    assert.equal(response.text(), 'done');
    assert.equal(response.attempts, 2);
    assert.equal(server.seen.length, 2);
    assert.ok(clock.sleeps[0] >= 2000, `waited ${clock.sleeps[0]} ms`);
  });

  it('retries a 429 with an HTTP-date Retry-After', async () => {
    server.then(status(429, { 'retry-after': new Date(Date.now() + 3000).toUTCString() }), ok());
    await client().request({ method: 'GET', path: '/x' });
    assert.ok(clock.sleeps[0] > 1000 && clock.sleeps[0] <= 3000, `waited ${clock.sleeps[0]} ms`);
  });

  it('hands back the 429 with retryAfterMs when the wait would break the total-time cap', async () => {
    server.then(status(429, { 'retry-after': '300' }));
    const response = await client({ retry: { maxTotalMs: 10_000 } }).request({ method: 'GET', path: '/x' });
    assert.equal(response.status, 429);
    assert.equal(response.retryAfterMs, 300_000);
    assert.equal(server.seen.length, 1);
  });

  it('retries 503s with growing jittered backoff, then succeeds', async () => {
    server.then(status(503), status(502), status(500), ok());
    const response = await client({ retry: { baseDelayMs: 100 } }).request({ method: 'DELETE', path: '/x' });
    assert.equal(response.status, 200);
    assert.equal(server.seen.length, 4);
    assert.deepEqual(clock.sleeps, [50, 100, 200]);
  });

  it('gives up after maxAttempts and hands back the last 5xx', async () => {
    server.then(status(503));
    const response = await client({ retry: { maxAttempts: 3 } }).request({ method: 'GET', path: '/x' });
    assert.equal(response.status, 503);
    assert.equal(response.attempts, 3);
    assert.equal(server.seen.length, 3);
  });

  it('does not retry statuses that will not change (400, 404, 501)', async () => {
    for (const code of [400, 404, 501]) {
      server.reset();
      server.then(status(code));
      const response = await client().request({ method: 'GET', path: '/x' });
      assert.equal(response.status, code);
      assert.equal(server.seen.length, 1, `HTTP ${code}`);
    }
  });

  it('retries a GET whose connection was dropped', async () => {
    server.then(drop, ok('after drop'));
    const response = await client().request({ method: 'GET', path: '/x' });
    assert.equal(response.text(), 'after drop');
    assert.equal(server.seen.length, 2);
  });

  it('turns a connection dropped on every attempt into an unavailable KvError', async () => {
    server.then(drop);
    const error = await rejectsKind(client({ retry: { maxAttempts: 3 } }).request({ method: 'PUT', path: '/x', body: 'v' }), 'unavailable');
    assert.match(error.message, /dropped.*after 3 attempts/);
    assert.equal(server.seen.length, 3);
  });

  it('retries after a response that does not come within the headers timeout', async () => {
    server.then(hang, ok('in time'));
    const response = await client({ timeouts: { headersMs: 300 } }).request({ method: 'GET', path: '/x' });
    assert.equal(response.text(), 'in time');
    assert.equal(server.seen.length, 2);
  });

  it('retries after a body that stalls past the body timeout', async () => {
    const stall: Behaviour = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '10' });
      res.write('part'); // and never the rest
    };
    server.then(stall, ok('whole body'));
    const response = await client({ timeouts: { bodyMs: 300 } }).request({ method: 'GET', path: '/x' });
    assert.equal(response.text(), 'whole body');
    assert.equal(server.seen.length, 2);
  });

  it('reports a timeout on every attempt as unavailable, naming the timeout', async () => {
    server.then(hang);
    const error = await rejectsKind(client({ timeouts: { headersMs: 150 }, retry: { maxAttempts: 2 } }).request({ method: 'GET', path: '/x' }), 'unavailable');
    assert.match(error.message, /timed out waiting for the response/);
    assert.equal(server.seen.length, 2);
  });

  it('never retries a POST blindly: not on 503, not after a drop', async () => {
    server.then(status(503), ok());
    const response = await client().request({ method: 'POST', path: '/create', json: { title: 't' } });
    assert.equal(response.status, 503);
    assert.equal(server.seen.length, 1);

    server.reset();
    server.then(drop, ok());
    await rejectsKind(client().request({ method: 'POST', path: '/create', json: { title: 't' } }), 'unavailable');
    assert.equal(server.seen.length, 1);
  });

  it('retries a POST the caller marks idempotent', async () => {
    server.then(status(503), drop, ok('deleted'));
    const response = await client().request({ method: 'POST', path: '/bulk/delete', json: ['a'], idempotent: true });
    assert.equal(response.text(), 'deleted');
    assert.equal(server.seen.length, 3);
    assert.deepEqual(server.seen.map((seen) => seen.body.toString()), ['["a"]', '["a"]', '["a"]']);
  });

  it('retries a POST whose connection was refused, since nothing was sent', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const error = await rejectsKind(client({ baseUrl: `http://127.0.0.1:${port}`, retry: { maxAttempts: 3 } }).request({ method: 'POST', path: '/x' }), 'unavailable');
    assert.match(error.message, /connection refused.*after 3 attempts/);
    assert.equal(clock.sleeps.length, 2);
  });

  it('cancels a request in flight, and one waiting to retry, as cancelled', async () => {
    server.then(hang);
    const controller = new AbortController();
    const started = Date.now();
    const pending = client().request({ method: 'GET', path: '/x', signal: controller.signal });
    setTimeout(() => controller.abort(), 100);
    await rejectsKind(pending, 'cancelled');
    assert.ok(Date.now() - started < 5000);

    server.then(status(503));
    const slowClock: Clock = { now: () => Date.now(), sleep: (ms, signal) => systemClock.sleep(10_000, signal) };
    const controller2 = new AbortController();
    const retrying = client({ clock: slowClock }).request({ method: 'GET', path: '/x', signal: controller2.signal });
    setTimeout(() => controller2.abort(), 200);
    await rejectsKind(retrying, 'cancelled');

    await rejectsKind(client().request({ method: 'GET', path: '/x', signal: AbortSignal.abort() }), 'cancelled');
  });

  it('keeps no more requests in flight than maxConcurrentRequests', async () => {
    server.then(ok('slow', 60));
    const restClient = client({ maxConcurrentRequests: 2 });
    const responses = await Promise.all(Array.from({ length: 7 }, (_, i) => restClient.request({ method: 'GET', path: `/x/${i}` })));
    assert.equal(responses.length, 7);
    assert.equal(server.maxInFlight, 2);
    assert.equal(restClient.inFlight, 0);
  });

  it('reuses keep-alive connections for sequential requests', async () => {
    server.then(ok());
    const restClient = client();
    for (let i = 0; i < 10; i++) await restClient.request({ method: 'GET', path: '/x' });
    // undici's pool may open a second connection while the first is being released; never one per request.
    assert.ok(new Set(server.seen.map((seen) => seen.socket)).size <= 2);
  });

  it('spaces writes of the same key by writeIntervalMs, in call order, and not writes of other keys', async () => {
    server.then(ok());
    const restClient = client({ writeIntervalMs: 300, clock: systemClock });
    const put = (key: string, value: string): Promise<unknown> =>
      restClient.request({ method: 'PUT', path: `/values/${key}`, body: value, writeKey: key });
    await Promise.all([put('k', '1'), put('k', '2'), put('k', '3'), put('other', 'x')]);
    const forK = server.seen.filter((seen) => seen.url.endsWith('/values/k'));
    assert.deepEqual(forK.map((seen) => seen.body.toString()), ['1', '2', '3']);
    assert.ok(forK[1].at - forK[0].at >= 280, `gap ${forK[1].at - forK[0].at} ms`);
    assert.ok(forK[2].at - forK[1].at >= 280, `gap ${forK[2].at - forK[1].at} ms`);
    const other = server.seen.find((seen) => seen.url.endsWith('/values/other'))!;
    assert.ok(other.at - forK[0].at < 200, 'another key is not held back');
  });

  it('logs method, URL, status, duration and attempt, and never a credential', async () => {
    server.then(status(503), ok());
    const logger = new CapturingLogger();
    const token = 'tok_SECRET_0123456789abcdef';
    const globalKey = 'gk_SECRET_fedcba9876543210';
    await client({ logger, headers: { Authorization: `Bearer ${token}`, 'X-Auth-Key': globalKey, 'X-Auth-Email': 'me@example.test' } }).request({
      method: 'GET',
      path: `/echo/${token}`, // even a secret that ends up in a URL is kept out of the log
      query: { api_token: 'query-secret-value', prefix: 'p' },
    });
    assert.equal(server.seen[0].headers.authorization, `Bearer ${token}`);
    assert.equal(server.seen[0].headers['x-auth-key'], globalKey);
    const log = logger.lines.join('\n');
    assert.ok(!log.includes(token) && !log.includes(globalKey) && !log.includes('query-secret-value'), log);
    assert.match(log, /info Test GET http:\/\/127\.0\.0\.1:\d+\/api\/v1\/echo\/\[REDACTED\]\?api_token=REDACTED&prefix=p → 503 in \d+ ms \(attempt 1\)/);
    assert.match(log, /warn Test GET .*: HTTP 503 \(attempt 1\); retrying in 125 ms/);
    assert.match(log, /debug Test GET .* → 200 in \d+ ms \(attempt 2\)/);
  });

  it('refuses a plain-http base URL to another machine before any request', () => {
    assert.throws(
      () => new RestClient({ baseUrl: 'http://api.example.test/client/v4' }),
      (error: unknown) => error instanceof KvError && error.kind === 'invalid' && error.rule === 'url.insecure',
    );
  });

  it('refuses requests after close', async () => {
    const restClient = client();
    await restClient.close();
    await rejectsKind(restClient.request({ method: 'GET', path: '/x' }), 'unavailable');
  });
});
