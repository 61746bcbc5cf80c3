// Telnyx KV (Edge Compute) over its REST API, through the shared RestClient. API facts: shared notes
// kv-rest-apis.md §2. Values are raw bodies kept with their Content-Type; there is no metadata, no namespace
// rename, no bulk endpoint, and expiry is a `ttl_secs` on the write.

import { invalid, KvError, type KvErrorKind } from '../../core/errors';
import { genericChildren } from '../../core/keys';
import { TELNYX_LIMITS } from '../../core/limits';
import type { Logger } from '../../core/log';
import type {
  BulkOptions,
  BulkPutEntry,
  BulkResult,
  Capabilities,
  ChildrenOptions,
  ChildrenPage,
  KeyListPage,
  KvEntry,
  KvStore,
  KvValue,
  ListOptions,
  Namespace,
  Page,
  PutOptions,
} from '../../core/store';
import { nowSeconds, validateBulkKeys, validateBulkPut, validateKey, validateListLimit, validateNamespaceTitle, validatePut } from '../../core/validation';
import { RestClient, type RestRequest, type RestResponse } from '../http';
import { runPerKey } from '../http/bulkJobs';

export const TELNYX_API_BASE_URL = 'https://api.telnyx.com/v2';

const PROVIDER = 'Telnyx';
/** Requests in flight for bulk work, which Telnyx does one key at a time. */
const PER_KEY_CONCURRENCY = 8;
/** Telnyx allows 1–250 namespaces a page. */
const NAMESPACE_PAGE_SIZE = 100;

const TELNYX_CAPABILITIES: Capabilities = {
  metadata: false,
  expiration: 'ttl-only',
  readsExpiration: false,
  namespaceCreate: true,
  namespaceRename: false,
  namespaceDelete: true,
  write: true,
  bulkWrite: false,
  bulkDelete: false,
  nativeChildren: false,
};

type TelnyxStatus = 'pending' | 'provision_ok' | 'provision_failed' | 'deleting' | 'delete_failed';

interface WireNamespace {
  id: string;
  name: string;
  status: TelnyxStatus;
}

interface TelnyxErrorItem {
  code?: string | number;
  title?: string;
  detail?: string;
}

export interface TelnyxStoreOptions {
  /** Default: Telnyx's own API. */
  baseUrl?: string;
  apiKey: string;
  logger?: Logger;
}

function statusOf(wire: TelnyxStatus): Namespace['status'] {
  switch (wire) {
    case 'provision_ok':
      return 'ready';
    case 'pending':
      return 'provisioning';
    case 'deleting':
      return 'deleting';
    default:
      return 'failed';
  }
}

function toNamespace(wire: WireNamespace): Namespace {
  return { id: wire.id, title: wire.name, status: statusOf(wire.status) };
}

function kindFor(status: number): KvErrorKind {
  if (status === 404) return 'not-found';
  if (status === 401 || status === 403) return 'unauthorized';
  if (status === 409) return 'conflict';
  if (status === 413) return 'too-large';
  if (status === 429) return 'rate-limited';
  if (status >= 500) return 'unavailable';
  return 'invalid'; // 400, and 422 (an unusable ttl_secs)
}

/** Telnyx's `{errors:[{code, title, detail}]}` as a typed error, e.g. "Telnyx 10015: Invalid key name — … (HTTP 400)". */
export function telnyxError(operation: string, response: RestResponse): KvError {
  let items: TelnyxErrorItem[] = [];
  try {
    items = (response.json<{ errors?: TelnyxErrorItem[] }>().errors ?? []).filter((item) => typeof item === 'object' && item !== null);
  } catch {
    // not JSON: described by status below
  }
  const codes = items.map((item) => item.code).filter((code): code is string | number => code !== undefined);
  const described = items.map((item) => `${item.code ?? ''}${item.code !== undefined ? ': ' : ''}${[item.title, item.detail].filter(Boolean).join(' — ')}`);
  let message = described.length > 0 ? `${PROVIDER} ${described.join('; ')} (HTTP ${response.status})` : `${PROVIDER} could not ${operation}: HTTP ${response.status}`;
  const kind = kindFor(response.status);
  if (kind === 'unauthorized') message += '. Check the API key.';
  if (kind === 'rate-limited' && response.retryAfterMs !== undefined) message += `; try again in ${Math.ceil(response.retryAfterMs / 1000)} s`;
  return new KvError(kind, message, { status: response.status, providerCodes: codes, retryAfterMs: response.retryAfterMs });
}

export class TelnyxStore implements KvStore {
  readonly kind = 'telnyx';
  readonly capabilities = TELNYX_CAPABILITIES;
  readonly limits = TELNYX_LIMITS;
  private readonly client: RestClient;
  /** Last status seen per namespace, so key operations on one still provisioning are refused without a request. */
  private readonly statuses = new Map<string, Namespace['status']>();

