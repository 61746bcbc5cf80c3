// Shared helpers for the Stores tree's integration tests: the extension's api, a local store in a temp dir,
// and walking the tree the way VS Code does (getChildren + getTreeItem).
import * as assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as vscode from 'vscode';
import type { KvStore } from '../../src/core/store';
import type { KvExplorerApi } from '../../src/vscode/api';
import type { TreeNode } from '../../src/vscode/tree';

export const EXTENSION_ID = 'kv-explorer.kv-explorer';

export async function activateApi(): Promise<KvExplorerApi> {
  const extension = vscode.extensions.getExtension<KvExplorerApi>(EXTENSION_ID);
  assert.ok(extension, `${EXTENSION_ID} is loaded`);
  return extension.activate();
}

export async function setSetting(name: string, value: unknown): Promise<void> {
  await vscode.workspace.getConfiguration('kvExplorer').update(name, value, vscode.ConfigurationTarget.Global);
}

/** Points the Local connection at a fresh temp directory (via the real setting); `dispose` puts things back. */
export async function useTempLocalStore(api: KvExplorerApi): Promise<{ dir: string; store: KvStore; dispose(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'kv-tree-'));
  await setSetting('localStore.path', dir);
  const store = await api.storeFor('local');
  return {
    dir,
    store,
    async dispose() {
      await setSetting('localStore.path', undefined);
      await api.storeFor('local'); // reopens the default store, which closes this one
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function labelOf(api: KvExplorerApi, node: TreeNode): string {
  const label = api.tree.getTreeItem(node).label;
  return typeof label === 'string' ? label : label?.label ?? '';
}

export function itemOf(api: KvExplorerApi, node: TreeNode): vscode.TreeItem {
  return api.tree.getTreeItem(node);
}

export async function labels(api: KvExplorerApi, node?: TreeNode): Promise<string[]> {
  return (await api.tree.getChildren(node)).map((child) => labelOf(api, child));
}

/** The child with this label (exactly one). */
export async function child(api: KvExplorerApi, parent: TreeNode | undefined, label: string): Promise<TreeNode> {
  const children = await api.tree.getChildren(parent);
  const matches = children.filter((node) => labelOf(api, node) === label);
  assert.equal(matches.length, 1, `one child "${label}" among ${JSON.stringify(children.map((node) => labelOf(api, node)))}`);
  return matches[0];
}

/** Follows labels from the roots: path(api, 'Local', 'tree', 'users', '42'). */
export async function path(api: KvExplorerApi, ...steps: string[]): Promise<TreeNode> {
  let node: TreeNode | undefined;
  for (const step of steps) node = await child(api, node, step);
  assert.ok(node, 'a path has at least one step');
  return node;
}

export function markdown(tooltip: vscode.TreeItem['tooltip']): string {
  return typeof tooltip === 'string' ? tooltip : tooltip?.value ?? '';
}
