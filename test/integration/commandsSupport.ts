// Shared helpers for the command tests: the two backends every command is tested against (the Local store, and
// the project's Cloudflare-dialect server on 127.0.0.1 over a LocalStore in a temp dir), running commands without
// any dialog (answers passed as options), and a Prompter that records what a command showed.
import * as assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import * as vscode from 'vscode';
import type { KvError } from '../../src/core/errors';
import type { KvStore } from '../../src/core/store';
import { LocalStore } from '../../src/providers/local';
import { startCloudflareServer, type CloudflareServer } from '../../src/server';
import type { KvExplorerApi } from '../../src/vscode/api';
import type { Connection } from '../../src/vscode/connections';
import type { CommandOptions, Prompter } from '../../src/vscode/commands';
import type { ConfirmRequest, InputRequest, Notice, OpenRequest, PickRequest, SaveRequest, SearchRequest } from '../../src/vscode/commands/prompter';
import { activateApi, useTempLocalStore } from './treeSupport';

export { activateApi };

export const CF_TOKEN = 'cf-test-token-5e2b7d41c0a94f8e9b3d';
export const CF_ACCOUNT = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';

export interface Backend {
  readonly name: 'local' | 'cloudflare';
  readonly connectionId: string;
  /** Direct access to the data the extension works on (to seed and to check, without the extension). */
  readonly store: KvStore;
  /** A fresh, empty namespace for one test. */
  namespace(title?: string): Promise<string>;
  dispose(): Promise<void>;
}

let counter = 0;
const uniqueTitle = (base: string) => `${base}-${Date.now().toString(36)}-${++counter}`;

/** The Local connection, pointed at a temp directory. */
export async function localBackend(api: KvExplorerApi): Promise<Backend> {
  const local = await useTempLocalStore(api);
  return {
    name: 'local',
    connectionId: 'local',
    store: local.store,
    namespace: async (title) => (await local.store.createNamespace(uniqueTitle(title ?? 'ns'))).id,
    dispose: () => local.dispose(),
  };
}