  /** Throws an 'invalid' KvError for a base URL that breaks the transport rule (before anything is sent). */
  constructor(options: TelnyxStoreOptions) {
    if (!options.apiKey) throw invalid('connection.apiKey', 'The Telnyx API key is empty.');
    this.client = new RestClient({
      baseUrl: options.baseUrl ?? TELNYX_API_BASE_URL,
      provider: PROVIDER,
      headers: { authorization: `Bearer ${options.apiKey}` },
      logger: options.logger,
      writeIntervalMs: 0,
    });
  }

  /** Checks an API key by listing one namespace; resolves when Telnyx accepts it. */
  static async verify(options: TelnyxStoreOptions): Promise<void> {
    const store = new TelnyxStore(options);
    try {
      await store.listNamespaces({ limit: 1 });
    } finally {
      await store.close();
    }
  }

  // ------------------------------------------------------------------ namespaces

  async listNamespaces(options: { cursor?: string; limit?: number; signal?: AbortSignal } = {}): Promise<Page<Namespace>> {
    const size = options.limit ?? NAMESPACE_PAGE_SIZE;
    if (!Number.isInteger(size) || size < 1 || size > 250) throw invalid('namespaces.limit', `The namespace page size must be from 1 to 250; got ${size}.`);
    const page = options.cursor === undefined ? 1 : Number(options.cursor);
    if (!Number.isInteger(page) || page < 1) throw invalid('namespaces.cursor', `The namespace cursor ${JSON.stringify(options.cursor)} is not a page number.`);
    const body = await this.json<{ data: WireNamespace[]; meta?: { total_pages?: number } }>('list namespaces', {
      method: 'GET',
      path: '/storage/kvs',
      query: { 'page[number]': page, 'page[size]': size },
      signal: options.signal,
    });
    const items = (body.data ?? []).map((wire) => this.remember(wire));
    const totalPages = body.meta?.total_pages;
    const complete = totalPages !== undefined ? page >= totalPages : items.length < size;
    return complete ? { items, complete: true } : { items, complete: false, cursor: String(page + 1) };
  }

  async createNamespace(title: string): Promise<Namespace> {
    validateNamespaceTitle(this.limits, title);
    // Not retried blindly: a repeat could meet its own first attempt as "name exists".
    const body = await this.json<{ data: WireNamespace }>('create the namespace', { method: 'POST', path: '/storage/kvs', json: { name: title } });
    return this.remember(body.data);
  }

  async renameNamespace(): Promise<void> {
    throw invalid('capability.namespaceRename', 'Telnyx cannot rename a namespace; create a new one and copy the keys.');
  }

  async deleteNamespace(namespaceId: string): Promise<void> {
    await this.json('delete the namespace', { method: 'DELETE', path: this.namespacePath(namespaceId) });
    this.statuses.set(namespaceId, 'deleting');
  }

  // ------------------------------------------------------------------ keys and values

  async list(namespaceId: string, options: ListOptions = {}): Promise<KeyListPage> {
    const limit = validateListLimit(this.limits, options.limit);
    await this.requireReady(namespaceId);
    const body = await this.json<{ data: { key: string; size_bytes?: number; updated_at?: string }[]; meta?: { has_more?: boolean; cursor?: string } }>(
      'list keys',
      {
        method: 'GET',
        path: `${this.namespacePath(namespaceId)}/keys`,
        query: { prefix: options.prefix || undefined, limit, cursor: options.cursor || undefined },
        signal: options.signal,
      },
      namespaceId,
    );
    const keys = (body.data ?? []).map((item) => ({
      name: item.key,
      ...(item.size_bytes !== undefined ? { sizeBytes: item.size_bytes } : {}),
      ...(item.updated_at !== undefined ? { updatedAt: item.updated_at } : {}),
    }));
    const cursor = body.meta?.has_more ? body.meta.cursor : undefined;
    return cursor ? { keys, cursor, complete: false } : { keys, complete: true };
  }

  async get(namespaceId: string, key: string, options: { signal?: AbortSignal } = {}): Promise<KvEntry | undefined> {
    validateKey(this.limits, key);
    await this.requireReady(namespaceId);
    const response = await this.client.request({ method: 'GET', path: this.keyPath(namespaceId, key), signal: options.signal });
    if (response.status === 404 && (await this.namespaceExists(namespaceId))) return undefined;
    if (!response.ok) throw this.failure('read the value', response, namespaceId);
    const entry: KvEntry = { value: new Uint8Array(response.body.buffer, response.body.byteOffset, response.body.byteLength) };
    const contentType = response.header('content-type');
    if (contentType) entry.contentType = contentType;
    return entry;
  }

