// A stand-in `vscode` module, so the extension's own code (the tree provider, activate()) runs in plain Node for
// the bench. It provides real, small implementations of the value classes that code constructs (TreeItem,
// EventEmitter, ThemeIcon, ThemeColor, MarkdownString, Uri, Disposable) and settings read from package.json's
// defaults. The editor-facing namespaces (window, commands, languages, env, …) record what is registered and
// otherwise do nothing: their real work happens in VS Code's processes, not in the extension's. Members the shim
// does not know answer with inert stand-ins, so new API use in the extension does not break the bench.

import Module = require('node:module');
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

type Listener<T> = (event: T) => unknown;

export class Disposable {
  static from(...items: { dispose(): unknown }[]): Disposable {
    return new Disposable(() => items.forEach((item) => item.dispose()));
  }
  constructor(private readonly onDispose: () => unknown) {}
  dispose(): void {
    this.onDispose();
  }
}

export class EventEmitter<T> {
  private listeners = new Set<Listener<T>>();
  readonly event = (listener: Listener<T>, thisArgs?: unknown, disposables?: Disposable[]): Disposable => {
    const bound: Listener<T> = thisArgs === undefined ? listener : listener.bind(thisArgs);
    this.listeners.add(bound);
    const disposable = new Disposable(() => this.listeners.delete(bound));
    disposables?.push(disposable);
    return disposable;
  };
  fire(data: T): void {
    for (const listener of [...this.listeners]) listener(data);
  }
  dispose(): void {
    this.listeners.clear();
  }
}

export enum TreeItemCollapsibleState {
  None = 0,
  Collapsed = 1,
  Expanded = 2,
}

export class ThemeColor {
  constructor(readonly id: string) {}
}

export class ThemeIcon {
  static readonly File = new ThemeIcon('file');
  static readonly Folder = new ThemeIcon('folder');
  constructor(
    readonly id: string,
    readonly color?: ThemeColor,
  ) {}
}

