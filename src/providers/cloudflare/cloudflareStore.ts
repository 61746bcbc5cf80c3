// Cloudflare Workers KV over its REST API, through the shared RestClient. The same class serves:
// - Cloudflare itself: `https://api.cloudflare.com/client/v4` with `accountId` (paths under /accounts/{id});
// - any server speaking the same dialect (the project's own server in src/server/);
// - a running `wrangler dev`: Miniflare's explorer API at `http://127.0.0.1:PORT/cdn-cgi/explorer/api`, with no
//   account segment and only the routes that API has (no namespace management, no bulk write/delete, no
//   /metadata route, no expiration on writes). `capabilities` says which.
// API facts: shared notes kv-rest-apis.md §1 and §4.

import { invalid } from '../../core/errors';
import { genericChildren } from '../../core/keys';
import { CLOUDFLARE_LIMITS, type LimitProfile } from '../../core/limits';
import type { Logger } from '../../core/log';
import { cancelledError } from '../../core/retry';
import type {
  BulkOptions,
  BulkPutEntry,
  BulkResult,
  Capabilities,
  ChildrenOptions,
  ChildrenPage,
  KeyInfo,
  KeyListPage,
  KvEntry,
  KvStore,
  KvValue,
  ListOptions,
  Namespace,
  Page,
  PutOptions,
} from '../../core/store';
import {
  toBytes,
  utf8Length,
  validateBulkKeys,
  validateBulkPut,
  validateKey,
  validateListLimit,
  validateNamespaceTitle,
  validatePut,
} from '../../core/validation';
import { RestClient, buildMultipart, parseBaseUrl, type RestRequest, type RestResponse } from '../http';
import { packBatches, runBulkJobs, runPerKey, type BulkJob } from '../http/bulkJobs';
import { CODE_KEY_NOT_FOUND, cloudflareError, type CloudflareEnvelope } from './errors';

export const CLOUDFLARE_API_BASE_URL = 'https://api.cloudflare.com/client/v4';

export type CloudflareAuth = { token: string } | { email: string; key: string };

export type CloudflareTarget = 'cloudflare' | 'wrangler-dev';

export interface CloudflareStoreOptions {
  /** API root: Cloudflare's, a compatible server's, or wrangler dev's `http://127.0.0.1:PORT/cdn-cgi/explorer/api`. */
  baseUrl: string;
  /** Undefined: no `/accounts/{id}` segment (wrangler dev's explorer API). */
  accountId?: string;
  /** An API token (Bearer), or an account email with the global API key. wrangler dev needs none. */
  auth?: CloudflareAuth;
  /** Which routes exist; 'wrangler-dev' when absent and there is no accountId, else 'cloudflare'. */
  target?: CloudflareTarget;
  /** A client to share; by default the store makes its own (and closes it in close()). Its base URL must be `baseUrl`. */
  client?: RestClient;
  logger?: Logger;
}

/** Cloudflare's rule: at most one write per second to the same key. */
const CLOUDFLARE_WRITE_INTERVAL_MS = 1000;
/** Bulk batches in flight at once: enough to overlap round trips, few enough to stay within the API's rate limit. */
const BULK_BATCH_CONCURRENCY = 4;
/** Per-key requests in flight when a target has no bulk endpoint. */
const PER_KEY_CONCURRENCY = 8;
/** Namespaces per page when the caller does not say (Cloudflare allows 1–1000). */
const NAMESPACE_PAGE_SIZE = 100;

const CLOUDFLARE_CAPABILITIES: Capabilities = {
  metadata: true,
  expiration: 'absolute-and-ttl',
  readsExpiration: true,
  namespaceCreate: true,
  namespaceRename: true,
  namespaceDelete: true,
  write: true,
  bulkWrite: true,
  bulkDelete: true,
  nativeChildren: false,
};

