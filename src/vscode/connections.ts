// The connections the Stores tree shows as roots, and the one place that turns a connection into a KvStore.
// Non-secret settings live in globalState; each credential lives ONLY in SecretStorage, under a per-connection key.
import { randomUUID } from 'node:crypto';
import { join, isAbsolute, resolve } from 'node:path';
import { homedir } from 'node:os';
import * as vscode from 'vscode';
import { describeError, invalid, KvError } from '../core/errors';
import type { KvStore } from '../core/store';
import { readWranglerDevTarget, WRANGLER_CONFIG_FILE_NAMES } from '../core/wranglerConfig';
import type { ExtensionLog } from './log';
import { createStore, wranglerDevApiRoot } from './storeFactory';

export type ConnectionKind = 'local' | 'cloudflare' | 'wrangler-dev' | 'telnyx';

/**
 * What the stored secret is: a Cloudflare API token, a Cloudflare global API key (with `email`),
 * a Telnyx API key, or nothing (local store, wrangler dev).
 */
export type AuthType = 'none' | 'api-token' | 'global-api-key' | 'api-key';

/** The non-secret part of a connection, as kept in globalState. */
export interface ConnectionConfig {
  readonly id: string;
  readonly kind: ConnectionKind;
  readonly name: string;
  /** API root for Cloudflare/Telnyx (provider default when absent); the dev server's origin for wrangler dev. */
  readonly baseUrl?: string;
  readonly accountId?: string;
  readonly authType: AuthType;
  /** The account email that goes with a Cloudflare global API key. */
  readonly email?: string;
}

/** A connection as the tree shows it: built in (Local), configured by the user, or detected (wrangler dev). */
export interface Connection extends ConnectionConfig {
  readonly origin: 'builtin' | 'configured' | 'detected';
}

export type NewConnection = Omit<ConnectionConfig, 'id'> & { readonly id?: string };
export type ConnectionUpdate = Partial<Omit<ConnectionConfig, 'id' | 'kind'>>;

export interface ConnectionsChange {
  /** Connections added, removed or changed, or whose store was replaced. */
  readonly ids: readonly string[];
}

export const LOCAL_CONNECTION_ID = 'local';
const CONNECTIONS_STATE_KEY = 'kvExplorer.connections';
const SECRET_KEY_PREFIX = 'kvExplorer.connection.';
const DETECTED_PREFIX = 'wrangler-dev@';
/** How long a wrangler dev port gets to answer the explorer API before it counts as not running. */
const PROBE_TIMEOUT_MS = 1500;

const LOCAL_CONNECTION: Connection = {
  id: LOCAL_CONNECTION_ID,
  kind: 'local',
  name: 'Local',
  authType: 'none',
  origin: 'builtin',
};

const AUTH_TYPES_BY_KIND: Record<Exclude<ConnectionKind, 'local'>, readonly AuthType[]> = {
  cloudflare: ['api-token', 'global-api-key'],
  telnyx: ['api-key'],
  'wrangler-dev': ['none'],
};

export function secretKeyFor(connectionId: string): string {
  return SECRET_KEY_PREFIX + connectionId;
}

function httpUrl(value: string, field: string): void {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw invalid(`connection.${field}`, `"${value}" is not a URL.`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw invalid(`connection.${field}`, `"${value}" must start with http:// or https://.`);
  }
}

/** Throws a KvError naming the broken rule when a configured connection is incomplete or inconsistent. */
export function validateConnectionConfig(config: ConnectionConfig, secret: string | undefined, secretRequired: boolean): void {
  if (config.kind === 'local') throw invalid('connection.kind', 'The Local store is built in and cannot be added again.');
  const authTypes = AUTH_TYPES_BY_KIND[config.kind];
  if (!authTypes) throw invalid('connection.kind', `Unknown connection kind "${String(config.kind)}".`);
  if (!authTypes.includes(config.authType)) {
    throw invalid('connection.authType', `A ${config.kind} connection cannot use "${config.authType}" credentials.`);
  }
  if (!config.name.trim()) throw invalid('connection.name', 'The connection needs a name.');
  if (config.baseUrl !== undefined) httpUrl(config.baseUrl, 'baseUrl');
  if (config.kind === 'cloudflare' && !config.accountId?.trim()) {
    throw invalid('connection.accountId', 'A Cloudflare connection needs an account id.');
  }
  if (config.kind === 'wrangler-dev' && !config.baseUrl) {
    throw invalid('connection.baseUrl', 'A wrangler dev connection needs the URL wrangler dev listens on.');
  }
  if (config.authType === 'global-api-key' && !config.email?.trim()) {
    throw invalid('connection.email', 'A Cloudflare global API key needs the account email that goes with it.');
  }
  if (secretRequired && config.authType !== 'none' && !secret) {
    throw invalid('connection.secret', `A ${config.kind} connection needs its ${config.authType === 'api-token' ? 'API token' : 'API key'}.`);
  }
}

