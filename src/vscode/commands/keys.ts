// Key commands: new, delete (keys, selections, whole folders), rename/move (keys and folders), duplicate,
// copy name/value/path, expiration, metadata, go to key, compare.
import * as vscode from 'vscode';
import { summarizeOutcome, describeOutcome, runBulkDelete, runBulkPut, type BulkRunOutcome } from '../../core/bulkRun';
import { describeError, invalid, KvError } from '../../core/errors';
import type { BulkPutEntry, KeyInfo, KvEntry, KvStore } from '../../core/store';
import { keyProblem, nowSeconds, validateExpiration } from '../../core/validation';
import { settleWithConcurrency } from '../../core/concurrency';
import type { Connection } from '../connections';
import { editConnection, removeConnection } from './connections';
import {
  keyExists,
  listAllKeys,
  prefixOf,
  searchKeys,
  type CommandDefinition,
  type FolderTarget,
  type Invocation,
  type KeyTarget,
  type PlaceTarget,
} from './context';
import { deleteNamespace, renameNamespace } from './namespaces';

/** Values read at once while copying or exporting. */
export const READ_CONCURRENCY = 8;
/** Keys copied per round (read, write, then delete the sources when moving): bounds memory and the cancel step. */
const COPY_ROUND = 500;

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function keyRule(store: KvStore) {
  return (key: string) => keyProblem(store.limits, key);
}

function plural(count: number, one: string, many = `${one}s`): string {
  return `${count.toLocaleString('en-US')} ${count === 1 ? one : many}`;
}

function quoteList(keys: string[], shown = 5): string {
  const head = keys.slice(0, shown).map((key) => `"${key}"`).join(', ');
  return keys.length > shown ? `${head} and ${keys.length - shown} more` : head;
}

/** The value of a key, or a not-found error naming it. */
async function readKey(store: KvStore, target: KeyTarget, signal?: AbortSignal) {
  const entry = await store.get(target.namespaceId, target.key, { signal });
  if (!entry) throw new KvError('not-found', `The key "${target.key}" does not exist (any more).`);
  return entry;
}

// ------------------------------------------------------------------ expiration input

export type ExpirationInput = { expirationTtl: number } | { expiration: number };

const DURATION_UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };

/**
 * What a person types for an expiration: seconds ("3600"), a duration ("90m", "12h", "7d", "2w"),
 * or a date and time ("2026-12-31T23:00:00Z"; a date alone means midnight UTC).
 */
export function parseExpirationInput(text: string): ExpirationInput {
  const trimmed = text.trim();
  if (trimmed === '') throw invalid('expiration.input', 'Enter seconds (3600), a duration (90m, 12h, 7d) or a date (2026-12-31T23:00:00Z).');
  if (/^\d+$/.test(trimmed)) return { expirationTtl: Number(trimmed) };
  const duration = /^(\d+)\s*([smhdw])$/i.exec(trimmed);
  if (duration) return { expirationTtl: Number(duration[1]) * DURATION_UNITS[duration[2].toLowerCase()] };
  if (/^\d{4}-\d{2}-\d{2}/.test(trimmed)) {
    const ms = Date.parse(trimmed);
    if (Number.isNaN(ms)) throw invalid('expiration.input', `"${trimmed}" is not a date and time.`);
    return { expiration: Math.floor(ms / 1000) };
  }
  throw invalid('expiration.input', `"${trimmed}" is neither seconds, a duration (90m, 12h, 7d) nor a date (2026-12-31T23:00:00Z).`);
}

/** The put options for an expiration on this store: absolute dates become TTLs where only TTLs exist. */
function expirationFor(store: KvStore, input: ExpirationInput, now = nowSeconds()): ExpirationInput {
  if (store.capabilities.expiration === 'none') {
    throw invalid('expiration.unsupported', `${store.limits.provider} cannot set an expiration over its API.`);
  }
  validateExpiration(store.limits, input, now);
  if (store.capabilities.expiration === 'ttl-only' && 'expiration' in input) return { expirationTtl: input.expiration - now };
  return input;
}

function expirationProblem(store: KvStore) {
  return (text: string): string | undefined => {
    try {
      expirationFor(store, parseExpirationInput(text));
      return undefined;
    } catch (error) {
      return describeError(error);
    }
  };
}

