// Wires the layers together and does nothing else. (Scaffold: the tree, file system and commands land in src/vscode.)
import * as vscode from 'vscode';

export function activate(context: vscode.ExtensionContext) {
  const emitter = new vscode.EventEmitter<void>();
  const tree: vscode.TreeDataProvider<string> = {
    onDidChangeTreeData: emitter.event,
    getTreeItem: (label) => new vscode.TreeItem(label),
    getChildren: () => ['Local'],
  };
  context.subscriptions.push(
    emitter,
    vscode.window.createTreeView('kvExplorer.stores', { treeDataProvider: tree }),
    vscode.commands.registerCommand('kvExplorer.refresh', () => emitter.fire()),
  );
  return {};
}

export function deactivate() {}
