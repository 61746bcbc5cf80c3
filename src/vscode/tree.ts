// The Stores tree: connections → namespaces → '/' folders and keys, loaded lazily, one page at a time.
//
// Context values (`viewItem` in menus) — for the other helpers' when-clauses:
//   connection.local                  the built-in Local store
//   connection.cloudflare             a configured Cloudflare account
//   connection.telnyx                 a configured Telnyx account
//   connection.wrangler-dev           a wrangler dev server added by URL (editable, removable)
//   connection.wrangler-dev.detected  a wrangler dev server found in the workspace (neither editable nor removable)
//   namespace                         a namespace
//   namespace.filtered                a namespace with an active prefix filter
//   folder                            a '/' folder, i.e. a key prefix ending in '/'
//   key                               a key (clicking opens its value)
//   error                             a load that failed, with Retry
//   loadMore                          "Load more…" at the end of a partial page
// Groups: `viewItem =~ /^connection\./`, `viewItem =~ /^namespace/`.
//
// Every node object is canonical: it is created once per load and kept in its parent's state, because VS Code
// finds refreshed and revealed elements by identity. Ids are JSON arrays of the node's coordinates (collision-free
// for any key text); error and "Load more" ids are derived from their container's id.
import * as vscode from 'vscode';
import { describeError, KvError } from '../core/errors';
import { filteredChildren } from '../core/filteredChildren';
import { parentPrefix } from '../core/keys';
import type { ChildItem, KeyInfo, KvStore, Namespace } from '../core/store';
import type { Connection, ConnectionManager } from './connections';
import type { ExtensionLog } from './log';

export const STORES_VIEW_ID = 'kvExplorer.stores';
const FILTERS_STATE_KEY = 'kvExplorer.namespaceFilters';
/** Label for an empty key segment or folder name (a key ending in '/', `a//b`, a leading '/'). */
export const EMPTY_NAME_LABEL = '(empty)';
export const DEFAULT_PAGE_SIZE = 200;
/** Namespace list pages read per load; beyond that, "Load more…" appears. */
const NAMESPACE_PAGES_AT_ONCE = 10;

/** The document URI of a key's value (the kv: file system); it drives the file icon and the click to open. */
export type KeyUriFactory = (connectionId: string, namespaceId: string, key: string) => vscode.Uri;

interface ContainerState {
  /** Folders, keys or namespaces loaded so far, in the provider's order. */
  children: ItemNode[];
  cursor?: string;
  complete: boolean;
  error?: string;
  /** The one in-flight page load; a second request for the same page waits on it instead of fetching again. */
  loading?: Promise<void>;
  pagesLoaded: number;
  /** How many pages to show: 1 at first, +1 per "Load more", kept across a refresh. */
  pagesWanted: number;
}

export interface ConnectionNode {
  readonly type: 'connection';
  readonly id: string;
  readonly parent: undefined;
  readonly connection: Connection;
  state?: ContainerState;
}

export interface NamespaceNode {
  readonly type: 'namespace';
  readonly id: string;
  readonly parent: ConnectionNode;
  readonly connectionId: string;
  readonly namespace: Namespace;
  state?: ContainerState;
}

export interface FolderNode {
  readonly type: 'folder';
  readonly id: string;
  readonly parent: NamespaceNode | FolderNode;
  readonly connectionId: string;
  readonly namespaceId: string;
  /** Full prefix, ending in '/'. */
  readonly prefix: string;
  /** The folder's own segment (may be empty). */
  readonly name: string;
  /** Directly under a filtered namespace, the label carries the path from the namespace root. */
  readonly labelPath: string;
  state?: ContainerState;
}

export interface KeyNode {
  readonly type: 'key';
  readonly id: string;
  readonly parent: NamespaceNode | FolderNode;
  readonly connectionId: string;
  readonly namespaceId: string;
  readonly key: KeyInfo;
  /** The last segment (may be empty). */
  readonly name: string;
  readonly labelPath: string;
}

export interface ErrorNode {
  readonly type: 'error';
  readonly id: string;
  readonly parent: ContainerNode;
  readonly message: string;
}

export interface LoadMoreNode {
  readonly type: 'loadMore';
  readonly id: string;
  readonly parent: ContainerNode;
  /** The page this item loads; a stale click (the page already came) does nothing. */
  readonly cursor: string | undefined;
  readonly loaded: number;
}

