// Files to values and back: upload files or whole folders from disk (key = a prefix + the file's relative path,
// '/'-separated), and download a value to a file, byte for byte.
import * as vscode from 'vscode';
import { describeOutcome, runBulkPut, summarizeOutcome, type BulkRunOutcome } from '../../core/bulkRun';
import { invalid, KvError } from '../../core/errors';
import { lastSegment } from '../../core/keys';
import type { BulkPutEntry } from '../../core/store';
import { formatBytes, keyProblem } from '../../core/validation';
import { keyExists, listAllKeys, prefixOf, type CommandDefinition, type Invocation } from './context';

/** Files read and written per round: bounds memory and what a cancel leaves uncertain. */
const UPLOAD_ROUND_FILES = 256;
const UPLOAD_ROUND_BYTES = 64 * 1024 * 1024;

interface UploadFile {
  uri: vscode.Uri;
  /** '/'-separated path below the chosen prefix: the file's name, or the folder's name and the path inside it. */
  relativePath: string;
  size: number;
}

/** What was picked, expanded: files as they are, folders recursively (symbolic links to folders are not followed). */
async function collectFiles(picked: vscode.Uri[], signal: AbortSignal): Promise<UploadFile[]> {
  const files: UploadFile[] = [];
  const walk = async (folder: vscode.Uri, relative: string): Promise<void> => {
    const entries = await vscode.workspace.fs.readDirectory(folder);
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    for (const [name, type] of entries) {
      if (signal.aborted) throw new KvError('cancelled', 'The upload was cancelled before anything was written.');
      const uri = vscode.Uri.joinPath(folder, name);
      if (type & vscode.FileType.Directory) {
        if (!(type & vscode.FileType.SymbolicLink)) await walk(uri, `${relative}${name}/`);
      } else if (type & vscode.FileType.File) {
        files.push({ uri, relativePath: relative + name, size: (await vscode.workspace.fs.stat(uri)).size });
      }
    }
  };
  for (const uri of picked) {
    const stat = await vscode.workspace.fs.stat(uri);
    const name = uri.path.slice(uri.path.lastIndexOf('/') + 1);
    if (stat.type & vscode.FileType.Directory) await walk(uri, `${name}/`);
    else files.push({ uri, relativePath: name, size: stat.size });
  }
  return files;
}

export interface UploadResult {
  keys: string[];
  outcome: BulkRunOutcome;
}

