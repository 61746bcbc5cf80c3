// Values (and metadata) as documents: the kv: FileSystemProvider. Ctrl+S validates, checks for a conflicting change,
// keeps what the person did not touch (metadata, expiration) and writes through the store, whose client retries.
// A failed save throws, so VS Code keeps the editor dirty and offers its own Retry.
import { createHash } from 'node:crypto';
import { isUtf8 } from 'node:buffer';
import * as vscode from 'vscode';
import { describeError, isKvError, KvError } from '../core/errors';
import type { DocumentKind, KvAddress } from '../core/kvPath';
import type { KvEntry, KvStore, PutOptions } from '../core/store';
import { formatBytes, nowSeconds, parseMetadataText, validateKey, validateValueSize } from '../core/validation';
import type { ConnectionManager } from './connections';
import { kvUri, KV_SCHEME, parseKvUri } from './kvUri';
import type { ExtensionLog } from './log';

export const SNAPSHOT_SCHEME = 'kv-snapshot';
export const DEFAULT_MAX_OPEN_BYTES = 5 * 1024 * 1024;
/** Slack for the time a save takes to reach the store (retries included) when it re-sends an expiration. */
const EXPIRATION_MARGIN_SECONDS = 10;

/** A question the save flow asks; tests answer it through `KvFileSystemProvider.ask`. */
export interface SaveQuestion {
  /** Stable name: 'conflict' | 'deleted' | 'exists' | 'expiring' | 'large'. */
  id: string;
  message: string;
  detail: string;
  choices: string[];
}

export type SaveQuestionAsker = (question: SaveQuestion) => Promise<string | undefined>;

export interface KeyChangeEvent {
  connectionId: string;
  namespaceId: string;
  key: string;
}

/** What was last read or written, to notice a change made elsewhere before overwriting it. */
interface Version {
  hash: string;
  expiration?: number;
  metadata: string;
}

const askWithModal: SaveQuestionAsker = async (question) =>
  vscode.window.showWarningMessage(question.message, { modal: true, detail: question.detail }, ...question.choices);

function versionOf(entry: KvEntry | undefined): Version | undefined {
  if (!entry) return undefined;
  return {
    hash: createHash('sha256').update(entry.value).digest('hex'),
    expiration: entry.expiration,
    metadata: JSON.stringify(entry.metadata ?? null),
  };
}

function sameVersion(a: Version | undefined, b: Version | undefined): boolean {
  return a?.hash === b?.hash && a?.expiration === b?.expiration && a?.metadata === b?.metadata;
}

/** One document: a key's value and its metadata are edited (and version-checked) separately. */
function documentId(address: KvAddress): string {
  return JSON.stringify([address.connectionId, address.namespaceId, address.key, address.kind]);
}

/** The documents a save of this key may have made stale; hex views are read-only and never saved. */
function editableDocuments(address: KvAddress): KvAddress[] {
  return (['value', 'metadata'] as const).map((kind) => ({ ...address, kind }));
}