export type ContainerNode = ConnectionNode | NamespaceNode | FolderNode;
type ItemNode = NamespaceNode | FolderNode | KeyNode;
export type TreeNode = ContainerNode | KeyNode | ErrorNode | LoadMoreNode;

/** A place in the tree: a connection, a namespace in it, or a folder prefix in that namespace. */
export interface TreeLocation {
  connectionId: string;
  namespaceId?: string;
  /** '' or a prefix ending in '/'. */
  prefix?: string;
}

function isContainer(node: TreeNode): node is ContainerNode {
  return node.type === 'connection' || node.type === 'namespace' || node.type === 'folder';
}

const nodeId = (...parts: string[]) => JSON.stringify(parts);

/** Escapes Markdown syntax. (MarkdownString.appendText also turns spaces into &nbsp;, so hovers could not wrap.) */
function escapeMarkdown(text: string): string {
  return text.replace(/[\\`*_{}[\]()#+\-.!|<>~]/g, '\\$&');
}

/** An inline code span that can hold any text: its fence is longer than any run of backticks inside. */
function inlineCode(text: string): string {
  const longestRun = Math.max(0, ...(text.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(longestRun + 1);
  return `${fence} ${text} ${fence}`;
}
const displayName = (name: string) => (name === '' ? EMPTY_NAME_LABEL : name);

/** "42s", "12m", "5h 12m", "3d 4h": how long until `expiration` (seconds since the epoch). */
export function formatRemaining(expiration: number, nowSeconds = Date.now() / 1000): string {
  const seconds = Math.floor(expiration - nowSeconds);
  if (seconds <= 0) return 'expired';
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return minutes % 60 ? `${hours}h ${minutes % 60}m` : `${hours}h`;
  const days = Math.floor(hours / 24);
  return hours % 24 ? `${days}d ${hours % 24}h` : `${days}d`;
}

/** "expires in 3h 20m", or "expired" for a key the provider still lists after its time. */
export function expiryPhrase(expiration: number, nowSeconds = Date.now() / 1000): string {
  return expiration <= nowSeconds ? 'expired' : `expires in ${formatRemaining(expiration, nowSeconds)}`;
}

export class StoresTreeProvider implements vscode.TreeDataProvider<TreeNode>, vscode.Disposable {
  private readonly changeEmitter = new vscode.EventEmitter<TreeNode | undefined>();
  readonly onDidChangeTreeData = this.changeEmitter.event;
  private readonly roots = new Map<string, ConnectionNode>();
  private view: vscode.TreeView<TreeNode> | undefined;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(
    private readonly connections: ConnectionManager,
    private readonly workspaceState: vscode.Memento,
    private readonly log: ExtensionLog,
    private readonly keyUri: KeyUriFactory,
  ) {
    this.disposables.push(
      this.changeEmitter,
      connections.onDidChangeConnections(({ ids }) => {
        for (const id of ids) this.roots.delete(id);
        this.changeEmitter.fire(undefined);
      }),
    );
  }

  /** The view this provider feeds; `revealKey` needs it. */
  attach(view: vscode.TreeView<TreeNode>): void {
    this.view = view;
  }

  // ------------------------------------------------------------------ TreeDataProvider

  async getChildren(node?: TreeNode): Promise<TreeNode[]> {
    if (!node) return this.rootNodes();
    if (!isContainer(node)) return [];
    const state = await this.loaded(node);
    const shown: TreeNode[] = [...state.children];
    if (state.error !== undefined) {
      shown.push({ type: 'error', id: `error:${node.id}`, parent: node, message: state.error });
    } else if (!state.complete) {
      shown.push({ type: 'loadMore', id: `more:${node.id}`, parent: node, cursor: state.cursor, loaded: state.children.length });
    }
    return shown;
  }

  getParent(node: TreeNode): TreeNode | undefined {
    return node.parent;
  }

  getTreeItem(node: TreeNode): vscode.TreeItem {
    switch (node.type) {
      case 'connection':
        return this.connectionItem(node);
      case 'namespace':
        return this.namespaceItem(node);
      case 'folder':
        return this.folderItem(node);
      case 'key':
        return this.keyItem(node);
      case 'error':
        return this.errorItem(node);
      case 'loadMore':
        return this.loadMoreItem(node);
    }
  }

  // ------------------------------------------------------------------ actions

  /** Reloads everything (connections keep their objects, so expanded items stay expanded). */
  refreshAll(): void {
    for (const root of this.roots.values()) this.reset(root);
    this.changeEmitter.fire(undefined);
  }

  /** Reloads one connection, namespace or folder, with as many pages as it showed. */
  refreshNode(node: TreeNode): void {
    const container = isContainer(node) ? node : node.parent;
    if (!container) return this.refreshAll();
    this.reset(container);
    this.changeEmitter.fire(container);
  }

  /**
   * Reloads the deepest loaded container at `location` — the folder itself when it is loaded, else the nearest
   * loaded ancestor (a new key may have created the folders below it). Unloaded parts load fresh when expanded.
   */
  refresh(location?: TreeLocation): void {
    if (!location) return this.refreshAll();
    const node = this.deepestLoaded(location);
    if (node) this.refreshNode(node);
  }

  /** Refreshes the folders that hold these keys, for changes the extension itself made. */
  keysChanged(changes: Iterable<{ connectionId: string; namespaceId: string; key: string }>): void {
    const containers = new Set<ContainerNode>();
    for (const change of changes) {
      const node = this.deepestLoaded({ ...change, prefix: parentPrefix(change.key) });
      if (node) containers.add(node);
    }
    for (const container of containers) this.refreshNode(container);
  }

  /** Loads the next page under a "Load more…" item. A repeated click for the same page does not fetch it twice. */
  async loadMore(node: LoadMoreNode): Promise<void> {
    const container = node.parent;
    const state = container.state;
    if (!state || state.complete || state.error !== undefined || state.cursor !== node.cursor) return;
    state.pagesWanted = Math.max(state.pagesWanted, state.pagesLoaded + 1);
    await this.loaded(container);
    this.changeEmitter.fire(container);
  }

  /** Tries the failed load of an error item's container again. */
  async retry(node: ErrorNode): Promise<void> {
    const container = node.parent;
    const state = container.state;
    if (state?.error !== undefined) {
      state.error = undefined;
      state.pagesWanted = Math.max(state.pagesWanted, state.pagesLoaded + 1);
    }
    await this.loaded(container);
    this.changeEmitter.fire(container);
  }

  filterOf(node: NamespaceNode): string | undefined {
    return this.workspaceState.get<Record<string, string>>(FILTERS_STATE_KEY, {})[node.id];
  }

  /** Shows only keys starting with `filter` under the namespace; '' or undefined clears the filter. */
  async setFilter(node: NamespaceNode, filter: string | undefined): Promise<void> {
    const filters = { ...this.workspaceState.get<Record<string, string>>(FILTERS_STATE_KEY, {}) };
    if (filter) filters[node.id] = filter;
    else delete filters[node.id];
    await this.workspaceState.update(FILTERS_STATE_KEY, filters);
    node.state = undefined;
    this.changeEmitter.fire(node);
    if (this.view?.visible) await this.view.reveal(node, { expand: true, select: true, focus: false });
  }

  /**
   * Finds a key in the tree, loading namespaces, folders and further pages along the way, and reveals it.
   * A listing that does not have the key is reloaded once (the key may be newer than the listing).
   * A namespace filter that hides the key is cleared.
   */
  async revealKey(connectionId: string, namespaceId: string, key: string, options: { focus?: boolean } = {}): Promise<KeyNode> {
    const node = await this.findKey(connectionId, namespaceId, key);
    if (this.view) await this.view.reveal(node, { select: true, focus: options.focus ?? true, expand: false });
    return node;
  }

  /** The key's node, loading what is needed (see `revealKey`), without touching the view. */
  async findKey(connectionId: string, namespaceId: string, key: string): Promise<KeyNode> {
    const namespace = await this.findNamespace(connectionId, namespaceId);
    const filter = this.filterOf(namespace);
    if (filter && !key.startsWith(filter)) await this.setFilter(namespace, undefined);
    let container: NamespaceNode | FolderNode = namespace;
    let prefix = filter && key.startsWith(filter) ? parentPrefix(filter) : '';
    for (;;) {
      const rest = key.slice(prefix.length);
      const slash = rest.indexOf('/');
      if (slash === -1) {
        return (await this.findChild(container, (child) => child.type === 'key' && child.key.name === key, `key "${key}"`)) as KeyNode;
      }
      const folderPrefix = prefix + rest.slice(0, slash + 1);
      container = (await this.findChild(
        container,
        (child) => child.type === 'folder' && child.prefix === folderPrefix,
        `key "${key}"`,
      )) as FolderNode;
      prefix = folderPrefix;
    }
  }

  async findNamespace(connectionId: string, namespaceId: string): Promise<NamespaceNode> {
    const connection = this.rootNodes().find((root) => root.connection.id === connectionId);
    if (!connection) throw new KvError('not-found', `There is no connection "${connectionId}".`);
    return (await this.findChild(
      connection,
      (child) => child.type === 'namespace' && child.namespace.id === namespaceId,
      `namespace "${namespaceId}"`,
    )) as NamespaceNode;
  }

  /** The page size for a store: the `kvExplorer.pageSize` setting within the provider's list limits. */
  pageSize(store: KvStore): number {
    const setting = vscode.workspace.getConfiguration('kvExplorer').get<number>('pageSize', DEFAULT_PAGE_SIZE);
    const { min, max } = store.limits.listLimit;
    const wanted = Number.isFinite(setting) && setting > 0 ? Math.floor(setting) : DEFAULT_PAGE_SIZE;
    return Math.min(max, Math.max(min, wanted));
  }

  dispose(): void {
    for (const disposable of this.disposables) disposable.dispose();
  }

  // ------------------------------------------------------------------ loading

  private rootNodes(): ConnectionNode[] {
    const connections = this.connections.list();
    const live = new Set(connections.map((connection) => connection.id));
    for (const id of this.roots.keys()) if (!live.has(id)) this.roots.delete(id);
    return connections.map((connection) => {
      const existing = this.roots.get(connection.id);
      if (existing && JSON.stringify(existing.connection) === JSON.stringify(connection)) return existing;
      const node: ConnectionNode = { type: 'connection', id: nodeId('connection', connection.id), parent: undefined, connection };
      this.roots.set(connection.id, node);
      return node;
    });
  }

  private reset(node: ContainerNode): void {
    const pagesWanted = node.state ? Math.max(1, node.state.pagesLoaded) : 1;
    node.state = { children: [], complete: false, pagesLoaded: 0, pagesWanted };
  }

  /** The container's current state once it holds the pages it should; loads them (one fetch per page at a time). */
  private async loaded(node: ContainerNode): Promise<ContainerState> {
    for (;;) {
      if (!node.state) this.reset(node);
      const state = node.state!;
      if (state.loading) {
        await state.loading;
        continue; // the state may have been replaced by a refresh meanwhile
      }
      if (state.complete || state.error !== undefined || state.pagesLoaded >= state.pagesWanted) return state;
      state.loading = this.loadPage(node, state).finally(() => {
        state.loading = undefined;
      });
    }
  }

  private async loadPage(node: ContainerNode, state: ContainerState): Promise<void> {
    const connectionId = node.type === 'connection' ? node.connection.id : node.connectionId;
    try {
      const store = await this.connections.storeFor(connectionId);
      const { items, cursor, complete } = await this.fetchPage(store, node, state.cursor);
      state.children.push(...items);
      state.cursor = cursor;
      state.complete = complete || !cursor;
      state.pagesLoaded++;
    } catch (error) {
      state.error = describeError(error);
      const connection = this.connections.get(connectionId);
      this.log.log('warn', `Loading ${describeNode(node)} of "${connection?.name ?? connectionId}" failed: ${state.error}`);
    }
  }

  private async fetchPage(
    store: KvStore,
    node: ContainerNode,
    cursor: string | undefined,
  ): Promise<{ items: ItemNode[]; cursor?: string; complete: boolean }> {
    if (node.type === 'connection') {
      // Namespaces are few: read up to a few pages at once and show them by title.
      const namespaces: Namespace[] = [];
      let page: { items: Namespace[]; cursor?: string; complete: boolean } = { items: [], cursor, complete: false };
      for (let pages = 0; pages < NAMESPACE_PAGES_AT_ONCE && !page.complete && (pages === 0 || page.cursor); pages++) {
        page = await store.listNamespaces({ cursor: page.cursor });
        namespaces.push(...page.items);
      }
      namespaces.sort((a, b) => a.title.localeCompare(b.title) || a.id.localeCompare(b.id));
      const items = namespaces.map((namespace): NamespaceNode => ({
        type: 'namespace',
        id: nodeId('namespace', node.connection.id, namespace.id),
        parent: node,
        connectionId: node.connection.id,
        namespace,
      }));
      return { items, cursor: page.cursor, complete: page.complete };
    }
    const limit = this.pageSize(store);
    const namespaceId = node.type === 'namespace' ? node.namespace.id : node.namespaceId;
    let page;
    let labelBase = '';
    if (node.type === 'folder') {
      page = await store.children(namespaceId, node.prefix, { cursor, limit });
    } else {
      const filter = this.filterOf(node);
      if (filter) labelBase = parentPrefix(filter);
      page = filter
        ? await filteredChildren(store, namespaceId, filter, { cursor, limit })
        : await store.children(namespaceId, '', { cursor, limit });
    }
    const items = page.items.map((child) => this.childNode(node, node.connectionId, namespaceId, child, labelBase));
    return { items, cursor: page.cursor, complete: page.complete };
  }

  private childNode(parent: NamespaceNode | FolderNode, connectionId: string, namespaceId: string, child: ChildItem, labelPath: string): FolderNode | KeyNode {
    if (child.type === 'folder') {
      return {
        type: 'folder',
        id: nodeId('folder', connectionId, namespaceId, child.prefix),
        parent,
        connectionId,
        namespaceId,
        prefix: child.prefix,
        name: child.name,
        labelPath,
      };
    }
    return {
      type: 'key',
      id: nodeId('key', connectionId, namespaceId, child.key.name),
      parent,
      connectionId,
      namespaceId,
      key: child.key,
      name: child.name,
      labelPath,
    };
  }

  private async findChild(container: ContainerNode, matches: (child: ItemNode) => boolean, what: string): Promise<ItemNode> {
    for (let attempt = 0; attempt < 2; attempt++) {
      let state = await this.loaded(container);
      for (;;) {
        const found = state.children.find(matches);
        if (found) return found;
        if (state.error !== undefined) throw new KvError('unavailable', state.error);
        if (state.complete) break;
        state.pagesWanted = state.pagesLoaded + 1;
        state = await this.loaded(container);
        this.changeEmitter.fire(container);
      }
      if (attempt === 0) {
        this.reset(container);
        this.changeEmitter.fire(container);
      }
    }
    throw new KvError('not-found', `The tree has no ${what} under ${describeNode(container)}.`);
  }

  /** The deepest container at or above `location` whose children are loaded. */
  private deepestLoaded(location: TreeLocation): ContainerNode | undefined {
    const connection = this.roots.get(location.connectionId);
    if (!connection?.state) return connection;
    if (location.namespaceId === undefined) return connection;
    const namespace = connection.state.children.find(
      (child): child is NamespaceNode => child.type === 'namespace' && child.namespace.id === location.namespaceId,
    );
    if (!namespace) return connection;
    let deepest: ContainerNode = namespace;
    const prefix = location.prefix ?? '';
    let current: ContainerNode = namespace;
    while (current.state) {
      deepest = current;
      const next: FolderNode | undefined = current.state.children.find(
        (child): child is FolderNode => child.type === 'folder' && prefix.startsWith(child.prefix),
      );
      if (!next) break;
      current = next;
    }
    return deepest;
  }

  // ------------------------------------------------------------------ rendering

  private connectionItem(node: ConnectionNode): vscode.TreeItem {
    const { connection } = node;
    const item = new vscode.TreeItem(
      connection.name,
      connection.kind === 'local' ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.Collapsed,
    );
    item.id = node.id;
    item.contextValue = `connection.${connection.kind}${connection.origin === 'detected' ? '.detected' : ''}`;
    const tooltip = [`**${escapeMarkdown(connection.name)}**`];
    switch (connection.kind) {
      case 'local':
        item.iconPath = new vscode.ThemeIcon('database');
        item.description = 'on this machine';
        tooltip.push(`Embedded store on this machine, in ${inlineCode(this.connections.localStorePath())}`);
        break;
      case 'cloudflare':
        item.iconPath = new vscode.ThemeIcon('cloud');
        item.description = `Cloudflare · ${connection.accountId ?? ''}`.trim();
        tooltip.push(`Cloudflare account ${inlineCode(connection.accountId ?? '')}`);
        break;
      case 'telnyx':
        item.iconPath = new vscode.ThemeIcon('globe');
        item.description = 'Telnyx';
        tooltip.push('Telnyx KV');
        break;
      case 'wrangler-dev':
        item.iconPath = new vscode.ThemeIcon('server-process');
        item.description = connection.baseUrl?.replace(/^https?:\/\//, '');
        tooltip.push(`wrangler dev's local KV at ${inlineCode(connection.baseUrl ?? '')}`);
        if (connection.origin === 'detected') tooltip.push("Found through the workspace's wrangler config.");
        break;
    }
    if (connection.baseUrl && connection.kind !== 'wrangler-dev') tooltip.push(`API: ${inlineCode(connection.baseUrl)}`);
    item.tooltip = new vscode.MarkdownString(tooltip.join('\n\n'));
    return item;
  }

  private namespaceItem(node: NamespaceNode): vscode.TreeItem {
    const { namespace } = node;
    const filter = this.filterOf(node);
    const item = new vscode.TreeItem(namespace.title, vscode.TreeItemCollapsibleState.Collapsed);
    item.id = node.id;
    item.contextValue = filter ? 'namespace.filtered' : 'namespace';
    const notReady = namespace.status && namespace.status !== 'ready' ? namespace.status : undefined;
    item.iconPath = new vscode.ThemeIcon(notReady === 'provisioning' ? 'loading~spin' : 'symbol-namespace');
    const description: string[] = [];
    if (notReady) description.push(notReady === 'provisioning' ? 'provisioning…' : notReady);
    if (filter) description.push(`prefix: ${filter}`);
    item.description = description.join(' · ');
    const tooltip = [`**${escapeMarkdown(namespace.title)}**`, `ID: ${inlineCode(namespace.id)}`];
    if (notReady) tooltip.push(`Status: ${notReady}`);
    if (filter) tooltip.push(`Showing only keys that start with ${inlineCode(filter)}`);
    item.tooltip = new vscode.MarkdownString(tooltip.join('\n\n'));
    return item;
  }

  private folderItem(node: FolderNode): vscode.TreeItem {
    const item = new vscode.TreeItem(node.labelPath + displayName(node.name), vscode.TreeItemCollapsibleState.Collapsed);
    item.id = node.id;
    item.contextValue = 'folder';
    item.iconPath = vscode.ThemeIcon.Folder;
    if (node.name === '') item.description = 'empty folder name';
    const tooltip = new vscode.MarkdownString();
    tooltip.appendMarkdown('**Folder**\n\n');
    tooltip.appendCodeblock(node.prefix, 'text');
    item.tooltip = tooltip;
    return item;
  }

  private keyItem(node: KeyNode): vscode.TreeItem {
    const { key } = node;
    const item = new vscode.TreeItem(node.labelPath + displayName(node.name), vscode.TreeItemCollapsibleState.None);
    item.id = node.id;
    item.contextValue = 'key';
    item.iconPath = vscode.ThemeIcon.File;
    const uri = this.keyUri(node.connectionId, node.namespaceId, key.name);
    item.resourceUri = uri; // the file-icon theme picks the icon from its name (config/app.json → JSON)
    item.command = { command: 'vscode.open', title: 'Open Value', arguments: [uri] };
    const description: string[] = [];
    if (node.name === '') description.push('empty name');
    if (key.expiration !== undefined) description.push(expiryPhrase(key.expiration));
    item.description = description.join(' · ');
    const tooltip = new vscode.MarkdownString();
    tooltip.appendMarkdown('**Key**\n\n');
    tooltip.appendCodeblock(key.name, 'text');
    if (key.expiration !== undefined) {
      const date = new Date(key.expiration * 1000).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
      tooltip.appendMarkdown(
        key.expiration <= Date.now() / 1000 ? `Expired ${date}\n\n` : `Expires ${date} (in ${formatRemaining(key.expiration)})\n\n`,
      );
    } else {
      tooltip.appendMarkdown('Never expires\n\n');
    }
    if (key.sizeBytes !== undefined) tooltip.appendMarkdown(`Size: ${key.sizeBytes} bytes\n\n`);
    if (key.updatedAt !== undefined) tooltip.appendMarkdown(`Updated: ${escapeMarkdown(key.updatedAt)}\n\n`);
    if (key.metadata !== undefined) {
      tooltip.appendMarkdown('**Metadata**\n\n');
      tooltip.appendCodeblock(JSON.stringify(key.metadata, null, 2), 'json');
    }
    item.tooltip = tooltip;
    return item;
  }

  private errorItem(node: ErrorNode): vscode.TreeItem {
    const firstLine = node.message.split('\n')[0];
    const item = new vscode.TreeItem(firstLine, vscode.TreeItemCollapsibleState.None);
    item.id = node.id;
    item.contextValue = 'error';
    item.iconPath = new vscode.ThemeIcon('error', new vscode.ThemeColor('errorForeground'));
    item.tooltip = node.message;
    return item;
  }

  private loadMoreItem(node: LoadMoreNode): vscode.TreeItem {
    const item = new vscode.TreeItem('Load more…', vscode.TreeItemCollapsibleState.None);
    item.id = node.id;
    item.contextValue = 'loadMore';
    item.iconPath = new vscode.ThemeIcon('ellipsis');
    item.description = `${node.loaded} shown`;
    item.command = { command: 'kvExplorer.loadMore', title: 'Load More', arguments: [node] };
    return item;
  }
}

