// What `activate()` returns: the extension's live parts, for integration tests (and other extensions).
// Each part is the one instance the extension itself uses, not a copy.
import type * as vscode from 'vscode';
import type { KvStore } from '../core/store';
import type { ConnectionManager } from './connections';
import type { KvFileSystemProvider } from './fileSystem';
import type { ExtensionLog } from './log';
import type { KeyNode, StoresTreeProvider, TreeNode } from './tree';

export interface KvExplorerApi {
  /** Add, update, remove connections; `storeFor(id)` gives the shared store of a connection. */
  readonly connections: ConnectionManager;
  /** The Stores tree's data provider (getChildren/getTreeItem, refresh, filters, loadMore, revealKey). */
  readonly tree: StoresTreeProvider;
  /** The Stores view (selection, visibility, reveal). */
  readonly treeView: vscode.TreeView<TreeNode>;
  /** The one log sink (redacted); `recentLines()` shows what was written. */
  readonly log: ExtensionLog;
  /** The kv: file system (values and metadata as documents); `ask` answers its save questions in tests. */
  readonly files: KvFileSystemProvider;
  /** Shorthand for `connections.storeFor(connectionId)`. */
  storeFor(connectionId: string): Promise<KvStore>;
  /** Expands the way to a key (loading pages as needed) and selects it in the Stores view. */
  revealKey(connectionId: string, namespaceId: string, key: string): Promise<KeyNode>;
}

export function createApi(parts: {
  connections: ConnectionManager;
  tree: StoresTreeProvider;
  treeView: vscode.TreeView<TreeNode>;
  log: ExtensionLog;
  files: KvFileSystemProvider;
}): KvExplorerApi {
  return {
    ...parts,
    storeFor: (connectionId) => parts.connections.storeFor(connectionId),
    revealKey: (connectionId, namespaceId, key) => parts.tree.revealKey(connectionId, namespaceId, key),
  };
}
