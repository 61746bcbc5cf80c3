// The one store interface every backend implements (local, Cloudflare, wrangler dev, Telnyx).
// Pure TypeScript: no `vscode` import anywhere under src/core.

import type { LimitProfile } from './limits';

/** Raw bytes or text; text is encoded as UTF-8. */
export type KvValue = Uint8Array | string;

export interface Namespace {
  id: string;
  title: string;
  /** Provider-specific readiness (Telnyx namespaces start as `pending`). Absent means ready. */
  status?: 'ready' | 'provisioning' | 'failed' | 'deleting';
}

export interface KeyInfo {
  name: string;
  /** Absolute expiration, seconds since the epoch. */
  expiration?: number;
  metadata?: unknown;
  /** Only some providers report these in listings (Telnyx). */
  sizeBytes?: number;
  updatedAt?: string;
}

export interface KvEntry {
  value: Uint8Array;
  expiration?: number;
  metadata?: unknown;
  /** Content-Type the provider stored with the value, where it keeps one (Telnyx). */
  contentType?: string;
}

export interface ListOptions {
  prefix?: string;
  /** Opaque; from a previous page. */
  cursor?: string;
  limit?: number;
  signal?: AbortSignal;
}

export interface Page<T> {
  items: T[];
  /** Present when there may be more; pass it back to get the next page. */
  cursor?: string;
  complete: boolean;
}

export interface KeyListPage {
  keys: KeyInfo[];
  cursor?: string;
  complete: boolean;
}

export interface PutOptions {
  /** Absolute, seconds since the epoch. */
  expiration?: number;
  /** Seconds from now. Wins over `expiration` when both are given (as in Cloudflare's API). */
  expirationTtl?: number;
  metadata?: unknown;
  /** Stored with the value where the provider keeps one (Telnyx). */
  contentType?: string;
  signal?: AbortSignal;
}

export interface BulkPutEntry {
  key: string;
  value: KvValue;
  expiration?: number;
  expirationTtl?: number;
  metadata?: unknown;
  /** Stored with the value where the provider keeps one (Telnyx), so a copied key keeps its type. */
  contentType?: string;
}

export interface BulkProgress {
  /** Keys confirmed written (or deleted) so far. */
  done: number;
  total: number;
}

export interface BulkOptions {
  signal?: AbortSignal;
  onProgress?: (progress: BulkProgress) => void;
}

export interface BulkResult {
  /** Keys the store confirmed, in input order of their batches. */
  succeeded: string[];
  /** Keys that were not written, with the reason. */
  failed: { key: string; error: string }[];
}

/** One level of a `/`-grouped listing: a folder or a key directly under the prefix. */
export type ChildItem =
  | { type: 'folder'; /** Full prefix including the trailing '/'. */ prefix: string; /** Segment without the '/'. */ name: string }
  | { type: 'key'; key: KeyInfo; /** Last segment (may be empty for keys ending in '/'). */ name: string };

export interface ChildrenOptions {
  cursor?: string;
  limit?: number;
  signal?: AbortSignal;
}

export interface ChildrenPage {
  items: ChildItem[];
  cursor?: string;
  complete: boolean;
}

export interface Capabilities {
  /** Per-key JSON metadata. */
  metadata: boolean;
  /** How expiration can be set: absolute date and TTL, TTL only, or not at all. */
  expiration: 'absolute-and-ttl' | 'ttl-only' | 'none';
  /** Whether `get` reports a key's expiration (Cloudflare: response header). */
  readsExpiration: boolean;
  namespaceCreate: boolean;
  namespaceRename: boolean;
  namespaceDelete: boolean;
  /** Whether writes are possible at all (a read-only target reports false). */
  write: boolean;
  /** Native bulk endpoints; otherwise bulk* runs one request per key. */
  bulkWrite: boolean;
  bulkDelete: boolean;
  /** `children()` seeks in an ordered index instead of scanning keys. */
  nativeChildren: boolean;
}

export interface KvStore {
  /** Short provider kind, for logs and labels: 'local' | 'cloudflare' | 'wrangler-dev' | 'telnyx'. */
  readonly kind: string;
  readonly capabilities: Capabilities;
  readonly limits: LimitProfile;

  listNamespaces(options?: { cursor?: string; limit?: number; signal?: AbortSignal }): Promise<Page<Namespace>>;
  createNamespace(title: string): Promise<Namespace>;
  renameNamespace(namespaceId: string, title: string): Promise<void>;
  deleteNamespace(namespaceId: string): Promise<void>;

  list(namespaceId: string, options?: ListOptions): Promise<KeyListPage>;
  /** `undefined` when the key does not exist (or has expired). */
  get(namespaceId: string, key: string, options?: { signal?: AbortSignal }): Promise<KvEntry | undefined>;
  put(namespaceId: string, key: string, value: KvValue, options?: PutOptions): Promise<void>;
  delete(namespaceId: string, key: string, options?: { signal?: AbortSignal }): Promise<void>;
  bulkPut(namespaceId: string, entries: BulkPutEntry[], options?: BulkOptions): Promise<BulkResult>;
  bulkDelete(namespaceId: string, keys: string[], options?: BulkOptions): Promise<BulkResult>;
  /** Next-level folders and keys under `prefix` ('' for the root, otherwise ending in '/'). */
  children(namespaceId: string, prefix: string, options?: ChildrenOptions): Promise<ChildrenPage>;

  /** Releases pools, handles and timers. */
  close(): Promise<void>;
}
