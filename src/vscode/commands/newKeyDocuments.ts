// Documents for keys that do not exist yet. VS Code cannot open a document for a resource its file system says
// is missing, and a new key must not exist before its first save; so a new key opens under the `kv-new:` scheme:
// an empty file here, whose save is handed, unchanged, to the kv: file system (validation, conflict check, retries
// all happen there). After that first save the editor is swapped for the key's own kv: document.
import * as vscode from 'vscode';
import { KV_SCHEME } from '../kvUri';

export const NEW_KEY_SCHEME = 'kv-new';

/** The draft address of a key's kv: URI: same path (tab label, language) and query (the exact key). */
export function draftUri(keyUri: vscode.Uri): vscode.Uri {
  return keyUri.with({ scheme: NEW_KEY_SCHEME });
}

function keyUriOf(draft: vscode.Uri): vscode.Uri {
  return draft.with({ scheme: KV_SCHEME });
}

export class NewKeyDocuments implements vscode.FileSystemProvider, vscode.Disposable {
  private readonly changeEmitter = new vscode.EventEmitter<vscode.FileChangeEvent[]>();
  readonly onDidChangeFile = this.changeEmitter.event;
  /** What a draft holds after a save, so VS Code's read-after-write sees its own bytes. */
  private readonly written = new Map<string, { bytes: Uint8Array; mtime: number }>();
  private readonly registration = vscode.workspace.registerFileSystemProvider(NEW_KEY_SCHEME, this, { isCaseSensitive: true });

  watch(): vscode.Disposable {
    return new vscode.Disposable(() => undefined);
  }

  stat(uri: vscode.Uri): vscode.FileStat {
    const written = this.written.get(uri.toString());
    return { type: vscode.FileType.File, ctime: 0, mtime: written?.mtime ?? 0, size: written?.bytes.byteLength ?? 0 };
  }

  readFile(uri: vscode.Uri): Uint8Array {
    return this.written.get(uri.toString())?.bytes ?? new Uint8Array();
  }

  async writeFile(uri: vscode.Uri, content: Uint8Array): Promise<void> {
    // The kv: file system validates and writes; its error (thrown) keeps this editor dirty with the reason.
    await vscode.workspace.fs.writeFile(keyUriOf(uri), content);
    this.written.set(uri.toString(), { bytes: content, mtime: Date.now() });
  }

  readDirectory(): [string, vscode.FileType][] {
    return [];
  }

  createDirectory(): void {
    throw vscode.FileSystemError.NoPermissions('A new key is a single document.');
  }

  delete(uri: vscode.Uri): void {
    this.written.delete(uri.toString());
  }

  rename(): void {
    throw vscode.FileSystemError.NoPermissions('Rename a key after it is saved.');
  }

  /** Opens a draft for `keyUri`; after its first save, `onCreated` runs and the key's own document replaces it. */
  async open(keyUri: vscode.Uri, onCreated: () => void): Promise<vscode.TextEditor> {
    const draft = draftUri(keyUri);
    this.written.delete(draft.toString());
    const editor = await vscode.window.showTextDocument(draft, { preview: false });
    const subscriptions: vscode.Disposable[] = [];
    const stop = () => subscriptions.forEach((subscription) => subscription.dispose());
    subscriptions.push(
      // Once VS Code has marked the draft saved (clean), it can be closed.
      vscode.workspace.onDidSaveTextDocument(async (saved) => {
        if (saved.uri.toString() !== draft.toString()) return;
        stop();
        onCreated();
        await this.replace(draft, keyUri);
      }),
      vscode.workspace.onDidCloseTextDocument((document) => {
        if (document.uri.toString() !== draft.toString()) return;
        stop();
        this.written.delete(draft.toString());
      }),
    );
    return editor;
  }

  /** Shows the key's own document where the draft was, and closes the draft. */
  private async replace(draft: vscode.Uri, keyUri: vscode.Uri): Promise<void> {
    const draftTab = () =>
      vscode.window.tabGroups.all
        .flatMap((group) => group.tabs)
        .find((tab) => tab.input instanceof vscode.TabInputText && tab.input.uri.toString() === draft.toString());
    await vscode.window.showTextDocument(keyUri, { preview: false, viewColumn: draftTab()?.group.viewColumn });
    // Tab objects are replaced as the editors change: look the draft up again before closing it.
    const tab = draftTab();
    if (tab && !tab.isDirty) await vscode.window.tabGroups.close(tab);
    this.written.delete(draft.toString());
  }

  dispose(): void {
    this.registration.dispose();
    this.changeEmitter.dispose();
  }
}
