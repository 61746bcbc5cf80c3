// A Telnyx-dialect HTTP server over any KvStore (shared notes kv-rest-apis.md §2): `/v2/storage/kvs…` with
// page[number]/page[size] namespaces, cursor-paged keys, raw values stored with their Content-Type, `ttl_secs`,
// Bearer auth and `{errors:[{code,title,detail}]}` bodies. TELNYX_LIMITS are enforced here, because the backing
// store usually has Cloudflare-like limits.

import { createHash, timingSafeEqual } from 'node:crypto';
import { KvError, describeError } from '../core/errors';
import { TELNYX_LIMITS } from '../core/limits';
import type { KeyInfo, KvEntry, KvStore, Namespace } from '../core/store';
import { validateKey, validateNamespaceTitle } from '../core/validation';
import {
  SharedFailureError,
  jsonReply,
  listenDialect,
  Router,
  type Dialect,
  type ListenOptions,
  type Reply,
  type RoutedRequest,
  type RunningServer,
} from './http';
import { listAllNamespaces } from './namespaces';

export interface TelnyxServerOptions extends ListenOptions {
  store: KvStore;
  /** Accepted as `Authorization: Bearer <apiKey>`. */
  apiKey: string;
  /** How long a namespace created here stays `pending` before it is `provision_ok`. Default 0. */
  provisioningDelayMs?: number;
}

export interface TelnyxServer extends RunningServer {
  /** `${url}/v2` — the provider's base URL. */
  readonly baseUrl: string;
  /** The uuid this server shows for a store namespace id. */
  namespaceUuid(storeNamespaceId: string): string;
}

/**
 * Telnyx error codes. Only 10005 (not found) and 10015 (bad request, e.g. an invalid key) come from Telnyx's
 * documentation; the others are this server's choice and are only ever compared to themselves.
 */
export const TELNYX_CODES = {
  notFound: '10005',
  badRequest: '10015',
  unauthorized: '10009',
  conflict: '10017',
  tooManyRequests: '10011',
  unexpected: '10007',
} as const;

export class TelnyxApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly title: string,
    detail: string,
    readonly source?: { pointer?: string; parameter?: string },
    readonly headers: Record<string, string> = {},
  ) {
    super(detail);
  }
}

type NamespaceStatus = 'pending' | 'provision_ok' | 'deleting';

interface WireNamespace {
  id: string;
  name: string;
  record_type: 'storage_kv';
  status: NamespaceStatus;
  created_at: string;
  updated_at: string;
}

/** What this server keeps beside a value in the store's metadata (when the store has metadata). */
interface StoredTelnyxInfo {
  contentType: string;
  sizeBytes: number;
  updatedAt: string;
  /** Seconds since the epoch; Telnyx TTLs go down to 1 s, below the store's own minimum, so the server checks them. */
  expiresAt?: number;
}

const METADATA_FIELD = 'telnyx';
const DEFAULT_CONTENT_TYPE = 'application/octet-stream';
const MAX_CONTENT_TYPE_CHARS = 255;
const JSON_BODY_MAX = 64 * 1024;
const NAMESPACE_PAGE = { min: 1, max: 250, default: 20 };
const EPOCH = new Date(0).toISOString();
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const HEX32 = /^[0-9a-f]{32}$/;
/** Version 5, RFC variant: the shape uuidForStoreId gives non-hex store ids. */
const NAME_BASED_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

function badRequest(detail: string, parameter?: string): TelnyxApiError {
  return new TelnyxApiError(400, TELNYX_CODES.badRequest, 'Bad Request', detail, parameter ? { parameter } : undefined);
}

function notFound(detail: string): TelnyxApiError {
  return new TelnyxApiError(404, TELNYX_CODES.notFound, 'Resource not found', detail);
}