  /** An absolute `expiration` is sent as the `ttl_secs` from now: Telnyx only takes a TTL. */
  async put(namespaceId: string, key: string, value: KvValue, options: PutOptions = {}): Promise<void> {
    const { bytes } = validatePut(this.limits, key, value, options);
    await this.requireReady(namespaceId);
    const ttl = options.expirationTtl ?? (options.expiration !== undefined ? options.expiration - nowSeconds() : undefined);
    const response = await this.client.request({
      method: 'PUT',
      path: this.keyPath(namespaceId, key),
      query: { ttl_secs: ttl },
      headers: { 'content-type': options.contentType ?? (typeof value === 'string' ? 'text/plain; charset=utf-8' : 'application/octet-stream') },
      body: bytes,
      signal: options.signal,
    });
    if (!response.ok) throw this.failure('write the value', response, namespaceId);
  }

  async delete(namespaceId: string, key: string, options: { signal?: AbortSignal } = {}): Promise<void> {
    validateKey(this.limits, key);
    await this.requireReady(namespaceId);
    // Idempotent at Telnyx: a missing key still answers 200; 404 means the namespace is gone.
    const response = await this.client.request({ method: 'DELETE', path: this.keyPath(namespaceId, key), signal: options.signal });
    if (!response.ok) throw this.failure('delete the key', response, namespaceId);
  }

  async bulkPut(namespaceId: string, entries: BulkPutEntry[], options: BulkOptions = {}): Promise<BulkResult> {
    validateBulkPut(this.limits, entries);
    await this.requireReady(namespaceId);
    // The same key twice: the last entry wins, as if written one after the other.
    const latest = [...new Map(entries.map((entry) => [entry.key, entry])).values()];
    return runPerKey(PROVIDER, latest.map((entry) => entry.key), options, PER_KEY_CONCURRENCY, (key, index) =>
      this.put(namespaceId, key, latest[index].value, { ...latest[index], signal: options.signal }),
    );
  }

  async bulkDelete(namespaceId: string, keys: string[], options: BulkOptions = {}): Promise<BulkResult> {
    validateBulkKeys(this.limits, keys);
    await this.requireReady(namespaceId);
    return runPerKey(PROVIDER, [...new Set(keys)], options, PER_KEY_CONCURRENCY, (key) => this.delete(namespaceId, key, { signal: options.signal }));
  }

  async children(namespaceId: string, prefix: string, options: ChildrenOptions = {}): Promise<ChildrenPage> {
    if (prefix !== '' && !prefix.endsWith('/')) throw invalid('children.prefix', `A folder prefix is empty or ends with "/"; got ${JSON.stringify(prefix)}.`);
    return genericChildren(this, namespaceId, prefix, options);
  }

  async close(): Promise<void> {
    await this.client.close();
  }

  // ------------------------------------------------------------------ helpers

  private namespacePath(namespaceId: string): string {
    return `/storage/kvs/${encodeURIComponent(namespaceId)}`;
  }

  /** Keys travel as one percent-encoded path segment (`/` → %2F). */
  private keyPath(namespaceId: string, key: string): string {
    return `${this.namespacePath(namespaceId)}/keys/${encodeURIComponent(key)}`;
  }

  private remember(wire: WireNamespace): Namespace {
    const namespace = toNamespace(wire);
    this.statuses.set(namespace.id, namespace.status);
    return namespace;
  }

  /** Refuses key operations on a namespace last seen not ready, after one re-read of its status. */
  private async requireReady(namespaceId: string): Promise<void> {
    if ((this.statuses.get(namespaceId) ?? 'ready') === 'ready') return;
    const response = await this.client.request({ method: 'GET', path: this.namespacePath(namespaceId) });
    if (!response.ok) throw this.failure('read the namespace', response);
    const status = this.remember(response.json<{ data: WireNamespace }>().data).status;
    if (status === 'ready') return;
    const what = status === 'provisioning' ? 'is still provisioning; try again in a moment' : status === 'deleting' ? 'is being deleted' : 'failed to provision';
    throw new KvError('conflict', `The Telnyx namespace ${namespaceId} ${what}.`);
  }

  /** After a 404 on a key: a missing key, or a missing namespace (which is an error worth telling). */
  private async namespaceExists(namespaceId: string): Promise<boolean> {
    const response = await this.client.request({ method: 'GET', path: this.namespacePath(namespaceId) });
    if (response.ok) {
      this.remember(response.json<{ data: WireNamespace }>().data);
      return true;
    }
    if (response.status === 404) throw new KvError('not-found', `The Telnyx namespace ${namespaceId} does not exist.`, { status: 404 });
    throw this.failure('read the namespace', response);
  }

  /** A failure; a 409 on a key operation re-reads the namespace, whose status is then the message. */
  private failure(operation: string, response: RestResponse, namespaceId?: string): KvError {
    const error = telnyxError(operation, response);
    if (response.status === 409 && namespaceId !== undefined && this.statuses.get(namespaceId) === 'ready') this.statuses.delete(namespaceId);
    return error;
  }

  private async json<T>(operation: string, request: RestRequest, namespaceId?: string): Promise<T> {
    const response = await this.client.request(request);
    if (!response.ok) throw this.failure(operation, response, namespaceId);
    if (response.body.byteLength === 0) return undefined as T;
    return response.json<T>();
  }
}