// ------------------------------------------------------------------ copy and move

interface CopyPlan {
  from: string;
  to: string;
  /** What the listing said of the source (expiration, when the store's get does not report it). */
  info?: KeyInfo;
}

export interface CopyOutcome {
  /** Destination keys written. */
  copied: string[];
  /** Source keys deleted after their copy was written (moves only). */
  removed: string[];
  /** Source keys not copied, with why; each still holds its value. */
  failed: { key: string; error: string }[];
  /** Source keys not reached (cancelled or stopped); they are untouched. */
  notAttempted: string[];
  /** Destination keys in flight when cancelled: written or not. */
  uncertain: string[];
  cancelled: boolean;
}

/** Builds the entry that recreates a key under its new name, keeping value, metadata and expiration. */
function copyEntry(store: KvStore, plan: CopyPlan, entry: KvEntry, now: number): BulkPutEntry {
  const copy: BulkPutEntry = { key: plan.to, value: entry.value };
  if (entry.metadata !== undefined && store.capabilities.metadata) copy.metadata = entry.metadata;
  if (entry.contentType !== undefined) copy.contentType = entry.contentType;
  const expiration = entry.expiration ?? plan.info?.expiration;
  if (expiration !== undefined) {
    if (store.capabilities.expiration === 'none') {
      throw invalid('expiration.unsupported', `it expires at ${new Date(expiration * 1000).toISOString()} and ${store.limits.provider} cannot set an expiration, so the copy would never expire`);
    }
    if (expiration < now + store.limits.minExpirationSeconds) {
      throw invalid('expiration.absolute', `it expires in ${Math.max(0, expiration - now)} seconds, too soon for ${store.limits.provider} to write it again (at least ${store.limits.minExpirationSeconds} s)`);
    }
    Object.assign(copy, expirationFor(store, { expiration }, now));
  }
  return copy;
}

/**
 * Copies keys (value, metadata and expiration), round by round; a move then deletes each source whose copy
 * was written. A source is never deleted before its copy is confirmed, so nothing is lost on failure or cancel.
 */
async function copyKeys(
  invocation: Invocation,
  store: KvStore,
  connectionId: string,
  namespaceId: string,
  plans: CopyPlan[],
  move: boolean,
  report: (message: string) => void,
  signal: AbortSignal,
): Promise<CopyOutcome> {
  const outcome: CopyOutcome = { copied: [], removed: [], failed: [], notAttempted: [], uncertain: [], cancelled: false };
  const verb = move ? 'Moved' : 'Copied';
  for (let start = 0; start < plans.length; start += COPY_ROUND) {
    const round = plans.slice(start, start + COPY_ROUND);
    const later = () => plans.slice(start + round.length).map((plan) => plan.from);
    if (signal.aborted) {
      outcome.cancelled = true;
      outcome.notAttempted.push(...plans.slice(start).map((plan) => plan.from));
      break;
    }
    const reads = await settleWithConcurrency(round, READ_CONCURRENCY, (plan) => store.get(namespaceId, plan.from, { signal }), signal);
    if (signal.aborted) {
      outcome.cancelled = true;
      outcome.notAttempted.push(...round.map((plan) => plan.from), ...later());
      break;
    }
    const now = nowSeconds();
    const entries: BulkPutEntry[] = [];
    const sourceOf = new Map<string, string>();
    reads.forEach((read, index) => {
      const plan = round[index];
      if (read.status === 'rejected') return outcome.failed.push({ key: plan.from, error: describeError(read.reason) });
      if (!read.value) return outcome.failed.push({ key: plan.from, error: 'It no longer exists.' });
      try {
        entries.push(copyEntry(store, plan, read.value, now));
        sourceOf.set(plan.to, plan.from);
      } catch (error) {
        outcome.failed.push({ key: plan.from, error: `Not copied: ${describeError(error)}.` });
      }
    });
    const written: BulkRunOutcome = await runBulkPut(store, namespaceId, entries, { signal });
    outcome.copied.push(...written.written);
    outcome.uncertain.push(...written.uncertain);
    for (const failure of written.failed) outcome.failed.push({ key: sourceOf.get(failure.key) ?? failure.key, error: failure.error });
    outcome.notAttempted.push(...written.notAttempted.map((key) => sourceOf.get(key) ?? key));
    if (move && written.written.length > 0) {
      // Deleting is not cancelled half-way on purpose: a source whose copy exists should not stay behind.
      const deleted = await runBulkDelete(store, namespaceId, written.written.map((key) => sourceOf.get(key)!));
      outcome.removed.push(...deleted.written);
      for (const failure of deleted.failed) outcome.failed.push({ key: failure.key, error: `Copied, but the original could not be deleted: ${failure.error}` });
    }
    report(`${verb} ${outcome.copied.length} of ${plans.length}`);
    if (written.cancelled || written.stoppedBy !== undefined) {
      outcome.cancelled = written.cancelled;
      outcome.notAttempted.push(...later());
      break;
    }
  }
  invocation.deps.keysChanged([
    ...outcome.copied.map((key) => ({ connectionId, namespaceId, key })),
    ...outcome.removed.map((key) => ({ connectionId, namespaceId, key })),
  ]);
  return outcome;
}

