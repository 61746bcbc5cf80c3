// Import and export in wrangler's bulk JSON format. An import is checked whole before anything is written;
// an export streams to a temporary file that replaces the target only when it is complete.
import { open, rename, rm } from 'node:fs/promises';
import * as vscode from 'vscode';
import { BulkFileWriter, formatBulkProblem, parseBulkFile, summarizeBulkProblems, toBulkFileItem, type BulkFileProblem } from '../../core/bulkFile';
import { describeOutcome, runBulkPut, summarizeOutcome, type BulkRunOutcome } from '../../core/bulkRun';
import { describeError, KvError } from '../../core/errors';
import type { KvStore } from '../../core/store';
import { settleWithConcurrency } from '../../core/concurrency';
import { prefixOf, type CommandDefinition, type Invocation } from './context';
import { READ_CONCURRENCY } from './keys';

const JSON_FILTER = { 'JSON (wrangler bulk format)': ['json'], 'All files': ['*'] };

export interface ImportResult {
  file: vscode.Uri;
  /** Entries in the file. */
  total: number;
  /** Why the file was refused; nothing was written when there are any. */
  problems: BulkFileProblem[];
  warnings: BulkFileProblem[];
  /** What was written, when the import ran. */
  outcome?: BulkRunOutcome;
}

function defaultFolder(): vscode.Uri | undefined {
  return vscode.workspace.workspaceFolders?.[0]?.uri;
}

function problemReport(file: vscode.Uri, problems: BulkFileProblem[], warnings: BulkFileProblem[], total: number): string {
  const lines = [`${file.fsPath}: ${total} entries.`, ''];
  if (problems.length) lines.push(`Problems (${problems.length}) — nothing was imported:`, ...problems.map((problem) => `  ${formatBulkProblem(problem)}`), '');
  if (warnings.length) lines.push(`Warnings (${warnings.length}):`, ...warnings.map((warning) => `  ${formatBulkProblem(warning)}`), '');
  return lines.join('\n');
}

async function importJson(invocation: Invocation): Promise<ImportResult | undefined> {
  const place = await invocation.place();
  if (!place) return undefined;
  const files = await invocation.prompter.openFiles({
    id: 'file',
    title: invocation.title,
    canSelectFiles: true,
    canSelectFolders: false,
    canSelectMany: false,
    filters: JSON_FILTER,
    openLabel: 'Import',
  });
  const file = files?.[0];
  if (!file) return undefined;
  const store = await invocation.store(place.connectionId);
  const title = await invocation.namespaceTitle(place);
  const bytes = await vscode.workspace.fs.readFile(file);
  const contents = parseBulkFile(bytes, {
    limits: store.limits,
    expiration: store.capabilities.expiration,
    // wrangler dev's explorer API keeps metadata only when it is truthy.
    refuseFalsyMetadata: store.kind === 'wrangler-dev',
  });
  const result: ImportResult = { file, total: contents.total, problems: contents.problems, warnings: contents.warnings };
  if (contents.problems.length > 0) {
    const report = problemReport(file, contents.problems, contents.warnings, contents.total);
    invocation.deps.log.log('warn', `Import of ${file.fsPath} refused:\n${report}`);
    await invocation.prompter.report('Import problems', report);
    invocation.prompter.notify('error', `Nothing was imported. ${summarizeBulkProblems(contents.problems, contents.total, 3)}`);
    return result;
  }
  if (contents.entries.length === 0) {
    invocation.info(`${file.fsPath} holds no entries; nothing to import.`);
    return result;
  }
  const count = contents.entries.length;
  const warningText = contents.warnings.length ? ` ${contents.warnings.length} warning(s): ${contents.warnings.slice(0, 3).map(formatBulkProblem).join('; ')}.` : '';
  const confirmed = await invocation.prompter.confirm({
    id: 'confirm',
    title: invocation.title,
    message: `Import ${count.toLocaleString('en-US')} ${count === 1 ? 'key' : 'keys'} into "${title}"?`,
    detail: `From ${file.fsPath}. Keys that exist already are overwritten (value, metadata and expiration).${warningText}`,
    confirm: 'Import',
  });
  if (!confirmed) return result;
  const outcome = await invocation.progress(`Importing into "${title}"`, (report, signal) =>
    runBulkPut(store, place.namespaceId, contents.entries, {
      signal,
      onProgress: ({ done, total }) => report(`${done.toLocaleString('en-US')} of ${total.toLocaleString('en-US')} keys`),
    }),
  );
  result.outcome = outcome;
  invocation.deps.keysChanged(outcome.written.map((key) => ({ connectionId: place.connectionId, namespaceId: place.namespaceId, key })));
  invocation.deps.tree.refresh({ connectionId: place.connectionId, namespaceId: place.namespaceId });
  if (outcome.written.length === count) {
    invocation.info(`Imported ${count.toLocaleString('en-US')} keys into "${title}".`);
  } else {
    const text = describeOutcome(outcome, 'written');
    invocation.deps.log.log('warn', `Import into ${place.namespaceId}: ${summarizeOutcome(outcome)}`);
    invocation.warn(`Import ${outcome.cancelled ? 'cancelled' : 'incomplete'}: ${summarizeOutcome(outcome)}.`, [
      { title: 'Show Which Keys', run: () => invocation.prompter.report('Import result', text) },
    ]);
  }
  return result;
}

