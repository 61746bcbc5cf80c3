// What every command shares: its dependencies, how its arguments are read (a tree item and the selection from
// menus; a target and options from code), how it asks for a missing target, and how its errors are shown.
import * as vscode from 'vscode';
import { describeError, isKvError, KvError } from '../../core/errors';
import type { KeyInfo, KvStore, Namespace } from '../../core/store';
import type { Connection, ConnectionManager } from '../connections';
import type { ExtensionLog } from '../log';
import type { StoresTreeProvider, TreeNode } from '../tree';
import type { NewKeyDocuments } from './newKeyDocuments';
import { AnsweringPrompter, type CommandOptions, type PickItem, type Prompter } from './prompter';

export interface KeyChange {
  connectionId: string;
  namespaceId: string;
  key: string;
}

export type DocumentKind = 'value' | 'metadata';

/** The parts of the extension the commands use. */
export interface CommandDependencies {
  readonly connections: ConnectionManager;
  readonly tree: StoresTreeProvider;
  readonly treeView: vscode.TreeView<TreeNode>;
  readonly log: ExtensionLog;
  /** VS Code's UI, unless a caller passes its own. */
  readonly prompter: Prompter;
  /** The document of a key's value or metadata (the kv: file system). */
  keyUri(connectionId: string, namespaceId: string, key: string, kind?: DocumentKind): vscode.Uri;
  /** Tells the tree and open editors that the extension itself changed (wrote or deleted) these keys. */
  keysChanged(changes: KeyChange[]): void;
  /** Documents for keys that exist only after their first save. */
  readonly newKeys: NewKeyDocuments;
}

// ------------------------------------------------------------------ targets

export interface ConnectionTarget {
  kind: 'connection';
  connectionId: string;
}
export interface NamespaceTarget {
  kind: 'namespace';
  connectionId: string;
  namespaceId: string;
  /** The namespace's title, when the target came from the tree (else looked up when a message needs it). */
  namespaceTitle?: string;
}
export interface FolderTarget {
  kind: 'folder';
  connectionId: string;
  namespaceId: string;
  /** Ends with '/'. */
  prefix: string;
  namespaceTitle?: string;
}
export interface KeyTarget {
  kind: 'key';
  connectionId: string;
  namespaceId: string;
  key: string;
  /** What the tree knew of the key (expiration, metadata), when the target came from the tree. */
  info?: KeyInfo;
  namespaceTitle?: string;
}
export type Target = ConnectionTarget | NamespaceTarget | FolderTarget | KeyTarget;
/** A namespace, or a place in one: everything a key command can start from. */
export type PlaceTarget = NamespaceTarget | FolderTarget | KeyTarget;

/**
 * Reads a command's target: a Stores tree item, or a plain object
 * `{connectionId, namespaceId?, prefix?, key?}` as code passes it. Anything else is no target.
 */
export function toTarget(value: unknown): Target | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const node = value as Partial<TreeNode> & Record<string, unknown>;
  switch (node.type) {
    case 'connection':
      return { kind: 'connection', connectionId: (node as { connection: Connection }).connection.id };
    case 'namespace': {
      const namespace = (node as { namespace: Namespace }).namespace;
      return { kind: 'namespace', connectionId: String(node.connectionId), namespaceId: namespace.id, namespaceTitle: namespace.title };
    }
    case 'folder':
      return { kind: 'folder', connectionId: String(node.connectionId), namespaceId: String(node.namespaceId), prefix: String(node.prefix), namespaceTitle: titleAbove(node) };
    case 'key': {
      const info = (node as { key: KeyInfo }).key;
      return { kind: 'key', connectionId: String(node.connectionId), namespaceId: String(node.namespaceId), key: info.name, info, namespaceTitle: titleAbove(node) };
    }
    case 'error':
    case 'loadMore':
      return undefined;
  }
  const plain = value as { connectionId?: unknown; namespaceId?: unknown; key?: unknown; prefix?: unknown };
  if (typeof plain.connectionId !== 'string') return undefined;
  const connectionId = plain.connectionId;
  if (typeof plain.namespaceId !== 'string') return { kind: 'connection', connectionId };
  const namespaceId = plain.namespaceId;
  if (typeof plain.key === 'string') return { kind: 'key', connectionId, namespaceId, key: plain.key };
  if (typeof plain.prefix === 'string' && plain.prefix !== '') {
    if (!plain.prefix.endsWith('/')) throw new KvError('invalid', `A folder prefix ends with "/"; got ${JSON.stringify(plain.prefix)}.`, { rule: 'target.prefix' });
    return { kind: 'folder', connectionId, namespaceId, prefix: plain.prefix };
  }
  return { kind: 'namespace', connectionId, namespaceId };
}

