// Wires the layers together and does nothing else.
import * as vscode from 'vscode';
import { createApi, type KvExplorerApi } from './vscode/api';
import { ConnectionManager } from './vscode/connections';
import { ExtensionLog } from './vscode/log';
import { registerStoresTree } from './vscode/tree';
import { registerGetStartedView } from './vscode/getStarted';

export function activate(context: vscode.ExtensionContext): KvExplorerApi {
  const log = new ExtensionLog();
  const connections = new ConnectionManager(context, log);
  const tree = registerStoresTree(connections, context.workspaceState, log, undefined);
  context.subscriptions.push(log, connections, ...tree.disposables, ...registerGetStartedView(connections));

  connections.watchWranglerConfigs();
  void connections.detectWranglerDev();

  return createApi({ connections, tree: tree.provider, treeView: tree.view, log });
}

export function deactivate(): void {}