function isStoredConfig(value: unknown): value is ConnectionConfig {
  if (typeof value !== 'object' || value === null) return false;
  const record = value as Record<string, unknown>;
  return (
    typeof record.id === 'string' &&
    typeof record.name === 'string' &&
    typeof record.kind === 'string' &&
    record.kind in AUTH_TYPES_BY_KIND &&
    typeof record.authType === 'string'
  );
}

/** The explorer API probe URL of a wrangler dev origin such as http://127.0.0.1:8787. */
export function wranglerExplorerNamespacesUrl(origin: string): string {
  return `${wranglerDevApiRoot(origin)}/storage/kv/namespaces`;
}

interface CachedStore {
  readonly store: Promise<KvStore>;
  /** For the local store: the directory it was opened from, so a changed setting reopens it. */
  readonly localPath?: string;
}

export class ConnectionManager implements vscode.Disposable {
  private readonly changeEmitter = new vscode.EventEmitter<ConnectionsChange>();
  readonly onDidChangeConnections = this.changeEmitter.event;

  private readonly stores = new Map<string, CachedStore>();
  private detected: Connection[] = [];
  private detection: Promise<void> | undefined;
  private detectAgain = false;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly log: ExtensionLog,
  ) {
    this.disposables.push(
      this.changeEmitter,
      vscode.workspace.onDidChangeConfiguration((event) => {
        if (event.affectsConfiguration('kvExplorer.localStore.path')) this.replaceStore(LOCAL_CONNECTION_ID);
      }),
    );
  }

  /** Every connection, in tree order: Local, detected wrangler dev servers, then configured ones. */
  list(): readonly Connection[] {
    return [LOCAL_CONNECTION, ...this.detected, ...this.configured().map((config) => ({ ...config, origin: 'configured' as const }))];
  }

  get(id: string): Connection | undefined {
    return this.list().find((connection) => connection.id === id);
  }

  /** Saves a new connection: its secret to SecretStorage, the rest to globalState. */
  async addConnection(config: NewConnection, secret?: string): Promise<Connection> {
    const id = config.id ?? randomUUID();
    if (this.get(id)) throw invalid('connection.id', `A connection with id "${id}" already exists.`);
    const stored = normalize({ ...config, id });
    validateConnectionConfig(stored, secret, true);
    this.log.addSecret(secret);
    if (stored.authType !== 'none') await this.context.secrets.store(secretKeyFor(id), secret!);
    try {
      await this.saveConfigured([...this.configured(), stored]);
    } catch (error) {
      await this.context.secrets.delete(secretKeyFor(id));
      throw error;
    }
    this.log.log('info', `Added ${stored.kind} connection "${stored.name}" (${id}).`);
    this.replaceStore(id);
    return { ...stored, origin: 'configured' };
  }

  /** Changes a configured connection; a given `secret` replaces the stored one. Its store is reopened on next use. */
  async updateConnection(id: string, changes: ConnectionUpdate, secret?: string): Promise<Connection> {
    const configured = this.configured();
    const index = configured.findIndex((config) => config.id === id);
    if (index === -1) throw this.notConfigured(id);
    const updated = normalize({ ...configured[index], ...changes, id, kind: configured[index].kind });
    validateConnectionConfig(updated, secret, false);
    if (updated.authType !== 'none' && secret === undefined && !(await this.context.secrets.get(secretKeyFor(id)))) {
      throw invalid('connection.secret', `"${updated.name}" has no stored credentials; enter them again.`);
    }
    this.log.addSecret(secret);
    if (secret !== undefined && updated.authType !== 'none') await this.context.secrets.store(secretKeyFor(id), secret);
    if (updated.authType === 'none') await this.context.secrets.delete(secretKeyFor(id));
    await this.saveConfigured(configured.map((config, i) => (i === index ? updated : config)));
    this.log.log('info', `Updated connection "${updated.name}" (${id}).`);
    this.replaceStore(id);
    return { ...updated, origin: 'configured' };
  }

  /** Forgets a configured connection and deletes its secret. */
  async removeConnection(id: string): Promise<void> {
    const configured = this.configured();
    const removed = configured.find((config) => config.id === id);
    if (!removed) throw this.notConfigured(id);
    await this.saveConfigured(configured.filter((config) => config.id !== id));
    await this.context.secrets.delete(secretKeyFor(id));
    this.log.log('info', `Removed connection "${removed.name}" (${id}) and its stored credentials.`);
    this.replaceStore(id);
  }

  /** Whether SecretStorage holds a credential for the connection (for edit flows: "keep the current token"). */
  async hasSecret(id: string): Promise<boolean> {
    return Boolean(await this.context.secrets.get(secretKeyFor(id)));
  }

  /** The connection's store, opened once and shared until the connection changes. */
  storeFor(id: string): Promise<KvStore> {
    const connection = this.get(id);
    if (!connection) return Promise.reject(new KvError('not-found', `There is no connection "${id}".`));
    const localPath = connection.kind === 'local' ? this.localStorePath() : undefined;
    const cached = this.stores.get(id);
    if (cached && cached.localPath === localPath) return cached.store;
    if (cached) this.closeStore(id);
    const store = this.openStore(connection, localPath);
    const entry: CachedStore = { store, localPath };
    this.stores.set(id, entry);
    // A failed open is not cached, so Retry tries again.
    store.catch(() => {
      if (this.stores.get(id) === entry) this.stores.delete(id);
    });
    return store;
  }

  /** The directory of the Local store: the `kvExplorer.localStore.path` setting, else the extension's global storage. */
  localStorePath(): string {
    const setting = vscode.workspace.getConfiguration('kvExplorer').get<string>('localStore.path', '').trim();
    if (!setting) return join(this.context.globalStorageUri.fsPath, 'local-store');
    const expanded = setting === '~' || setting.startsWith('~/') ? join(homedir(), setting.slice(1)) : setting;
    if (isAbsolute(expanded)) return expanded;
    const folder = vscode.workspace.workspaceFolders?.[0];
    return folder ? resolve(folder.uri.fsPath, expanded) : resolve(this.context.globalStorageUri.fsPath, expanded);
  }

  /**
   * Looks for wrangler configs in the workspace and shows each whose dev port answers the explorer API.
   * Calls during a running detection are folded into one more run after it.
   */
  detectWranglerDev(): Promise<void> {
    if (this.detection) {
      this.detectAgain = true;
      return this.detection;
    }
    this.detection = (async () => {
      try {
        do {
          this.detectAgain = false;
          await this.runDetection();
        } while (this.detectAgain);
      } finally {
        this.detection = undefined;
      }
    })();
    return this.detection;
  }

  /** Re-detects whenever a wrangler config appears, changes or disappears. */
  watchWranglerConfigs(): void {
    const watcher = vscode.workspace.createFileSystemWatcher(`**/{${WRANGLER_CONFIG_FILE_NAMES.join(',')}}`);
    const detect = () => void this.detectWranglerDev();
    this.disposables.push(
      watcher,
      watcher.onDidCreate(detect),
      watcher.onDidChange(detect),
      watcher.onDidDelete(detect),
      vscode.workspace.onDidChangeWorkspaceFolders(detect),
    );
  }

  dispose(): void {
    for (const id of [...this.stores.keys()]) this.closeStore(id);
    for (const disposable of this.disposables) disposable.dispose();
  }

  private configured(): ConnectionConfig[] {
    const stored = this.context.globalState.get<unknown[]>(CONNECTIONS_STATE_KEY, []);
    return Array.isArray(stored) ? stored.filter(isStoredConfig) : [];
  }

  private async saveConfigured(configs: ConnectionConfig[]): Promise<void> {
    await this.context.globalState.update(CONNECTIONS_STATE_KEY, configs);
  }

  private notConfigured(id: string): KvError {
    const connection = this.get(id);
    if (connection) {
      return invalid('connection.builtin', `"${connection.name}" is ${connection.origin === 'builtin' ? 'built in' : 'detected automatically'} and cannot be edited or removed.`);
    }
    return new KvError('not-found', `There is no connection "${id}".`);
  }

  private async openStore(connection: Connection, localPath: string | undefined): Promise<KvStore> {
    let secret: string | undefined;
    if (connection.authType !== 'none') {
      secret = await this.context.secrets.get(secretKeyFor(connection.id));
      if (!secret) {
        throw new KvError('unauthorized', `No credentials are stored for "${connection.name}". Edit the connection to enter them again.`);
      }
      this.log.addSecret(secret);
    }
    return createStore(connection, { secret, localPath, logger: this.log });
  }

  private closeStore(id: string): void {
    const cached = this.stores.get(id);
    if (!cached) return;
    this.stores.delete(id);
    cached.store.then(
      (store) => store.close(),
      () => undefined,
    ).catch((error) => this.log.log('warn', `Closing the store of ${id} failed: ${describeError(error)}`));
  }

  /** Drops the cached store (it reopens on next use) and tells the tree. */
  private replaceStore(id: string): void {
    this.closeStore(id);
    this.changeEmitter.fire({ ids: [id] });
  }

  private async runDetection(): Promise<void> {
    const candidates = new Map<number, string | undefined>();
    for (const file of await this.wranglerConfigFiles()) {
      try {
        const text = new TextDecoder().decode(await vscode.workspace.fs.readFile(file));
        const target = readWranglerDevTarget(file.path, text);
        if (!candidates.has(target.port) || candidates.get(target.port) === undefined) candidates.set(target.port, target.name);
      } catch (error) {
        this.log.log('warn', `Could not read ${file.fsPath}: ${describeError(error)}`);
      }
    }
    const configuredOrigins = new Set(
      this.configured()
        .filter((config) => config.kind === 'wrangler-dev' && config.baseUrl)
        .map((config) => originOf(config.baseUrl!)),
    );
    const found: Connection[] = [];
    await Promise.all(
      [...candidates].map(async ([port, workerName]) => {
        const origin = `http://127.0.0.1:${port}`;
        if (configuredOrigins.has(origin) || !(await this.answersExplorerApi(origin))) return;
        found.push({
          id: `${DETECTED_PREFIX}${port}`,
          kind: 'wrangler-dev',
          name: workerName ? `wrangler dev: ${workerName}` : 'wrangler dev',
          baseUrl: origin,
          authType: 'none',
          origin: 'detected',
        });
      }),
    );
    found.sort((a, b) => a.id.localeCompare(b.id));
    const before = new Map(this.detected.map((connection) => [connection.id, JSON.stringify(connection)]));
    const after = new Map(found.map((connection) => [connection.id, JSON.stringify(connection)]));
    const changed = [...new Set([...before.keys(), ...after.keys()])].filter((id) => before.get(id) !== after.get(id));
    this.detected = found;
    if (changed.length > 0) {
      for (const id of changed) this.closeStore(id);
      this.log.log('info', `wrangler dev detection: ${found.length ? found.map((c) => c.baseUrl).join(', ') : 'none running'}.`);
      this.changeEmitter.fire({ ids: changed });
    }
  }

  /** Wrangler configs at each workspace folder's root, plus nested ones (monorepos) that a file search finds. */
  private async wranglerConfigFiles(): Promise<vscode.Uri[]> {
    const folders = vscode.workspace.workspaceFolders ?? [];
    const found = new Map<string, vscode.Uri>();
    for (const folder of folders) {
      for (const name of WRANGLER_CONFIG_FILE_NAMES) {
        const uri = vscode.Uri.joinPath(folder.uri, name);
        try {
          await vscode.workspace.fs.stat(uri);
          found.set(uri.toString(), uri);
        } catch {
          // not there
        }
      }
    }
    if (folders.length > 0) {
      try {
        const pattern = `**/{${WRANGLER_CONFIG_FILE_NAMES.join(',')}}`;
        for (const uri of await vscode.workspace.findFiles(pattern, '**/{node_modules,.git,.wrangler}/**', 50)) found.set(uri.toString(), uri);
      } catch (error) {
        // Without a search backend only the roots are looked at.
        this.log.log('debug', `Searching the workspace for wrangler configs failed: ${describeError(error)}`);
      }
    }
    return [...found.values()];
  }

  private async answersExplorerApi(origin: string): Promise<boolean> {
    const url = wranglerExplorerNamespacesUrl(origin);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
      if (!response.ok) return false;
      const body = (await response.json()) as { success?: unknown };
      return body.success === true;
    } catch {
      return false;
    }
  }
}

function originOf(url: string): string {
  try {
    const parsed = new URL(url);
    const host = parsed.hostname === 'localhost' ? '127.0.0.1' : parsed.hostname;
    return `${parsed.protocol}//${host}:${parsed.port || (parsed.protocol === 'https:' ? '443' : '80')}`;
  } catch {
    return url;
  }
}

/** Trims user-typed fields and drops empty optional ones, so stored configs compare and validate cleanly. */
function normalize(config: ConnectionConfig): ConnectionConfig {
  const optional = (value: string | undefined) => (value?.trim() ? value.trim() : undefined);
  return {
    id: config.id,
    kind: config.kind,
    name: config.name.trim(),
    baseUrl: optional(config.baseUrl)?.replace(/\/+$/, ''),
    accountId: optional(config.accountId),
    authType: config.authType,
    email: optional(config.email),
  };
}