/** The title of the namespace a tree node sits in. */
function titleAbove(node: { parent?: unknown }): string | undefined {
  for (let current = node.parent as { type?: string; parent?: unknown; namespace?: Namespace } | undefined; current; current = current.parent as typeof current) {
    if (current.type === 'namespace') return current.namespace?.title;
  }
  return undefined;
}

function looksLikeTarget(value: unknown): boolean {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  return 'type' in value || 'connectionId' in value;
}

/** The folder prefix a place stands for: '' for a namespace, the folder's prefix, or the folder holding a key. */
export function prefixOf(target: PlaceTarget): string {
  if (target.kind === 'namespace') return '';
  if (target.kind === 'folder') return target.prefix;
  return target.key.slice(0, target.key.lastIndexOf('/') + 1);
}

// ------------------------------------------------------------------ one run of a command

/** Namespaces read for a quick pick at most (Cloudflare allows 1000 per account). */
const NAMESPACE_PICK_PAGES = 20;
/** Keys a key search shows at once. */
const KEY_SEARCH_LIMIT = 100;

export class Invocation {
  readonly prompter: Prompter;
  readonly interactive: boolean;
  /** The target, then the rest of the selection (from a multi-select menu, or passed as an array). */
  readonly targets: Target[];

  constructor(
    readonly deps: CommandDependencies,
    readonly title: string,
    targets: Target[],
    readonly options: CommandOptions,
  ) {
    this.targets = targets;
    this.interactive = options.interactive !== false;
    const fallback = options.prompter ?? (this.interactive ? deps.prompter : undefined);
    this.prompter = new AnsweringPrompter(options, fallback, options.onProgress, options.signal);
  }

  get target(): Target | undefined {
    return this.targets[0];
  }

  store(connectionId: string): Promise<KvStore> {
    return this.deps.connections.storeFor(connectionId);
  }

  connectionName(connectionId: string): string {
    return this.deps.connections.get(connectionId)?.name ?? connectionId;
  }

  /** The title of a target's namespace, for messages: from the tree when it came from there, else from the store. */
  async namespaceTitle(target: PlaceTarget): Promise<string> {
    if (target.namespaceTitle !== undefined) return target.namespaceTitle;
    try {
      const store = await this.store(target.connectionId);
      const found = (await listNamespaces(store)).find((namespace) => namespace.id === target.namespaceId);
      target.namespaceTitle = found?.title ?? target.namespaceId;
    } catch {
      target.namespaceTitle = target.namespaceId;
    }
    return target.namespaceTitle;
  }

  /** The target's connection, or one the person picks (answer: 'connection', an id or a name). */
  async connection(accept: (connection: Connection) => boolean = () => true, placeHolder = 'Pick a connection'): Promise<Connection | undefined> {
    const given = this.target;
    if (given) {
      const connection = this.deps.connections.get(given.connectionId);
      if (!connection) throw new KvError('not-found', `There is no connection "${given.connectionId}".`);
      return connection;
    }
    const connections = this.deps.connections.list().filter(accept);
    if (connections.length === 0) throw new KvError('not-found', 'There is no connection this command can act on.');
    return this.prompter.pick({
      id: 'connection',
      title: this.title,
      placeHolder,
      items: connections.map((connection) => ({ id: connection.id, label: connection.name, description: describeConnection(connection), value: connection })),
    });
  }