export class MarkdownString {
  constructor(
    public value = '',
    public supportThemeIcons = false,
  ) {}
  appendText(text: string): this {
    this.value += text.replace(/[\\`*_{}[\]()#+\-.!|<>~]/g, '\\$&').replace(/\n/g, '\n\n');
    return this;
  }
  appendMarkdown(markdown: string): this {
    this.value += markdown;
    return this;
  }
  appendCodeblock(code: string, language = ''): this {
    this.value += `\n\`\`\`${language}\n${code}\n\`\`\`\n`;
    return this;
  }
}

interface UriComponents {
  scheme: string;
  authority?: string;
  path?: string;
  query?: string;
  fragment?: string;
}

/** The parts of vscode.Uri the extension uses: components, fsPath, with, toString, from/file/parse/joinPath. */
export class Uri {
  static from(components: UriComponents): Uri {
    if (!/^[A-Za-z][A-Za-z0-9+.-]*$/.test(components.scheme)) throw new Error(`[UriError]: Scheme contains illegal characters: ${components.scheme}`);
    return new Uri(components.scheme, components.authority ?? '', components.path ?? '', components.query ?? '', components.fragment ?? '');
  }
  static file(path: string): Uri {
    return new Uri('file', '', path.startsWith('/') ? path : `/${path}`, '', '');
  }
  static parse(value: string): Uri {
    const url = new URL(value);
    return new Uri(url.protocol.slice(0, -1), url.host, decodeURIComponent(url.pathname), url.search.slice(1), url.hash.slice(1));
  }
  static joinPath(base: Uri, ...segments: string[]): Uri {
    return base.with({ path: [base.path.replace(/\/+$/, ''), ...segments].join('/') });
  }
  private constructor(
    readonly scheme: string,
    readonly authority: string,
    readonly path: string,
    readonly query: string,
    readonly fragment: string,
  ) {}
  get fsPath(): string {
    return this.path;
  }
  with(change: Partial<UriComponents>): Uri {
    return new Uri(change.scheme ?? this.scheme, change.authority ?? this.authority, change.path ?? this.path, change.query ?? this.query, change.fragment ?? this.fragment);
  }
  toString(): string {
    const query = this.query ? `?${encodeURIComponent(this.query)}` : '';
    const fragment = this.fragment ? `#${encodeURIComponent(this.fragment)}` : '';
    return `${this.scheme}://${this.authority}${encodeURI(this.path)}${query}${fragment}`;
  }
  toJSON(): UriComponents {
    return { scheme: this.scheme, authority: this.authority, path: this.path, query: this.query, fragment: this.fragment };
  }
}

export class TreeItem {
  label?: string;
  resourceUri?: Uri;
  id?: string;
  description?: string;
  tooltip?: string | MarkdownString;
  iconPath?: unknown;
  contextValue?: string;
  command?: unknown;
  constructor(
    labelOrUri: string | Uri,
    public collapsibleState: TreeItemCollapsibleState = TreeItemCollapsibleState.None,
  ) {
    if (typeof labelOrUri === 'string') this.label = labelOrUri;
    else this.resourceUri = labelOrUri;
  }
}

export class FileSystemError extends Error {
  static FileNotFound(message?: string): FileSystemError {
    return new FileSystemError(message, 'FileNotFound');
  }
  static FileExists(message?: string): FileSystemError {
    return new FileSystemError(message, 'FileExists');
  }
  static NoPermissions(message?: string): FileSystemError {
    return new FileSystemError(message, 'NoPermissions');
  }
  static Unavailable(message?: string): FileSystemError {
    return new FileSystemError(message, 'Unavailable');
  }
  constructor(
    message?: string,
    readonly code = 'Unknown',
  ) {
    super(message);
  }
}

/** A Memento kept in memory (globalState / workspaceState). */
export class MemoryMemento {
  private readonly values = new Map<string, unknown>();
  keys(): readonly string[] {
    return [...this.values.keys()];
  }
  get<T>(key: string, defaultValue?: T): T | undefined {
    return this.values.has(key) ? (this.values.get(key) as T) : defaultValue;
  }
  async update(key: string, value: unknown): Promise<void> {
    if (value === undefined) this.values.delete(key);
    else this.values.set(key, value);
  }
  setKeysForSync(): void {}
}

/** What the editor-facing namespaces were asked to register, for the activation suite to check. */
export const registrations = { commands: [] as string[], treeViews: [] as string[], fileSystems: [] as string[] };

const noop = () => undefined;
const disposable = () => new Disposable(noop);
/** An Event that never fires. */
const quietEvent = () => disposable();

/**
 * A stand-in for any API member the shim does not know (the extension may start using more of VS Code's API):
 * callable, constructible, every property another stand-in, `dispose()` a no-op, iterable as empty, not a thenable.
 */
function inert(): unknown {
  const target = function () {};
  return new Proxy(target, {
    get(_target, property) {
      if (property === 'then') return undefined;
      if (property === 'dispose') return noop;
      if (property === Symbol.iterator) return function* () {};
      if (property === Symbol.toPrimitive) return () => '';
      if (property === 'prototype') return target.prototype;
      return inert();
    },
    apply: () => inert(),
    construct: () => inert() as object,
  });
}

/** `namespace` with an inert stand-in for every member it does not define. */
function withFallback<T extends object>(namespace: T): T {
  return new Proxy(namespace, { get: (target, property, receiver) => (property in target ? Reflect.get(target, property, receiver) : inert()) });
}

function outputChannel() {
  return { name: 'KV Explorer', logLevel: 2, onDidChangeLogLevel: quietEvent, append: noop, appendLine: noop, replace: noop, clear: noop, show: noop, hide: noop, dispose: noop, trace: noop, debug: noop, info: noop, warn: noop, error: noop };
}

function treeView() {
  return { selection: [], visible: false, onDidChangeSelection: quietEvent, onDidChangeVisibility: quietEvent, onDidExpandElement: quietEvent, onDidCollapseElement: quietEvent, reveal: async () => undefined, dispose: noop, message: undefined, title: undefined, description: undefined, badge: undefined };
}

function readDefaults(): Record<string, unknown> {
  const manifest = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as {
    contributes: { configuration: { properties: Record<string, { default?: unknown }> } };
  };
  return Object.fromEntries(Object.entries(manifest.contributes.configuration.properties).map(([name, schema]) => [name, schema.default]));
}

export function createVscodeShim(settings: Record<string, unknown> = {}) {
  const values = { ...readDefaults(), ...settings };
  const configurationChanged = new EventEmitter<{ affectsConfiguration(section: string): boolean }>();
  return withFallback({
    version: '1.100.0-bench-shim',
    Disposable,
    EventEmitter,
    TreeItem,
    TreeItemCollapsibleState,
    ThemeIcon,
    ThemeColor,
    MarkdownString,
    Uri,
    FileSystemError,
    FileType: { Unknown: 0, File: 1, Directory: 2, SymbolicLink: 64 },
    FileChangeType: { Changed: 1, Created: 2, Deleted: 3 },
    FilePermission: { Readonly: 1 },
    ProgressLocation: { SourceControl: 1, Window: 10, Notification: 15 },
    ConfigurationTarget: { Global: 1, Workspace: 2, WorkspaceFolder: 3 },
    workspace: withFallback({
      workspaceFolders: undefined as undefined,
      getConfiguration(section?: string) {
        const full = (key: string) => (section ? `${section}.${key}` : key);
        return {
          get: <T>(key: string, defaultValue?: T): T | undefined => (full(key) in values ? (values[full(key)] as T) : defaultValue),
          has: (key: string) => full(key) in values,
          update: async (key: string, value: unknown) => {
            values[full(key)] = value;
            configurationChanged.fire({ affectsConfiguration: (name: string) => full(key).startsWith(name) });
          },
          inspect: () => undefined,
        };
      },
      onDidChangeConfiguration: configurationChanged.event,
      onDidChangeWorkspaceFolders: quietEvent,
      onDidOpenTextDocument: quietEvent,
      onDidCloseTextDocument: quietEvent,
      onDidSaveTextDocument: quietEvent,
      onDidChangeTextDocument: quietEvent,
      textDocuments: [],
      createFileSystemWatcher: () => ({ onDidCreate: quietEvent, onDidChange: quietEvent, onDidDelete: quietEvent, dispose: noop }),
      registerFileSystemProvider: (scheme: string) => {
        registrations.fileSystems.push(scheme);
        return disposable();
      },
      registerTextDocumentContentProvider: () => disposable(),
      findFiles: async () => [],
      fs: {
        stat: async () => {
          throw FileSystemError.FileNotFound();
        },
        readFile: async () => {
          throw FileSystemError.FileNotFound();
        },
      },
    }),
    window: withFallback({
      createOutputChannel: outputChannel,
      createTreeView: (id: string) => {
        registrations.treeViews.push(id);
        return treeView();
      },
      registerTreeDataProvider: (id: string) => {
        registrations.treeViews.push(id);
        return disposable();
      },
      showInformationMessage: async () => undefined,
      showWarningMessage: async () => undefined,
      showErrorMessage: async () => undefined,
      showInputBox: async () => undefined,
      showQuickPick: async () => undefined,
      withProgress: async <R>(_options: unknown, task: (progress: { report: () => void }, token: unknown) => Promise<R>) =>
        task({ report: noop }, { isCancellationRequested: false, onCancellationRequested: quietEvent }),
    }),
    commands: withFallback({
      registerCommand: (id: string) => {
        registrations.commands.push(id);
        return disposable();
      },
      executeCommand: async () => undefined,
      getCommands: async () => [...registrations.commands],
    }),
    languages: withFallback({ setTextDocumentLanguage: async (document: unknown) => document }),
    env: withFallback({ clipboard: { readText: async () => '', writeText: async () => undefined } }),
  });
}

export type VscodeShim = ReturnType<typeof createVscodeShim>;

/** The file name the shim is registered under in require's cache. */
const SHIM_ID = join(__dirname, '__vscode_shim__.js');
let installed: VscodeShim | undefined;

/** Makes `require('vscode')` return the shim in this process. Installs once; later calls return the same one. */
export function installVscodeShim(settings: Record<string, unknown> = {}): VscodeShim {
  if (installed) return installed;
  const shim = createVscodeShim(settings);
  const moduleInternals = Module as unknown as { _resolveFilename: (request: string, ...rest: unknown[]) => string };
  const resolve = moduleInternals._resolveFilename;
  moduleInternals._resolveFilename = function (request: string, ...rest: unknown[]) {
    return request === 'vscode' ? SHIM_ID : resolve.call(this, request, ...rest);
  };
  const entry = new Module(SHIM_ID);
  entry.filename = SHIM_ID;
  entry.loaded = true;
  entry.exports = shim;
  require.cache[SHIM_ID] = entry;
  installed = shim;
  return shim;
}

/** An ExtensionContext with in-memory state and secrets and a storage folder on disk. */
export function extensionContext(storageDir: string) {
  const secrets = new Map<string, string>();
  return {
    subscriptions: [] as { dispose(): unknown }[],
    globalState: new MemoryMemento(),
    workspaceState: new MemoryMemento(),
    globalStorageUri: Uri.file(storageDir),
    storageUri: undefined,
    logUri: Uri.file(storageDir),
    extensionUri: Uri.file(join(__dirname, '..', '..')),
    extensionPath: join(__dirname, '..', '..'),
    secrets: {
      get: async (key: string) => secrets.get(key),
      store: async (key: string, value: string) => void secrets.set(key, value),
      delete: async (key: string) => void secrets.delete(key),
      onDidChange: quietEvent,
    },
  };
}
