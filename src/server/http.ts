// What the Cloudflare- and Telnyx-dialect servers share: routing on raw path segments, body reading with a size cap,
// request counting, fault injection, and a loopback listener. Each dialect brings its routes, its authentication
// and its error envelope. Plain node:http, no framework.

import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { describeError } from '../core/errors';
import { silentLogger, type Logger } from '../core/log';
import { FaultPlan, type FaultKind, type FaultOptions } from './faults';

/** The only address the servers listen on. */
export const LOOPBACK = '127.0.0.1';

export interface Reply {
  status: number;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
}

export function jsonReply(status: number, payload: unknown, headers: Record<string, string> = {}): Reply {
  return { status, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(payload) };
}

/** Failures the shared layer finds itself; each dialect renders them in its own envelope. */
export type SharedFailure =
  | { kind: 'no-route' }
  | { kind: 'method-not-allowed'; allowed: string[] }
  | { kind: 'body-too-large'; limit: number; actual: number }
  | { kind: 'bad-json'; detail: string }
  | { kind: 'injected'; status: 429 | 500 | 503; retryAfterSeconds: number }
  | { kind: 'internal'; error: unknown };

export class SharedFailureError extends Error {
  constructor(readonly failure: SharedFailure) {
    super(failure.kind);
  }
}

// ------------------------------------------------------------------ routing

export interface RoutedRequest {
  method: string;
  /** The path as received, still percent-encoded, without the query. */
  rawPath: string;
  /** Path parameters, each percent-decoded exactly once from its own single segment. */
  params: Record<string, string>;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  /** Reads the whole body; throws a body-too-large failure beyond `maxBytes`. */
  body(maxBytes: number): Promise<Buffer>;
  /** Reads and parses a JSON body; throws a bad-json failure when it is not JSON. */
  json(maxBytes: number): Promise<unknown>;
}

export type RouteHandler = (request: RoutedRequest) => Promise<Reply>;

export interface Route {
  method: string;
  /** Segments of the pattern, e.g. ['client', 'v4', 'accounts', ':account']. */
  segments: string[];
  pattern: string;
  handle: RouteHandler;
}

export type RouteMatch =
  | { ok: true; route: Route; params: Record<string, string> }
  | { ok: false; failure: SharedFailure };

/**
 * Matches on raw segments, so a parameter is exactly one segment: an unencoded `/` inside a key makes more
 * segments and matches no route, instead of reaching another path.
 */
export class Router {
  private readonly routes: Route[] = [];

  add(method: string, pattern: string, handle: RouteHandler): this {
    this.routes.push({ method, pattern, segments: pattern.split('/').slice(1), handle });
    return this;
  }

  match(method: string, rawPath: string): RouteMatch {
    const segments = rawPath.split('/').slice(1);
    const allowed: string[] = [];
    for (const route of this.routes) {
      const params = matchSegments(route.segments, segments);
      if (params === 'no-match') continue;
      if (params === 'bad-encoding') return { ok: false, failure: { kind: 'no-route' } };
      if (route.method === method) return { ok: true, route, params };
      allowed.push(route.method);
    }
    if (allowed.length > 0) return { ok: false, failure: { kind: 'method-not-allowed', allowed } };
    return { ok: false, failure: { kind: 'no-route' } };
  }
}

function matchSegments(pattern: string[], segments: string[]): Record<string, string> | 'no-match' | 'bad-encoding' {
  if (pattern.length !== segments.length) return 'no-match';
  const params: Record<string, string> = {};
  for (let index = 0; index < pattern.length; index++) {
    const expected = pattern[index];
    const actual = segments[index];
    if (expected.startsWith(':')) {
      try {
        params[expected.slice(1)] = decodeURIComponent(actual);
      } catch {
        return 'bad-encoding';
      }
    } else if (expected !== actual) {
      return 'no-match';
    }
  }
  return params;
}

// ------------------------------------------------------------------ bodies

/** Beyond the cap the body is still read (and dropped) up to this much more, so the client gets the 413 to read. */
const DRAIN_BEYOND_CAP_BYTES = 64 * 1024 * 1024;

/** Reads a request body; past `maxBytes` it reports the size it saw instead of keeping the bytes. */
export async function readBody(request: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const declared = Number(request.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes + DRAIN_BEYOND_CAP_BYTES) {
    throw new SharedFailureError({ kind: 'body-too-large', limit: maxBytes, actual: declared });
  }
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total <= maxBytes) chunks.push(chunk);
    else if (total > maxBytes + DRAIN_BEYOND_CAP_BYTES) break;
  }
  if (total > maxBytes) throw new SharedFailureError({ kind: 'body-too-large', limit: maxBytes, actual: total });
  return Buffer.concat(chunks, total);
}

// ------------------------------------------------------------------ request log

