// Wires the layers together and does nothing else.
import * as vscode from 'vscode';
import { createApi, type KvExplorerApi } from './vscode/api';
import { ConnectionManager } from './vscode/connections';
import { ExtensionLog } from './vscode/log';
import { registerStoresTree } from './vscode/tree';
import { registerGetStartedView } from './vscode/getStarted';
import { registerKvCommands } from './vscode/commands';
import { registerKvFileSystem } from './vscode/fileSystem';
import { kvUri } from './vscode/kvUri';

export function activate(context: vscode.ExtensionContext): KvExplorerApi {
  const log = new ExtensionLog();
  const connections = new ConnectionManager(context, log);
  const tree = registerStoresTree(connections, context.workspaceState, log, kvUri);
  const files = registerKvFileSystem(connections, log);
  context.subscriptions.push(log, connections, ...tree.disposables, ...files.disposables, ...registerGetStartedView(connections));
  // Saves refresh the tree; the commands' changes reach both the tree and open editors.
  context.subscriptions.push(files.provider.onDidChangeKeys((changes) => tree.provider.keysChanged(changes)));
  context.subscriptions.push(
    ...registerKvCommands({
      connections,
      tree: tree.provider,
      treeView: tree.view,
      log,
      keyUri: kvUri,
      onKeysChanged: (changes) => files.provider.keysChanged(changes),
    }),
  );

  connections.watchWranglerConfigs();
  void connections.detectWranglerDev();

  return createApi({ connections, tree: tree.provider, treeView: tree.view, log, files: files.provider });
}

export function deactivate(): void {}