/** Where an export goes: a file on disk written in place of a temporary one, or any other file system at the end. */
interface ExportSink {
  write(text: string): Promise<void>;
  commit(): Promise<void>;
  abandon(): Promise<void>;
}

async function openSink(target: vscode.Uri): Promise<ExportSink> {
  if (target.scheme === 'file') {
    const partial = `${target.fsPath}.partial`;
    const handle = await open(partial, 'w');
    let closed = false;
    const close = async () => {
      if (!closed) {
        closed = true;
        await handle.close();
      }
    };
    return {
      write: async (text) => {
        await handle.write(text);
      },
      commit: async () => {
        await handle.sync();
        await close();
        await rename(partial, target.fsPath);
      },
      abandon: async () => {
        await close();
        await rm(partial, { force: true });
      },
    };
  }
  const parts: string[] = [];
  return {
    write: async (text) => {
      parts.push(text);
    },
    commit: () => Promise.resolve(vscode.workspace.fs.writeFile(target, new TextEncoder().encode(parts.join('')))),
    abandon: async () => undefined,
  };
}

export interface ExportResult {
  file: vscode.Uri;
  /** Keys written to the file. */
  count: number;
  /** Keys listed but gone (deleted or expired) by the time their value was read. */
  skipped: number;
}

async function exportJson(invocation: Invocation): Promise<ExportResult | undefined> {
  const place = await invocation.place();
  if (!place) return undefined;
  const store = await invocation.store(place.connectionId);
  const prefix = prefixOf(place);
  const title = await invocation.namespaceTitle(place);
  const baseName = `${title}${prefix ? `-${prefix.replace(/\/+$/, '')}` : ''}`.replace(/[\\/:*?"<>|\s]+/g, '-');
  const folder = defaultFolder();
  const file = await invocation.prompter.saveFile({
    id: 'file',
    title: `Export "${title}${prefix ? ` / ${prefix}` : ''}"`,
    defaultUri: folder ? vscode.Uri.joinPath(folder, `${baseName}.json`) : undefined,
    filters: JSON_FILTER,
    saveLabel: 'Export',
  });
  if (!file) return undefined;
  const sink = await openSink(file);
  const writer = new BulkFileWriter();
  let skipped = 0;
  try {
    await invocation.progress(`Exporting "${title}${prefix ? ` / ${prefix}` : ''}"`, async (report, signal) => {
      await sink.write(writer.begin());
      let cursor: string | undefined;
      for (;;) {
        if (signal.aborted) throw new KvError('cancelled', 'The export was cancelled; no file was written.');
        const page = await store.list(place.namespaceId, { prefix, cursor, limit: store.limits.listLimit.max, signal });
        const reads = await settleWithConcurrency(page.keys, READ_CONCURRENCY, (info) => store.get(place.namespaceId, info.name, { signal }), signal);
        if (signal.aborted) throw new KvError('cancelled', 'The export was cancelled; no file was written.');
        let chunk = '';
        reads.forEach((read, index) => {
          const info = page.keys[index];
          if (read.status === 'rejected') {
            throw new KvError('unavailable', `Reading "${info.name}" failed, so the export stopped: ${describeError(read.reason)}`);
          }
          if (!read.value) {
            skipped++;
            return;
          }
          const expiration = read.value.expiration ?? info.expiration;
          chunk += writer.item(toBulkFileItem(info.name, { ...read.value, expiration }));
        });
        await sink.write(chunk);
        report(`${writer.written.toLocaleString('en-US')} keys`);
        if (page.complete || !page.cursor) break;
        cursor = page.cursor;
      }
      await sink.write(writer.end());
      await sink.commit();
    });
  } catch (error) {
    await sink.abandon();
    throw error;
  }
  const skippedText = skipped ? ` (${skipped} listed key(s) were gone by the time they were read)` : '';
  invocation.info(`Exported ${writer.written.toLocaleString('en-US')} keys to ${file.fsPath}${skippedText}.`, [
    { title: 'Open File', run: () => vscode.window.showTextDocument(file) },
  ]);
  return { file, count: writer.written, skipped };
}

export const bulkCommands: CommandDefinition[] = [
  { id: 'kvExplorer.importJson', title: 'Import from JSON', run: importJson },
  { id: 'kvExplorer.exportJson', title: 'Export to JSON', run: exportJson },
];
