// The extension loads in a real VS Code: it activates, its Stores view opens and its commands are registered.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';

const EXTENSION_ID = 'kv-explorer.kv-explorer';

describe('activation', () => {
  it('runs in a real VS Code extension host', () => {
    assert.match(vscode.version, /^1\.\d+\.\d+/);
    assert.ok(vscode.extensions.getExtension(EXTENSION_ID), `${EXTENSION_ID} is loaded as the extension under development`);
  });

  it('activates when the KV Explorer view container is opened', async () => {
    const extension = vscode.extensions.getExtension(EXTENSION_ID)!;
    await vscode.commands.executeCommand('workbench.view.extension.kvExplorer');
    await extension.activate();
    assert.equal(extension.isActive, true);
  });

  it('contributes the Stores view and can focus it', async () => {
    const extension = vscode.extensions.getExtension(EXTENSION_ID)!;
    const views: { id: string; name: string }[] = extension.packageJSON.contributes.views.kvExplorer;
    assert.deepEqual(views.map((v) => [v.id, v.name]).find(([id]) => id === 'kvExplorer.stores'), ['kvExplorer.stores', 'Stores']);
    // `<viewId>.focus` exists only when the workbench registered the view from the manifest.
    await vscode.commands.executeCommand('kvExplorer.stores.focus');
  });

  it('registers its commands', async () => {
    await vscode.extensions.getExtension(EXTENSION_ID)!.activate();
    const commands = await vscode.commands.getCommands(true);
    assert.ok(commands.includes('kvExplorer.refresh'), 'kvExplorer.refresh is registered');
    await vscode.commands.executeCommand('kvExplorer.refresh');
  });
});
