// Registers every KV Explorer action (package.json contributes their titles, icons and menus).
// Each command takes `(target?, options?)` from code — or `(item, selectedItems)` from a menu — where options
// answer its questions by id (see prompter.ts); without a target it asks for one with a quick pick.
import type * as vscode from 'vscode';
import type { ConnectionManager } from '../connections';
import type { ExtensionLog } from '../log';
import type { StoresTreeProvider, TreeNode } from '../tree';
import { bulkCommands } from './bulk';
import { connectionCommands } from './connections';
import { registerCommand, type CommandDefinition, type CommandDependencies, type KeyChange } from './context';
import { keyCommands } from './keys';
import { namespaceCommands } from './namespaces';
import { NewKeyDocuments } from './newKeyDocuments';
import { ReportDocuments, WindowPrompter } from './prompter';
import { transferCommands } from './transfer';

export type { CommandOptions, Prompter } from './prompter';
export type { KeyChange } from './context';

export const KV_COMMANDS: readonly CommandDefinition[] = [
  ...connectionCommands,
  ...namespaceCommands,
  ...keyCommands,
  ...bulkCommands,
  ...transferCommands,
];

export interface CommandParts {
  connections: ConnectionManager;
  tree: StoresTreeProvider;
  treeView: vscode.TreeView<TreeNode>;
  log: ExtensionLog;
  /** The kv: document of a key's value or metadata. */
  keyUri: CommandDependencies['keyUri'];
  /** Besides the tree (always told): who else hears that the extension changed keys (the kv: file system). */
  onKeysChanged?: (changes: KeyChange[]) => void;
}

export function registerKvCommands(parts: CommandParts): vscode.Disposable[] {
  const reports = new ReportDocuments();
  const newKeys = new NewKeyDocuments();
  const deps: CommandDependencies = {
    connections: parts.connections,
    tree: parts.tree,
    treeView: parts.treeView,
    log: parts.log,
    prompter: new WindowPrompter(reports),
    keyUri: parts.keyUri,
    newKeys,
    keysChanged: (changes) => {
      if (changes.length === 0) return;
      parts.tree.keysChanged(changes);
      parts.onKeysChanged?.(changes);
    },
  };
  return [reports, newKeys, ...KV_COMMANDS.map((definition) => registerCommand(deps, definition))];
}