function describeCopyOutcome(outcome: CopyOutcome, move: boolean): string {
  const lines = [
    `${outcome.copied.length} ${move ? 'moved' : 'copied'}${outcome.cancelled ? ' before the operation was cancelled' : ''}.`,
  ];
  const section = (title: string, items: string[]) => {
    if (items.length === 0) return;
    lines.push('', `${title} (${items.length}):`, ...items.map((item) => `  ${item}`));
  };
  section('Failed — the original is untouched unless the reason says otherwise', outcome.failed.map((f) => `${JSON.stringify(f.key)}: ${f.error}`));
  section('In flight when cancelled — the copy may or may not exist; the original is untouched', outcome.uncertain.map((key) => JSON.stringify(key)));
  section('Not attempted — untouched', outcome.notAttempted.map((key) => JSON.stringify(key)));
  section(move ? 'Moved (new names)' : 'Copied (new names)', outcome.copied.map((key) => JSON.stringify(key)));
  return lines.join('\n') + '\n';
}

/**
 * Checks a copy or move before anything is written: the new names follow the store's rules, no key lands on a key
 * that is itself being moved, and existing keys are only overwritten when the person says so.
 */
async function prepareCopy(invocation: Invocation, store: KvStore, namespaceId: string, plans: CopyPlan[], destinationPrefix: string, move: boolean): Promise<boolean> {
  const bad = plans.map((plan) => ({ plan, problem: keyProblem(store.limits, plan.to) })).filter((item) => item.problem);
  if (bad.length > 0) {
    const lines = bad.map((item) => `${JSON.stringify(item.plan.to)}: ${item.problem}`);
    if (bad.length > 1) await invocation.prompter.report('Keys that cannot be created', lines.join('\n') + '\n');
    throw invalid('key.destination', `${plural(bad.length, 'new key name')} ${bad.length === 1 ? 'is' : 'are'} not allowed: ${lines.slice(0, 3).join('; ')}${bad.length > 3 ? '…' : ''}`);
  }
  const sources = new Set(plans.map((plan) => plan.from));
  const landing = plans.filter((plan) => sources.has(plan.to) && plan.to !== plan.from);
  if (move && landing.length > 0) {
    throw invalid(
      'key.moveOverlap',
      `${plural(landing.length, 'key')} would land on keys that are being moved themselves (${quoteList(landing.map((plan) => plan.to), 3)}); move to a folder outside this one first.`,
    );
  }
  const existing =
    plans.length === 1
      ? (await keyExists(store, namespaceId, plans[0].to)) ? [plans[0].to] : []
      : (await listAllKeys(store, namespaceId, destinationPrefix)).map((info) => info.name);
  const targets = new Set(plans.map((plan) => plan.to));
  const clashes = existing.filter((key) => targets.has(key) && !sources.has(key));
  if (clashes.length === 0) return true;
  return invocation.prompter.confirm({
    id: 'overwrite',
    title: invocation.title,
    message: clashes.length === 1 ? `"${clashes[0]}" exists already. Overwrite it?` : `${plural(clashes.length, 'key')} exist already. Overwrite them?`,
    detail: `${quoteList(clashes)}. Their current values, metadata and expirations will be replaced.`,
    confirm: 'Overwrite',
  });
}

