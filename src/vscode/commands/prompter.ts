// Every question a command asks goes through a Prompter, so each flow can be driven without a person:
// by answers passed as the command's arguments (keyed by prompt id), or by a whole Prompter in the options.
// The default Prompter is VS Code's own UI.
import { setMaxListeners } from 'node:events';
import * as vscode from 'vscode';
import { describeError, invalid, KvError } from '../../core/errors';

export interface PickItem<T> {
  /** What an answer passed as an argument may name instead of the label (a connection or namespace id). */
  id?: string;
  label: string;
  description?: string;
  detail?: string;
  value: T;
}

interface Request {
  /** Stable name of the question, e.g. 'key' or 'confirm': the argument that answers it. */
  id: string;
  title: string;
}

export interface InputRequest extends Request {
  prompt?: string;
  value?: string;
  /** Selected part of `value`, [start, end). */
  valueSelection?: [number, number];
  placeHolder?: string;
  password?: boolean;
  /** Live validation: the message for a bad value, or undefined. Answers given as arguments must pass it too. */
  validate?: (value: string) => string | undefined;
}

export interface PickRequest<T> extends Request {
  placeHolder?: string;
  items: PickItem<T>[];
}

/** A quick pick whose items come from a search run as the person types (debounced). */
export interface SearchRequest<T> extends Request {
  placeHolder?: string;
  value?: string;
  search: (text: string, signal: AbortSignal) => Promise<PickItem<T>[]>;
}

export interface ConfirmRequest extends Request {
  message: string;
  detail?: string;
  /** The label of the button that goes ahead, e.g. 'Delete'. */
  confirm: string;
}

export interface OpenRequest extends Request {
  canSelectFiles: boolean;
  canSelectFolders: boolean;
  canSelectMany: boolean;
  filters?: Record<string, string[]>;
  openLabel?: string;
}

export interface SaveRequest extends Request {
  defaultUri?: vscode.Uri;
  filters?: Record<string, string[]>;
  saveLabel?: string;
}

export interface Notice {
  title: string;
  run: () => unknown;
}

export interface ProgressReporter {
  report(message: string): void;
}

export interface Prompter {
  input(request: InputRequest): Promise<string | undefined>;
  pick<T>(request: PickRequest<T>): Promise<T | undefined>;
  search<T>(request: SearchRequest<T>): Promise<T | undefined>;
  /** A modal question; true only when the person chose `confirm`. */
  confirm(request: ConfirmRequest): Promise<boolean>;
  openFiles(request: OpenRequest): Promise<vscode.Uri[] | undefined>;
  saveFile(request: SaveRequest): Promise<vscode.Uri | undefined>;
  /** Runs a long task with a cancellable progress notification; the signal aborts when the person cancels. */
  withProgress<T>(title: string, task: (progress: ProgressReporter, signal: AbortSignal) => Promise<T>): Promise<T>;
  /** A non-modal message; never waits for the person (actions run if they click one). */
  notify(level: 'info' | 'warn' | 'error', message: string, actions?: Notice[]): void;
  /** Shows a long text (every bad entry of an import, every key of a failed bulk run) as a read-only document. */
  report(title: string, text: string): Promise<void>;
}

/** A long task's signal is shared by every request it has in flight (each adds an abort listener). */
const LISTENERS_PER_TASK = 1000;

/** How long the key search waits after the last keystroke before it asks the store. */
export const SEARCH_DEBOUNCE_MS = 200;

const REPORT_SCHEME = 'kv-report';