export interface RequestLogEntry {
  method: string;
  /** Path and query as received (percent-encoded). */
  url: string;
  /** Status sent; undefined while in flight or when the connection was dropped. */
  status?: number;
  fault?: FaultKind;
}

/** Every request that reached the server, so tests can assert e.g. that none did. */
export class RequestLog {
  readonly entries: RequestLogEntry[] = [];

  get count(): number {
    return this.entries.length;
  }

  clear(): void {
    this.entries.length = 0;
  }
}

// ------------------------------------------------------------------ server

export interface Dialect {
  readonly name: string;
  readonly router: Router;
  /** Throws (any error) when the request may not use this route. */
  authenticate(request: RoutedRequest, route: Route): void;
  /** Renders anything a route threw, and the shared layer's own failures, in this dialect's envelope. */
  errorReply(error: unknown): Reply;
}

export interface ListenOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  faults?: FaultOptions;
  logger?: Logger;
}

export interface RunningServer {
  /** http://127.0.0.1:PORT */
  readonly url: string;
  readonly port: number;
  readonly requests: RequestLog;
  /** Replaces the fault plan (undefined turns faults off); the PRNG restarts from the plan's seed. */
  setFaults(faults: FaultOptions | undefined): void;
  /** Stops listening and cuts open connections. Does not close the store. */
  close(): Promise<void>;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function send(response: ServerResponse, reply: Reply): void {
  const body = reply.body === undefined ? undefined : typeof reply.body === 'string' ? Buffer.from(reply.body, 'utf8') : reply.body;
  response.writeHead(reply.status, { ...reply.headers, 'content-length': String(body?.byteLength ?? 0) });
  response.end(body);
}

export async function listenDialect(dialect: Dialect, options: ListenOptions = {}): Promise<RunningServer> {
  const logger = options.logger ?? silentLogger;
  const requests = new RequestLog();
  let faults = options.faults ? new FaultPlan(options.faults) : undefined;
  const sockets = new Set<Socket>();

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const method = request.method ?? 'GET';
    const url = request.url ?? '/';
    const entry: RequestLogEntry = { method, url };
    requests.entries.push(entry);
    const finish = (reply: Reply) => {
      entry.status = reply.status;
      if (reply.status >= 400 && reply.status !== 404) logger.log('debug', `${dialect.name} ${method} ${url} -> ${reply.status}`);
      send(response, reply);
    };

    // Faults come first: a faulted request never reaches the store, except 'drop-after', which is meant to.
    const fault = faults?.next(method);
    if (fault) entry.fault = fault;
    if (fault === 'drop') {
      request.socket.destroy();
      return;
    }
    if (fault === '429' || fault === '500' || fault === '503') {
      const status = Number(fault) as 429 | 500 | 503;
      const retryAfterSeconds = faults?.retryAfterSeconds ?? 1;
      finish(dialect.errorReply(new SharedFailureError({ kind: 'injected', status, retryAfterSeconds })));
      return;
    }
    if (fault === 'slow') await delay(faults?.slowMs ?? 0);

    const queryAt = url.indexOf('?');
    const rawPath = queryAt === -1 ? url : url.slice(0, queryAt);
    const query = new URLSearchParams(queryAt === -1 ? '' : url.slice(queryAt + 1));
    const match = dialect.router.match(method, rawPath);
    if (!match.ok) {
      finish(dialect.errorReply(new SharedFailureError(match.failure)));
      return;
    }
    const routed: RoutedRequest = {
      method,
      rawPath,
      params: match.params,
      query,
      headers: request.headers,
      body: (maxBytes) => readBody(request, maxBytes),
      json: async (maxBytes) => {
        const text = (await readBody(request, maxBytes)).toString('utf8');
        try {
          return JSON.parse(text) as unknown;
        } catch (error) {
          throw new SharedFailureError({ kind: 'bad-json', detail: describeError(error) });
        }
      },
    };
    let reply: Reply;
    try {
      dialect.authenticate(routed, match.route);
      reply = await match.route.handle(routed);
    } catch (error) {
      reply = dialect.errorReply(error);
      if (error instanceof SharedFailureError && error.failure.kind === 'body-too-large') {
        // The rest of an oversized body was not read; don't reuse the connection.
        reply = { ...reply, headers: { ...reply.headers, connection: 'close' } };
      }
    }
    if (fault === 'drop-after') {
      request.socket.destroy();
      return;
    }
    finish(reply);
  };

  const server: Server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      logger.log('error', `${dialect.name} server failed on ${request.method} ${request.url}: ${describeError(error)}`);
      if (!response.headersSent) send(response, dialect.errorReply(new SharedFailureError({ kind: 'internal', error })));
      else response.destroy();
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, LOOPBACK, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${LOOPBACK}:${port}`,
    port,
    requests,
    setFaults: (next) => {
      faults = next ? new FaultPlan(next) : undefined;
    },
    close: () => {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      });
      return closing;
    },
  };
}