// ------------------------------------------------------------------ commands

async function newKey(invocation: Invocation): Promise<{ key: string; uri: vscode.Uri } | undefined> {
  const place = await invocation.place();
  if (!place) return undefined;
  const store = await invocation.store(place.connectionId);
  if (!store.capabilities.write) throw invalid('capability.write', `"${invocation.connectionName(place.connectionId)}" is read-only.`);
  const prefix = prefixOf(place);
  const key = await invocation.prompter.input({
    id: 'key',
    title: invocation.title,
    prompt: 'The new key\'s name. "/" groups keys into folders.',
    value: prefix,
    valueSelection: [prefix.length, prefix.length],
    validate: keyRule(store),
  });
  if (key === undefined) return undefined;
  const uri = invocation.deps.keyUri(place.connectionId, place.namespaceId, key);
  if (await keyExists(store, place.namespaceId, key)) {
    await vscode.window.showTextDocument(uri, { preview: false });
    invocation.info(`"${key}" exists already; it is open for editing.`);
    return { key, uri };
  }
  // The key comes into being on the first save of its draft; then it is shown in the tree.
  await invocation.deps.newKeys.open(uri, () => {
    invocation.deps.tree
      .revealKey(place.connectionId, place.namespaceId, key, { focus: false })
      .catch((error) => invocation.deps.log.log('warn', `Revealing the new key "${key}" failed: ${describeError(error)}`));
  });
  return { key, uri };
}

/** Keys and folders to delete: the targets, or a key the person finds. Namespaces are not deleted here. */
async function deletionTargets(invocation: Invocation): Promise<(KeyTarget | FolderTarget)[]> {
  const chosen = invocation.targets.filter((target): target is KeyTarget | FolderTarget => target.kind === 'key' || target.kind === 'folder');
  if (chosen.length > 0) return chosen;
  if (invocation.target && invocation.target.kind !== 'namespace' && invocation.target.kind !== 'connection') return [];
  const key = await invocation.key('Type the start of the key to delete');
  return key ? [key] : [];
}

export interface DeleteResult {
  namespaceId: string;
  outcome: BulkRunOutcome;
}