/** Read-only documents for reports: they open without a "save?" question on close. */
export class ReportDocuments implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private readonly texts = new Map<string, string>();
  private readonly emitter = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.emitter.event;
  private readonly registration = vscode.workspace.registerTextDocumentContentProvider(REPORT_SCHEME, this);
  private readonly cleanup = vscode.workspace.onDidCloseTextDocument((document) => this.texts.delete(document.uri.toString()));
  private counter = 0;

  provideTextDocumentContent(uri: vscode.Uri): string {
    return this.texts.get(uri.toString()) ?? '';
  }

  async show(title: string, text: string): Promise<void> {
    const safeTitle = title.replace(/[\\/:*?"<>|]/g, '-');
    const uri = vscode.Uri.from({ scheme: REPORT_SCHEME, path: `/${safeTitle}.txt`, query: String(++this.counter) });
    this.texts.set(uri.toString(), text);
    const document = await vscode.workspace.openTextDocument(uri);
    await vscode.window.showTextDocument(document, { preview: false });
  }

  dispose(): void {
    this.registration.dispose();
    this.cleanup.dispose();
    this.emitter.dispose();
  }
}

/** VS Code's own UI. */
export class WindowPrompter implements Prompter {
  constructor(private readonly reports: ReportDocuments) {}

  input(request: InputRequest): Promise<string | undefined> {
    return Promise.resolve(
      vscode.window.showInputBox({
        title: request.title,
        prompt: request.prompt,
        value: request.value,
        valueSelection: request.valueSelection,
        placeHolder: request.placeHolder,
        password: request.password,
        ignoreFocusOut: true,
        validateInput: request.validate,
      }),
    );
  }

  async pick<T>(request: PickRequest<T>): Promise<T | undefined> {
    const chosen = await vscode.window.showQuickPick(
      request.items.map((item) => ({ label: item.label, description: item.description, detail: item.detail, item })),
      { title: request.title, placeHolder: request.placeHolder, matchOnDescription: true, matchOnDetail: true, ignoreFocusOut: true },
    );
    return chosen?.item.value;
  }

  search<T>(request: SearchRequest<T>): Promise<T | undefined> {
    type Item = vscode.QuickPickItem & { value: T };
    const quickPick = vscode.window.createQuickPick<Item>();
    quickPick.title = request.title;
    quickPick.placeholder = request.placeHolder;
    quickPick.value = request.value ?? '';
    quickPick.ignoreFocusOut = true;
    // The store did the matching on the prefix; VS Code's fuzzy filter would hide keys that contain the text elsewhere.
    quickPick.matchOnDescription = false;
    let timer: NodeJS.Timeout | undefined;
    let running: AbortController | undefined;
    let searched: string | undefined;
    const runSearch = (text: string) => {
      // Showing the pick reports its pre-filled value as a change: that search is running already.
      if (text === searched) return;
      searched = text;
      running?.abort();
      const controller = new AbortController();
      running = controller;
      quickPick.busy = true;
      request.search(text, controller.signal).then(
        (items) => {
          if (controller.signal.aborted) return;
          quickPick.items = items.map((item) => ({
            label: item.label,
            description: item.description,
            detail: item.detail,
            value: item.value,
            alwaysShow: true,
          }));
          quickPick.busy = false;
        },
        (error) => {
          if (controller.signal.aborted) return;
          quickPick.items = [];
          quickPick.busy = false;
          quickPick.placeholder = `Search failed: ${describeError(error)}`;
        },
      );
    };
    return new Promise<T | undefined>((resolve) => {
      let settled = false;
      const finish = (value: T | undefined) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        running?.abort();
        resolve(value);
        quickPick.dispose();
      };
      quickPick.onDidChangeValue((text) => {
        clearTimeout(timer);
        timer = setTimeout(() => runSearch(text), SEARCH_DEBOUNCE_MS);
      });
      quickPick.onDidAccept(() => finish(quickPick.selectedItems[0]?.value));
      quickPick.onDidHide(() => finish(undefined));
      quickPick.show();
      runSearch(quickPick.value);
    });
  }

  async confirm(request: ConfirmRequest): Promise<boolean> {
    const choice = await vscode.window.showWarningMessage(request.message, { modal: true, detail: request.detail }, request.confirm);
    return choice === request.confirm;
  }

  openFiles(request: OpenRequest): Promise<vscode.Uri[] | undefined> {
    return Promise.resolve(
      vscode.window.showOpenDialog({
        title: request.title,
        canSelectFiles: request.canSelectFiles,
        canSelectFolders: request.canSelectFolders,
        canSelectMany: request.canSelectMany,
        filters: request.filters,
        openLabel: request.openLabel,
      }),
    );
  }

  saveFile(request: SaveRequest): Promise<vscode.Uri | undefined> {
    return Promise.resolve(
      vscode.window.showSaveDialog({ title: request.title, defaultUri: request.defaultUri, filters: request.filters, saveLabel: request.saveLabel }),
    );
  }

  withProgress<T>(title: string, task: (progress: ProgressReporter, signal: AbortSignal) => Promise<T>): Promise<T> {
    return Promise.resolve(
      vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title, cancellable: true }, (progress, token) => {
        const controller = new AbortController();
        setMaxListeners(LISTENERS_PER_TASK, controller.signal);
        const subscription = token.onCancellationRequested(() => controller.abort());
        return task({ report: (message) => progress.report({ message }) }, controller.signal).finally(() => subscription.dispose());
      }),
    );
  }

  notify(level: 'info' | 'warn' | 'error', message: string, actions: Notice[] = []): void {
    const show =
      level === 'info' ? vscode.window.showInformationMessage : level === 'warn' ? vscode.window.showWarningMessage : vscode.window.showErrorMessage;
    void Promise.resolve(show(message, ...actions.map((action) => action.title))).then((choice) => {
      actions.find((action) => action.title === choice)?.run();
    });
  }

  report(title: string, text: string): Promise<void> {
    return this.reports.show(title, text);
  }
}

