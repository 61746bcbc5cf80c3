// The local embedded store: Cloudflare KV semantics on an LMDB file in a directory. The default backend,
// zero setup. Design and durability trade-off: docs/local-store.md.

import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { open, type Database, type RootDatabase } from 'lmdb';
import { KvError, describeError, invalid, notFound } from '../../core/errors';
import { SEPARATOR } from '../../core/keys';
import { LOCAL_LIMITS } from '../../core/limits';
import { silentLogger, type Logger } from '../../core/log';
import type {
  BulkOptions,
  BulkPutEntry,
  BulkResult,
  Capabilities,
  ChildItem,
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
  nowSeconds,
  toBytes,
  validateBulkKeys,
  validateBulkPut,
  validateKey,
  validateListLimit,
  validateNamespaceTitle,
  validatePut,
} from '../../core/validation';
import {
  NAMESPACE_ID_LENGTH,
  compareUtf8,
  cursorStart,
  decodeCursor,
  encodeCursor,
  encodeEntry,
  encodeRecord,
  expiryIndexBound,
  expiryIndexKey,
  isNamespaceId,
  parseExpiryIndexKey,
  decodeRecord,
  recordEncoder,
  splitEntry,
  utf8KeyEncoder,
  type CursorPosition,
  type KeyRecord,
} from './encoding';

export interface LocalStoreOptions {
  /** Seconds since the epoch; injectable so tests can move time instead of sleeping. */
  now?: () => number;
  /** How often expired keys are purged in the background; 0 turns the periodic sweep off. Default 60 s. */
  sweepIntervalMs?: number;
  logger?: Logger;
}

/** The data file inside the store directory (LMDB adds `data.mdb-lock` beside it). */
export const LOCAL_DATA_FILE = 'data.mdb';

/** Keys per write transaction in bulk operations and purges (Cloudflare's bulk request size). */
export const BULK_BATCH_KEYS = 10_000;
/** Value bytes per write transaction, so a batch of large values stays well inside one transaction's dirty-page budget. */
const BULK_BATCH_BYTES = 64 * 1024 * 1024;
const FIRST_SWEEP_DELAY_MS = 2_000;

interface NamespaceRecord {
  title: string;
  /** Set while the namespace's keys are being removed; such a namespace is gone for every caller. */
  deleting?: true;
}

interface PreparedPut {
  storedKey: string;
  record: KeyRecord;
  /** Record and value together (encodeEntry). */
  entry: Buffer;
}

const CAPABILITIES: Capabilities = {
  metadata: true,
  expiration: 'absolute-and-ttl',
  readsExpiration: true,
  namespaceCreate: true,
  namespaceRename: true,
  namespaceDelete: true,
  write: true,
  bulkWrite: true,
  bulkDelete: true,
  nativeChildren: true,
};

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new KvError('cancelled', 'The operation was cancelled.');
}

function toKeyInfo(name: string, record: KeyRecord): KeyInfo {
  const info: KeyInfo = { name };
  if (record.expiration !== undefined) info.expiration = record.expiration;
  if (record.metadataJson !== undefined) info.metadata = JSON.parse(record.metadataJson);
  return info;
}

function isExpired(record: KeyRecord | undefined, now: number): boolean {
  return record?.expiration !== undefined && record.expiration <= now;
}

export class LocalStore implements KvStore {
  readonly kind = 'local';
  readonly capabilities = CAPABILITIES;
  readonly limits = LOCAL_LIMITS;

  private closed = false;
  private readonly background = new Set<Promise<unknown>>();
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly now: () => number;
  private readonly logger: Logger;

