// A Cloudflare-dialect HTTP server over any KvStore: the Workers KV REST API's paths, envelopes, status codes,
// error codes and limits (shared notes kv-rest-apis.md §1), for the provider's tests and for wrangler, curl or
// scripts that should use a local store. Validation runs here against CLOUDFLARE_LIMITS, whatever the store's own
// limits, so the server answers as Cloudflare would.

import { createHash, timingSafeEqual } from 'node:crypto';
import { KvError, describeError } from '../core/errors';
import { CLOUDFLARE_LIMITS } from '../core/limits';
import type { BulkPutEntry, KvStore, Namespace } from '../core/store';
import {
  validateKey,
  validateListLimit,
  validateNamespaceTitle,
  validatePut,
} from '../core/validation';
import {
  SharedFailureError,
  jsonReply,
  listenDialect,
  Router,
  type Dialect,
  type ListenOptions,
  type Reply,
  type Route,
  type RoutedRequest,
  type RunningServer,
} from './http';
import { listAllNamespaces } from './namespaces';

/** Account id the server answers to unless told otherwise (wrangler: CLOUDFLARE_ACCOUNT_ID=local). */
export const DEFAULT_ACCOUNT_ID = 'local';

export interface CloudflareServerOptions extends ListenOptions {
  store: KvStore;
  /** API token accepted as `Authorization: Bearer <token>`. */
  token?: string;
  /** Email and global API key accepted as X-Auth-Email / X-Auth-Key. */
  email?: string;
  apiKey?: string;
  /** The only account id the KV routes accept. Default DEFAULT_ACCOUNT_ID. */
  accountId?: string;
  /** Answer a second write to the same key within a second with 429, as Cloudflare does. Default off. */
  enforceWriteRate?: boolean;
}

export interface CloudflareServer extends RunningServer {
  /** `${url}/client/v4` — what CLOUDFLARE_API_BASE_URL and the provider's base URL take. */
  readonly baseUrl: string;
  readonly accountId: string;
}

interface ErrorItem {
  code: number;
  message: string;
  error_chain?: { code: number; message: string }[];
}

/** An error already in Cloudflare's terms: HTTP status plus KV/API error code. */
export class CloudflareApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
    readonly headers: Record<string, string> = {},
    readonly chain?: { code: number; message: string }[],
  ) {
    super(message);
  }
}

const KV_PREFIX = '/client/v4/accounts/:account/storage/kv/namespaces';
const JSON_BODY_MAX = 64 * 1024;
/** A value's part plus multipart framing and a metadata part. */
const VALUE_BODY_MAX = CLOUDFLARE_LIMITS.maxValueBytes + 64 * 1024;
const BULK_WRITE_MAX_PAIRS = CLOUDFLARE_LIMITS.bulk!.maxPairs;
const BULK_WRITE_BODY_MAX = CLOUDFLARE_LIMITS.bulk!.maxBytes;
/** 10,000 keys of up to 512 bytes, JSON-escaped. */
const BULK_DELETE_BODY_MAX = 24 * 1024 * 1024;
const BULK_GET_MAX_KEYS = 100;
const OCTET_STREAM = 'application/octet-stream';

function success(result: unknown, resultInfo?: unknown, messages: unknown[] = []): Reply {
  const payload: Record<string, unknown> = { success: true, errors: [], messages, result };
  if (resultInfo !== undefined) payload.result_info = resultInfo;
  return jsonReply(200, payload);
}

function failure(status: number, errors: ErrorItem[], headers: Record<string, string> = {}): Reply {
  return jsonReply(status, { success: false, errors, messages: [], result: null }, headers);
}

function toWireNamespace(namespace: Namespace): { id: string; title: string; supports_url_encoding: boolean } {
  return { id: namespace.id, title: namespace.title, supports_url_encoding: true };
}