function describeNode(node: ContainerNode): string {
  switch (node.type) {
    case 'connection':
      return 'the namespaces';
    case 'namespace':
      return `namespace "${node.namespace.title}"`;
    case 'folder':
      return `folder "${node.prefix}"`;
  }
}

/** The view, its provider and the commands that act on the tree itself. */
export function registerStoresTree(
  connections: ConnectionManager,
  workspaceState: vscode.Memento,
  log: ExtensionLog,
  keyUri: KeyUriFactory,
): { provider: StoresTreeProvider; view: vscode.TreeView<TreeNode>; disposables: vscode.Disposable[] } {
  const provider = new StoresTreeProvider(connections, workspaceState, log, keyUri);
  const view = vscode.window.createTreeView(STORES_VIEW_ID, {
    treeDataProvider: provider,
    canSelectMany: true,
    showCollapseAll: true,
  });
  provider.attach(view);
  const selected = (node: unknown): TreeNode | undefined => (node as TreeNode | undefined) ?? view.selection[0];
  const namespaceOf = (node: TreeNode | undefined): NamespaceNode | undefined => {
    for (let current = node; current; current = current.parent) if (current.type === 'namespace') return current;
    return undefined;
  };
  const disposables: vscode.Disposable[] = [
    provider,
    view,
    vscode.commands.registerCommand('kvExplorer.refresh', async () => {
      provider.refreshAll();
      await connections.detectWranglerDev(); // a server that started or stopped changes the roots by itself
    }),
    vscode.commands.registerCommand('kvExplorer.refreshItem', (node?: TreeNode) => {
      const target = selected(node);
      if (target) provider.refreshNode(target);
      else provider.refreshAll();
    }),
    vscode.commands.registerCommand('kvExplorer.loadMore', (node: LoadMoreNode) => provider.loadMore(node)),
    vscode.commands.registerCommand('kvExplorer.retry', (node: ErrorNode) => provider.retry(node)),
    // The second argument is the filter text when called programmatically (menus pass the selection there).
    vscode.commands.registerCommand('kvExplorer.filterNamespace', async (node?: TreeNode, filterArgument?: unknown) => {
      const namespace = namespaceOf(selected(node));
      if (!namespace) return;
      const filter =
        typeof filterArgument === 'string'
          ? filterArgument
          : await vscode.window.showInputBox({
              title: `Filter "${namespace.namespace.title}"`,
              prompt: 'Show only keys that start with this prefix (empty shows all keys)',
              placeHolder: 'e.g. users/42/',
              value: provider.filterOf(namespace) ?? '',
            });
      if (filter === undefined) return;
      await provider.setFilter(namespace, filter);
    }),
    vscode.commands.registerCommand('kvExplorer.clearFilter', async (node?: TreeNode) => {
      const namespace = namespaceOf(selected(node));
      if (namespace) await provider.setFilter(namespace, undefined);
    }),
  ];
  return { provider, view, disposables };
}