  private constructor(
    readonly directory: string,
    private readonly root: RootDatabase,
    /** Namespace id → { title, deleting? }. */
    private readonly namespaces: Database<NamespaceRecord, string>,
    /** namespaceId + key → small record (expiration, metadata). Listing reads only this. */
    private readonly records: Database<KeyRecord, string>,
    /** namespaceId + key → record + value bytes, so `get` is one lookup. */
    private readonly entries: Database<Buffer, string>,
    /** expiration + namespaceId + key → nothing; lets the sweep find due keys without scanning. */
    private readonly expiries: Database<Buffer, Buffer>,
    options: LocalStoreOptions,
  ) {
    this.now = options.now ?? nowSeconds;
    this.logger = options.logger ?? silentLogger;
  }

  /** Opens (creating if needed) the store in `directory`. Several processes may open the same directory at once. */
  static async open(directory: string, options: LocalStoreOptions = {}): Promise<LocalStore> {
    await mkdir(directory, { recursive: true });
    // overlappingSync (lmdb's default off Windows): a write resolves once committed to the file, which survives
    // a process crash; the disk flush follows off the write lock. See docs/local-store.md.
    const root = open({ path: join(directory, LOCAL_DATA_FILE), maxDbs: 8 });
    // lmdb's typings list keyEncoder only for the root database; openDB honours it too.
    const recordsOptions = { name: 'records', keyEncoder: utf8KeyEncoder, encoder: recordEncoder };
    const entriesOptions = { name: 'entries', keyEncoder: utf8KeyEncoder, encoding: 'binary' as const };

    const store = new LocalStore(
      directory,
      root,
      root.openDB<NamespaceRecord, string>({ name: 'namespaces' }),
      root.openDB<KeyRecord, string>(recordsOptions),
      root.openDB<Buffer, string>(entriesOptions),
      root.openDB<Buffer, Buffer>({ name: 'expiries', keyEncoding: 'binary', encoding: 'binary' }),
      options,
    );
    store.startSweeper(options.sweepIntervalMs ?? 60_000);
    return store;
  }

  // ---------------------------------------------------------------- namespaces

  async listNamespaces(options: { cursor?: string; limit?: number; signal?: AbortSignal } = {}): Promise<Page<Namespace>> {
    this.checkOpen();
    throwIfAborted(options.signal);
    const limit = validateListLimit(LOCAL_LIMITS, options.limit);
    const start = options.cursor === undefined ? undefined : cursorStart(decodeCursor(options.cursor));
    const items: Namespace[] = [];
    for (const { key, value } of this.namespaces.getRange(start === undefined ? {} : { start })) {
      if (value.deleting) continue;
      if (items.length === limit) {
        return { items, complete: false, cursor: encodeCursor({ after: items[items.length - 1].id }) };
      }
      items.push({ id: key, title: value.title });
    }
    return { items, complete: true };
  }

  async createNamespace(title: string): Promise<Namespace> {
    this.checkOpen();
    validateNamespaceTitle(LOCAL_LIMITS, title);
    const id = randomBytes(NAMESPACE_ID_LENGTH / 2).toString('hex');
    // The title check runs inside the write transaction, so two processes cannot both create the same title.
    const created = await this.root.transaction(() => {
      if (this.titleTaken(title)) return false;
      this.namespaces.putSync(id, { title });
      return true;
    });
    if (!created) throw this.titleConflict(title);
    return { id, title };
  }

  async renameNamespace(namespaceId: string, title: string): Promise<void> {
    this.checkOpen();
    validateNamespaceTitle(LOCAL_LIMITS, title);
    const outcome = await this.root.transaction(() => {
      const current = isNamespaceId(namespaceId) ? this.namespaces.get(namespaceId) : undefined;
      if (current === undefined || current.deleting) return 'missing';
      if (current.title === title) return 'done';
      if (this.titleTaken(title)) return 'conflict';
      this.namespaces.putSync(namespaceId, { title });
      return 'done';
    });
    if (outcome === 'missing') throw this.namespaceMissing(namespaceId);
    if (outcome === 'conflict') throw this.titleConflict(title);
  }