/** Maps a store error to Cloudflare's status and code (notes §1.4), naming the operation as Cloudflare does. */
export function cloudflareErrorFor(error: KvError, operation: string): CloudflareApiError {
  const { limit, actual } = error;
  switch (error.rule) {
    case 'key.empty':
    case 'key.forbidden':
      return new CloudflareApiError(400, 10042, `${operation}: ${error.message}`);
    case 'key.maxBytes':
      return new CloudflareApiError(414, 10030, `UTF-8 encoded length of ${actual} exceeds key length limit of ${limit}.`);
    case 'value.maxBytes':
      return new CloudflareApiError(413, 10024, `Value length of ${actual} exceeds limit of ${limit}.`);
    case 'metadata.maxBytes':
      return new CloudflareApiError(413, 10047, `Metadata length of ${actual} exceeds limit of ${limit}.`);
    case 'metadata.json':
      return new CloudflareApiError(400, 10047, `${operation}: invalid metadata: ${error.message}`);
    case 'expiration.absolute':
      return new CloudflareApiError(400, 10033, `${operation}: invalid expiration: ${error.message}`);
    case 'expiration.ttl':
      return new CloudflareApiError(400, 10034, `${operation}: invalid expiration_ttl: ${error.message}`);
    case 'list.limit':
      return new CloudflareApiError(400, 10028, `${operation}: invalid key limit: ${error.message}`);
    case 'list.cursor':
      return new CloudflareApiError(400, 10041, `${operation}: invalid cursor: ${error.message}`);
    case 'namespace.empty':
      return new CloudflareApiError(400, 10019, `${operation}: missing title`);
  }
  switch (error.kind) {
    case 'not-found':
      return new CloudflareApiError(404, 10013, `${operation}: 'namespace not found'`);
    case 'conflict':
      return new CloudflareApiError(400, 10014, `${operation}: 'a namespace with this account ID and title already exists'`);
    case 'invalid':
    case 'too-large':
      return new CloudflareApiError(400, 10001, `${operation}: ${error.message}`);
    case 'rate-limited': {
      const seconds = Math.max(1, Math.ceil((error.retryAfterMs ?? 1000) / 1000));
      return new CloudflareApiError(429, 10022, `${operation}: too many requests`, { 'retry-after': String(seconds) });
    }
    case 'unauthorized':
      return new CloudflareApiError(403, 10000, 'Authentication error');
    case 'unavailable':
      return new CloudflareApiError(503, 10001, `${operation}: the backing store is unavailable: ${error.message}`);
    case 'cancelled':
      return new CloudflareApiError(500, 10001, `${operation}: cancelled`);
  }
}

/** Runs a store call (or validation) and turns its KvError into Cloudflare's terms. */
async function kv<T>(operation: string, work: () => T | Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof KvError) throw cloudflareErrorFor(error, operation);
    throw error;
  }
}

function badRequest(message: string, code = 10001): CloudflareApiError {
  return new CloudflareApiError(400, code, message);
}