/** Maps a store error to Telnyx's statuses (issue 5's error mapping, read in reverse). */
export function telnyxErrorFor(error: KvError): TelnyxApiError {
  const rule = error.rule ?? '';
  if (rule.startsWith('key.')) return new TelnyxApiError(400, TELNYX_CODES.badRequest, 'Invalid key', error.message, { pointer: '/key' });
  if (rule === 'value.maxBytes') return new TelnyxApiError(413, TELNYX_CODES.badRequest, 'Payload Too Large', error.message);
  if (rule.startsWith('expiration.')) return new TelnyxApiError(422, TELNYX_CODES.badRequest, 'Invalid ttl_secs', error.message, { parameter: 'ttl_secs' });
  if (rule.startsWith('namespace.')) return new TelnyxApiError(400, TELNYX_CODES.badRequest, 'Invalid name', error.message, { pointer: '/name' });
  switch (error.kind) {
    case 'not-found':
      return notFound(error.message);
    case 'conflict':
      return new TelnyxApiError(409, TELNYX_CODES.conflict, 'Conflict', error.message);
    case 'invalid':
    case 'too-large':
      return badRequest(error.message);
    case 'rate-limited': {
      const seconds = Math.max(1, Math.ceil((error.retryAfterMs ?? 1000) / 1000));
      return new TelnyxApiError(429, TELNYX_CODES.tooManyRequests, 'Too many requests', error.message, undefined, { 'retry-after': String(seconds) });
    }
    case 'unauthorized':
      return new TelnyxApiError(401, TELNYX_CODES.unauthorized, 'Authentication failed', error.message);
    case 'unavailable':
      return new TelnyxApiError(503, TELNYX_CODES.unexpected, 'Service unavailable', error.message);
    case 'cancelled':
      return new TelnyxApiError(500, TELNYX_CODES.unexpected, 'Unexpected error', error.message);
  }
}

async function kv<T>(work: () => T | Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof KvError) throw telnyxErrorFor(error);
    throw error;
  }
}

function errorBody(status: number, code: string, title: string, detail: string, extra: Partial<Pick<TelnyxApiError, 'source'>> = {}, headers: Record<string, string> = {}): Reply {
  const item: Record<string, unknown> = { code, title, detail };
  if (extra.source) item.source = extra.source;
  return jsonReply(status, { errors: [item] }, headers);
}

