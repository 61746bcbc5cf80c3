// The "Get Started" view under Stores. VS Code shows welcome content only in an EMPTY view, and Stores always
// shows Local; so this always-empty view carries the add-connection buttons (package.json viewsWelcome) and is
// visible only while no Cloudflare, Telnyx or wrangler dev connection is configured.
import * as vscode from 'vscode';
import type { ConnectionManager } from './connections';

export const GET_STARTED_VIEW_ID = 'kvExplorer.getStarted';
/** Context key: true once the user configured any connection (detected wrangler dev servers do not count). */
export const HAS_CONFIGURED_CONNECTIONS = 'kvExplorer.hasConfiguredConnections';

export function registerGetStartedView(connections: ConnectionManager): vscode.Disposable[] {
  const update = () =>
    void vscode.commands.executeCommand(
      'setContext',
      HAS_CONFIGURED_CONNECTIONS,
      connections.list().some((connection) => connection.origin === 'configured'),
    );
  update();
  const empty: vscode.TreeDataProvider<never> = { getChildren: () => [], getTreeItem: (node) => node };
  return [vscode.window.registerTreeDataProvider(GET_STARTED_VIEW_ID, empty), connections.onDidChangeConnections(update)];
}
