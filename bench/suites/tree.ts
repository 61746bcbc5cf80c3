// Suite `tree`: expanding a namespace's root and one folder through the real Stores tree provider
// (src/vscode/tree.ts with the real ConnectionManager, local store and kv: URIs), timed from the getChildren call
// until every returned child has its TreeItem — what VS Code asks for when a person expands the node. The code
// runs in Node with the `vscode` stand-in of ../vscodeShim.ts.
//
// Proportionality: the expanded folder shows the same 250 sub-folders (one page of 200 plus "Load more…") in a
// 10k-key namespace and in a 1M-key one, where 100 times as many keys lie below it. Its expansion time should not
// grow with the keys below.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXPANDED_FOLDER, sizeLabel, SUB_FOLDERS, TOP_FOLDERS } from '../dataset';
import { absoluteCase, alternate, log, machine, ratioCase, timeMs, type BenchCase, type RunOptions, type SuiteResult } from '../harness';
import { extensionContext, installVscodeShim } from '../vscodeShim';
import { seededLocalStore } from './local';

const EXPANSION_LIMIT_MS = 100;
/** 100× the keys below may cost at most this much more (a B-tree one level deeper, noise). */
const PROPORTIONALITY_TARGET = 1.5;

interface Sizes {
  large: number;
  small: number;
  reps: number;
}
const FULL: Sizes = { large: 1_000_000, small: 10_000, reps: 51 };
const QUICK: Sizes = { large: 100_000, small: 10_000, reps: 31 };

// Loaded after the shim is installed (they import 'vscode').
type TreeModule = typeof import('../../src/vscode/tree');
type TreeNode = import('../../src/vscode/tree').TreeNode;

interface TreeRig {
  label: string;
  expandRoot(): Promise<number>;
  expandFolder(): Promise<number>;
  dispose(): Promise<void>;
}

/** The tree provider over a local store in `storeDir`, wired as activate() wires it. */
async function treeRig(storeDir: string, label: string, expectedFolderChildren: number): Promise<TreeRig> {
  const shim = installVscodeShim();
  const { StoresTreeProvider } = require('../../src/vscode/tree') as TreeModule;
  const { ConnectionManager } = require('../../src/vscode/connections') as typeof import('../../src/vscode/connections');
  const { ExtensionLog } = require('../../src/vscode/log') as typeof import('../../src/vscode/log');
  const { kvUri } = require('../../src/vscode/kvUri') as typeof import('../../src/vscode/kvUri');

  const storage = mkdtempSync(join(tmpdir(), 'kv-bench-tree-'));
  const context = extensionContext(storage);
  const extensionLog = new ExtensionLog(shim.window.createOutputChannel() as never);
  const connections = new ConnectionManager(context as never, extensionLog);
  // The setting is read per storeFor(); each rig answers with its own directory.
  const configuration = shim.workspace.getConfiguration;
  const rigConfiguration = (section?: string) => {
    const base = configuration(section);
    return { ...base, get: <T>(key: string, fallback?: T) => (section === 'kvExplorer' && key === 'localStore.path' ? (storeDir as T) : base.get(key, fallback)) };
  };
  const provider = new StoresTreeProvider(connections, context.workspaceState as never, extensionLog, kvUri);

  const withRigSettings = async <T>(work: () => Promise<T>): Promise<T> => {
    shim.workspace.getConfiguration = rigConfiguration as typeof configuration;
    try {
      return await work();
    } finally {
      shim.workspace.getConfiguration = configuration;
    }
  };
  /** What VS Code does on expand: getChildren, then getTreeItem for each child. */
  const expand = async (node: TreeNode) => {
    const children = await provider.getChildren(node);
    for (const child of children) provider.getTreeItem(child);
    return children;
  };
  const labelOf = (node: TreeNode) => String(provider.getTreeItem(node).label);

  const { namespace, folder } = await withRigSettings(async () => {
    const [local] = await provider.getChildren();
    const namespaces = await provider.getChildren(local);
    const bench = namespaces.find((node) => labelOf(node) === 'bench');
    if (!bench) throw new Error(`${label}: no "bench" namespace under Local (${namespaces.map(labelOf).join(', ')})`);
    const rootChildren = await expand(bench);
    const expanded = rootChildren.find((node) => node.type === 'folder' && node.prefix === EXPANDED_FOLDER);
    if (!expanded) throw new Error(`${label}: no folder ${EXPANDED_FOLDER} at the root`);
    return { namespace: bench, folder: expanded };
  });

  const timed = (node: TreeNode, expected: (children: TreeNode[]) => string | undefined) => () =>
    withRigSettings(async () => {
      provider.refreshNode(node); // drops the loaded page, so every repetition reads the store again
      let children: TreeNode[] = [];
      const ms = await timeMs(async () => {
        children = await expand(node);
      });
      const problem = expected(children);
      if (problem) throw new Error(`${label}: ${problem}`);
      return ms;
    });

  return {
    label,
    expandRoot: timed(namespace, (children) =>
      children.length === TOP_FOLDERS && children.every((child) => child.type === 'folder') ? undefined : `root shows ${children.length} items, expected ${TOP_FOLDERS} folders`,
    ),
    expandFolder: timed(folder, (children) => {
      const folders = children.filter((child) => child.type === 'folder').length;
      const more = children.filter((child) => child.type === 'loadMore').length;
      return folders === expectedFolderChildren && more === 1 ? undefined : `${EXPANDED_FOLDER} shows ${folders} folders and ${more} "Load more", expected ${expectedFolderChildren} and 1`;
    }),
    async dispose() {
      provider.dispose();
      connections.dispose();
      // ConnectionManager closes its stores without waiting; give the close a moment before removing the folder.
      await new Promise((resolve) => setTimeout(resolve, 200));
      rmSync(storage, { recursive: true, force: true });
    },
  };
}