async function deleteKeys(invocation: Invocation): Promise<DeleteResult[] | boolean | undefined> {
  // Delete on a selected namespace or connection (the Delete key in the Stores view) means that namespace or connection.
  const only = invocation.targets.length === 1 ? invocation.target : undefined;
  if (only?.kind === 'namespace') return deleteNamespace(invocation);
  if (only?.kind === 'connection') return removeConnection(invocation);
  const targets = await deletionTargets(invocation);
  if (targets.length === 0) return undefined;
  const groups = new Map<string, (KeyTarget | FolderTarget)[]>();
  for (const target of targets) {
    const id = JSON.stringify([target.connectionId, target.namespaceId]);
    groups.set(id, [...(groups.get(id) ?? []), target]);
  }
  const results: DeleteResult[] = [];
  for (const group of groups.values()) {
    const { connectionId, namespaceId } = group[0];
    const store = await invocation.store(connectionId);
    const folders = group.filter((target): target is FolderTarget => target.kind === 'folder');
    const single = group.filter((target): target is KeyTarget => target.kind === 'key').map((target) => target.key);
    const keys = new Set(single);
    if (folders.length > 0) {
      await invocation.progress('Counting the keys to delete…', async (report, signal) => {
        for (const folder of folders) {
          const under = await listAllKeys(store, namespaceId, folder.prefix, { signal, onPage: (count) => report(`${folder.prefix}: ${count}`) });
          for (const info of under) keys.add(info.name);
        }
      });
    }
    const all = [...keys];
    if (all.length === 0) {
      invocation.info(`There is nothing to delete: ${quoteList(folders.map((folder) => folder.prefix))} ${folders.length === 1 ? 'holds' : 'hold'} no keys.`);
      continue;
    }
    const what =
      folders.length === 0
        ? all.length === 1
          ? `the key "${all[0]}"`
          : plural(all.length, 'key')
        : `${plural(all.length, 'key')} (${[single.length ? plural(single.length, 'key') : '', plural(folders.length, 'folder')].filter(Boolean).join(' and ')}: ${quoteList([...single, ...folders.map((folder) => folder.prefix)], 3)})`;
    const confirmed = await invocation.prompter.confirm({
      id: 'confirm',
      title: invocation.title,
      message: `Delete ${what}?`,
      detail: `From namespace "${await invocation.namespaceTitle(group[0])}" in ${invocation.connectionName(connectionId)}. This cannot be undone.`,
      confirm: all.length === 1 ? 'Delete' : `Delete ${plural(all.length, 'Key')}`,
    });
    if (!confirmed) continue;
    const outcome = await invocation.progress(`Deleting ${plural(all.length, 'key')}…`, (report, signal) =>
      runBulkDelete(store, namespaceId, all, { signal, onProgress: ({ done, total }) => report(`${done} of ${total}`) }),
    );
    invocation.deps.keysChanged(outcome.written.map((key) => ({ connectionId, namespaceId, key })));
    for (const folder of folders) invocation.deps.tree.refresh({ connectionId, namespaceId, prefix: folder.prefix });
    results.push({ namespaceId, outcome });
    if (outcome.written.length === all.length) {
      invocation.info(`Deleted ${all.length === 1 ? `"${all[0]}"` : plural(all.length, 'key')}.`);
    } else {
      const text = describeOutcome(outcome, 'deleted');
      invocation.warn(`Delete ${outcome.cancelled ? 'cancelled' : 'incomplete'}: ${summarizeOutcome(outcome, 'deleted')}.`, [
        { title: 'Show Details', run: () => invocation.prompter.report('Delete keys', text) },
      ]);
    }
  }
  return results;
}

function copyName(key: string): string {
  const slash = key.lastIndexOf('/');
  const dot = key.lastIndexOf('.');
  if (dot > slash + 1) return `${key.slice(0, dot)} copy${key.slice(dot)}`;
  return `${key} copy`;
}

async function renameOrMove(invocation: Invocation): Promise<CopyOutcome | Connection | string | undefined> {
  const given = invocation.target;
  // F2 on a namespace or connection renames that.
  if (given?.kind === 'namespace') return renameNamespace(invocation);
  if (given?.kind === 'connection') return editConnection(invocation);
  const target = given?.kind === 'folder' ? given : await invocation.key('Type the start of the key to rename');
  if (!target) return undefined;
  const store = await invocation.store(target.connectionId);
  const namespaceId = target.namespaceId;
  let plans: CopyPlan[];
  let destinationPrefix: string;
  let description: string;
  if (target.kind === 'key') {
    const to = await invocation.prompter.input({
      id: 'newKey',
      title: invocation.title,
      prompt: `Rename or move "${target.key}" (edit the folders to move it)`,
      value: target.key,
      valueSelection: [target.key.lastIndexOf('/') + 1, target.key.length],
      validate: (value) => (value === target.key ? 'Type a different name.' : keyProblem(store.limits, value)),
    });
    if (to === undefined) return undefined;
    plans = [{ from: target.key, to, info: target.info }];
    destinationPrefix = to;
    description = `"${target.key}" to "${to}"`;
  } else {
    const to = await invocation.prompter.input({
      id: 'newPrefix',
      title: invocation.title,
      prompt: `Move every key under "${target.prefix}" to this folder`,
      value: target.prefix,
      validate: (value) => {
        if (!value.endsWith('/')) return 'A folder ends with "/".';
        if (value === target.prefix) return 'Type a different folder.';
        return undefined;
      },
    });
    if (to === undefined) return undefined;
    const keys = await invocation.progress(`Listing the keys under "${target.prefix}"…`, (report, signal) =>
      listAllKeys(store, namespaceId, target.prefix, { signal, onPage: (count) => report(String(count)) }),
    );
    if (keys.length === 0) throw new KvError('not-found', `There are no keys under "${target.prefix}".`);
    plans = keys.map((info) => ({ from: info.name, to: to + info.name.slice(target.prefix.length), info }));
    destinationPrefix = to;
    description = `${plural(keys.length, 'key')} from "${target.prefix}" to "${to}"`;
  }
  if (!(await prepareCopy(invocation, store, namespaceId, plans, destinationPrefix, true))) return undefined;
  const outcome = await invocation.progress(`Moving ${description}…`, (report, signal) => copyKeys(invocation, store, target.connectionId, namespaceId, plans, true, report, signal));
  if (outcome.copied.length === plans.length && outcome.removed.length === plans.length) {
    invocation.info(`Moved ${description}.`);
    if (plans.length === 1) {
      invocation.deps.tree.revealKey(target.connectionId, namespaceId, plans[0].to, { focus: false }).catch(() => undefined);
    }
  } else if (plans.length === 1 && outcome.failed.length === 1 && outcome.copied.length === 0) {
    throw new KvError('invalid', `"${plans[0].from}" was not moved: ${outcome.failed[0].error}`);
  } else {
    const text = describeCopyOutcome(outcome, true);
    invocation.warn(`Move ${outcome.cancelled ? 'cancelled' : 'incomplete'}: ${outcome.copied.length} of ${plans.length} moved.`, [
      { title: 'Show Details', run: () => invocation.prompter.report('Move keys', text) },
    ]);
  }
  return outcome;
}

