// The Prompter people actually meet (VS Code's quick pick), driven through workbench commands: the key search runs
// once for the pre-filled prefix, Enter picks, Escape cancels.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { ReportDocuments, WindowPrompter } from '../../src/vscode/commands/prompter';

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('commands: the VS Code prompter', function () {
  this.timeout(30_000);
  let reports: ReportDocuments;
  let prompter: WindowPrompter;

  before(() => {
    reports = new ReportDocuments();
    prompter = new WindowPrompter(reports);
  });

  after(() => reports.dispose());

  function search(searched: string[]) {
    return prompter.search<string>({
      id: 'pickKey',
      title: 'Go to Key',
      value: 'users/',
      search: async (text) => {
        searched.push(text);
        return ['1', '2'].map((suffix) => ({ label: `${text}${suffix}`, value: `${text}${suffix}` }));
      },
    });
  }

  it('searches once for the pre-filled prefix, and Enter picks the first result', async () => {
    const searched: string[] = [];
    const chosen = search(searched);
    await pause(600);
    await vscode.commands.executeCommand('workbench.action.acceptSelectedQuickOpenItem');
    assert.equal(await chosen, 'users/1');
    assert.deepEqual(searched, ['users/']);
  });

  it('resolves undefined when the pick is closed', async () => {
    const chosen = search([]);
    await pause(600);
    await vscode.commands.executeCommand('workbench.action.closeQuickOpen');
    assert.equal(await chosen, undefined);
  });

  it('shows a report as a read-only document that needs no saving', async () => {
    await prompter.report('Import problems', '#1 "": The key name is empty. [key.empty]\n');
    const editor = vscode.window.activeTextEditor;
    assert.equal(editor?.document.uri.scheme, 'kv-report');
    assert.equal(editor?.document.getText(), '#1 "": The key name is empty. [key.empty]\n');
    assert.equal(editor?.document.isDirty, false);
    await vscode.commands.executeCommand('workbench.action.closeActiveEditor');
  });
});