/** Whole non-negative seconds from a query parameter; undefined when absent. */
function secondsParam(request: RoutedRequest, name: string, code: number): number | undefined {
  const text = request.query.get(name);
  if (text === null || text === '') return undefined;
  if (!/^\d+$/.test(text)) throw badRequest(`Invalid ${name} of ${text}. Please specify integer greater than the current number of seconds since the UNIX epoch.`, code);
  return Number(text);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function sameSecret(given: string, expected: string | undefined): boolean {
  if (expected === undefined) return false;
  // Compare digests so the comparison takes the same time whatever the lengths.
  const digest = (text: string) => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

function header(request: RoutedRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

class CloudflareDialect implements Dialect {
  readonly name = 'Cloudflare';
  readonly router = new Router();
  private readonly lastWriteMs = new Map<string, number>();

  constructor(private readonly options: CloudflareServerOptions & { accountId: string }) {
    const r = this.router;
    r.add('GET', '/client/v4/user/tokens/verify', async () => this.verifyToken());
    r.add('GET', '/client/v4/accounts/:account/tokens/verify', async () => this.verifyToken());
    // wrangler reads the user after a failed call, to explain the failure.
    r.add('GET', '/client/v4/user', async () => this.user());
    r.add('GET', '/client/v4/accounts', async (q) => this.listAccounts(q));
    r.add('GET', '/client/v4/memberships', async (q) => this.listMemberships(q));

    r.add('GET', KV_PREFIX, (q) => this.listNamespaces(q));
    r.add('POST', KV_PREFIX, (q) => this.createNamespace(q));
    r.add('GET', `${KV_PREFIX}/:namespace`, (q) => this.getNamespace(q));
    r.add('PUT', `${KV_PREFIX}/:namespace`, (q) => this.renameNamespace(q));
    r.add('DELETE', `${KV_PREFIX}/:namespace`, (q) => this.deleteNamespace(q));
    r.add('GET', `${KV_PREFIX}/:namespace/keys`, (q) => this.listKeys(q));
    r.add('GET', `${KV_PREFIX}/:namespace/values/:key`, (q) => this.readValue(q));
    r.add('PUT', `${KV_PREFIX}/:namespace/values/:key`, (q) => this.writeValue(q));
    r.add('DELETE', `${KV_PREFIX}/:namespace/values/:key`, (q) => this.deleteValue(q));
    r.add('GET', `${KV_PREFIX}/:namespace/metadata/:key`, (q) => this.readMetadata(q));
    r.add('PUT', `${KV_PREFIX}/:namespace/bulk`, (q) => this.bulkWrite(q));
    r.add('POST', `${KV_PREFIX}/:namespace/bulk/delete`, (q) => this.bulkDelete(q));
    // Deprecated, and still what wrangler sends for `kv bulk delete`.
    r.add('DELETE', `${KV_PREFIX}/:namespace/bulk`, (q) => this.bulkDelete(q));
    r.add('POST', `${KV_PREFIX}/:namespace/bulk/get`, (q) => this.bulkGet(q));
  }

  private get store(): KvStore {
    return this.options.store;
  }

  // ---------------------------------------------------------------- authentication and errors

  authenticate(request: RoutedRequest, route: Route): void {
    const isVerify = route.pattern.endsWith('/tokens/verify');
    const authorization = header(request, 'authorization');
    const authKey = header(request, 'x-auth-key');
    const authEmail = header(request, 'x-auth-email');
    if (authorization !== undefined) {
      const bearer = /^Bearer ([\x21-\x7e]+)$/.exec(authorization.trim());
      if (!bearer) {
        throw new CloudflareApiError(400, 6003, 'Invalid request headers', {}, [
          { code: 6111, message: 'Invalid format for Authorization header' },
        ]);
      }
      if (!sameSecret(bearer[1], this.options.token)) {
        if (isVerify) throw new CloudflareApiError(401, 1000, 'Invalid API Token');
        throw new CloudflareApiError(403, 10000, 'Authentication error');
      }
    } else if (authKey !== undefined || authEmail !== undefined) {
      if (!authKey || /\s/.test(authKey)) {
        throw new CloudflareApiError(400, 6003, 'Invalid request headers', {}, [
          { code: 6103, message: 'Invalid format for X-Auth-Key header' },
        ]);
      }
      if (!authEmail || !authEmail.includes('@')) {
        throw new CloudflareApiError(400, 6003, 'Invalid request headers', {}, [
          { code: 6102, message: 'Invalid format for X-Auth-Email header' },
        ]);
      }
      const matches = sameSecret(authKey, this.options.apiKey) && sameSecret(authEmail, this.options.email);
      if (!matches) throw new CloudflareApiError(403, 10000, 'Authentication error');
      // A global key is not an API token: there is nothing for tokens/verify to verify.
      if (isVerify) throw new CloudflareApiError(401, 1000, 'Invalid API Token');
    } else {
      throw new CloudflareApiError(403, 10000, 'Authentication error');
    }
    const account = request.params.account;
    if (account !== undefined && account !== this.options.accountId) {
      throw new CloudflareApiError(403, 10000, 'Authentication error');
    }
  }

  errorReply(error: unknown): Reply {
    if (error instanceof CloudflareApiError) {
      const item: ErrorItem = { code: error.code, message: error.message };
      if (error.chain) item.error_chain = error.chain;
      return failure(error.status, [item], error.headers);
    }
    if (error instanceof KvError) return this.errorReply(cloudflareErrorFor(error, 'request'));
    if (error instanceof SharedFailureError) {
      const f = error.failure;
      switch (f.kind) {
        case 'no-route':
          return failure(404, [{ code: 7003, message: 'No route for the URI' }]);
        case 'method-not-allowed':
          return failure(405, [{ code: 7001, message: 'Method not allowed' }], { allow: f.allowed.join(', ') });
        case 'body-too-large':
          return failure(413, [{ code: 10024, message: `payload too large: the request body of ${f.actual} bytes exceeds the limit of ${f.limit}.` }]);
        case 'bad-json':
          return failure(400, [{ code: 10001, message: `Could not parse the request body as JSON: ${f.detail}` }]);
        case 'injected': {
          const retry = { 'retry-after': String(f.retryAfterSeconds) };
          if (f.status === 429) return failure(429, [{ code: 10022, message: 'Too many requests' }], retry);
          if (f.status === 503) return failure(503, [{ code: 10001, message: 'Service unavailable' }], retry);
          return failure(500, [{ code: 10001, message: 'Internal server error' }]);
        }
        case 'internal':
          return failure(500, [{ code: 10001, message: `Internal server error: ${describeError(f.error)}` }]);
      }
    }
    return failure(500, [{ code: 10001, message: `Internal server error: ${describeError(error)}` }]);
  }

  // ---------------------------------------------------------------- token and account

  private verifyToken(): Reply {
    // A stable id derived from the token, never the token itself.
    const id = createHash('sha256').update(this.options.token ?? '').digest('hex').slice(0, 32);
    return success({ id, status: 'active' }, undefined, [{ code: 10000, message: 'This API Token is valid and active', type: null }]);
  }

  private user(): Reply {
    const id = createHash('sha256').update(`user:${this.options.accountId}`).digest('hex').slice(0, 32);
    return success({ id, email: this.options.email ?? 'local@kv-explorer.invalid', suspended: false, two_factor_authentication_enabled: false });
  }

  private account(): { id: string; name: string; type: string; settings: Record<string, unknown>; created_on: string } {
    return { id: this.options.accountId, name: 'KV Explorer local account', type: 'standard', settings: {}, created_on: '2024-01-01T00:00:00Z' };
  }

  private listAccounts(request: RoutedRequest): Reply {
    const { page, perPage } = this.paging(request, 20, 50);
    const all = [this.account()];
    const items = all.slice((page - 1) * perPage, page * perPage);
    return success(items, { page, per_page: perPage, count: items.length, total_count: all.length, total_pages: 1 });
  }

  private listMemberships(request: RoutedRequest): Reply {
    const { page, perPage } = this.paging(request, 20, 50);
    const { id, name } = this.account();
    const all = [{ id: `membership-${id}`, status: 'accepted', account: { id, name }, roles: ['Administrator'], permissions: {} }];
    const items = all.slice((page - 1) * perPage, page * perPage);
    return success(items, { page, per_page: perPage, count: items.length, total_count: all.length, total_pages: 1 });
  }

  private paging(request: RoutedRequest, defaultPerPage: number, maxPerPage: number): { page: number; perPage: number } {
    const number = (name: string, fallback: number, max: number): number => {
      const text = request.query.get(name);
      if (text === null || text === '') return fallback;
      const value = Number(text);
      if (!Number.isInteger(value) || value < 1 || value > max) throw badRequest(`Invalid ${name} of ${text}: a whole number from 1 to ${max}.`);
      return value;
    };
    return { page: number('page', 1, Number.MAX_SAFE_INTEGER), perPage: number('per_page', defaultPerPage, maxPerPage) };
  }

  // ---------------------------------------------------------------- namespaces

  private async listNamespaces(request: RoutedRequest): Promise<Reply> {
    const { page, perPage } = this.paging(request, 20, 1000);
    const order = request.query.get('order');
    const direction = request.query.get('direction');
    if (order !== null && order !== 'id' && order !== 'title') throw badRequest(`Invalid order of ${order}: id or title.`, 10043);
    if (direction !== null && direction !== 'asc' && direction !== 'desc') throw badRequest(`Invalid direction of ${direction}: asc or desc.`, 10044);
    const all = await kv('list namespaces', () => listAllNamespaces(this.store));
    if (order !== null || direction !== null) {
      const field = order ?? 'id';
      const sign = direction === 'desc' ? -1 : 1;
      all.sort((a, b) => sign * (a[field] < b[field] ? -1 : a[field] > b[field] ? 1 : 0));
    }
    const items = all.slice((page - 1) * perPage, page * perPage).map(toWireNamespace);
    return success(items, { count: items.length, page, per_page: perPage, total_count: all.length });
  }

  private async titleFrom(request: RoutedRequest, operation: string): Promise<string> {
    const body = await request.json(JSON_BODY_MAX);
    const title = isPlainObject(body) ? body.title : undefined;
    if (typeof title !== 'string' || title === '') throw badRequest(`${operation}: missing title`, 10019);
    await kv(operation, () => validateNamespaceTitle(CLOUDFLARE_LIMITS, title));
    return title;
  }

  private async createNamespace(request: RoutedRequest): Promise<Reply> {
    const title = await this.titleFrom(request, 'create namespace');
    const created = await kv('create namespace', () => this.store.createNamespace(title));
    return success(toWireNamespace(created));
  }

  private async findNamespace(id: string, operation: string): Promise<Namespace> {
    const all = await kv(operation, () => listAllNamespaces(this.store));
    const found = all.find((namespace) => namespace.id === id);
    if (!found) throw new CloudflareApiError(404, 10013, `${operation}: 'namespace not found'`);
    return found;
  }

  private async getNamespace(request: RoutedRequest): Promise<Reply> {
    return success(toWireNamespace(await this.findNamespace(request.params.namespace, 'get namespace')));
  }

  private async renameNamespace(request: RoutedRequest): Promise<Reply> {
    const id = request.params.namespace;
    const title = await this.titleFrom(request, 'rename namespace');
    await kv('rename namespace', () => this.store.renameNamespace(id, title));
    return success(toWireNamespace({ id, title }));
  }

  private async deleteNamespace(request: RoutedRequest): Promise<Reply> {
    await kv('delete namespace', () => this.store.deleteNamespace(request.params.namespace));
    return success(null);
  }

  // ---------------------------------------------------------------- keys and values

  private async listKeys(request: RoutedRequest): Promise<Reply> {
    const limitText = request.query.get('limit');
    const limit = await kv('list keys', () =>
      validateListLimit(CLOUDFLARE_LIMITS, limitText === null || limitText === '' ? undefined : Number(limitText)),
    );
    const cursor = request.query.get('cursor') || undefined;
    const prefix = request.query.get('prefix') ?? undefined;
    const page = await kv('list keys', () => this.store.list(request.params.namespace, { prefix, cursor, limit }));
    const result = page.keys.map((key) => {
      const item: { name: string; expiration?: number; metadata?: unknown } = { name: key.name };
      if (key.expiration !== undefined) item.expiration = key.expiration;
      if (key.metadata !== undefined) item.metadata = key.metadata;
      return item;
    });
    return success(result, { count: result.length, cursor: page.complete ? '' : page.cursor ?? '' });
  }

  private async readValue(request: RoutedRequest): Promise<Reply> {
    const { namespace, key } = request.params;
    await kv('get', () => validateKey(CLOUDFLARE_LIMITS, key));
    const entry = await kv('get', () => this.store.get(namespace, key));
    if (!entry) throw new CloudflareApiError(404, 10009, "get: 'key not found'");
    const headers: Record<string, string> = { 'content-type': OCTET_STREAM };
    if (entry.expiration !== undefined) headers.expiration = String(entry.expiration);
    return { status: 200, headers, body: entry.value };
  }

  private async readMetadata(request: RoutedRequest): Promise<Reply> {
    const { namespace, key } = request.params;
    await kv('metadata', () => validateKey(CLOUDFLARE_LIMITS, key));
    const entry = await kv('metadata', () => this.store.get(namespace, key));
    if (!entry) throw new CloudflareApiError(404, 10009, "metadata: 'key not found'");
    return success(entry.metadata ?? null);
  }

  private async writeValue(request: RoutedRequest): Promise<Reply> {
    const { namespace, key } = request.params;
    await kv('put', () => validateKey(CLOUDFLARE_LIMITS, key));
    const expiration = secondsParam(request, 'expiration', 10033);
    const expirationTtl = secondsParam(request, 'expiration_ttl', 10034);
    let body: Buffer;
    try {
      body = await request.body(VALUE_BODY_MAX);
    } catch (error) {
      if (error instanceof SharedFailureError && error.failure.kind === 'body-too-large') {
        throw new CloudflareApiError(413, 10024, `Value length of ${error.failure.actual} exceeds limit of ${CLOUDFLARE_LIMITS.maxValueBytes}.`);
      }
      throw error;
    }
    const contentType = header(request, 'content-type') ?? '';
    const { value, metadata } = /^multipart\/form-data/i.test(contentType)
      ? await parseMultipartValue(body, contentType)
      : { value: new Uint8Array(body.buffer, body.byteOffset, body.byteLength), metadata: undefined };
    const options = { expiration, expirationTtl, metadata };
    await kv('put', () => validatePut(CLOUDFLARE_LIMITS, key, value, options));
    this.checkWriteRate(namespace, key);
    await kv('put', () => this.store.put(namespace, key, value, options));
    return success({});
  }

  private async deleteValue(request: RoutedRequest): Promise<Reply> {
    const { namespace, key } = request.params;
    await kv('delete', () => validateKey(CLOUDFLARE_LIMITS, key));
    this.checkWriteRate(namespace, key);
    await kv('delete', () => this.store.delete(namespace, key));
    return success({});
  }

  /** Cloudflare allows one write per second to a key; only enforced when asked, so tests can check clients space writes. */
  private checkWriteRate(namespace: string, key: string): void {
    if (!this.options.enforceWriteRate) return;
    const now = Date.now();
    const id = `${namespace}\u0000${key}`;
    const last = this.lastWriteMs.get(id);
    if (last !== undefined && now - last < 1000) {
      throw new CloudflareApiError(429, 10022, 'put: too many requests: at most one write per second to the same key', { 'retry-after': '1' });
    }
    this.lastWriteMs.set(id, now);
    if (this.lastWriteMs.size > 10_000) {
      for (const [other, at] of this.lastWriteMs) if (now - at >= 1000) this.lastWriteMs.delete(other);
    }
  }

  // ---------------------------------------------------------------- bulk

  private async bulkWrite(request: RoutedRequest): Promise<Reply> {
    const body = await request.json(BULK_WRITE_BODY_MAX);
    if (!Array.isArray(body)) throw badRequest('bulk write: the body must be a JSON array of key-value pairs.');
    if (body.length > BULK_WRITE_MAX_PAIRS) {
      throw badRequest(`bulk write: ${body.length} pairs exceed the limit of ${BULK_WRITE_MAX_PAIRS} per request.`);
    }
    const entries = body.map((item, index) => parseBulkPair(item, index));
    for (const [index, entry] of entries.entries()) {
      await kv(`bulk write #${index} (${JSON.stringify(entry.key)})`, () => validatePut(CLOUDFLARE_LIMITS, entry.key, entry.value, entry));
    }
    const result = await kv('bulk write', () => this.store.bulkPut(request.params.namespace, entries));
    return success({ successful_key_count: result.succeeded.length, unsuccessful_keys: result.failed.map((failed) => failed.key) });
  }

  private async bulkDelete(request: RoutedRequest): Promise<Reply> {
    const body = await request.json(BULK_DELETE_BODY_MAX);
    if (!Array.isArray(body) || !body.every((item): item is string => typeof item === 'string')) {
      throw badRequest('bulk delete: the body must be a JSON array of key names.');
    }
    if (body.length > BULK_WRITE_MAX_PAIRS) {
      throw badRequest(`bulk delete: ${body.length} keys exceed the limit of ${BULK_WRITE_MAX_PAIRS} per request.`);
    }
    for (const [index, key] of body.entries()) {
      await kv(`bulk delete #${index} (${JSON.stringify(key)})`, () => validateKey(CLOUDFLARE_LIMITS, key));
    }
    const result = await kv('bulk delete', () => this.store.bulkDelete(request.params.namespace, body));
    return success({ successful_key_count: result.succeeded.length, unsuccessful_keys: result.failed.map((failed) => failed.key) });
  }

  private async bulkGet(request: RoutedRequest): Promise<Reply> {
    const body = await request.json(JSON_BODY_MAX * 16);
    if (!isPlainObject(body) || !Array.isArray(body.keys) || !body.keys.every((key): key is string => typeof key === 'string')) {
      throw badRequest('bulk get: the body must be {"keys": [key names]}.');
    }
    const keys = body.keys;
    if (keys.length === 0 || keys.length > BULK_GET_MAX_KEYS) {
      throw badRequest(`bulk get: ask for 1 to ${BULK_GET_MAX_KEYS} keys; got ${keys.length}.`);
    }
    const type = body.type ?? 'text';
    if (type !== 'text' && type !== 'json') throw badRequest(`bulk get: type must be "text" or "json"; got ${JSON.stringify(type)}.`);
    const withMetadata = body.withMetadata === true;
    const values: Record<string, unknown> = {};
    for (const key of keys) {
      await kv('bulk get', () => validateKey(CLOUDFLARE_LIMITS, key));
      const entry = await kv('bulk get', () => this.store.get(request.params.namespace, key));
      if (!entry) {
        values[key] = null;
        continue;
      }
      const text = Buffer.from(entry.value).toString('utf8');
      let value: unknown = text;
      if (type === 'json') {
        try {
          value = JSON.parse(text);
        } catch {
          throw badRequest(`bulk get: the value of ${JSON.stringify(key)} is not JSON.`);
        }
      }
      if (!withMetadata) {
        values[key] = value;
        continue;
      }
      const item: { value: unknown; metadata: unknown; expiration?: number } = { value, metadata: entry.metadata ?? null };
      if (entry.expiration !== undefined) item.expiration = entry.expiration;
      values[key] = item;
    }
    return success({ values });
  }
}

/** Parses a multipart write with the WHATWG FormData parser (undici's, global in Node). */
async function parseMultipartValue(body: Buffer, contentType: string): Promise<{ value: Uint8Array; metadata: unknown }> {
  let form: FormData;
  try {
    form = await new Request('http://127.0.0.1/', { method: 'PUT', headers: { 'content-type': contentType }, body: new Uint8Array(body) }).formData();
  } catch (error) {
    throw badRequest(`put: the multipart body could not be parsed: ${describeError(error)}`);
  }
  const valuePart = form.get('value');
  if (valuePart === null) throw badRequest('put: the multipart body has no "value" part.');
  const value = typeof valuePart === 'string' ? new TextEncoder().encode(valuePart) : new Uint8Array(await valuePart.arrayBuffer());
  const metadataPart = form.get('metadata');
  if (metadataPart === null) return { value, metadata: undefined };
  const metadataText = typeof metadataPart === 'string' ? metadataPart : await metadataPart.text();
  try {
    return { value, metadata: JSON.parse(metadataText) as unknown };
  } catch (error) {
    throw new CloudflareApiError(400, 10047, `put: invalid metadata: ${describeError(error)}`);
  }
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function parseBulkPair(item: unknown, index: number): BulkPutEntry {
  const where = `bulk write #${index}`;
  if (!isPlainObject(item)) throw badRequest(`${where}: each pair must be an object with "key" and "value".`);
  const { key, value, base64, expiration, expiration_ttl: expirationTtl, metadata } = item;
  if (typeof key !== 'string') throw badRequest(`${where}: "key" must be a string.`);
  if (typeof value !== 'string') throw badRequest(`${where} (${JSON.stringify(key)}): "value" must be a string.`);
  if (base64 !== undefined && typeof base64 !== 'boolean') throw badRequest(`${where} (${JSON.stringify(key)}): "base64" must be true or false.`);
  const seconds = (field: unknown, name: string, code: number): number | undefined => {
    if (field === undefined || field === null) return undefined;
    if (typeof field !== 'number' || !Number.isInteger(field)) throw badRequest(`${where} (${JSON.stringify(key)}): invalid ${name} of ${JSON.stringify(field)}.`, code);
    return field;
  };
  let bytes: Uint8Array | string = value;
  if (base64 === true) {
    const compact = value.replace(/\s+/g, '');
    if (!BASE64.test(compact) || compact.length % 4 === 1) throw badRequest(`${where} (${JSON.stringify(key)}): "value" is not valid base64.`);
    bytes = new Uint8Array(Buffer.from(compact, 'base64'));
  }
  return {
    key,
    value: bytes,
    expiration: seconds(expiration, 'expiration', 10033),
    expirationTtl: seconds(expirationTtl, 'expiration_ttl', 10034),
    metadata: metadata === null ? undefined : metadata,
  };
}

/** Starts a Cloudflare-dialect server on 127.0.0.1 over `store`. The caller keeps ownership of the store. */
export async function startCloudflareServer(options: CloudflareServerOptions): Promise<CloudflareServer> {
  if (!options.token && !(options.email && options.apiKey)) {
    throw new Error('The Cloudflare-dialect server needs a token, or an email and an API key, to accept requests.');
  }
  const accountId = options.accountId ?? DEFAULT_ACCOUNT_ID;
  const running = await listenDialect(new CloudflareDialect({ ...options, accountId }), options);
  return Object.assign(running, { baseUrl: `${running.url}/client/v4`, accountId });
}