  async deleteNamespace(namespaceId: string): Promise<void> {
    this.checkOpen();
    // The namespace disappears for every caller in one commit (marked deleting); its keys then go in batches,
    // and a crash in between leaves the mark, from which the next sweep finishes the job.
    const existed = await this.root.transaction(() => {
      const current = isNamespaceId(namespaceId) ? this.namespaces.get(namespaceId) : undefined;
      if (current === undefined || current.deleting) return false;
      this.namespaces.putSync(namespaceId, { title: current.title, deleting: true });
      return true;
    });
    if (!existed) throw this.namespaceMissing(namespaceId);
    await this.finishNamespaceDeletion(namespaceId);
  }

  // ---------------------------------------------------------------- keys

  async list(namespaceId: string, options: ListOptions = {}): Promise<KeyListPage> {
    this.checkOpen();
    throwIfAborted(options.signal);
    const limit = validateListLimit(LOCAL_LIMITS, options.limit);
    const prefix = options.prefix ?? '';
    this.requireNamespace(namespaceId);
    const fullPrefix = namespaceId + prefix;
    const now = this.now();
    const keys: KeyInfo[] = [];
    const expired: string[] = [];
    let complete = true;
    for (const { key, value } of this.records.getRange({ start: namespaceId + this.startPosition(prefix, options.cursor) })) {
      if (!key.startsWith(fullPrefix)) break;
      if (isExpired(value, now)) {
        expired.push(key);
        continue;
      }
      if (keys.length === limit) {
        complete = false;
        break;
      }
      keys.push(toKeyInfo(key.slice(NAMESPACE_ID_LENGTH), value));
    }
    this.purgeLater(expired);
    if (complete) return { keys, complete };
    return { keys, complete, cursor: encodeCursor({ after: keys[keys.length - 1].name }) };
  }

  async get(namespaceId: string, key: string, options: { signal?: AbortSignal } = {}): Promise<KvEntry | undefined> {
    this.checkOpen();
    throwIfAborted(options.signal);
    validateKey(LOCAL_LIMITS, key);
    // A shorter id could reach into another namespace's keys (id and key are stored back to back).
    if (namespaceId.length !== NAMESPACE_ID_LENGTH) throw this.namespaceMissing(namespaceId);
    const storedKey = namespaceId + key;
    const stored = this.entries.getBinary(storedKey);
    if (stored === undefined) {
      // Only a miss needs the namespace check: keys are only ever written under a live namespace.
      this.requireNamespace(namespaceId);
      return undefined;
    }
    const { record: recordBytes, value } = splitEntry(stored);
    const record = decodeRecord(recordBytes);
    if (isExpired(record, this.now())) {
      this.purgeLater([storedKey]);
      return undefined;
    }
    const entry: KvEntry = { value };
    if (record.expiration !== undefined) entry.expiration = record.expiration;
    if (record.metadataJson !== undefined) entry.metadata = JSON.parse(record.metadataJson);
    return entry;
  }

  async put(namespaceId: string, key: string, value: KvValue, options: PutOptions = {}): Promise<void> {
    this.checkOpen();
    throwIfAborted(options.signal);
    const now = this.now();
    const { bytes, metadataJson } = validatePut(LOCAL_LIMITS, key, value, options, now);
    this.requireNamespace(namespaceId);
    const expiration = options.expirationTtl !== undefined ? now + options.expirationTtl : options.expiration;
    const put: PreparedPut = {
      storedKey: namespaceId + key,
      record: { expiration, metadataJson },
      entry: encodeEntry(encodeRecord(expiration, metadataJson), bytes),
    };
    // One commit per put: the promise resolves only once the value is in the file.
    const written = await this.root.transaction(() => {
      if (!this.isLive(namespaceId)) return false;
      this.writeInTransaction(put);
      return true;
    });
    if (!written) throw this.namespaceMissing(namespaceId);
  }

  async delete(namespaceId: string, key: string, options: { signal?: AbortSignal } = {}): Promise<void> {
    this.checkOpen();
    throwIfAborted(options.signal);
    validateKey(LOCAL_LIMITS, key);
    this.requireNamespace(namespaceId);
    const storedKey = namespaceId + key;
    await this.root.transaction(() => this.removeInTransaction(storedKey));
  }