/** What a command's caller may pass besides its target: answers keyed by prompt id, and how to run. */
export interface CommandOptions {
  /** false: a question without an answer fails instead of being shown, and errors are thrown instead of shown. */
  interactive?: boolean;
  /** Cancels the command's long work, like the Cancel button of its progress notification. */
  signal?: AbortSignal;
  /** Receives each progress message of the command's long work. */
  onProgress?: (message: string) => void;
  /** Replaces VS Code's UI for everything the command asks and shows. */
  prompter?: Prompter;
  /** Act on the Stores view's selection (keybindings pass this, as they pass no item). */
  useSelection?: boolean;
  /** Answers by prompt id. `null` answers as if the person pressed Escape. */
  [promptId: string]: unknown;
}

const RESERVED_OPTIONS = new Set(['interactive', 'signal', 'onProgress', 'prompter', 'useSelection']);

function matches<T>(item: PickItem<T>, answer: unknown): boolean {
  if (item.value === answer || item.label === answer || (item.id !== undefined && item.id === answer)) return true;
  if (typeof item.value === 'object' && item.value !== null && typeof answer === 'object' && answer !== null) {
    return JSON.stringify(item.value) === JSON.stringify(answer);
  }
  return false;
}

function toUri(answer: unknown): vscode.Uri {
  if (answer instanceof vscode.Uri) return answer;
  // A path (POSIX or Windows) is a file; anything else with a scheme is parsed as a URI.
  if (typeof answer === 'string') return /^([a-zA-Z]:)?[\\/]/.test(answer) ? vscode.Uri.file(answer) : vscode.Uri.parse(answer, true);
  if (typeof answer === 'object' && answer !== null && 'scheme' in answer) return vscode.Uri.from(answer as vscode.Uri);
  throw invalid('prompt.answer', `${JSON.stringify(answer)} is not a file path or URI.`);
}

/**
 * Answers questions from `options` where it has an answer for the question's id, and asks `fallback` otherwise.
 * Without a fallback (non-interactive), an unanswered question fails with a message naming it.
 * Answers are checked like typed input: an answer the input box would refuse is refused with the same message.
 */