export async function runTreeSuite(options: RunOptions): Promise<SuiteResult> {
  const sizes = options.quick ? QUICK : FULL;
  const largeLabel = sizeLabel(sizes.large);
  const smallLabel = sizeLabel(sizes.small);
  log(`tree: ${largeLabel} and ${smallLabel} keys`);
  const large = await seededLocalStore(sizes.large);
  const small = await seededLocalStore(sizes.small);
  // The page size the tree uses (kvExplorer.pageSize, default 200) is below the folder's 250 children.
  const pageSize = installVscodeShim().workspace.getConfiguration('kvExplorer').get<number>('pageSize', 200)!;
  const shown = Math.min(pageSize, SUB_FOLDERS);
  const largeRig = await treeRig(large.dir, largeLabel, shown);
  const smallRig = await treeRig(small.dir, smallLabel, shown);
  const cases: BenchCase[] = [];
  try {
    log('tree: expand the namespace root');
    const root = await alternate(
      [
        { name: largeLabel, measure: largeRig.expandRoot },
        { name: smallLabel, measure: smallRig.expandRoot },
      ],
      { warmup: 1, reps: sizes.reps, label: 'expand root' },
    );
    log(`tree: expand ${EXPANDED_FOLDER}`);
    const folder = await alternate(
      [
        { name: largeLabel, measure: largeRig.expandFolder },
        { name: smallLabel, measure: smallRig.expandFolder },
      ],
      { warmup: 1, reps: sizes.reps, label: `expand ${EXPANDED_FOLDER}` },
    );
    cases.push(
      absoluteCase({
        name: `expand namespace root (${largeLabel} keys)`,
        unit: 'ms',
        ours: root[largeLabel],
        limit: EXPANSION_LIMIT_MS,
        detail: `${TOP_FOLDERS} folders; getChildren + getTreeItem for each, store already open`,
      }),
      absoluteCase({
        name: `expand folder ${EXPANDED_FOLDER} (${largeLabel} keys)`,
        unit: 'ms',
        ours: folder[largeLabel],
        limit: EXPANSION_LIMIT_MS,
        detail: `${shown} of ${SUB_FOLDERS} sub-folders and "Load more…"; ${(sizes.large / TOP_FOLDERS).toLocaleString('en-US')} keys below`,
      }),
      ratioCase({
        name: `expand ${EXPANDED_FOLDER}: ${largeLabel} vs ${smallLabel} keys`,
        unit: 'ms',
        ours: folder[largeLabel],
        peer: folder[smallLabel],
        peerName: `same folder in a ${smallLabel}-key namespace`,
        target: PROPORTIONALITY_TARGET,
        detail: `the same ${shown} children shown, ${(sizes.large / TOP_FOLDERS).toLocaleString('en-US')} vs ${(sizes.small / TOP_FOLDERS).toLocaleString('en-US')} keys below`,
      }),
    );
  } finally {
    await largeRig.dispose();
    await smallRig.dispose();
  }
  return {
    suite: 'tree',
    date: new Date().toISOString(),
    mode: options.quick ? 'quick' : 'full',
    machine: machine(),
    cases,
    notes: [
      'The real StoresTreeProvider, ConnectionManager, ExtensionLog and kvUri run in Node; `vscode` is the bench stand-in (bench/vscodeShim.ts), which implements TreeItem, EventEmitter, ThemeIcon, MarkdownString and Uri.',
      'Each repetition refreshes the node first, so the page is read from the store again.',
    ],
  };
}