/** A store id shown as a uuid: 32 hex digits get dashes (reversible); anything else a name-based uuid. */
export function uuidForStoreId(storeId: string): string {
  let hex = storeId;
  if (!HEX32.test(storeId)) {
    const digits = createHash('sha1').update(`kv-explorer:${storeId}`).digest('hex').slice(0, 32).split('');
    digits[12] = '5'; // version 5 (name-based)
    digits[16] = ((parseInt(digits[16], 16) & 0x3) | 0x8).toString(16); // RFC 4122 variant
    hex = digits.join('');
  }
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function storedInfo(metadata: unknown): StoredTelnyxInfo | undefined {
  if (typeof metadata !== 'object' || metadata === null) return undefined;
  const info = (metadata as Record<string, unknown>)[METADATA_FIELD];
  if (typeof info !== 'object' || info === null) return undefined;
  const candidate = info as Partial<StoredTelnyxInfo>;
  return typeof candidate.contentType === 'string' && typeof candidate.sizeBytes === 'number' && typeof candidate.updatedAt === 'string'
    ? (candidate as StoredTelnyxInfo)
    : undefined;
}

function isExpired(info: StoredTelnyxInfo | undefined): boolean {
  return info?.expiresAt !== undefined && info.expiresAt <= nowSeconds();
}

function header(request: RoutedRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

class TelnyxDialect implements Dialect {
  readonly name = 'Telnyx';
  readonly router = new Router();
  /** Namespaces created by this server: when they were made and when they become provision_ok. */
  private readonly provisioned = new Map<string, { createdAt: string; readyAtMs: number }>();
  /** uuid → store id, for store ids that are not 32 hex digits. */
  private readonly foreignIds = new Map<string, string>();

  constructor(private readonly options: TelnyxServerOptions) {
    const r = this.router;
    r.add('GET', '/v2/storage/kvs', (q) => this.listNamespaces(q));
    r.add('POST', '/v2/storage/kvs', (q) => this.createNamespace(q));
    r.add('GET', '/v2/storage/kvs/:id', (q) => this.getNamespace(q));
    r.add('DELETE', '/v2/storage/kvs/:id', (q) => this.deleteNamespace(q));
    r.add('GET', '/v2/storage/kvs/:id/keys', (q) => this.listKeys(q));
    r.add('GET', '/v2/storage/kvs/:id/keys/:key', (q) => this.readValue(q));
    r.add('PUT', '/v2/storage/kvs/:id/keys/:key', (q) => this.writeValue(q));
    r.add('DELETE', '/v2/storage/kvs/:id/keys/:key', (q) => this.deleteValue(q));
  }

  private get store(): KvStore {
    return this.options.store;
  }

  authenticate(request: RoutedRequest): void {
    const bearer = /^Bearer (\S+)$/i.exec((header(request, 'authorization') ?? '').trim());
    const digest = (text: string) => createHash('sha256').update(text).digest();
    if (!bearer || !timingSafeEqual(digest(bearer[1]), digest(this.options.apiKey))) {
      throw new TelnyxApiError(401, TELNYX_CODES.unauthorized, 'Authentication failed', 'The API key is missing or not valid.');
    }
  }

  errorReply(error: unknown): Reply {
    if (error instanceof TelnyxApiError) return errorBody(error.status, error.code, error.title, error.message, error, error.headers);
    if (error instanceof KvError) return this.errorReply(telnyxErrorFor(error));
    if (error instanceof SharedFailureError) {
      const f = error.failure;
      switch (f.kind) {
        case 'no-route':
          return errorBody(404, TELNYX_CODES.notFound, 'Resource not found', 'No route for the URI.');
        case 'method-not-allowed':
          return errorBody(405, TELNYX_CODES.badRequest, 'Method not allowed', `Allowed: ${f.allowed.join(', ')}.`, {}, { allow: f.allowed.join(', ') });
        case 'body-too-large':
          return errorBody(413, TELNYX_CODES.badRequest, 'Payload Too Large', `The body is ${f.actual} bytes; at most ${f.limit} are allowed.`);
        case 'bad-json':
          return errorBody(400, TELNYX_CODES.badRequest, 'Bad Request', `The body is not valid JSON: ${f.detail}`);
        case 'injected': {
          const retry = { 'retry-after': String(f.retryAfterSeconds) };
          if (f.status === 429) return errorBody(429, TELNYX_CODES.tooManyRequests, 'Too many requests', 'Rate limit exceeded.', {}, retry);
          if (f.status === 503) return errorBody(503, TELNYX_CODES.unexpected, 'Service unavailable', 'Try again later.', {}, retry);
          return errorBody(500, TELNYX_CODES.unexpected, 'Unexpected error', 'An unexpected error occurred.');
        }
        case 'internal':
          return errorBody(500, TELNYX_CODES.unexpected, 'Unexpected error', describeError(f.error));
      }
    }
    return errorBody(500, TELNYX_CODES.unexpected, 'Unexpected error', describeError(error));
  }

  // ---------------------------------------------------------------- namespaces

  uuidFor(storeId: string): string {
    const uuid = uuidForStoreId(storeId);
    if (!HEX32.test(storeId)) this.foreignIds.set(uuid, storeId);
    return uuid;
  }

  /** The store id behind a uuid in the path; 400 when it is not a uuid. */
  private async storeIdFor(request: RoutedRequest): Promise<string> {
    const uuid = request.params.id.toLowerCase();
    if (!UUID.test(uuid)) throw badRequest(`The namespace id ${JSON.stringify(request.params.id)} is not a UUID.`, 'id');
    let known = this.foreignIds.get(uuid);
    if (known === undefined && NAME_BASED_UUID.test(uuid)) {
      // Perhaps the uuid of a non-hex store id this server has not listed yet (rarely, a hex id that looks like one).
      for (const namespace of await kv(() => listAllNamespaces(this.store))) this.uuidFor(namespace.id);
      known = this.foreignIds.get(uuid);
    }
    return known ?? uuid.replace(/-/g, '');
  }

  private status(storeId: string): NamespaceStatus {
    const record = this.provisioned.get(storeId);
    return record !== undefined && Date.now() < record.readyAtMs ? 'pending' : 'provision_ok';
  }

  private toWire(namespace: Namespace, status: NamespaceStatus = this.status(namespace.id)): WireNamespace {
    const createdAt = this.provisioned.get(namespace.id)?.createdAt ?? EPOCH;
    return { id: this.uuidFor(namespace.id), name: namespace.title, record_type: 'storage_kv', status, created_at: createdAt, updated_at: createdAt };
  }

  private async findNamespace(request: RoutedRequest): Promise<Namespace> {
    const storeId = await this.storeIdFor(request);
    const found = (await kv(() => listAllNamespaces(this.store))).find((namespace) => namespace.id === storeId);
    if (!found) throw notFound(`The namespace ${request.params.id} does not exist.`);
    return found;
  }

  /** The store id of a namespace whose keys may be used: 404 when missing is left to the store, 409 when pending. */
  private async readyNamespace(request: RoutedRequest): Promise<string> {
    const storeId = await this.storeIdFor(request);
    const status = this.status(storeId);
    if (status !== 'provision_ok') {
      throw new TelnyxApiError(409, TELNYX_CODES.conflict, 'Namespace not ready', `The namespace ${request.params.id} is ${status}; try again once it is provision_ok.`);
    }
    return storeId;
  }

  private pageParam(request: RoutedRequest, name: string, fallback: number, max: number): number {
    const text = request.query.get(name);
    if (text === null || text === '') return fallback;
    const value = Number(text);
    if (!Number.isInteger(value) || value < 1 || value > max) throw badRequest(`${name} must be a whole number from 1 to ${max}; got ${text}.`, name);
    return value;
  }

  private async listNamespaces(request: RoutedRequest): Promise<Reply> {
    const pageNumber = this.pageParam(request, 'page[number]', 1, Number.MAX_SAFE_INTEGER);
    const pageSize = this.pageParam(request, 'page[size]', NAMESPACE_PAGE.default, NAMESPACE_PAGE.max);
    const all = await kv(() => listAllNamespaces(this.store));
    const data = all.slice((pageNumber - 1) * pageSize, pageNumber * pageSize).map((namespace) => this.toWire(namespace));
    return jsonReply(200, {
      data,
      meta: { page_number: pageNumber, page_size: pageSize, total_pages: Math.max(1, Math.ceil(all.length / pageSize)), total_results: all.length },
    });
  }

  private async createNamespace(request: RoutedRequest): Promise<Reply> {
    const body = await request.json(JSON_BODY_MAX);
    const name = typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>).name : undefined;
    if (typeof name !== 'string') throw new TelnyxApiError(400, TELNYX_CODES.badRequest, 'Invalid name', 'The body needs a "name" string.', { pointer: '/name' });
    await kv(() => validateNamespaceTitle(TELNYX_LIMITS, name));
    const created = await kv(() => this.store.createNamespace(name));
    this.provisioned.set(created.id, { createdAt: new Date().toISOString(), readyAtMs: Date.now() + (this.options.provisioningDelayMs ?? 0) });
    // Telnyx answers a create with `pending` whatever happens next.
    return jsonReply(201, { data: this.toWire(created, 'pending') });
  }

  private async getNamespace(request: RoutedRequest): Promise<Reply> {
    return jsonReply(200, { data: this.toWire(await this.findNamespace(request)) });
  }

  private async deleteNamespace(request: RoutedRequest): Promise<Reply> {
    const namespace = await this.findNamespace(request);
    await kv(() => this.store.deleteNamespace(namespace.id));
    const wire = this.toWire(namespace, 'deleting');
    this.provisioned.delete(namespace.id);
    return jsonReply(200, { data: wire });
  }

  // ---------------------------------------------------------------- keys

  private async listKeys(request: RoutedRequest): Promise<Reply> {
    const storeId = await this.readyNamespace(request);
    const limitText = request.query.get('limit');
    let limit = TELNYX_LIMITS.listLimit.default;
    if (limitText !== null && limitText !== '') {
      const asked = Number(limitText);
      if (!Number.isInteger(asked) || asked < 1) throw badRequest(`limit must be a whole number of at least 1; got ${limitText}.`, 'limit');
      limit = Math.min(asked, TELNYX_LIMITS.listLimit.max); // Telnyx treats more than 1000 as 1000.
    }
    const storeRange = this.store.limits.listLimit;
    limit = Math.min(Math.max(limit, storeRange.min), storeRange.max);
    const page = await kv(() =>
      this.store.list(storeId, { prefix: request.query.get('prefix') ?? undefined, cursor: request.query.get('cursor') || undefined, limit }),
    );
    const data: { key: string; size_bytes: number; updated_at: string }[] = [];
    for (const key of page.keys) {
      const item = await this.describeKey(storeId, key);
      if (item) data.push(item);
    }
    const meta: { has_more: boolean; cursor?: string } = { has_more: !page.complete };
    if (!page.complete && page.cursor) meta.cursor = page.cursor;
    return jsonReply(200, { record_type: 'storage_kv_key', data, meta });
  }

  /** Size and update time of a listed key; undefined when its Telnyx TTL has passed. */
  private async describeKey(storeId: string, key: KeyInfo): Promise<{ key: string; size_bytes: number; updated_at: string } | undefined> {
    const info = storedInfo(key.metadata);
    if (isExpired(info)) return undefined;
    if (info) return { key: key.name, size_bytes: info.sizeBytes, updated_at: info.updatedAt };
    // Written by someone else (e.g. through the Cloudflare dialect): measure the value.
    let size = key.sizeBytes;
    if (size === undefined) {
      const entry = await kv(() => this.store.get(storeId, key.name));
      if (!entry) return undefined;
      size = entry.value.byteLength;
    }
    return { key: key.name, size_bytes: size, updated_at: key.updatedAt ?? EPOCH };
  }

  private async liveEntry(storeId: string, key: string): Promise<KvEntry | undefined> {
    const entry = await kv(() => this.store.get(storeId, key));
    return entry === undefined || isExpired(storedInfo(entry.metadata)) ? undefined : entry;
  }

  private async readValue(request: RoutedRequest): Promise<Reply> {
    const storeId = await this.readyNamespace(request);
    const key = request.params.key;
    await kv(() => validateKey(TELNYX_LIMITS, key));
    const entry = await this.liveEntry(storeId, key);
    if (!entry) throw notFound(`The key ${JSON.stringify(key)} does not exist.`);
    const contentType = storedInfo(entry.metadata)?.contentType ?? entry.contentType ?? DEFAULT_CONTENT_TYPE;
    return { status: 200, headers: { 'content-type': contentType }, body: entry.value };
  }

  private ttlSeconds(request: RoutedRequest): number | undefined {
    if (request.query.has('ttl')) {
      throw new TelnyxApiError(422, TELNYX_CODES.badRequest, 'Invalid parameter', 'The ttl parameter is not supported; use ttl_secs.', { parameter: 'ttl' });
    }
    const text = request.query.get('ttl_secs');
    if (text === null || text === '') return undefined;
    const ttl = /^\d+$/.test(text) ? Number(text) : NaN;
    const max = TELNYX_LIMITS.maxTtlSeconds!;
    if (!(ttl >= TELNYX_LIMITS.minExpirationSeconds && ttl <= max)) {
      throw new TelnyxApiError(422, TELNYX_CODES.badRequest, 'Invalid ttl_secs', `ttl_secs must be a whole number from ${TELNYX_LIMITS.minExpirationSeconds} to ${max}; got ${text}.`, { parameter: 'ttl_secs' });
    }
    return ttl;
  }

  private async writeValue(request: RoutedRequest): Promise<Reply> {
    const storeId = await this.readyNamespace(request);
    const key = request.params.key;
    await kv(() => validateKey(TELNYX_LIMITS, key));
    const ttl = this.ttlSeconds(request);
    const contentType = header(request, 'content-type') || DEFAULT_CONTENT_TYPE;
    if (contentType.length > MAX_CONTENT_TYPE_CHARS) throw badRequest(`The Content-Type is longer than ${MAX_CONTENT_TYPE_CHARS} characters.`);
    let body: Buffer;
    try {
      body = await request.body(TELNYX_LIMITS.maxValueBytes);
    } catch (error) {
      if (error instanceof SharedFailureError && error.failure.kind === 'body-too-large') {
        const { actual, limit } = error.failure;
        throw new TelnyxApiError(413, TELNYX_CODES.badRequest, 'Payload Too Large', `The value is ${actual} bytes; Telnyx allows at most ${limit}.`);
      }
      throw error;
    }
    const existed = (await this.liveEntry(storeId, key)) !== undefined;
    const now = nowSeconds();
    const value = new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
    const info: StoredTelnyxInfo = { contentType, sizeBytes: value.byteLength, updatedAt: new Date().toISOString() };
    // The store may need a longer TTL than Telnyx's minimum of 1 s; the server hides the key from `expiresAt` on.
    const expirationTtl = ttl === undefined ? undefined : Math.max(ttl, this.store.limits.minExpirationSeconds);
    if (ttl !== undefined) info.expiresAt = now + ttl;
    const options = this.store.capabilities.metadata ? { expirationTtl, metadata: { [METADATA_FIELD]: info } } : { expirationTtl, contentType };
    await kv(() => this.store.put(storeId, key, value, options));
    return { status: existed ? 200 : 201 };
  }

  private async deleteValue(request: RoutedRequest): Promise<Reply> {
    const storeId = await this.readyNamespace(request);
    const key = request.params.key;
    await kv(() => validateKey(TELNYX_LIMITS, key));
    await kv(() => this.store.delete(storeId, key));
    return { status: 200 };
  }
}

/** Starts a Telnyx-dialect server on 127.0.0.1 over `store`. The caller keeps ownership of the store. */
export async function startTelnyxServer(options: TelnyxServerOptions): Promise<TelnyxServer> {
  if (!options.apiKey) throw new Error('The Telnyx-dialect server needs an API key to accept requests.');
  const dialect = new TelnyxDialect(options);
  const running = await listenDialect(dialect, options);
  return Object.assign(running, { baseUrl: `${running.url}/v2`, namespaceUuid: (storeId: string) => dialect.uuidFor(storeId) });
}