  /** A namespace of the target, or one the person picks (answers: 'connection', then 'namespace', an id or a title). */
  async namespace(): Promise<NamespaceTarget | undefined> {
    const given = this.target;
    if (given && given.kind !== 'connection') {
      return { kind: 'namespace', connectionId: given.connectionId, namespaceId: given.namespaceId, namespaceTitle: given.namespaceTitle };
    }
    const connection = await this.connection();
    if (!connection) return undefined;
    const store = await this.store(connection.id);
    const namespaces = await listNamespaces(store);
    if (namespaces.length === 0) throw new KvError('not-found', `"${connection.name}" has no namespaces.`);
    const namespace = await this.prompter.pick({
      id: 'namespace',
      title: this.title,
      placeHolder: `Pick a namespace of ${connection.name}`,
      items: namespaces.map((item) => ({ id: item.id, label: item.title, description: item.id === item.title ? undefined : item.id, value: item })),
    });
    return namespace && { kind: 'namespace', connectionId: connection.id, namespaceId: namespace.id, namespaceTitle: namespace.title };
  }

  /** The target as a place (namespace, folder or key), or a namespace the person picks. */
  async place(): Promise<PlaceTarget | undefined> {
    const given = this.target;
    if (given && given.kind !== 'connection') return given;
    return this.namespace();
  }

  /** The target key, or a key the person finds by prefix in a namespace (answer: 'pickKey', the key or a prefix). */
  async key(placeHolder = 'Type the start of a key'): Promise<KeyTarget | undefined> {
    const given = this.target;
    if (given?.kind === 'key') return given;
    const namespace = await this.place();
    if (!namespace) return undefined;
    const store = await this.store(namespace.connectionId);
    const key = await this.prompter.search<KeyInfo>({
      id: 'pickKey',
      title: this.title,
      placeHolder,
      value: prefixOf(namespace),
      search: (text, signal) => searchKeys(store, namespace.namespaceId, text, signal),
    });
    return key && { kind: 'key', connectionId: namespace.connectionId, namespaceId: namespace.namespaceId, key: key.name, info: key, namespaceTitle: namespace.namespaceTitle };
  }

  /** Runs long work with a cancellable progress notification. */
  progress<T>(title: string, work: (report: (message: string) => void, signal: AbortSignal) => Promise<T>): Promise<T> {
    return this.prompter.withProgress(title, (progress, signal) => work((message) => progress.report(message), signal));
  }

  info(message: string, actions?: { title: string; run: () => unknown }[]): void {
    this.deps.log.log('info', message);
    this.prompter.notify('info', message, actions);
  }

  warn(message: string, actions?: { title: string; run: () => unknown }[]): void {
    this.deps.log.log('warn', message);
    this.prompter.notify('warn', message, actions);
  }
}

export function describeConnection(connection: Connection): string {
  switch (connection.kind) {
    case 'local':
      return 'on this machine';
    case 'cloudflare':
      return `Cloudflare · ${connection.accountId ?? ''}`;
    case 'telnyx':
      return 'Telnyx';
    case 'wrangler-dev':
      return `wrangler dev · ${connection.baseUrl ?? ''}`;
  }
}

/** Every namespace of a store (bounded: a quick pick of more would not help anyone). */
export async function listNamespaces(store: KvStore): Promise<Namespace[]> {
  const all: Namespace[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < NAMESPACE_PICK_PAGES; page++) {
    const result = await store.listNamespaces({ cursor });
    all.push(...result.items);
    if (result.complete || !result.cursor) break;
    cursor = result.cursor;
  }
  return all.sort((a, b) => a.title.localeCompare(b.title) || a.id.localeCompare(b.id));
}

/** Keys that start with `prefix`, for the key search: one list request, in key order. */
export async function searchKeys(store: KvStore, namespaceId: string, prefix: string, signal?: AbortSignal): Promise<PickItem<KeyInfo>[]> {
  const { min, max } = store.limits.listLimit;
  const page = await store.list(namespaceId, { prefix, limit: Math.min(max, Math.max(min, KEY_SEARCH_LIMIT)), signal });
  return page.keys.slice(0, KEY_SEARCH_LIMIT).map((key) => ({
    label: key.name,
    description: key.expiration !== undefined ? `expires ${new Date(key.expiration * 1000).toISOString()}` : undefined,
    value: key,
  }));
}