async function duplicateKey(invocation: Invocation): Promise<CopyOutcome | undefined> {
  const target = await invocation.key('Type the start of the key to duplicate');
  if (!target) return undefined;
  const store = await invocation.store(target.connectionId);
  const to = await invocation.prompter.input({
    id: 'newKey',
    title: invocation.title,
    prompt: `The name of the copy of "${target.key}"`,
    value: copyName(target.key),
    validate: (value) => (value === target.key ? 'Type a different name.' : keyProblem(store.limits, value)),
  });
  if (to === undefined) return undefined;
  const plans = [{ from: target.key, to, info: target.info }];
  if (!(await prepareCopy(invocation, store, target.namespaceId, plans, to, false))) return undefined;
  const outcome = await invocation.progress(`Copying "${target.key}"…`, (report, signal) => copyKeys(invocation, store, target.connectionId, target.namespaceId, plans, false, report, signal));
  if (outcome.copied.length !== 1) {
    throw new KvError('invalid', `"${target.key}" was not copied: ${outcome.failed[0]?.error ?? 'cancelled'}`);
  }
  invocation.info(`Copied "${target.key}" to "${to}".`);
  invocation.deps.tree.revealKey(target.connectionId, target.namespaceId, to, { focus: false }).catch(() => undefined);
  return outcome;
}

async function copyToClipboard(invocation: Invocation, text: string, what: string): Promise<string> {
  await vscode.env.clipboard.writeText(text);
  invocation.deps.log.log('debug', `Copied ${what} to the clipboard.`);
  return text;
}

async function copyKeyName(invocation: Invocation): Promise<string | undefined> {
  const target = await invocation.key();
  return target && copyToClipboard(invocation, target.key, 'a key name');
}

async function copyKeyPath(invocation: Invocation): Promise<string | undefined> {
  const target = await invocation.key();
  return target && copyToClipboard(invocation, invocation.deps.keyUri(target.connectionId, target.namespaceId, target.key).toString(), 'a key path');
}

async function copyValue(invocation: Invocation): Promise<string | undefined> {
  const target = await invocation.key();
  if (!target) return undefined;
  const entry = await readKey(await invocation.store(target.connectionId), target);
  let text: string;
  try {
    text = strictUtf8.decode(entry.value);
  } catch {
    throw invalid('value.binary', `"${target.key}" holds ${entry.value.byteLength} bytes that are not text; use Download Value instead.`);
  }
  return copyToClipboard(invocation, text, 'a value');
}

/** Keys among the targets, or one the person finds. */
async function keyTargets(invocation: Invocation, placeHolder: string): Promise<KeyTarget[]> {
  const keys = invocation.targets.filter((target): target is KeyTarget => target.kind === 'key');
  if (keys.some((key) => key.connectionId !== keys[0].connectionId)) {
    throw invalid('target.connections', 'The selected keys belong to different connections; select keys of one connection at a time.');
  }
  if (keys.length > 0) return keys;
  const key = await invocation.key(placeHolder);
  return key ? [key] : [];
}