export class AnsweringPrompter implements Prompter {
  constructor(
    private readonly answers: CommandOptions,
    private readonly fallback: Prompter | undefined,
    private readonly onProgress?: (message: string) => void,
    private readonly signal?: AbortSignal,
  ) {}

  private has(id: string): boolean {
    return !RESERVED_OPTIONS.has(id) && Object.prototype.hasOwnProperty.call(this.answers, id);
  }

  private unanswered(request: Request): never {
    throw new KvError('invalid', `"${request.title}" needs an answer: pass "${request.id}" in the command's options.`, { rule: 'prompt.unanswered' });
  }

  private ask(request: Request): Prompter {
    return this.fallback ?? this.unanswered(request);
  }

  async input(request: InputRequest): Promise<string | undefined> {
    if (!this.has(request.id)) return this.ask(request).input(request);
    const answer = this.answers[request.id];
    if (answer === null) return undefined;
    const value = String(answer);
    const problem = request.validate?.(value);
    if (problem) throw invalid(`prompt.${request.id}`, problem);
    return value;
  }

  async pick<T>(request: PickRequest<T>): Promise<T | undefined> {
    if (!this.has(request.id)) return this.ask(request).pick(request);
    const answer = this.answers[request.id];
    if (answer === null) return undefined;
    const found = request.items.find((item) => matches(item, answer));
    if (!found) {
      const choices = request.items.map((item) => item.label).join(', ');
      throw invalid(`prompt.${request.id}`, `"${request.title}": ${JSON.stringify(answer)} is not one of the choices (${choices}).`);
    }
    return found.value;
  }

  async search<T>(request: SearchRequest<T>): Promise<T | undefined> {
    if (!this.has(request.id)) return this.ask(request).search(request);
    const answer = this.answers[request.id];
    if (answer === null) return undefined;
    const text = String(answer);
    const items = await request.search(text, this.signal ?? new AbortController().signal);
    const found = items.find((item) => matches(item, answer)) ?? items[0];
    if (!found) throw new KvError('not-found', `"${request.title}": nothing matches ${JSON.stringify(text)}.`);
    return found.value;
  }

  async confirm(request: ConfirmRequest): Promise<boolean> {
    if (!this.has(request.id)) return this.ask(request).confirm(request);
    return this.answers[request.id] === true;
  }

  async openFiles(request: OpenRequest): Promise<vscode.Uri[] | undefined> {
    if (!this.has(request.id)) return this.ask(request).openFiles(request);
    const answer = this.answers[request.id];
    if (answer === null) return undefined;
    return (Array.isArray(answer) ? answer : [answer]).map(toUri);
  }

  async saveFile(request: SaveRequest): Promise<vscode.Uri | undefined> {
    if (!this.has(request.id)) return this.ask(request).saveFile(request);
    const answer = this.answers[request.id];
    return answer === null ? undefined : toUri(answer);
  }

  withProgress<T>(title: string, task: (progress: ProgressReporter, signal: AbortSignal) => Promise<T>): Promise<T> {
    const external = this.signal;
    const withExternal = (progress: ProgressReporter, signal: AbortSignal) => {
      const combined = external ? AbortSignal.any([signal, external]) : signal;
      setMaxListeners(LISTENERS_PER_TASK, combined);
      const report = (message: string) => {
        this.onProgress?.(message);
        progress.report(message);
      };
      return task({ report }, combined);
    };
    if (this.fallback) return this.fallback.withProgress(title, withExternal);
    const controller = new AbortController();
    setMaxListeners(LISTENERS_PER_TASK, controller.signal);
    return withExternal({ report: () => undefined }, controller.signal);
  }

  notify(level: 'info' | 'warn' | 'error', message: string, actions?: Notice[]): void {
    this.fallback?.notify(level, message, actions);
  }

  async report(title: string, text: string): Promise<void> {
    await this.fallback?.report(title, text);
  }
}