async function uploadFiles(invocation: Invocation): Promise<UploadResult | undefined> {
  const place = await invocation.place();
  if (!place) return undefined;
  const store = await invocation.store(place.connectionId);
  if (!store.capabilities.write) throw invalid('capability.write', `"${invocation.connectionName(place.connectionId)}" is read-only.`);
  const picked = await invocation.prompter.openFiles({
    id: 'files',
    title: invocation.title,
    canSelectFiles: true,
    canSelectFolders: true,
    canSelectMany: true,
    openLabel: 'Upload',
  });
  if (!picked || picked.length === 0) return undefined;
  const prefix = await invocation.prompter.input({
    id: 'prefix',
    title: invocation.title,
    prompt: 'Each file becomes the key: this prefix + its path (a folder\'s files keep the folder\'s name). Empty: no prefix.',
    value: prefixOf(place),
    validate: (value) => (value === '' ? undefined : keyProblem(store.limits, `${value}x`)),
  });
  if (prefix === undefined) return undefined;

  const files = await invocation.progress('Looking at the files…', (_report, signal) => collectFiles(picked, signal));
  if (files.length === 0) throw new KvError('not-found', 'There are no files in what was picked.');
  const plans = files.map((file) => ({ ...file, key: prefix + file.relativePath }));
  const problems: string[] = [];
  for (const plan of plans) {
    const problem = keyProblem(store.limits, plan.key);
    if (problem) problems.push(`${plan.uri.fsPath} → ${JSON.stringify(plan.key)}: ${problem}`);
    if (plan.size > store.limits.maxValueBytes) {
      problems.push(`${plan.uri.fsPath}: ${formatBytes(plan.size)}; ${store.limits.provider} values are at most ${formatBytes(store.limits.maxValueBytes)}.`);
    }
  }
  if (problems.length > 0) {
    await invocation.prompter.report('Upload problems', `Nothing was uploaded. ${problems.length} problem(s):\n${problems.join('\n')}\n`);
    throw invalid('upload.files', `Nothing was uploaded: ${problems.length} file(s) cannot become keys. ${problems.slice(0, 2).join(' ')}`);
  }

  // Existing keys: one listing per picked folder, one lookup per picked file.
  const wanted = new Set(plans.map((plan) => plan.key));
  const existing: string[] = [];
  for (const uri of picked) {
    const name = uri.path.slice(uri.path.lastIndexOf('/') + 1);
    const stat = await vscode.workspace.fs.stat(uri);
    if (stat.type & vscode.FileType.Directory) {
      for (const info of await listAllKeys(store, place.namespaceId, `${prefix}${name}/`)) if (wanted.has(info.name)) existing.push(info.name);
    } else if (await keyExists(store, place.namespaceId, prefix + name)) {
      existing.push(prefix + name);
    }
  }
  const confirmed = await invocation.prompter.confirm({
    id: 'confirm',
    title: invocation.title,
    message:
      existing.length > 0
        ? `Upload ${plans.length} file(s)? ${existing.length} of the keys exist already and will be overwritten.`
        : `Upload ${plans.length} file(s) as keys under "${prefix}"?`,
    detail: plans.slice(0, 5).map((plan) => `${plan.relativePath} → ${plan.key}`).join('\n') + (plans.length > 5 ? `\n…and ${plans.length - 5} more` : ''),
    confirm: existing.length > 0 ? 'Upload and Overwrite' : 'Upload',
  });
  if (!confirmed) return undefined;

  const total: BulkRunOutcome = { written: [], failed: [], uncertain: [], notAttempted: [], cancelled: false };
  await invocation.progress(`Uploading ${plans.length} file(s)`, async (report, signal) => {
    let start = 0;
    while (start < plans.length) {
      if (signal.aborted) {
        total.cancelled = true;
        total.notAttempted.push(...plans.slice(start).map((plan) => plan.key));
        return;
      }
      const round: BulkPutEntry[] = [];
      let bytes = 0;
      while (start < plans.length && round.length < UPLOAD_ROUND_FILES && (round.length === 0 || bytes + plans[start].size <= UPLOAD_ROUND_BYTES)) {
        const plan = plans[start++];
        round.push({ key: plan.key, value: await vscode.workspace.fs.readFile(plan.uri) });
        bytes += plan.size;
      }
      const base = total.written.length;
      const outcome = await runBulkPut(store, place.namespaceId, round, {
        signal,
        onProgress: ({ done }) => report(`${base + done} of ${plans.length}`),
      });
      total.written.push(...outcome.written);
      total.failed.push(...outcome.failed);
      total.uncertain.push(...outcome.uncertain);
      total.notAttempted.push(...outcome.notAttempted);
      if (outcome.cancelled || outcome.stoppedBy !== undefined) {
        total.cancelled = outcome.cancelled;
        total.stoppedBy = outcome.stoppedBy;
        total.notAttempted.push(...plans.slice(start).map((plan) => plan.key));
        return;
      }
    }
  });
  invocation.deps.keysChanged(total.written.map((key) => ({ connectionId: place.connectionId, namespaceId: place.namespaceId, key })));
  if (total.written.length === plans.length) {
    invocation.info(`Uploaded ${plans.length} file(s).`);
  } else {
    const text = describeOutcome(total, 'written');
    invocation.warn(`Upload ${total.cancelled ? 'cancelled' : 'incomplete'}: ${summarizeOutcome(total)}.`, [
      { title: 'Show Which Keys', run: () => invocation.prompter.report('Upload result', text) },
    ]);
  }
  return { keys: plans.map((plan) => plan.key), outcome: total };
}

async function downloadValue(invocation: Invocation): Promise<vscode.Uri | undefined> {
  const target = await invocation.key('Type the start of the key to download');
  if (!target) return undefined;
  const store = await invocation.store(target.connectionId);
  const entry = await store.get(target.namespaceId, target.key);
  if (!entry) throw new KvError('not-found', `The key "${target.key}" does not exist (any more).`);
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
  const name = lastSegment(target.key) || 'value';
  const file = await invocation.prompter.saveFile({
    id: 'file',
    title: `Download "${target.key}"`,
    defaultUri: folder ? vscode.Uri.joinPath(folder, name) : undefined,
    saveLabel: 'Download',
  });
  if (!file) return undefined;
  await vscode.workspace.fs.writeFile(file, entry.value);
  invocation.info(`Saved "${target.key}" (${formatBytes(entry.value.byteLength)}) to ${file.fsPath}.`);
  return file;
}

export const transferCommands: CommandDefinition[] = [
  { id: 'kvExplorer.uploadFiles', title: 'Upload Files', run: uploadFiles },
  { id: 'kvExplorer.downloadValue', title: 'Download Value', run: downloadValue },
];