/** Rewrites keys with their value and metadata, and a new expiration (or none). */
async function rewriteExpiration(invocation: Invocation, keys: KeyTarget[], store: KvStore, expiration: ExpirationInput | undefined): Promise<string[]> {
  const done: string[] = [];
  await invocation.progress(`Updating ${plural(keys.length, 'key')}…`, async (report, signal) => {
    for (const target of keys) {
      if (signal.aborted) throw new KvError('cancelled', `Cancelled after ${done.length} of ${keys.length} keys.`);
      const entry = await readKey(store, target, signal);
      const options = expiration ? expirationFor(store, expiration) : {};
      await store.put(target.namespaceId, target.key, entry.value, {
        ...options,
        ...(entry.metadata !== undefined && store.capabilities.metadata ? { metadata: entry.metadata } : {}),
        ...(entry.contentType !== undefined ? { contentType: entry.contentType } : {}),
        signal,
      });
      done.push(target.key);
      invocation.deps.keysChanged([{ connectionId: target.connectionId, namespaceId: target.namespaceId, key: target.key }]);
      report(`${done.length} of ${keys.length}`);
    }
  });
  return done;
}

async function setExpiration(invocation: Invocation): Promise<string[] | undefined> {
  const keys = await keyTargets(invocation, 'Type the start of the key');
  if (keys.length === 0) return undefined;
  const store = await invocation.store(keys[0].connectionId);
  if (store.capabilities.expiration === 'none') {
    throw invalid('expiration.unsupported', `${store.limits.provider} cannot set an expiration over its API.`);
  }
  const current = keys.length === 1 ? keys[0].info?.expiration : undefined;
  const text = await invocation.prompter.input({
    id: 'expiration',
    title: invocation.title,
    prompt:
      store.capabilities.expiration === 'ttl-only'
        ? `Expire ${keys.length === 1 ? `"${keys[0].key}"` : plural(keys.length, 'key')} after: seconds (3600), a duration (90m, 12h, 7d) or a date`
        : `Expire ${keys.length === 1 ? `"${keys[0].key}"` : plural(keys.length, 'key')} at a date (2026-12-31T23:00:00Z), or after seconds (3600) or a duration (90m, 12h, 7d)`,
    value: current !== undefined ? new Date(current * 1000).toISOString().replace(/\.000Z$/, 'Z') : undefined,
    placeHolder: `at least ${store.limits.minExpirationSeconds} seconds from now`,
    validate: expirationProblem(store),
  });
  if (text === undefined) return undefined;
  const input = parseExpirationInput(text);
  const done = await rewriteExpiration(invocation, keys, store, input);
  const when = 'expiration' in input ? `at ${new Date(input.expiration * 1000).toISOString()}` : `in ${input.expirationTtl} seconds`;
  invocation.info(`${keys.length === 1 ? `"${keys[0].key}"` : plural(done.length, 'key')} will expire ${when}.`);
  return done;
}

async function removeExpiration(invocation: Invocation): Promise<string[] | undefined> {
  const keys = await keyTargets(invocation, 'Type the start of the key');
  if (keys.length === 0) return undefined;
  const store = await invocation.store(keys[0].connectionId);
  if (store.capabilities.expiration === 'none') {
    throw invalid('expiration.unsupported', `${store.limits.provider} cannot change expirations over its API.`);
  }
  const done = await rewriteExpiration(invocation, keys, store, undefined);
  invocation.info(`${keys.length === 1 ? `"${keys[0].key}"` : plural(done.length, 'key')} no longer ${done.length === 1 ? 'expires' : 'expire'}.`);
  return done;
}

async function editMetadata(invocation: Invocation): Promise<vscode.Uri | undefined> {
  const target = await invocation.key();
  if (!target) return undefined;
  const store = await invocation.store(target.connectionId);
  if (!store.capabilities.metadata) throw invalid('metadata.unsupported', `${store.limits.provider} does not store metadata.`);
  const uri = invocation.deps.keyUri(target.connectionId, target.namespaceId, target.key, 'metadata');
  await vscode.window.showTextDocument(uri, { preview: false });
  return uri;
}