  async bulkPut(namespaceId: string, entries: BulkPutEntry[], options: BulkOptions = {}): Promise<BulkResult> {
    this.checkOpen();
    const now = this.now();
    validateBulkPut(LOCAL_LIMITS, entries, now);
    this.requireNamespace(namespaceId);
    const result: BulkResult = { succeeded: [], failed: [] };
    let next = 0;
    while (next < entries.length) {
      const batchStart = next;
      const batch: PreparedPut[] = [];
      let batchBytes = 0;
      while (next < entries.length && batch.length < BULK_BATCH_KEYS && batchBytes < BULK_BATCH_BYTES) {
        const entry = entries[next++];
        const value = toBytes(entry.value);
        const expiration = entry.expirationTtl !== undefined ? now + entry.expirationTtl : entry.expiration;
        const metadataJson = entry.metadata === undefined ? undefined : JSON.stringify(entry.metadata);
        batch.push({
          storedKey: namespaceId + entry.key,
          record: { expiration, metadataJson },
          entry: encodeEntry(encodeRecord(expiration, metadataJson), value),
        });
        batchBytes += value.byteLength;
      }
      const keysOf = (from: number, to: number) => entries.slice(from, to).map((entry) => entry.key);
      const batchEnd = next;
      const stopped = await this.runBatch(namespaceId, options, result, keysOf(batchStart, batchEnd), () => keysOf(batchEnd, entries.length), () => {
        for (const put of batch) this.writeInTransaction(put);
      });
      if (stopped) break;
      options.onProgress?.({ done: result.succeeded.length, total: entries.length });
    }
    return result;
  }

  async bulkDelete(namespaceId: string, keys: string[], options: BulkOptions = {}): Promise<BulkResult> {
    this.checkOpen();
    validateBulkKeys(LOCAL_LIMITS, keys);
    this.requireNamespace(namespaceId);
    const result: BulkResult = { succeeded: [], failed: [] };
    for (let start = 0; start < keys.length; start += BULK_BATCH_KEYS) {
      const end = Math.min(start + BULK_BATCH_KEYS, keys.length);
      const batch = keys.slice(start, end);
      const stopped = await this.runBatch(namespaceId, options, result, batch, () => keys.slice(end), () => {
        for (const key of batch) this.removeInTransaction(namespaceId + key);
      });
      if (stopped) break;
      options.onProgress?.({ done: result.succeeded.length, total: keys.length });
    }
    return result;
  }

  async children(namespaceId: string, prefix: string, options: ChildrenOptions = {}): Promise<ChildrenPage> {
    this.checkOpen();
    throwIfAborted(options.signal);
    if (prefix !== '' && !prefix.endsWith(SEPARATOR)) {
      throw invalid('children.prefix', `A folder prefix is empty or ends with "${SEPARATOR}"; got ${JSON.stringify(prefix)}.`);
    }
    const limit = validateListLimit(LOCAL_LIMITS, options.limit);
    this.requireNamespace(namespaceId);
    const fullPrefix = namespaceId + prefix;
    const folderStart = fullPrefix.length;
    const now = this.now();
    const items: ChildItem[] = [];
    const expired: string[] = [];
    let last: CursorPosition | undefined;
    let complete = true;
    let position: string | undefined = this.startPosition(prefix, options.cursor);
    scan: while (position !== undefined) {
      const rangeStart: string = namespaceId + position;
      position = undefined;
      for (const { key, value } of this.records.getRange({ start: rangeStart })) {
        if (!key.startsWith(fullPrefix)) break scan;
        // An expired key is skipped; a later live key in the same folder still shows the folder.
        if (isExpired(value, now)) {
          expired.push(key);
          continue;
        }
        if (items.length === limit) {
          complete = false;
          break scan;
        }
        const slash = key.indexOf(SEPARATOR, folderStart);
        if (slash === -1) {
          const name = key.slice(NAMESPACE_ID_LENGTH);
          items.push({ type: 'key', name: name.slice(prefix.length), key: toKeyInfo(name, value) });
          last = { after: name };
          continue;
        }
        const folderPrefix = key.slice(NAMESPACE_ID_LENGTH, slash + 1);
        items.push({ type: 'folder', name: key.slice(folderStart, slash), prefix: folderPrefix });
        // Seek past everything under the folder: '0' is the byte after '/', so `folder0` is the first name outside it.
        last = { from: folderPrefix.slice(0, -1) + '0' };
        position = last.from;
        continue scan;
      }
    }
    this.purgeLater(expired);
    if (complete || last === undefined) return { items, complete: true };
    return { items, complete: false, cursor: encodeCursor(last) };
  }