/** Miniflare's explorer API: values and metadata (multipart) can be written, but not expirations. */
const WRANGLER_DEV_CAPABILITIES: Capabilities = {
  metadata: true,
  expiration: 'none',
  readsExpiration: true, // from the key listing, which reports it
  namespaceCreate: false,
  namespaceRename: false,
  namespaceDelete: false,
  write: true,
  bulkWrite: false,
  bulkDelete: false,
  nativeChildren: false,
};

/** wrangler dev emulates Cloudflare's limits; it has no bulk endpoint. */
const WRANGLER_DEV_LIMITS: LimitProfile = { ...CLOUDFLARE_LIMITS, provider: 'wrangler dev', bulk: undefined };

function authHeaders(auth: CloudflareAuth | undefined): Record<string, string> {
  if (!auth) return {};
  if ('token' in auth) return { authorization: `Bearer ${auth.token}` };
  return { 'x-auth-email': auth.email, 'x-auth-key': auth.key };
}

/** Keys travel as one percent-encoded path segment: `/`, `?`, `#` and `%` cannot reach another path. */
function segment(text: string): string {
  return encodeURIComponent(text);
}

function asUint8Array(buffer: Buffer): Uint8Array {
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

interface ListedKey {
  name: string;
  expiration?: number;
  metadata?: unknown;
}

function toKeyInfo(item: ListedKey): KeyInfo {
  const key: KeyInfo = { name: item.name };
  if (typeof item.expiration === 'number') key.expiration = item.expiration;
  if (item.metadata !== undefined && item.metadata !== null) key.metadata = item.metadata;
  return key;
}

export interface TokenVerification {
  id: string;
  status: 'active' | 'disabled' | 'expired' | string;
  expiresOn?: string;
  /** Which route accepted the token: a user token, or an account-owned token. */
  via: 'user' | 'account';
}

export interface CloudflareAccount {
  id: string;
  name: string;
}

export interface CloudflareConnectionOptions {
  baseUrl?: string;
  auth: CloudflareAuth;
  logger?: Logger;
  client?: RestClient;
}

export class CloudflareStore implements KvStore {
  readonly kind: CloudflareTarget;
  readonly capabilities: Capabilities;
  readonly limits: LimitProfile;
  private readonly client: RestClient;
  private readonly ownsClient: boolean;
  /** Credentials per request, when the client is shared and does not carry them. */
  private readonly requestHeaders: Record<string, string>;
  private readonly namespacesPath: string;
  private readonly provider: string;

  /** Throws an 'invalid' KvError for a base URL that breaks the transport rule (before anything is sent). */
  constructor(options: CloudflareStoreOptions) {
    this.kind = options.target ?? (options.accountId === undefined ? 'wrangler-dev' : 'cloudflare');
    const wranglerDev = this.kind === 'wrangler-dev';
    this.capabilities = wranglerDev ? WRANGLER_DEV_CAPABILITIES : CLOUDFLARE_CAPABILITIES;
    this.limits = wranglerDev ? WRANGLER_DEV_LIMITS : CLOUDFLARE_LIMITS;
    this.provider = wranglerDev ? 'wrangler dev' : 'Cloudflare';
    if (options.accountId !== undefined && options.accountId.trim() === '') {
      throw invalid('connection.accountId', 'The Cloudflare account id is empty.');
    }
    this.namespacesPath = `${options.accountId === undefined ? '' : `/accounts/${segment(options.accountId)}`}/storage/kv/namespaces`;
    const base = parseBaseUrl(options.baseUrl);
    if (options.client) {
      if (options.client.baseUrl.href.replace(/\/+$/, '') !== base.href.replace(/\/+$/, '')) {
        throw invalid('connection.client', `The shared client's base URL ${options.client.baseUrl.href} is not ${base.href}.`);
      }
      this.client = options.client;
      this.ownsClient = false;
      this.requestHeaders = authHeaders(options.auth);
    } else {
      this.client = new RestClient({
        baseUrl: options.baseUrl,
        provider: this.provider,
        headers: authHeaders(options.auth),
        logger: options.logger,
        // Miniflare has no per-key write limit; spacing its writes would only slow local work down.
        writeIntervalMs: wranglerDev ? 0 : CLOUDFLARE_WRITE_INTERVAL_MS,
      });
      this.ownsClient = true;
      this.requestHeaders = {};
    }
  }

  // ------------------------------------------------------------------ namespaces

  async listNamespaces(options: { cursor?: string; limit?: number; signal?: AbortSignal } = {}): Promise<Page<Namespace>> {
    const perPage = options.limit ?? NAMESPACE_PAGE_SIZE;
    if (!Number.isInteger(perPage) || perPage < 1 || perPage > 1000) {
      throw invalid('namespaces.limit', `The namespace page size must be a whole number from 1 to 1000; got ${perPage}.`);
    }
    const page = options.cursor === undefined ? 1 : Number(options.cursor);
    if (!Number.isInteger(page) || page < 1) throw invalid('namespaces.cursor', `The namespace cursor ${JSON.stringify(options.cursor)} is not a page number.`);
    const envelope = await this.requestJson<{ id: string; title: string }[]>('list namespaces', {
      method: 'GET',
      path: this.namespacesPath,
      query: this.kind === 'wrangler-dev' ? undefined : { page, per_page: perPage, order: 'title', direction: 'asc' },
      signal: options.signal,
    });
    const items = (envelope.result ?? []).map((item) => ({ id: item.id, title: item.title }));
    const info = envelope.result_info;
    // An unpaged answer (Miniflare's, without per_page) holds everything; a paged one ends on a short page or the total.
    const complete =
      info?.per_page === undefined ||
      items.length < perPage ||
      (info.total_count !== undefined && page * perPage >= info.total_count) ||
      (info.total_pages !== undefined && page >= info.total_pages);
    return complete ? { items, complete: true } : { items, complete: false, cursor: String(page + 1) };
  }

  async createNamespace(title: string): Promise<Namespace> {
    this.requireCapability('namespaceCreate', 'create namespaces');
    validateNamespaceTitle(this.limits, title);
    // Not retried on a dropped connection: a repeat could meet its own first attempt as "title exists".
    const envelope = await this.requestJson<{ id: string; title: string }>('create the namespace', {
      method: 'POST',
      path: this.namespacesPath,
      json: { title },
    });
    return { id: envelope.result.id, title: envelope.result.title };
  }

  async renameNamespace(namespaceId: string, title: string): Promise<void> {
    this.requireCapability('namespaceRename', 'rename namespaces');
    validateNamespaceTitle(this.limits, title);
    await this.requestJson('rename the namespace', { method: 'PUT', path: this.namespacePath(namespaceId), json: { title } });
  }

  async deleteNamespace(namespaceId: string): Promise<void> {
    this.requireCapability('namespaceDelete', 'delete namespaces');
    await this.requestJson('delete the namespace', { method: 'DELETE', path: this.namespacePath(namespaceId) });
  }

  // ------------------------------------------------------------------ keys and values

  async list(namespaceId: string, options: ListOptions = {}): Promise<KeyListPage> {
    const limit = validateListLimit(this.limits, options.limit);
    const envelope = await this.requestJson<ListedKey[]>('list keys', {
      method: 'GET',
      path: `${this.namespacePath(namespaceId)}/keys`,
      query: { limit, prefix: options.prefix || undefined, cursor: options.cursor || undefined },
      signal: options.signal,
    });
    const keys = (envelope.result ?? []).map(toKeyInfo);
    // An empty or missing cursor means the listing is done (as Cloudflare's SDK and wrangler read it).
    const cursor = envelope.result_info?.cursor;
    return cursor ? { keys, cursor, complete: false } : { keys, complete: true };
  }

  async get(namespaceId: string, key: string, options: { signal?: AbortSignal } = {}): Promise<KvEntry | undefined> {
    validateKey(this.limits, key);
    const signal = options.signal;
    // Value and key info in parallel: the value route returns neither metadata nor (on wrangler dev) expiration.
    const [valueOutcome, infoOutcome] = await Promise.allSettled([
      this.send({ method: 'GET', path: this.valuePath(namespaceId, key), headers: { accept: 'application/octet-stream' }, signal }),
      this.kind === 'wrangler-dev' ? this.keyInfoFromList(namespaceId, key, signal) : this.metadataOf(namespaceId, key, signal),
    ]);
    if (valueOutcome.status === 'rejected') throw valueOutcome.reason;
    const response = valueOutcome.value;
    if (this.isKeyNotFound(response)) return undefined;
    if (!response.ok) throw cloudflareError(this.provider, 'read the value', response);
    if (infoOutcome.status === 'rejected') throw infoOutcome.reason;
    const entry: KvEntry = { value: asUint8Array(response.body) };
    const info = infoOutcome.value;
    const header = response.header('expiration');
    const expiration = header !== undefined && /^\d+$/.test(header.trim()) ? Number(header) : info?.expiration;
    if (expiration !== undefined) entry.expiration = expiration;
    if (info?.metadata !== undefined) entry.metadata = info.metadata;
    return entry;
  }

  async put(namespaceId: string, key: string, value: KvValue, options: PutOptions = {}): Promise<void> {
    const { bytes, metadataJson } = validatePut(this.limits, key, value, options);
    this.requireExpirationSupport(options);
    this.requireKeepableMetadata(options.metadata);
    const response = await this.send({
      method: 'PUT',
      path: this.valuePath(namespaceId, key),
      query: this.expirationQuery(options),
      ...this.valueBody(bytes, metadataJson),
      signal: options.signal,
      writeKey: this.writeKey(namespaceId, key),
    });
    this.expectSuccess(response, 'write the value');
  }

  async delete(namespaceId: string, key: string, options: { signal?: AbortSignal } = {}): Promise<void> {
    validateKey(this.limits, key);
    const response = await this.send({
      method: 'DELETE',
      path: this.valuePath(namespaceId, key),
      signal: options.signal,
      writeKey: this.writeKey(namespaceId, key),
    });
    if (this.isKeyNotFound(response)) return; // already gone: what a delete wants
    this.expectSuccess(response, 'delete the key');
  }

  // ------------------------------------------------------------------ bulk

  async bulkPut(namespaceId: string, entries: BulkPutEntry[], options: BulkOptions = {}): Promise<BulkResult> {
    validateBulkPut(this.limits, entries);
    for (const entry of entries) {
      this.requireExpirationSupport(entry);
      this.requireKeepableMetadata(entry.metadata);
    }
    // The same key twice: the last entry wins, as if written one after the other; batches run concurrently.
    const latest = [...new Map(entries.map((entry) => [entry.key, entry])).values()];
    if (!this.capabilities.bulkWrite) {
      return runPerKey(this.provider, latest.map((entry) => entry.key), options, PER_KEY_CONCURRENCY, (key, index) =>
        this.put(namespaceId, key, latest[index].value, { ...latest[index], signal: options.signal }),
      );
    }
    const bulk = this.limits.bulk!;
    const direct: BulkPutEntry[] = [];
    const sized: { item: { key: string; json: string }; bytes: number }[] = [];
    for (const entry of latest) {
      const json = JSON.stringify(this.bulkItem(entry));
      const valueChars = typeof entry.value === 'string' ? entry.value.length : Math.ceil(toBytes(entry.value).byteLength / 3) * 4;
      // A binary value near the size limit is longer than the limit once base64-encoded: it goes by a single put.
      if (valueChars > this.limits.maxValueBytes) direct.push(entry);
      else sized.push({ item: { key: entry.key, json }, bytes: utf8Length(json) + 1 });
    }
    const batches = packBatches(sized, bulk.maxPairs, bulk.maxBytes - 2);
    const jobs: BulkJob[] = [
      ...batches.map((batch) => ({
        keys: batch.map((item) => item.key),
        run: () => this.sendBulkWrite(namespaceId, batch, options.signal),
      })),
      ...direct.map((entry) => ({
        keys: [entry.key],
        run: async () => {
          await this.put(namespaceId, entry.key, entry.value, { ...entry, signal: options.signal });
          return [] as string[];
        },
      })),
    ];
    return runBulkJobs(this.provider, jobs, latest.length, options, BULK_BATCH_CONCURRENCY);
  }

  async bulkDelete(namespaceId: string, keys: string[], options: BulkOptions = {}): Promise<BulkResult> {
    validateBulkKeys(this.limits, keys);
    const unique = [...new Set(keys)];
    if (!this.capabilities.bulkDelete) {
      return runPerKey(this.provider, unique, options, PER_KEY_CONCURRENCY, (key) => this.delete(namespaceId, key, { signal: options.signal }));
    }
    const bulk = this.limits.bulk!;
    const batches = packBatches(
      unique.map((key) => ({ item: key, bytes: utf8Length(JSON.stringify(key)) + 1 })),
      bulk.maxPairs,
      bulk.maxBytes - 2,
    );
    const jobs = batches.map((batch) => ({
      keys: batch,
      run: async (): Promise<string[]> => {
        const envelope = await this.requestJson<{ unsuccessful_keys?: string[] } | null>('delete keys in bulk', {
          method: 'POST',
          path: `${this.namespacePath(namespaceId)}/bulk/delete`,
          json: batch,
          idempotent: true, // deleting the same keys again changes nothing
          signal: options.signal,
        });
        return envelope.result?.unsuccessful_keys ?? [];
      },
    }));
    return runBulkJobs(this.provider, jobs, unique.length, options, BULK_BATCH_CONCURRENCY);
  }

  async children(namespaceId: string, prefix: string, options: ChildrenOptions = {}): Promise<ChildrenPage> {
    if (prefix !== '' && !prefix.endsWith('/')) {
      throw invalid('children.prefix', `A folder prefix is empty or ends with "/"; got ${JSON.stringify(prefix)}.`);
    }
    return genericChildren(this, namespaceId, prefix, options);
  }

  async close(): Promise<void> {
    if (this.ownsClient) await this.client.close();
  }

  // ------------------------------------------------------------------ token and accounts (for adding a connection)

  /**
   * Checks an API token: `/user/tokens/verify`, and for account-owned tokens `/accounts/{id}/tokens/verify`.
   * Resolves with the token's status (which may be 'disabled' or 'expired'); rejects when neither route accepts it.
   */
  static async verifyToken(options: { baseUrl?: string; token: string; accountId?: string; logger?: Logger; client?: RestClient }): Promise<TokenVerification> {
    return withClient({ baseUrl: options.baseUrl, auth: { token: options.token }, logger: options.logger, client: options.client }, async (client, headers) => {
      type Verify = { id: string; status: string; expires_on?: string };
      const ask = async (path: string): Promise<RestResponse> => client.request({ method: 'GET', path, headers });
      const toVerification = (response: RestResponse, via: TokenVerification['via']): TokenVerification => {
        const result = response.json<CloudflareEnvelope<Verify>>().result;
        return { id: result.id, status: result.status, ...(result.expires_on ? { expiresOn: result.expires_on } : {}), via };
      };
      const user = await ask('/user/tokens/verify');
      if (user.ok) return toVerification(user, 'user');
      if (options.accountId === undefined || user.status >= 500 || user.status === 429) throw cloudflareError('Cloudflare', 'verify the token', user);
      const account = await ask(`/accounts/${segment(options.accountId)}/tokens/verify`);
      if (account.ok) return toVerification(account, 'account');
      throw cloudflareError('Cloudflare', 'verify the token', account);
    });
  }

  /** Every account the credentials can see, following pages. */
  static async listAccounts(options: CloudflareConnectionOptions): Promise<CloudflareAccount[]> {
    return withClient(options, async (client, headers) => {
      const accounts: CloudflareAccount[] = [];
      const perPage = 50;
      for (let page = 1; page <= 1000; page++) {
        const response = await client.request({ method: 'GET', path: '/accounts', query: { page, per_page: perPage }, headers });
        if (!response.ok) throw cloudflareError('Cloudflare', 'list accounts', response);
        const envelope = response.json<CloudflareEnvelope<{ id: string; name: string }[]>>();
        const items = envelope.result ?? [];
        accounts.push(...items.map((item) => ({ id: item.id, name: item.name })));
        const info = envelope.result_info;
        const done =
          items.length < perPage ||
          (info?.total_count !== undefined && page * perPage >= info.total_count) ||
          (info?.total_pages !== undefined && page >= info.total_pages);
        if (done) return accounts;
      }
      return accounts;
    });
  }

  // ------------------------------------------------------------------ internals

  private namespacePath(namespaceId: string): string {
    if (namespaceId === '' || namespaceId === '.' || namespaceId === '..') throw invalid('namespace.id', `${JSON.stringify(namespaceId)} is not a namespace id.`);
    return `${this.namespacesPath}/${segment(namespaceId)}`;
  }

  private valuePath(namespaceId: string, key: string): string {
    return `${this.namespacePath(namespaceId)}/values/${segment(key)}`;
  }

  private writeKey(namespaceId: string, key: string): string {
    return `${namespaceId}\u0000${key}`;
  }

  private send(request: RestRequest): Promise<RestResponse> {
    return this.client.request({ ...request, headers: { ...this.requestHeaders, ...request.headers } });
  }

  /** Sends, and reads the JSON envelope of a successful answer; any failure becomes a KvError. */
  private async requestJson<T>(operation: string, request: RestRequest): Promise<CloudflareEnvelope<T>> {
    const response = await this.send(request);
    if (!response.ok) throw cloudflareError(this.provider, operation, response);
    // Some compatible servers answer a write or delete with an empty body; that is a success without a result.
    if (response.body.byteLength === 0) return { success: true, result: null as T };
    const envelope = response.json<CloudflareEnvelope<T>>();
    if (envelope?.success === false) throw cloudflareError(this.provider, operation, response);
    return envelope;
  }

  private expectSuccess(response: RestResponse, operation: string): void {
    if (!response.ok) throw cloudflareError(this.provider, operation, response);
    // Writes answer with an envelope; an explicit success: false is a failure even on a 2xx.
    if (response.body.byteLength > 0 && (response.header('content-type') ?? '').includes('json')) {
      const envelope = response.json<CloudflareEnvelope<unknown>>();
      if (envelope?.success === false) throw cloudflareError(this.provider, operation, response);
    }
  }

  /** A 404 that says "key not found" (10009), as opposed to a missing namespace or a wrong URL. */
  private isKeyNotFound(response: RestResponse): boolean {
    if (response.status !== 404) return false;
    try {
      const envelope = response.json<CloudflareEnvelope<unknown>>();
      return (envelope.errors ?? []).some((error) => Number(error.code) === CODE_KEY_NOT_FOUND);
    } catch {
      return false;
    }
  }

  private async metadataOf(namespaceId: string, key: string, signal?: AbortSignal): Promise<{ metadata?: unknown; expiration?: number } | undefined> {
    const response = await this.send({ method: 'GET', path: `${this.namespacePath(namespaceId)}/metadata/${segment(key)}`, signal });
    if (response.status === 404) return undefined; // the value read decides whether the key exists
    if (!response.ok) throw cloudflareError(this.provider, 'read the metadata', response);
    const result = response.json<CloudflareEnvelope<unknown>>().result;
    return result === null || result === undefined ? {} : { metadata: result };
  }

  /** wrangler dev has no metadata route: the listing from the key itself holds its metadata and expiration. */
  private async keyInfoFromList(namespaceId: string, key: string, signal?: AbortSignal): Promise<{ metadata?: unknown; expiration?: number } | undefined> {
    // Keys come in byte order and the key is the smallest name with itself as prefix, so it is first if it exists.
    const page = await this.list(namespaceId, { prefix: key, limit: this.limits.listLimit.min, signal });
    const found = page.keys[0];
    return found?.name === key ? { metadata: found.metadata, expiration: found.expiration } : undefined;
  }

  private expirationQuery(options: { expiration?: number; expirationTtl?: number }): Record<string, number> | undefined {
    if (options.expirationTtl !== undefined) return { expiration_ttl: options.expirationTtl };
    if (options.expiration !== undefined) return { expiration: options.expiration };
    return undefined;
  }

  private valueBody(bytes: Uint8Array, metadataJson: string | undefined): Pick<RestRequest, 'body' | 'headers'> {
    if (metadataJson === undefined) return { body: bytes, headers: { 'content-type': 'application/octet-stream' } };
    const { body, contentType } = buildMultipart([
      // A filename makes the part a file, so servers keep the value's bytes as they are instead of decoding text.
      { name: 'value', value: bytes, contentType: 'application/octet-stream', filename: 'blob' },
      { name: 'metadata', value: metadataJson, contentType: 'application/json' },
    ]);
    return { body, headers: { 'content-type': contentType } };
  }

  private bulkItem(entry: BulkPutEntry): Record<string, unknown> {
    const item: Record<string, unknown> = { key: entry.key };
    if (typeof entry.value === 'string') item.value = entry.value;
    else {
      item.value = Buffer.from(entry.value.buffer, entry.value.byteOffset, entry.value.byteLength).toString('base64');
      item.base64 = true;
    }
    if (entry.expirationTtl !== undefined) item.expiration_ttl = entry.expirationTtl;
    else if (entry.expiration !== undefined) item.expiration = entry.expiration;
    if (entry.metadata !== undefined) item.metadata = entry.metadata;
    return item;
  }

  /** Sends one PUT /bulk; resolves with the keys the server reports it did not write. */
  private async sendBulkWrite(namespaceId: string, batch: { key: string; json: string }[], signal?: AbortSignal): Promise<string[]> {
    const envelope = await this.requestJson<{ unsuccessful_keys?: string[] } | null>('write keys in bulk', {
      method: 'PUT',
      path: `${this.namespacePath(namespaceId)}/bulk`,
      body: `[${batch.map((item) => item.json).join(',')}]`,
      headers: { 'content-type': 'application/json' },
      signal,
    });
    return envelope.result?.unsuccessful_keys ?? [];
  }

  private requireCapability(capability: 'namespaceCreate' | 'namespaceRename' | 'namespaceDelete', what: string): void {
    if (this.capabilities[capability]) return;
    throw invalid(
      `capability.${capability}`,
      `${this.provider} cannot ${what} over its API; its namespaces are the kv_namespaces bindings in the wrangler configuration.`,
    );
  }

  /**
   * Miniflare's explorer keeps metadata only when it is truthy (`metadata && …`): false, 0, "" or null would be
   * dropped without a word, so they are refused instead.
   */
  private requireKeepableMetadata(metadata: unknown): void {
    if (this.kind !== 'wrangler-dev' || metadata === undefined || metadata) return;
    throw invalid(
      'metadata.falsy',
      `${this.provider}'s API drops metadata that is ${JSON.stringify(metadata)}; use an object such as {"value": ${JSON.stringify(metadata)}}, or no metadata.`,
    );
  }

  private requireExpirationSupport(options: { expiration?: number; expirationTtl?: number }): void {
    if (this.capabilities.expiration !== 'none') return;
    if (options.expiration !== undefined || options.expirationTtl !== undefined) {
      throw invalid('expiration.unsupported', `${this.provider}'s API cannot set an expiration; write the key without one.`);
    }
  }
}

/** Runs `work` with the given client, or a short-lived one made from the options (and closed afterwards). */
async function withClient<T>(
  options: { baseUrl?: string; auth: CloudflareAuth; logger?: Logger; client?: RestClient },
  work: (client: RestClient, headers: Record<string, string>) => Promise<T>,
): Promise<T> {
  if (options.client) return work(options.client, authHeaders(options.auth));
  const client = new RestClient({
    baseUrl: options.baseUrl ?? CLOUDFLARE_API_BASE_URL,
    provider: 'Cloudflare',
    headers: authHeaders(options.auth),
    logger: options.logger,
  });
  try {
    return await work(client, {});
  } finally {
    await client.close();
  }
}