async function goToKey(invocation: Invocation): Promise<KeyTarget | undefined> {
  const place: PlaceTarget | undefined = await invocation.place();
  if (!place) return undefined;
  const store = await invocation.store(place.connectionId);
  const found = await invocation.prompter.search<KeyInfo>({
    id: 'pickKey',
    title: invocation.title,
    placeHolder: 'Type the start of a key',
    value: prefixOf(place),
    search: (text, signal) => searchKeys(store, place.namespaceId, text, signal),
  });
  if (!found) return undefined;
  await invocation.deps.tree.revealKey(place.connectionId, place.namespaceId, found.name);
  return { kind: 'key', connectionId: place.connectionId, namespaceId: place.namespaceId, key: found.name, info: found };
}

async function compareKeys(invocation: Invocation): Promise<[vscode.Uri, vscode.Uri] | undefined> {
  const keys = invocation.targets.filter((target): target is KeyTarget => target.kind === 'key');
  const first = keys[0] ?? (await invocation.key('Type the start of the first key'));
  if (!first) return undefined;
  let second: KeyTarget | undefined = keys[1];
  if (!second) {
    const store = await invocation.store(first.connectionId);
    const found = await invocation.prompter.search<KeyInfo>({
      id: 'otherKey',
      title: `Compare "${first.key}" with…`,
      placeHolder: 'Type the start of the other key',
      value: prefixOf(first),
      search: async (text, signal) => (await searchKeys(store, first.namespaceId, text, signal)).filter((item) => item.value.name !== first.key),
    });
    if (!found) return undefined;
    second = { kind: 'key', connectionId: first.connectionId, namespaceId: first.namespaceId, key: found.name };
  }
  const left = invocation.deps.keyUri(first.connectionId, first.namespaceId, first.key);
  const right = invocation.deps.keyUri(second.connectionId, second.namespaceId, second.key);
  await vscode.commands.executeCommand('vscode.diff', left, right, `${first.key} ↔ ${second.key}`);
  return [left, right];
}

async function compareWithFile(invocation: Invocation): Promise<[vscode.Uri, vscode.Uri] | undefined> {
  const target = await invocation.key();
  if (!target) return undefined;
  const files = await invocation.prompter.openFiles({ id: 'file', title: `Compare "${target.key}" with a file`, canSelectFiles: true, canSelectFolders: false, canSelectMany: false, openLabel: 'Compare' });
  const file = files?.[0];
  if (!file) return undefined;
  const keyUri = invocation.deps.keyUri(target.connectionId, target.namespaceId, target.key);
  await vscode.commands.executeCommand('vscode.diff', file, keyUri, `${file.path.slice(file.path.lastIndexOf('/') + 1)} ↔ ${target.key}`);
  return [file, keyUri];
}

export const keyCommands: CommandDefinition[] = [
  { id: 'kvExplorer.newKey', title: 'New Key', run: newKey },
  { id: 'kvExplorer.deleteKeys', title: 'Delete', run: deleteKeys },
  { id: 'kvExplorer.renameKey', title: 'Rename or Move', run: renameOrMove },
  { id: 'kvExplorer.duplicateKey', title: 'Duplicate Key', run: duplicateKey },
  { id: 'kvExplorer.copyKeyName', title: 'Copy Key Name', run: copyKeyName },
  { id: 'kvExplorer.copyKeyPath', title: 'Copy Full Key Path', run: copyKeyPath },
  { id: 'kvExplorer.copyValue', title: 'Copy Value', run: copyValue },
  { id: 'kvExplorer.setExpiration', title: 'Set Expiration', run: setExpiration },
  { id: 'kvExplorer.removeExpiration', title: 'Remove Expiration', run: removeExpiration },
  { id: 'kvExplorer.editMetadata', title: 'Edit Metadata', run: editMetadata },
  { id: 'kvExplorer.goToKey', title: 'Go to Key', run: goToKey },
  { id: 'kvExplorer.compareKeys', title: 'Compare Keys', run: compareKeys },
  { id: 'kvExplorer.compareWithFile', title: 'Compare Key with File', run: compareWithFile },
];

