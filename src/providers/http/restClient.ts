// The one HTTP client every remote provider uses (Cloudflare, wrangler dev, Telnyx): provider-neutral.
//
// - undici Agent: a keep-alive pool per origin, with connect, headers and body timeouts;
// - a bound on requests in flight (Semaphore), held per attempt, not while waiting to retry;
// - retries with the policy of src/core/retry.ts. undici's RetryHandler is not used: it has no jitter, no
//   total-time cap, waits on real timers (so it cannot be tested with a fake clock) and cannot log per attempt;
// - per-key write spacing (KeyWriteSpacer) for providers that limit writes per key;
// - the transport rule: https, or plain http to loopback only (parseBaseUrl);
// - one log line per attempt, with credentials redacted.
//
// Responses come back with their status and body whatever the status; mapping an error body to a KvError is
// the provider's job, because each provider has its own error shape and codes. Network failures, timeouts
// and cancellation, which have no body, become KvErrors here.

import type { Dispatcher } from 'undici';
import { KvError } from '../../core/errors';
import { redact, silentLogger, type Logger, type LogLevel } from '../../core/log';
import {
  DEFAULT_RETRY_POLICY,
  cancelledError,
  parseRetryAfter,
  retryLoop,
  systemClock,
  type AttemptOutcome,
  type Clock,
  type RetryPolicy,
} from '../../core/retry';
import { Semaphore } from './semaphore';
import { joinUrl, parseBaseUrl, type Query } from './url';
import { KeyWriteSpacer } from './writeSpacing';

export type HttpMethod = 'GET' | 'HEAD' | 'PUT' | 'DELETE' | 'POST' | 'PATCH';

export interface RestTimeouts {
  /** Establishing the TCP/TLS connection. */
  connectMs: number;
  /** From sending the request until the response headers have arrived. */
  headersMs: number;
  /** Longest silence while the response body streams in. */
  bodyMs: number;
}

export const DEFAULT_TIMEOUTS: RestTimeouts = { connectMs: 10_000, headersMs: 30_000, bodyMs: 60_000 };

export interface RestClientOptions {
  /** API root, e.g. `https://api.cloudflare.com/client/v4`. https, or http to loopback only. */
  baseUrl: string;
  /** Provider name for log lines and messages, e.g. 'Cloudflare'. */
  provider?: string;
  /** Sent with every request (credentials go here; their values never reach the log). */
  headers?: Record<string, string>;
  logger?: Logger;
  /** Requests in flight at once, across all origins of this client. Default 8. */
  maxConcurrentRequests?: number;
  timeouts?: Partial<RestTimeouts>;
  retry?: Partial<RetryPolicy>;
  /** Minimum milliseconds between the starts of two writes with the same `writeKey`; 0 or absent: no spacing. */
  writeIntervalMs?: number;
  /** Injected in tests: time, waits and jitter. */
  clock?: Clock;
  random?: () => number;
  /** A shared undici dispatcher; by default the client makes (and closes) its own Agent. */
  dispatcher?: Dispatcher;
}

export interface RestRequest {
  method: HttpMethod;
  /** Path below the base URL, already percent-encoded, e.g. `/accounts/a/storage/kv/namespaces/n/values/a%2Fb`. */
  path: string;
  query?: Query;
  headers?: Record<string, string>;
  /** Held in memory, so a retry sends the same bytes. */
  body?: Uint8Array | string;
  /** Serialized as the JSON body, with Content-Type application/json. */
  json?: unknown;
  /**
   * GET, HEAD, PUT and DELETE are retried as idempotent. A POST or PATCH is retried only when the caller marks it
   * idempotent (repeating it has the same effect as sending it once, e.g. a bulk delete).
   */
  idempotent?: boolean;
  signal?: AbortSignal;
  /** Writes with the same key are serialized and spaced by `writeIntervalMs`. */
  writeKey?: string;
}

export class RestResponse {
  constructor(
    readonly status: number,
    /** Lower-case names; repeated headers joined with ", ". */
    readonly headers: Readonly<Record<string, string>>,
    readonly body: Buffer,
    /** Attempts it took, the first one included. */
    readonly attempts: number,
    /** What the server asked for in Retry-After, in milliseconds, when it did. */
    readonly retryAfterMs: number | undefined,
    private readonly describe: string,
  ) {}

  get ok(): boolean {
    return this.status >= 200 && this.status < 300;
  }

  header(name: string): string | undefined {
    return this.headers[name.toLowerCase()];
  }

  text(): string {
    return this.body.toString('utf8');
  }

  /** The body as JSON; a body that is not JSON is an 'unavailable' KvError (the server is not the API we expect). */
  json<T = unknown>(): T {
    try {
      return JSON.parse(this.text()) as T;
    } catch (error) {
      const sample = this.text().slice(0, 200).replace(/\s+/g, ' ');
      throw new KvError('unavailable', `${this.describe} answered HTTP ${this.status} with a body that is not JSON: ${JSON.stringify(sample)}`, {
        status: this.status,
        cause: error,
      });
    }
  }
}