/** A Cloudflare connection to the project's Cloudflare-dialect server over a LocalStore in a temp directory. */
export async function cloudflareBackend(api: KvExplorerApi): Promise<Backend & { server: CloudflareServer }> {
  const dir = mkdtempSync(join(tmpdir(), 'kv-commands-cf-'));
  const store = await LocalStore.open(dir, { sweepIntervalMs: 0 });
  const server = await startCloudflareServer({ store, token: CF_TOKEN, accountId: CF_ACCOUNT });
  const connection = await api.connections.addConnection(
    { kind: 'cloudflare', name: `CF test ${++counter}`, accountId: CF_ACCOUNT, authType: 'api-token', baseUrl: server.baseUrl },
    CF_TOKEN,
  );
  return {
    name: 'cloudflare',
    connectionId: connection.id,
    store,
    server,
    namespace: async (title) => (await store.createNamespace(uniqueTitle(title ?? 'ns'))).id,
    async dispose() {
      await api.connections.removeConnection(connection.id).catch(() => undefined);
      await server.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Both backends, for `for (const make of BACKENDS)` loops. */
export const BACKENDS: { name: Backend['name']; make: (api: KvExplorerApi) => Promise<Backend> }[] = [
  { name: 'local', make: localBackend },
  { name: 'cloudflare', make: cloudflareBackend },
];

/** Runs a command the way code does: no dialogs, errors thrown. */
export function run<T = unknown>(command: string, target?: unknown, options: CommandOptions = {}): Promise<T> {
  const args: unknown[] = target === undefined ? [{ interactive: false, ...options }] : [target, { interactive: false, ...options }];
  return Promise.resolve(vscode.commands.executeCommand<T>(`kvExplorer.${command}`, ...args));
}

/** Runs a command on a selection, the way a multi-select context menu passes it: (item, selectedItems, options). */
export function runOnSelection<T = unknown>(command: string, targets: unknown[], options: CommandOptions = {}): Promise<T> {
  return Promise.resolve(vscode.commands.executeCommand<T>(`kvExplorer.${command}`, targets[0], targets, { interactive: false, ...options }));
}

/** Asserts a KvError (compared by shape: the extension's bundle has its own class) with this rule or kind. */
export async function rejectsWith(work: Promise<unknown>, expected: { rule?: string; kind?: string; message?: RegExp }): Promise<void> {
  await assert.rejects(work, (error: unknown) => {
    const kvError = error as KvError;
    assert.equal(kvError.name, 'KvError', String(error));
    if (expected.rule !== undefined) assert.equal(kvError.rule, expected.rule, kvError.message);
    if (expected.kind !== undefined) assert.equal(kvError.kind, expected.kind, kvError.message);
    if (expected.message !== undefined) assert.match(kvError.message, expected.message);
    return true;
  });
}

export const text = (bytes: Uint8Array | undefined) => (bytes === undefined ? undefined : new TextDecoder().decode(bytes));

/** Writes keys straight into a backend's store. */
export async function seed(store: KvStore, namespaceId: string, entries: Record<string, string>): Promise<void> {
  const result = await store.bulkPut(namespaceId, Object.entries(entries).map(([key, value]) => ({ key, value })));
  assert.equal(result.failed.length, 0, JSON.stringify(result.failed));
}

export async function keysOf(store: KvStore, namespaceId: string, prefix = ''): Promise<string[]> {
  const keys: string[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < 1000; page++) {
    const result = await store.list(namespaceId, { prefix, cursor });
    keys.push(...result.keys.map((key) => key.name));
    if (result.complete || !result.cursor) return keys;
    cursor = result.cursor;
  }
  throw new Error('too many pages');
}

export function tempDir(label: string): { dir: string; dispose(): void } {
  const dir = mkdtempSync(join(tmpdir(), `kv-commands-${label}-`));
  return { dir, dispose: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * A Prompter that shows nothing: it answers from `answers` (by question id; a function gets the request),
 * records every question, message and report, and fails on a question it has no answer for.
 */
export class RecordingPrompter implements Prompter {
  readonly asked: { kind: string; id: string; request: unknown }[] = [];
  readonly messages: { level: string; message: string; actions: string[] }[] = [];
  readonly reports: { title: string; text: string }[] = [];
  readonly progress: string[] = [];

  constructor(private readonly answers: Record<string, unknown> = {}) {}

  /** The answer for a question (a function's answer awaited); null and undefined both mean "pressed Escape". */
  private async answer(kind: string, request: { id: string }): Promise<unknown> {
    this.asked.push({ kind, id: request.id, request });
    if (!(request.id in this.answers)) throw new Error(`RecordingPrompter: no answer for ${kind} "${request.id}"`);
    const answer = this.answers[request.id];
    const value = typeof answer === 'function' ? await (answer as (request: unknown) => unknown)(request) : answer;
    return value ?? undefined;
  }

  async input(request: InputRequest): Promise<string | undefined> {
    const value = (await this.answer('input', request)) as string | undefined;
    if (value !== undefined) {
      const problem = request.validate?.(value);
      if (problem) throw new Error(`RecordingPrompter: the input box refuses ${JSON.stringify(value)}: ${problem}`);
    }
    return value;
  }

  async pick<T>(request: PickRequest<T>): Promise<T | undefined> {
    const answer = await this.answer('pick', request);
    if (answer === undefined) return undefined;
    const found = request.items.find((item) => item.id === answer || item.label === answer);
    if (!found) throw new Error(`RecordingPrompter: no item ${JSON.stringify(answer)} in ${JSON.stringify(request.items.map((item) => item.label))}`);
    return found.value;
  }

  async search<T>(request: SearchRequest<T>): Promise<T | undefined> {
    const answer = (await this.answer('search', request)) as string | undefined;
    if (answer === undefined) return undefined;
    const items = await request.search(answer, new AbortController().signal);
    return (items.find((item) => item.label === answer) ?? items[0])?.value;
  }

  async confirm(request: ConfirmRequest): Promise<boolean> {
    return (await this.answer('confirm', request)) === true;
  }

  async openFiles(request: OpenRequest): Promise<vscode.Uri[] | undefined> {
    const answer = (await this.answer('openFiles', request)) as string[] | undefined;
    return answer?.map((path) => vscode.Uri.file(path));
  }

  async saveFile(request: SaveRequest): Promise<vscode.Uri | undefined> {
    const answer = (await this.answer('saveFile', request)) as string | undefined;
    return answer === undefined ? undefined : vscode.Uri.file(answer);
  }

  withProgress<T>(title: string, task: (progress: { report(message: string): void }, signal: AbortSignal) => Promise<T>): Promise<T> {
    this.progress.push(title);
    return task({ report: (message) => this.progress.push(message) }, new AbortController().signal);
  }

  notify(level: 'info' | 'warn' | 'error', message: string, actions: Notice[] = []): void {
    this.messages.push({ level, message, actions: actions.map((action) => action.title) });
  }

  async report(title: string, text: string): Promise<void> {
    this.reports.push({ title, text });
  }

  request<R>(id: string): R {
    const found = this.asked.find((question) => question.id === id);
    assert.ok(found, `the command asked "${id}" (asked: ${this.asked.map((question) => question.id).join(', ')})`);
    return found.request as R;
  }
}

// ------------------------------------------------------------------ secrets

/** The extension's ExtensionContext (a private field of the connection manager: tests look, they do not touch). */
export function contextOf(api: KvExplorerApi): vscode.ExtensionContext {
  return (api.connections as unknown as { context: vscode.ExtensionContext }).context;
}

/** Every file under `dir` whose bytes contain `needle`, and how many files were read. */
function filesContaining(dir: string, needle: string): { found: string[]; scanned: number } {
  const found: string[] = [];
  let scanned = 0;
  const walk = (current: string) => {
    let names: string[];
    try {
      names = readdirSync(current);
    } catch {
      return;
    }
    for (const name of names) {
      const path = join(current, name);
      let stat;
      try {
        stat = statSync(path);
      } catch {
        continue;
      }
      if (stat.isDirectory()) walk(path);
      else if (stat.isFile() && stat.size < 64 * 1024 * 1024) {
        scanned++;
        if (readFileSync(path).includes(needle)) found.push(path);
      }
    }
  };
  walk(dir);
  return { found, scanned };
}

/** Asserts the secret is in SecretStorage for this connection and in none of the other places a value could end up. */
export async function assertOnlyInSecretStorage(api: KvExplorerApi, connection: Connection, secret: string): Promise<void> {
  const context = contextOf(api);
  assert.equal(await context.secrets.get(`kvExplorer.connection.${connection.id}`), secret, 'the secret is in SecretStorage');
  for (const [name, memento] of [['globalState', context.globalState], ['workspaceState', context.workspaceState]] as const) {
    for (const key of memento.keys()) {
      assert.ok(!JSON.stringify(memento.get(key) ?? null).includes(secret), `${name}["${key}"] holds no secret`);
    }
  }
  const settings = vscode.workspace.getConfiguration('kvExplorer');
  assert.ok(!JSON.stringify(settings).includes(secret), 'the kvExplorer settings hold no secret');
  assert.ok(!api.log.recentLines().join('\n').includes(secret), 'the log holds no secret');
  assert.ok(!JSON.stringify(api.connections.list()).includes(secret), 'the connection list holds no secret');
  // On disk: the whole profile (settings.json, state, logs including the output channel) and the workspace.
  const userDataDir = dirname(dirname(dirname(context.globalStorageUri.fsPath)));
  const places = [userDataDir, ...(vscode.workspace.workspaceFolders ?? []).map((folder) => folder.uri.fsPath)];
  const profile = filesContaining(userDataDir, secret);
  assert.ok(profile.scanned > 0, `the profile at ${userDataDir} has files to look at`);
  for (const place of places) assert.deepEqual(filesContaining(place, secret).found, [], `no file under ${place} holds the secret`);
}