// ------------------------------------------------------------------ registration

export type CommandHandler = (invocation: Invocation) => Promise<unknown>;

export interface CommandDefinition {
  id: string;
  /** Used in messages: "Delete Keys failed: …". */
  title: string;
  run: CommandHandler;
}

/**
 * Reads the arguments VS Code or a caller passes:
 * - menus: (item, selectedItems[]);
 * - code: (target?, options?) or (target, targets[], options?) or (options).
 */
export function readArguments(args: unknown[]): { targets: Target[]; options: CommandOptions } {
  const [first, second, third] = args;
  let targets: Target[] = [];
  let options: CommandOptions = {};
  const primary = looksLikeTarget(first) ? toTarget(first) : undefined;
  if (!looksLikeTarget(first) && typeof first === 'object' && first !== null && !Array.isArray(first)) {
    options = first as CommandOptions;
  }
  if (Array.isArray(second)) {
    const selected = second.map(toTarget).filter((target): target is Target => target !== undefined);
    // Menus pass the clicked item again inside the selection; it leads, once.
    const same = (a: Target, b: Target) => JSON.stringify({ ...a, info: undefined, namespaceTitle: undefined }) === JSON.stringify({ ...b, info: undefined, namespaceTitle: undefined });
    targets = primary ? [primary, ...selected.filter((target) => !same(target, primary))] : selected;
    if (typeof third === 'object' && third !== null) options = third as CommandOptions;
  } else {
    targets = primary ? [primary] : [];
    if (typeof second === 'object' && second !== null) options = second as CommandOptions;
  }
  return { targets, options };
}

export function registerCommand(deps: CommandDependencies, definition: CommandDefinition): vscode.Disposable {
  return vscode.commands.registerCommand(definition.id, async (...args: unknown[]) => {
    let invocation: Invocation;
    try {
      const { targets, options } = readArguments(args);
      if (targets.length === 0 && options.useSelection) {
        targets.push(...deps.treeView.selection.map(toTarget).filter((target): target is Target => target !== undefined));
      }
      invocation = new Invocation(deps, definition.title, targets, options);
    } catch (error) {
      deps.log.log('warn', `${definition.title}: ${describeError(error)}`);
      throw error;
    }
    try {
      return await definition.run(invocation);
    } catch (error) {
      if (!invocation.interactive) throw error;
      if (isKvError(error, 'cancelled')) {
        invocation.info(`${definition.title} was cancelled.`);
        return undefined;
      }
      const message = `${definition.title} failed: ${describeError(error)}`;
      deps.log.log('error', message);
      invocation.prompter.notify('error', message);
      return undefined;
    }
  });
}

// ------------------------------------------------------------------ reading many keys

/** Every key under `prefix`, page by page; `onPage` sees the running count (for progress). */
export async function listAllKeys(
  store: KvStore,
  namespaceId: string,
  prefix: string,
  options: { signal?: AbortSignal; onPage?: (count: number) => void } = {},
): Promise<KeyInfo[]> {
  const keys: KeyInfo[] = [];
  let cursor: string | undefined;
  for (;;) {
    if (options.signal?.aborted) throw new KvError('cancelled', 'Listing the keys was cancelled.');
    const page = await store.list(namespaceId, { prefix, cursor, limit: store.limits.listLimit.max, signal: options.signal });
    keys.push(...page.keys);
    options.onPage?.(keys.length);
    if (page.complete || !page.cursor) return keys;
    cursor = page.cursor;
  }
}

/** Whether a key exists, from one short listing (the key sorts first among the keys it prefixes). */
export async function keyExists(store: KvStore, namespaceId: string, key: string, signal?: AbortSignal): Promise<boolean> {
  const page = await store.list(namespaceId, { prefix: key, limit: store.limits.listLimit.min, signal });
  return page.keys.some((info) => info.name === key);
}