const IDEMPOTENT_METHODS: ReadonlySet<HttpMethod> = new Set(['GET', 'HEAD', 'PUT', 'DELETE']);

/** Statuses that say "try again later": timeouts, rate limits and server trouble (not 501/505, which will not change). */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || (status >= 500 && status <= 599 && status !== 501 && status !== 505);
}

/** Failures where the request never reached the server, so even a non-idempotent request may be sent again. */
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'UND_ERR_CONNECT_TIMEOUT', 'EAI_AGAIN']);
/** Failures after the request may have been received: retried only when repeating it is harmless. */
const MAYBE_SENT_CODES = new Set([
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CLOSED',
]);

function errorCode(error: unknown): string | undefined {
  for (let current: unknown = error, depth = 0; current && depth < 4; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

function readableNetworkError(error: unknown): string {
  switch (errorCode(error)) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ECONNRESET':
    case 'UND_ERR_SOCKET':
    case 'EPIPE':
      return 'the connection was dropped';
    case 'UND_ERR_CONNECT_TIMEOUT':
      return 'timed out connecting';
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'ETIMEDOUT':
      return 'timed out waiting for the response';
    case 'UND_ERR_BODY_TIMEOUT':
      return 'timed out while receiving the response';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'the host name could not be resolved';
    default:
      return error instanceof Error ? error.message : String(error);
  }
}

/** Query values that look like credentials are replaced before a URL is logged. */
const SECRET_QUERY = /token|secret|password|passwd|signature|auth|api[-_]?key/i;

export function redactUrl(url: URL): string {
  const copy = new URL(url.href);
  for (const name of [...copy.searchParams.keys()]) {
    if (SECRET_QUERY.test(name)) copy.searchParams.set(name, 'REDACTED');
  }
  copy.username = '';
  copy.password = '';
  return copy.href;
}

const SECRET_HEADERS = /^(authorization|proxy-authorization|x-auth-key|x-auth-email|cookie|x-api-key)$/i;

/** Values of credential headers, with and without their scheme word, to redact wherever they appear. */
function secretValues(headers: Record<string, string> | undefined): string[] {
  return Object.entries(headers ?? {})
    .filter(([name]) => SECRET_HEADERS.test(name))
    .flatMap(([, value]) => [value, value.replace(/^(bearer|basic)\s+/i, '')]);
}

function lowerCaseNames(headers: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) out[name.toLowerCase()] = value;
  return out;
}

/**
 * undici, loaded when a client sends its first request: it is most of the bundle, and evaluating it costs tens of
 * milliseconds, which activation (no network needed) should not pay. esbuild keeps a bundled `require` lazy.
 */
function loadUndici(): typeof import('undici') {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('undici') as typeof import('undici');
}