/** A read-only hex dump, so binary values are shown faithfully and can never be saved back mangled. */
export function hexDump(bytes: Uint8Array): string {
  const lines: string[] = [`// ${bytes.byteLength} bytes, not UTF-8 text: shown read-only.`];
  for (let offset = 0; offset < bytes.byteLength; offset += 16) {
    const row = bytes.subarray(offset, offset + 16);
    const hex = Array.from(row, (b) => b.toString(16).padStart(2, '0')).join(' ');
    const text = Array.from(row, (b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
    lines.push(`${offset.toString(16).padStart(8, '0')}  ${hex.padEnd(47)}  |${text}|`);
  }
  return lines.join('\n') + '\n';
}

function metadataText(entry: KvEntry): string {
  return JSON.stringify(entry.metadata ?? {}, null, 2) + '\n';
}

/** Whether the URI is a parent folder of a key document rather than the document itself. */
function isFolderUri(uri: vscode.Uri): boolean {
  const address = parseKvUri(uri);
  return address !== undefined && kvUri(address.connectionId, address.namespaceId, address.key, address.kind).path !== uri.path;
}

/** File extensions some language claims: plain text's `.txt` (built into VS Code) and every extension manifest's. */
function languageFileExtensions(): Set<string> {
  const extensions = new Set<string>(['.txt']);
  for (const extension of vscode.extensions.all) {
    const languages: unknown = extension.packageJSON?.contributes?.languages;
    if (!Array.isArray(languages)) continue;
    for (const language of languages as { extensions?: unknown }[]) {
      if (!Array.isArray(language.extensions)) continue;
      for (const fileExtension of language.extensions) if (typeof fileExtension === 'string') extensions.add(fileExtension.toLowerCase());
    }
  }
  return extensions;
}

async function closeTabs(viewColumn: vscode.ViewColumn, matches: (input: unknown) => boolean): Promise<void> {
  const group = vscode.window.tabGroups.all.find((candidate) => candidate.viewColumn === viewColumn);
  const tabs = group?.tabs.filter((tab) => matches(tab.input)) ?? [];
  if (tabs.length > 0) await vscode.window.tabGroups.close(tabs, true);
}

function toFileSystemError(error: unknown, uri: vscode.Uri): vscode.FileSystemError {
  if (error instanceof vscode.FileSystemError) return error;
  const message = describeError(error);
  if (isKvError(error, 'not-found')) return vscode.FileSystemError.FileNotFound(message);
  if (isKvError(error, 'unauthorized')) return vscode.FileSystemError.NoPermissions(message);
  if (isKvError(error, 'unavailable') || isKvError(error, 'rate-limited')) return vscode.FileSystemError.Unavailable(message);
  return new vscode.FileSystemError(message || uri.toString());
}

export class KvFileSystemProvider implements vscode.FileSystemProvider, vscode.TextDocumentContentProvider, vscode.Disposable {
  private readonly changeEmitter = new vscode.EventEmitter<vscode.FileChangeEvent[]>();
  readonly onDidChangeFile = this.changeEmitter.event;
  private readonly keysEmitter = new vscode.EventEmitter<KeyChangeEvent[]>();
  /** Keys this provider wrote or deleted (the tree listens). */
  readonly onDidChangeKeys = this.keysEmitter.event;

  /** Answers the save flow's questions; a modal dialog unless a test replaces it. */
  ask: SaveQuestionAsker = askWithModal;

  private readonly versions = new Map<string, Version | undefined>();
  /**
   * What a failed save tried to write. A write can land although its response was lost (a timeout, a dropped
   * connection); finding our own attempt in the store on the next save is not someone else's change.
   */
  private readonly attempts = new Map<string, Version>();
  /**
   * mtime and size per document as VS Code last saw them. The mtime changes only when the extension itself changes
   * the key (other than by saving that very document), so open editors reload then; a change made elsewhere is caught when saving, by the version check, which
   * asks the person instead of VS Code silently reloading or raising its own conflict.
   */
  private readonly seen = new Map<string, { mtime: number; size?: number }>();
  /** Whether a key's value is not UTF-8 text, learned on each read; such values show as hex views in text editors. */
  private readonly binary = new Map<string, boolean>();
  /** Tabs being replaced by their hex view, so a burst of tab events swaps each once. */
  private readonly swapping = new Set<string>();
  /** Server versions shown on the left of a Compare. */
  private readonly snapshots = new Map<string, string>();
  /** Connections already told that a save cannot keep a TTL their store never reports. */
  private readonly toldTtlUnknown = new Set<string>();
  private pendingEvents: vscode.FileChangeEvent[] = [];
  private flushTimer: NodeJS.Timeout | undefined;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(
    /** Only `storeFor` is needed, so a test can serve a store with other capabilities (a read-only one). */
    private readonly connections: Pick<ConnectionManager, 'storeFor'>,
    private readonly log: ExtensionLog,
  ) {
    this.disposables.push(
      vscode.workspace.registerTextDocumentContentProvider(SNAPSHOT_SCHEME, this),
      vscode.workspace.onDidOpenTextDocument((document) => this.pickLanguage(document)),
      vscode.workspace.onDidCloseTextDocument((document) => this.snapshots.delete(document.uri.toString())),
      vscode.window.tabGroups.onDidChangeTabs(({ opened, changed }) => {
        for (const tab of [...opened, ...changed]) {
          this.showBinaryAsHex(tab).catch((error: unknown) => this.log.log('warn', `Could not show a hex view: ${describeError(error)}`));
        }
      }),
    );
  }

  // ------------------------------------------------------------------ FileSystemProvider

  watch(): vscode.Disposable {
    // Changes made by this extension are announced through onDidChangeFile; KV has no change feed to watch.
    return new vscode.Disposable(() => undefined);
  }

  async stat(uri: vscode.Uri): Promise<vscode.FileStat> {
    // A path above a key's own (VS Code walks parents when it writes) is a folder: a key prefix, always there.
    if (isFolderUri(uri)) return { type: vscode.FileType.Directory, ctime: 0, mtime: 0, size: 0 };
    const address = this.addressOf(uri);
    const store = await this.storeOf(address);
    const entry = await this.read(store, address, uri);
    const binary = this.noteBinary(address, entry);
    const seen = this.seenOf(uri);
    seen.size ??= address.kind === 'value' ? entry.value.byteLength : this.documentText(address, entry).byteLength;
    const readonly = !store.capabilities.write || address.kind === 'hex' || (address.kind === 'value' && binary);
    return {
      type: vscode.FileType.File,
      ctime: 0,
      mtime: seen.mtime,
      size: seen.size,
      permissions: readonly ? vscode.FilePermission.Readonly : undefined,
    };
  }

  readDirectory(): [string, vscode.FileType][] {
    return [];
  }

  createDirectory(): void {
    // Folders are key prefixes: they exist as soon as a key under them does, so there is nothing to create.
  }

  async readFile(uri: vscode.Uri): Promise<Uint8Array> {
    const address = this.addressOf(uri);
    const store = await this.storeOf(address);
    const entry = await this.read(store, address, uri);
    this.noteBinary(address, entry);
    if (address.kind !== 'hex') this.versions.set(documentId(address), versionOf(entry));
    this.log.log('debug', `Opened "${address.key}" (${address.kind}) in ${address.namespaceId}.`);
    if (address.kind !== 'metadata') await this.confirmLargeOpen(address, entry);
    const content = this.documentText(address, entry);
    this.seenOf(uri).size = content.byteLength;
    return content;
  }

  /** A value is its exact bytes (so image previews and hex editors work); the other kinds are text made from the entry. */
  private documentText(address: KvAddress, entry: KvEntry): Uint8Array {
    if (address.kind === 'metadata') return Buffer.from(metadataText(entry));
    if (address.kind === 'hex') return Buffer.from(hexDump(entry.value));
    return entry.value;
  }

  private async confirmLargeOpen(address: KvAddress, entry: KvEntry): Promise<void> {
    const limit = vscode.workspace.getConfiguration('kvExplorer').get<number>('maxOpenSizeBytes', DEFAULT_MAX_OPEN_BYTES);
    if (entry.value.byteLength > limit) {
      const answer = await this.ask({
        id: 'large',
        message: `"${address.key}" is ${formatBytes(entry.value.byteLength)}.`,
        detail: `That is over the kvExplorer.maxOpenSizeBytes setting (${formatBytes(limit)}). Opening it may be slow.`,
        choices: ['Open'],
      });
      if (answer !== 'Open') throw vscode.FileSystemError.Unavailable(`Not opened: "${address.key}" is ${formatBytes(entry.value.byteLength)}, over kvExplorer.maxOpenSizeBytes.`);
    }
  }

  async writeFile(uri: vscode.Uri, content: Uint8Array, options: { create: boolean; overwrite: boolean }): Promise<void> {
    const address = this.addressOf(uri);
    const store = await this.storeOf(address);
    if (!store.capabilities.write) throw vscode.FileSystemError.NoPermissions(`${store.limits.provider} connection "${address.connectionId}" is read-only.`);
    if (address.kind === 'hex') throw vscode.FileSystemError.NoPermissions(`The hex view of "${address.key}" is read-only; the value was not changed.`);
    try {
      await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Window, title: `Saving ${address.key}…` },
        () => (address.kind === 'metadata' ? this.saveMetadata(store, address, content) : this.saveValue(store, address, content, options)),
      );
    } catch (error) {
      this.log.log('warn', `Save of "${address.key}" in ${address.namespaceId} failed: ${describeError(error)}`);
      throw toFileSystemError(error, uri);
    }
  }

  async delete(uri: vscode.Uri): Promise<void> {
    const address = this.addressOf(uri);
    const store = await this.storeOf(address);
    try {
      await store.delete(address.namespaceId, address.key);
    } catch (error) {
      throw toFileSystemError(error, uri);
    }
    for (const document of editableDocuments(address)) this.versions.delete(documentId(document));
    this.announce([address], vscode.FileChangeType.Deleted);
  }

  async rename(oldUri: vscode.Uri, newUri: vscode.Uri, options: { overwrite: boolean }): Promise<void> {
    const from = this.addressOf(oldUri);
    const to = this.addressOf(newUri);
    if (from.connectionId !== to.connectionId || from.kind !== 'value' || to.kind !== 'value') {
      throw vscode.FileSystemError.NoPermissions('Keys can be renamed only within one connection.');
    }
    const store = await this.storeOf(from);
    try {
      validateKey(store.limits, to.key);
      const entry = await store.get(from.namespaceId, from.key);
      if (!entry) throw vscode.FileSystemError.FileNotFound(`"${from.key}" no longer exists.`);
      if (!options.overwrite && (await store.get(to.namespaceId, to.key))) throw vscode.FileSystemError.FileExists(`"${to.key}" already exists.`);
      await store.put(to.namespaceId, to.key, entry.value, this.preserved(store, entry));
      await store.delete(from.namespaceId, from.key);
    } catch (error) {
      throw toFileSystemError(error, oldUri);
    }
    this.announce([from], vscode.FileChangeType.Deleted);
    this.announce([to], vscode.FileChangeType.Created);
  }

  // ------------------------------------------------------------------ TextDocumentContentProvider (Compare snapshots)

  provideTextDocumentContent(uri: vscode.Uri): string {
    return this.snapshots.get(uri.toString()) ?? '';
  }

  // ------------------------------------------------------------------ announcements

  /** Tells open editors and listeners that keys changed; called for this provider's writes and for the commands'. */
  keysChanged(changes: readonly KeyChangeEvent[], type: vscode.FileChangeType = vscode.FileChangeType.Changed): void {
    this.announce(
      changes.map((change) => ({ ...change, kind: 'value' as const })),
      type,
      false,
    );
  }

  dispose(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.changeEmitter.dispose();
    this.keysEmitter.dispose();
    for (const disposable of this.disposables) disposable.dispose();
  }

  // ------------------------------------------------------------------ saving

  private async saveValue(store: KvStore, address: KvAddress, content: Uint8Array, options: { create: boolean; overwrite: boolean }): Promise<void> {
    // Validate before any request leaves the machine.
    validateKey(store.limits, address.key);
    validateValueSize(store.limits, content.byteLength);
    const id = documentId(address);
    const current = await store.get(address.namespaceId, address.key);
    if (current && !isUtf8(current.value)) {
      // A text editor shows such bytes mangled: saving its text back would replace them.
      throw vscode.FileSystemError.NoPermissions(`"${address.key}" holds binary data and opens read-only; it was not changed.`);
    }
    const opened = this.versions.get(id);
    const known = this.versions.has(id);
    if (known && opened && !current) {
      const answer = await this.ask({
        id: 'deleted',
        message: `"${address.key}" was deleted since you opened it.`,
        detail: 'Someone or something removed the key from the store. Saving will create it again with your text.',
        choices: ['Re-create'],
      });
      if (answer !== 'Re-create') throw new KvError('cancelled', `Not saved: "${address.key}" was deleted meanwhile.`);
    } else if (current && !this.isOwnAttempt(id, current) && (known ? !sameVersion(opened, versionOf(current)) : !options.overwrite || options.create)) {
      await this.resolveConflict(address, current, known);
    }
    const putOptions = current ? await this.keepExpiration(store, address, current) : {};
    const attempt = versionOf({ value: content, expiration: putOptions.expiration, metadata: putOptions.metadata })!;
    this.attempts.set(id, attempt);
    await store.put(address.namespaceId, address.key, content, putOptions);
    this.attempts.delete(id);
    const written = await this.writtenVersion(store, address, attempt, putOptions);
    this.versions.set(id, written);
    this.ownWriteLanded(address, written);
    this.announce([address], current ? vscode.FileChangeType.Changed : vscode.FileChangeType.Created, true, 'value');
    this.binary.set(id, !isUtf8(content)); // known without another read when the tab's state changes
    if (current) this.tellTtlUnknown(store, address);
  }

  /** Telnyx never reports a key's TTL, so a save cannot re-send one: say so once per connection instead of silently. */
  private tellTtlUnknown(store: KvStore, address: KvAddress): void {
    if (store.capabilities.readsExpiration || store.capabilities.expiration === 'none' || this.toldTtlUnknown.has(address.connectionId)) return;
    this.toldTtlUnknown.add(address.connectionId);
    const message = `${store.limits.provider} does not report a key's expiration, so saving "${address.key}" wrote it without one. Set Expiration again if it had one.`;
    this.log.log('warn', message);
    void vscode.window.showWarningMessage(message);
  }

  private async saveMetadata(store: KvStore, address: KvAddress, content: Uint8Array): Promise<void> {
    if (!store.capabilities.metadata) throw vscode.FileSystemError.NoPermissions(`${store.limits.provider} does not store metadata.`);
    const metadata = parseMetadataText(store.limits, Buffer.from(content).toString('utf8'));
    const id = documentId(address);
    const current = await store.get(address.namespaceId, address.key);
    if (!current) throw new KvError('not-found', `"${address.key}" no longer exists, so its metadata cannot be saved.`);
    if (this.versions.has(id) && !sameVersion(this.versions.get(id), versionOf(current))) await this.resolveConflict(address, current, true);
    const putOptions = { ...(await this.keepExpiration(store, address, current)), metadata };
    await store.put(address.namespaceId, address.key, current.value, putOptions);
    const sent = versionOf({ value: current.value, expiration: putOptions.expiration, metadata })!;
    const written = await this.writtenVersion(store, address, sent, putOptions);
    this.versions.set(id, written);
    this.ownWriteLanded(address, written);
    this.announce([address], vscode.FileChangeType.Changed, true, 'metadata');
  }

  /** What the store now holds after our write; a TTL becomes an expiration only the store knows, so that is read back. */
  private async writtenVersion(store: KvStore, address: KvAddress, sent: Version, options: PutOptions): Promise<Version> {
    if (options.expirationTtl === undefined || !store.capabilities.readsExpiration) return sent;
    return versionOf(await store.get(address.namespaceId, address.key)) ?? sent;
  }

  /** The key's other open document is not in conflict with this extension's own write. */
  private ownWriteLanded(address: KvAddress, written: Version): void {
    for (const document of editableDocuments(address)) {
      if (this.versions.has(documentId(document))) this.versions.set(documentId(document), written);
    }
  }

  private isOwnAttempt(id: string, current: KvEntry): boolean {
    const attempt = this.attempts.get(id);
    const now = versionOf(current);
    return attempt !== undefined && attempt.hash === now?.hash && attempt.metadata === now.metadata;
  }

  /** The key changed since it was opened (or exists although this document is new): Compare, Overwrite or Cancel. */
  private async resolveConflict(address: KvAddress, current: KvEntry, opened: boolean): Promise<void> {
    const answer = await this.ask({
      id: opened ? 'conflict' : 'exists',
      message: opened ? `"${address.key}" changed in the store since you opened it.` : `"${address.key}" already exists.`,
      detail: 'Overwrite replaces the stored value with yours. Compare shows both side by side and leaves your editor unsaved.',
      choices: ['Compare', 'Overwrite'],
    });
    if (answer === 'Overwrite') return;
    if (answer === 'Compare') {
      const text = address.kind === 'metadata' ? metadataText(current) : isUtf8(current.value) ? Buffer.from(current.value).toString('utf8') : hexDump(current.value);
      const snapshot = vscode.Uri.from({ scheme: SNAPSHOT_SCHEME, path: kvUri(address.connectionId, address.namespaceId, address.key, address.kind).path, query: String(Date.now()) });
      this.snapshots.set(snapshot.toString(), text);
      const mine = kvUri(address.connectionId, address.namespaceId, address.key, address.kind);
      void vscode.commands.executeCommand('vscode.diff', snapshot, mine, `${address.key} (store) ↔ yours`);
      // The person has now seen the store's version: the next save overwrites it, unless it changes again.
      this.versions.set(documentId(address), versionOf(current));
      throw new KvError('cancelled', `Not saved: "${address.key}" changed in the store. Compare, then save again to overwrite.`);
    }
    throw new KvError('cancelled', `Not saved: "${address.key}" changed in the store since you opened it.`);
  }

  /** A write replaces value, metadata and expiration together, so re-send what the person did not touch. */
  private async keepExpiration(store: KvStore, address: KvAddress, current: KvEntry): Promise<PutOptions> {
    const options = this.preserved(store, current);
    const expiration = options.expiration;
    const min = store.limits.minExpirationSeconds;
    // The provider checks "at least `min` s ahead" when the write arrives, which may be after retries: keep a margin.
    if (expiration === undefined || expiration >= nowSeconds() + min + EXPIRATION_MARGIN_SECONDS) return options;
    const extendedTtl = 2 * min + EXPIRATION_MARGIN_SECONDS;
    const extend = `Expire in ${extendedTtl} s`;
    const left = expiration - nowSeconds();
    const answer = await this.ask({
      id: 'expiring',
      message: `"${address.key}" expires ${left <= 0 ? 'now' : `in ${left} s`}.`,
      detail: `${store.limits.provider} needs an expiration at least ${min} s ahead when the write arrives, so the current one cannot be sent again.`,
      choices: [extend, 'Remove Expiration'],
    });
    const kept: PutOptions = { ...options, expiration: undefined };
    if (answer === extend) return { ...kept, expirationTtl: extendedTtl };
    if (answer === 'Remove Expiration') return kept;
    throw new KvError('cancelled', `Not saved: "${address.key}" is about to expire.`);
  }

  private preserved(store: KvStore, entry: KvEntry): PutOptions {
    return {
      metadata: store.capabilities.metadata ? entry.metadata : undefined,
      expiration: store.capabilities.expiration === 'absolute-and-ttl' ? entry.expiration : undefined,
      // Telnyx stores a Content-Type with the value; a save must not reset it to the default.
      contentType: entry.contentType,
    };
  }

  // ------------------------------------------------------------------ binary values in text editors

  /**
   * A text editor would show a value that is not UTF-8 mangled (or not at all), so its tab is replaced by the hex view.
   * Other editors (an image preview, a hex editor) get the value's exact bytes and are left alone.
   */
  private async showBinaryAsHex(tab: vscode.Tab): Promise<void> {
    const input = tab.input;
    const viewColumn = tab.group.viewColumn;
    const options = { viewColumn, preview: tab.isPreview, preserveFocus: !tab.isActive };
    if (input instanceof vscode.TabInputText) {
      const hex = await this.hexViewOf(input.uri);
      if (!hex || !this.startSwap(input.uri)) return;
      try {
        await vscode.window.showTextDocument(hex, options);
        await closeTabs(viewColumn, (other) => other instanceof vscode.TabInputText && other.uri.toString() === input.uri.toString());
      } finally {
        this.swapping.delete(input.uri.toString());
      }
    } else if (input instanceof vscode.TabInputTextDiff) {
      const [original, modified] = await Promise.all([this.hexViewOf(input.original), this.hexViewOf(input.modified)]);
      if ((!original && !modified) || !this.startSwap(input.modified)) return;
      try {
        await vscode.commands.executeCommand('vscode.diff', original ?? input.original, modified ?? input.modified, tab.label, options);
        await closeTabs(
          viewColumn,
          (other) => other instanceof vscode.TabInputTextDiff && other.original.toString() === input.original.toString() && other.modified.toString() === input.modified.toString(),
        );
      } finally {
        this.swapping.delete(input.modified.toString());
      }
    }
  }

  private startSwap(uri: vscode.Uri): boolean {
    if (this.swapping.has(uri.toString())) return false;
    this.swapping.add(uri.toString());
    return true;
  }

  /** The hex view for a value document whose value is not UTF-8; undefined for anything else. */
  private async hexViewOf(uri: vscode.Uri): Promise<vscode.Uri | undefined> {
    const address = parseKvUri(uri);
    if (address?.kind !== 'value' || !(await this.isBinary(address))) return undefined;
    return kvUri(address.connectionId, address.namespaceId, address.key, 'hex');
  }

  private async isBinary(address: KvAddress): Promise<boolean> {
    const known = this.binary.get(documentId(address));
    if (known !== undefined) return known;
    try {
      const entry = await (await this.storeOf(address)).get(address.namespaceId, address.key);
      return entry ? this.noteBinary(address, entry) : false;
    } catch {
      return false; // the editor's own read reports the problem
    }
  }

  private noteBinary(address: KvAddress, entry: KvEntry): boolean {
    const binary = !isUtf8(entry.value);
    this.binary.set(documentId({ ...address, kind: 'value' }), binary);
    return binary;
  }

  // ------------------------------------------------------------------ helpers

  private addressOf(uri: vscode.Uri): KvAddress {
    const address = parseKvUri(uri);
    if (!address) throw vscode.FileSystemError.FileNotFound(uri);
    return address;
  }

  private async storeOf(address: KvAddress): Promise<KvStore> {
    try {
      return await this.connections.storeFor(address.connectionId);
    } catch (error) {
      throw vscode.FileSystemError.Unavailable(describeError(error));
    }
  }

  private async read(store: KvStore, address: KvAddress, uri: vscode.Uri): Promise<KvEntry> {
    if (address.kind === 'metadata' && !store.capabilities.metadata) {
      throw vscode.FileSystemError.NoPermissions(`${store.limits.provider} does not store metadata.`);
    }
    let entry: KvEntry | undefined;
    try {
      entry = await store.get(address.namespaceId, address.key);
    } catch (error) {
      throw toFileSystemError(error, uri);
    }
    if (!entry) throw vscode.FileSystemError.FileNotFound(`"${address.key}" does not exist (yet): save to create it.`);
    return entry;
  }

  private seenOf(uri: vscode.Uri): { mtime: number; size?: number } {
    const id = uri.toString();
    let seen = this.seen.get(id);
    if (!seen) {
      seen = { mtime: Date.now() };
      this.seen.set(id, seen);
    }
    return seen;
  }

  /** Bumps mtimes and fires the batched events (as in the MemFS sample), for both the value and metadata documents. */
  private announce(addresses: readonly KvAddress[], type: vscode.FileChangeType, tellListeners = true, savedKind?: DocumentKind): void {
    const now = Date.now();
    for (const address of addresses) {
      this.binary.delete(documentId({ ...address, kind: 'value' }));
      for (const kind of ['value', 'metadata', 'hex'] as const) {
        const uri = kvUri(address.connectionId, address.namespaceId, address.key, kind);
        const previous = this.seen.get(uri.toString());
        // The saved document keeps its mtime: if VS Code's stat right after the write fails, its editor still holds
        // the old mtime, and a newer one would make every later save fail as "File Modified Since". Changes made
        // elsewhere are caught by the version check instead.
        const mtime = kind === savedKind && previous ? previous.mtime : Math.max(now, (previous?.mtime ?? 0) + 1);
        this.seen.set(uri.toString(), { mtime });
        this.pendingEvents.push({ type, uri });
      }
    }
    if (tellListeners) this.keysEmitter.fire(addresses.map(({ connectionId, namespaceId, key }) => ({ connectionId, namespaceId, key })));
    this.flushTimer ??= setTimeout(() => {
      this.flushTimer = undefined;
      const events = this.pendingEvents;
      this.pendingEvents = [];
      this.changeEmitter.fire(events);
    }, 5);
  }

  /** Plain-text values that parse as JSON open as JSON; a key's own extension wins when it has one. */
  private pickLanguage(document: vscode.TextDocument): void {
    if (document.uri.scheme !== KV_SCHEME || document.languageId !== 'plaintext') return;
    // `notes.txt` is plain text on purpose; `user.42` or `settings` got plaintext only for want of a known extension.
    const extension = /(\.[^./]+)$/.exec(document.uri.path)?.[1].toLowerCase();
    if (extension && languageFileExtensions().has(extension)) return;
    const text = document.getText();
    if (!/^\s*[[{"]/.test(text)) return;
    try {
      JSON.parse(text);
    } catch {
      return;
    }
    void vscode.languages.setTextDocumentLanguage(document, 'json');
  }
}

export function registerKvFileSystem(connections: ConnectionManager, log: ExtensionLog): { provider: KvFileSystemProvider; disposables: vscode.Disposable[] } {
  const provider = new KvFileSystemProvider(connections, log);
  return {
    provider,
    disposables: [provider, vscode.workspace.registerFileSystemProvider(KV_SCHEME, provider, { isCaseSensitive: true })],
  };
}