  /** Removes every expired key (and any deleted namespace's leftover keys) now. Returns how many expired keys went. */
  async purgeExpired(): Promise<number> {
    this.checkOpen();
    const unfinished: string[] = [];
    for (const { key, value } of this.namespaces.getRange({})) if (value.deleting) unfinished.push(key);
    for (const namespaceId of unfinished) await this.finishNamespaceDeletion(namespaceId);
    let purged = 0;
    for (;;) {
      const now = this.now();
      const due: Buffer[] = [];
      for (const indexKey of this.expiries.getKeys({ end: expiryIndexBound(Math.floor(now) + 1), limit: BULK_BATCH_KEYS })) {
        due.push(Buffer.from(indexKey));
      }
      if (due.length === 0) return purged;
      purged += await this.root.transaction(() => {
        let removed = 0;
        for (const indexKey of due) {
          const { expiration, storedKey } = parseExpiryIndexKey(indexKey);
          const current = this.records.get(storedKey)?.expiration;
          if (current === expiration && expiration <= now) {
            this.records.removeSync(storedKey);
            this.entries.removeSync(storedKey);
            removed++;
          }
          // Stale index entries (the key was rewritten or deleted) go too.
          this.expiries.removeSync(indexKey);
        }
        return removed;
      });
      if (due.length < BULK_BATCH_KEYS) return purged;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    await Promise.allSettled([...this.background]);
    await this.root.close();
  }

  // ---------------------------------------------------------------- internals

  /** Inside a write transaction: replaces a key's record and value and keeps the expiry index in step. */
  private writeInTransaction(put: PreparedPut): void {
    const oldExpiration = this.records.get(put.storedKey)?.expiration;
    const expiration = put.record.expiration;
    if (oldExpiration !== undefined && oldExpiration !== expiration) {
      this.expiries.removeSync(expiryIndexKey(oldExpiration, put.storedKey));
    }
    this.records.putSync(put.storedKey, put.record);
    this.entries.putSync(put.storedKey, put.entry);
    if (expiration !== undefined && expiration !== oldExpiration) {
      this.expiries.putSync(expiryIndexKey(expiration, put.storedKey), EMPTY);
    }
  }

  /** Inside a write transaction: removes a key, its value and its expiry index entry. */
  private removeInTransaction(storedKey: string): void {
    const old = this.records.get(storedKey);
    if (old === undefined) return;
    const oldExpiration = old.expiration;
    if (oldExpiration !== undefined) this.expiries.removeSync(expiryIndexKey(oldExpiration, storedKey));
    this.records.removeSync(storedKey);
    this.entries.removeSync(storedKey);
  }

  /**
   * Runs one bulk batch as one write transaction and records its keys as succeeded or failed.
   * Returns true when the operation must stop (cancelled, namespace gone, or the write failed).
   */
  private async runBatch(
    namespaceId: string,
    options: BulkOptions,
    result: BulkResult,
    batchKeys: string[],
    /** Only asked for when the operation stops: building it for every batch would be quadratic. */
    laterKeys: () => string[],
    write: () => void,
  ): Promise<boolean> {
    const failAll = (error: string) => {
      for (const key of batchKeys) result.failed.push({ key, error });
      for (const key of laterKeys()) result.failed.push({ key, error });
    };
    if (options.signal?.aborted) {
      failAll('Cancelled before this key was written.');
      return true;
    }
    let outcome: boolean;
    try {
      outcome = await this.root.transaction(() => {
        if (!this.isLive(namespaceId)) return false;
        write();
        return true;
      });
    } catch (error) {
      failAll(`The local store could not commit the batch: ${describeError(error)}`);
      return true;
    }
    if (!outcome) {
      failAll(`The namespace ${namespaceId} was deleted.`);
      return true;
    }
    for (const key of batchKeys) result.succeeded.push(key);
    return false;
  }

  /** Where a listing under `prefix` starts: the cursor's position, but never before the prefix. */
  private startPosition(prefix: string, cursor: string | undefined): string {
    if (cursor === undefined || cursor === '') return prefix;
    const start = cursorStart(decodeCursor(cursor));
    return compareUtf8(start, prefix) < 0 ? prefix : start;
  }

  /** Removes a namespace marked deleting: its keys in batches, then (once none is left) the namespace itself. */
  private async finishNamespaceDeletion(namespaceId: string): Promise<void> {
    const keysUnder = (limit: number): string[] => {
      const found: string[] = [];
      for (const storedKey of this.records.getKeys({ start: namespaceId, limit })) {
        if (!storedKey.startsWith(namespaceId)) break;
        found.push(storedKey);
      }
      return found;
    };
    for (;;) {
      const batch = keysUnder(BULK_BATCH_KEYS);
      const finished = await this.root.transaction(() => {
        for (const storedKey of batch) this.removeInTransaction(storedKey);
        if (batch.length === BULK_BATCH_KEYS || keysUnder(1).length > 0) return false;
        this.namespaces.removeSync(namespaceId);
        return true;
      });
      if (finished) return;
    }
  }

  /** Removes keys a read found expired, in the background; re-checked inside the transaction. */
  private purgeLater(storedKeys: string[]): void {
    if (storedKeys.length === 0 || this.closed) return;
    this.track(
      this.root.transaction(() => {
        const now = this.now();
        for (const storedKey of storedKeys) {
          if (isExpired(this.records.get(storedKey), now)) this.removeInTransaction(storedKey);
        }
      }),
    );
  }

  private startSweeper(intervalMs: number): void {
    if (intervalMs <= 0) return;
    const sweep = () => {
      if (!this.closed && this.background.size === 0) this.track(this.purgeExpired());
    };
    // unref: a sweep never keeps the process (or VS Code's extension host) alive.
    this.timers.push(setTimeout(sweep, Math.min(FIRST_SWEEP_DELAY_MS, intervalMs)).unref());
    this.timers.push(setInterval(sweep, intervalMs).unref());
  }

  private track(work: Promise<unknown>): void {
    const tracked = work
      .catch((error) => this.logger.log('warn', `Local store purge failed: ${describeError(error)}`))
      .finally(() => this.background.delete(tracked));
    this.background.add(tracked);
  }

  private titleTaken(title: string): boolean {
    for (const { value } of this.namespaces.getRange({})) if (value.title === title && !value.deleting) return true;
    return false;
  }

  private isLive(namespaceId: string): boolean {
    const record = this.namespaces.get(namespaceId);
    return record !== undefined && !record.deleting;
  }

  private requireNamespace(namespaceId: string): void {
    if (!isNamespaceId(namespaceId) || !this.isLive(namespaceId)) throw this.namespaceMissing(namespaceId);
  }

  private namespaceMissing(namespaceId: string): KvError {
    return notFound(`The namespace ${JSON.stringify(namespaceId)} does not exist in the local store.`);
  }

  private titleConflict(title: string): KvError {
    return new KvError('conflict', `A namespace named ${JSON.stringify(title)} already exists in the local store.`);
  }

  private checkOpen(): void {
    if (this.closed) throw new KvError('unavailable', 'The local store is closed.');
  }
}

const EMPTY = Buffer.alloc(0);