function flattenHeaders(headers: Dispatcher.ResponseData['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) out[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

export class RestClient {
  readonly baseUrl: URL;
  readonly provider: string;
  private readonly headers: Record<string, string>;
  private readonly secrets: string[];
  private readonly logger: Logger;
  private readonly timeouts: RestTimeouts;
  private readonly policy: RetryPolicy;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly semaphore: Semaphore;
  private readonly spacer?: KeyWriteSpacer;
  /** The caller's dispatcher, or this client's own Agent once its first request needs it. */
  private dispatcher?: Dispatcher;
  private readonly ownsDispatcher: boolean;
  private readonly maxConcurrent: number;
  private closed = false;

  /** Throws an 'invalid' KvError when the base URL breaks the transport rule, so nothing is ever sent to it. */
  constructor(options: RestClientOptions) {
    this.baseUrl = parseBaseUrl(options.baseUrl);
    this.provider = options.provider ?? this.baseUrl.host;
    this.headers = { ...options.headers };
    this.secrets = secretValues(this.headers);
    this.logger = options.logger ?? silentLogger;
    this.timeouts = { ...DEFAULT_TIMEOUTS, ...options.timeouts };
    this.policy = { ...DEFAULT_RETRY_POLICY, ...options.retry };
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
    this.maxConcurrent = options.maxConcurrentRequests ?? 8;
    this.semaphore = new Semaphore(this.maxConcurrent);
    if (options.writeIntervalMs && options.writeIntervalMs > 0) this.spacer = new KeyWriteSpacer(options.writeIntervalMs, this.clock);
    this.ownsDispatcher = options.dispatcher === undefined;
    this.dispatcher = options.dispatcher;
  }

  /** Requests in flight right now (for tests of the concurrency bound). */
  get inFlight(): number {
    return this.semaphore.inUse;
  }

  /** Sends a request, retrying as the policy allows. Resolves with the final response whatever its status. */
  async request(request: RestRequest): Promise<RestResponse> {
    if (this.closed) throw new KvError('unavailable', `The ${this.provider} connection is closed.`);
    if (request.signal?.aborted) throw cancelledError(request.signal);
    const url = joinUrl(this.baseUrl, request.path, request.query);
    if (request.writeKey !== undefined && this.spacer) {
      return this.spacer.run(request.writeKey, () => this.send(request, url), request.signal);
    }
    return this.send(request, url);
  }

  /** Closes the pool (when this client made it); requests in flight finish first. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.ownsDispatcher) await this.dispatcher?.close();
  }

  private pool(): Dispatcher {
    // A request that waited for a slot while close() ran must not open a pool nobody will close.
    if (this.closed && this.ownsDispatcher) throw new KvError('unavailable', `The ${this.provider} connection is closed.`);
    this.dispatcher ??= new (loadUndici().Agent)({
      connections: this.maxConcurrent,
      keepAliveTimeout: 30_000,
      connect: { timeout: this.timeouts.connectMs },
      headersTimeout: this.timeouts.headersMs,
      bodyTimeout: this.timeouts.bodyMs,
    });
    return this.dispatcher;
  }

  private async send(request: RestRequest, url: URL): Promise<RestResponse> {
    const retryable = request.idempotent ?? IDEMPOTENT_METHODS.has(request.method);
    // Lower-case names, so a request's header replaces the client's instead of being sent beside it.
    const headers: Record<string, string> = { ...lowerCaseNames(this.headers), ...lowerCaseNames(request.headers) };
    let body: Uint8Array | string | undefined = request.body;
    if (request.json !== undefined) {
      body = JSON.stringify(request.json);
      headers['content-type'] ??= 'application/json';
    }
    const secrets = [...this.secrets, ...secretValues(request.headers)];
    const log = (level: LogLevel, message: string): void => this.logger.log(level, redact(message, secrets));
    const target = redact(`${request.method} ${redactUrl(url)}`, secrets);
    return retryLoop((attempt) => this.attempt(request, url, headers, body, retryable, attempt, target, log), {
      policy: this.policy,
      clock: this.clock,
      random: this.random,
      signal: request.signal,
      onRetry: ({ attempt, delayMs, reason }) =>
        log('warn', `${this.provider} ${target}: ${reason} (attempt ${attempt}); retrying in ${delayMs} ms`),
    });
  }

  private async attempt(
    request: RestRequest,
    url: URL,
    headers: Record<string, string>,
    body: Uint8Array | string | undefined,
    retryable: boolean,
    attempt: number,
    target: string,
    log: (level: LogLevel, message: string) => void,
  ): Promise<AttemptOutcome<RestResponse>> {
    const release = await this.semaphore.acquire(request.signal);
    const startedAt = this.clock.now();
    try {
      const response = await this.pool().request({
        origin: url.origin,
        path: url.pathname + url.search,
        method: request.method,
        headers,
        body,
        signal: request.signal,
        headersTimeout: this.timeouts.headersMs,
        bodyTimeout: this.timeouts.bodyMs,
      });
      const bytes = Buffer.from(await response.body.arrayBuffer());
      const responseHeaders = flattenHeaders(response.headers);
      const retryAfterMs = parseRetryAfter(responseHeaders['retry-after'], this.clock.now());
      const result = new RestResponse(response.statusCode, responseHeaders, bytes, attempt, retryAfterMs, `${this.provider} ${target}`);
      const ms = this.clock.now() - startedAt;
      // A 404 is an everyday answer (a missing key), not news.
      log(result.ok || result.status === 404 ? 'debug' : 'info', `${this.provider} ${target} → ${result.status} in ${ms} ms (attempt ${attempt})`);
      if (retryable && isRetryableStatus(result.status)) {
        return { kind: 'retry-result', value: result, retryAfterMs, reason: `HTTP ${result.status}` };
      }
      return { kind: 'done', value: result };
    } catch (error) {
      if (request.signal?.aborted) {
        log('info', `${this.provider} ${target}: cancelled (attempt ${attempt})`);
        throw cancelledError(request.signal);
      }
      if (error instanceof KvError) throw error;
      const code = errorCode(error);
      const reason = readableNetworkError(error);
      const ms = this.clock.now() - startedAt;
      log('warn', `${this.provider} ${target}: ${reason} after ${ms} ms (attempt ${attempt})`);
      const unavailable = new KvError('unavailable', `${this.provider} ${target} failed: ${reason} (after ${attempt} attempt${attempt === 1 ? '' : 's'}).`, {
        cause: error,
      });
      const mayRetry = code !== undefined && (NOT_SENT_CODES.has(code) || (retryable && MAYBE_SENT_CODES.has(code)));
      if (mayRetry) return { kind: 'retry-error', error: unavailable, reason };
      throw unavailable;
    } finally {
      release();
    }
  }
}
