// wrangler's bulk JSON format: `[{key, value, base64?, expiration?, expiration_ttl?, metadata?}]`.
// Reading checks the WHOLE file before anything is written and reports every bad entry with its index and the
// rule it breaks; writing produces the same format (binary values in base64) so an export re-imports byte for byte.
// Pure: no `vscode`, no I/O.

import { KvError } from './errors';
import type { LimitProfile } from './limits';
import type { BulkPutEntry, Capabilities, KvEntry } from './store';
import { nowSeconds, utf8Length, validateExpiration, validateKey, validateMetadata, validateValueSize } from './validation';

/** One entry of a bulk file, as written: the value is text, or base64 of the bytes when `base64` is true. */
export interface BulkFileItem {
  key: string;
  value: string;
  base64?: boolean;
  /** Absolute, seconds since the epoch. */
  expiration?: number;
  /** Seconds from the time of the import. */
  expiration_ttl?: number;
  metadata?: unknown;
}

/** The properties wrangler knows; anything else is reported as a warning, as wrangler does. */
const KNOWN_PROPERTIES = new Set(['key', 'value', 'base64', 'expiration', 'expiration_ttl', 'metadata']);

export interface BulkFileProblem {
  /** Index of the entry in the file's array; absent for problems with the file as a whole. */
  index?: number;
  /** The entry's key, when it has a string one. */
  key?: string;
  /** Which rule was broken, e.g. 'entry.value.base64' or 'key.maxBytes' (the store's own rule names). */
  rule: string;
  message: string;
}

export interface BulkFileRules {
  limits: LimitProfile;
  /** How the target sets expirations. 'none' makes every expiration an error; 'ttl-only' turns absolute ones into TTLs. */
  expiration?: Capabilities['expiration'];
  /** The target silently drops falsy metadata (false, 0, "", null): refuse it rather than lose it. */
  refuseFalsyMetadata?: boolean;
  /** Seconds since the epoch that expirations are checked against (tests pin it). */
  now?: number;
}

export interface BulkFileContents {
  /** Every entry, in file order, ready for `bulkPut`; empty when there are problems. */
  entries: BulkPutEntry[];
  /** Entries (or the file) that cannot be imported. Nothing may be written while there are any. */
  problems: BulkFileProblem[];
  /** Things that are allowed but probably not meant (unknown properties, both expiration kinds). */
  warnings: BulkFileProblem[];
  /** How many entries the file's array holds (also when some are bad). */
  total: number;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Decodes standard base64 (padding optional); undefined when the text is not base64. */
export function decodeBase64(text: string): Uint8Array | undefined {
  if (!BASE64.test(text)) return undefined;
  const padding = text.length - text.replace(/=+$/, '').length;
  if (padding > 0 && text.length % 4 !== 0) return undefined;
  if (text.length % 4 === 1) return undefined;
  if (text.slice(0, text.length - padding).includes('=')) return undefined;
  const buffer = Buffer.from(text, 'base64');
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

function describeBase64Problem(text: string): string {
  const bad = [...text].find((ch) => !/[A-Za-z0-9+/=]/.test(ch));
  if (bad === '-' || bad === '_') return 'uses the URL-safe alphabet ("-", "_"); use standard base64 ("+", "/")';
  if (bad !== undefined) return `contains ${JSON.stringify(bad)}, which is not a base64 character`;
  return 'has misplaced "=" padding or a length that is not possible for base64';
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/** "line 3, column 7" for a character offset into `text`. */
function lineAndColumn(text: string, offset: number): string {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  const column = offset - before.lastIndexOf('\n');
  return `line ${line}, column ${column}`;
}

function jsonProblem(text: string, error: unknown): BulkFileProblem {
  const message = error instanceof Error ? error.message : String(error);
  const position = /at position (\d+)/.exec(message);
  // Newer Node versions name the line and column themselves.
  const where = position && !/line \d+/.test(message) ? ` (${lineAndColumn(text, Number(position[1]))})` : '';
  return { rule: 'file.json', message: `The file is not valid JSON${where}: ${message}` };
}

const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const BOM = '\ufeff';

/**
 * Reads a bulk file and checks every entry against the format and the target's rules (key, value size, metadata,
 * expiration, duplicates). Returns all problems at once; `entries` is filled only when there are none.
 */
export function parseBulkFile(content: string | Uint8Array, rules: BulkFileRules): BulkFileContents {
  let text: string;
  if (typeof content === 'string') {
    text = content;
  } else {
    try {
      text = decoder.decode(content);
    } catch {
      return { entries: [], problems: [{ rule: 'file.encoding', message: 'The file is not UTF-8 text.' }], warnings: [], total: 0 };
    }
  }
  if (text.startsWith(BOM)) text = text.slice(1);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    return { entries: [], problems: [jsonProblem(text, error)], warnings: [], total: 0 };
  }
  if (!Array.isArray(parsed)) {
    return {
      entries: [],
      problems: [{ rule: 'file.shape', message: `The file must hold an array of {key, value} objects; it holds ${typeName(parsed)}.` }],
      warnings: [],
      total: 0,
    };
  }

  const now = rules.now ?? nowSeconds();
  const problems: BulkFileProblem[] = [];
  const warnings: BulkFileProblem[] = [];
  const entries: BulkPutEntry[] = [];
  const firstIndexOfKey = new Map<string, number>();

  parsed.forEach((item: unknown, index) => {
    const before = problems.length;
    const problem = (rule: string, message: string, key?: string) => problems.push({ index, key, rule, message });
    if (typeof item !== 'object' || item === null || Array.isArray(item)) {
      problem('entry.shape', `The entry must be an object with "key" and "value"; it is ${typeName(item)}.`);
      return;
    }
    const record = item as Record<string, unknown>;
    const key = typeof record.key === 'string' ? record.key : undefined;

    if (!('key' in record)) problem('entry.key.missing', 'The entry has no "key".');
    else if (key === undefined) problem('entry.key.type', `"key" must be a string; it is ${typeName(record.key)}.`);
    if (!('value' in record)) problem('entry.value.missing', 'The entry has no "value".', key);
    else if (typeof record.value !== 'string') problem('entry.value.type', `"value" must be a string; it is ${typeName(record.value)}.`, key);
    if ('base64' in record && typeof record.base64 !== 'boolean') {
      problem('entry.base64.type', `"base64" must be true or false; it is ${typeName(record.base64)}.`, key);
    }
    for (const field of ['expiration', 'expiration_ttl'] as const) {
      if (field in record && typeof record[field] !== 'number') {
        problem(`entry.${field}.type`, `"${field}" must be a number of seconds; it is ${typeName(record[field])}.`, key);
      }
    }
    const unknown = Object.keys(record).filter((name) => !KNOWN_PROPERTIES.has(name));
    if (unknown.length > 0) {
      warnings.push({ index, key, rule: 'entry.unknownProperty', message: `Ignored unknown ${unknown.length === 1 ? 'property' : 'properties'} ${unknown.map((name) => JSON.stringify(name)).join(', ')}.` });
    }

    if (key !== undefined) {
      const first = firstIndexOfKey.get(key);
      if (first !== undefined) problem('entry.key.duplicate', `The key is also the key of entry #${first}.`, key);
      else firstIndexOfKey.set(key, index);
      collect(() => validateKey(rules.limits, key), (error) => problem(error.rule ?? 'key', error.message, key));
    }

    let value: string | Uint8Array | undefined;
    if (typeof record.value === 'string') {
      if (record.base64 === true) {
        value = decodeBase64(record.value);
        if (value === undefined) problem('entry.value.base64', `"value" is marked base64 but ${describeBase64Problem(record.value)}.`, key);
      } else {
        value = record.value;
      }
      if (value !== undefined) {
        const bytes = typeof value === 'string' ? utf8Length(value) : value.byteLength;
        collect(() => validateValueSize(rules.limits, bytes), (error) => problem(error.rule ?? 'value', error.message, key));
      }
    }

    const hasMetadata = 'metadata' in record;
    if (hasMetadata) {
      collect(() => validateMetadata(rules.limits, record.metadata), (error) => problem(error.rule ?? 'metadata', error.message, key));
      if (rules.refuseFalsyMetadata && !record.metadata && rules.limits.maxMetadataBytes !== undefined) {
        problem(
          'metadata.falsy',
          `${rules.limits.provider} drops metadata that is ${JSON.stringify(record.metadata)}; use an object such as {"value": ${JSON.stringify(record.metadata)}}, or no metadata.`,
          key,
        );
      }
    }

    let expiration = typeof record.expiration === 'number' ? record.expiration : undefined;
    let expirationTtl = typeof record.expiration_ttl === 'number' ? record.expiration_ttl : undefined;
    if (expiration !== undefined && expirationTtl !== undefined) {
      warnings.push({ index, key, rule: 'entry.expiration.both', message: '"expiration_ttl" wins over "expiration" when both are given.' });
      expiration = undefined;
    }
    const mode = rules.expiration ?? 'absolute-and-ttl';
    if (mode === 'none' && (expiration !== undefined || expirationTtl !== undefined)) {
      problem('expiration.unsupported', `${rules.limits.provider} cannot set an expiration; remove "expiration" and "expiration_ttl".`, key);
    } else {
      collect(
        () => validateExpiration(rules.limits, { expiration, expirationTtl }, now),
        (error) => problem(error.rule ?? 'expiration', error.message, key),
      );
      if (mode === 'ttl-only' && expiration !== undefined) {
        expirationTtl = expiration - now;
        expiration = undefined;
      }
    }

    if (problems.length === before && key !== undefined && value !== undefined) {
      const entry: BulkPutEntry = { key, value };
      if (expiration !== undefined) entry.expiration = expiration;
      if (expirationTtl !== undefined) entry.expirationTtl = expirationTtl;
      if (hasMetadata) entry.metadata = record.metadata;
      entries.push(entry);
    }
  });

  return { entries: problems.length > 0 ? [] : entries, problems, warnings, total: parsed.length };
}

function collect(check: () => unknown, report: (error: KvError) => void): void {
  try {
    check();
  } catch (error) {
    if (error instanceof KvError) report(error);
    else throw error;
  }
}

/** One line per problem: `#12 "users/42": The key is … [key.maxBytes]`. */
export function formatBulkProblem(problem: BulkFileProblem): string {
  const where = problem.index === undefined ? '' : `#${problem.index}${problem.key === undefined ? '' : ` ${JSON.stringify(problem.key)}`}: `;
  return `${where}${problem.message} [${problem.rule}]`;
}

/** A short summary for a notification: the first few problems and how many more there are. */
export function summarizeBulkProblems(problems: BulkFileProblem[], total: number, shown = 5): string {
  const entries = new Set(problems.filter((problem) => problem.index !== undefined).map((problem) => problem.index));
  const head =
    entries.size > 0
      ? `${entries.size} of ${total} ${total === 1 ? 'entry is' : 'entries are'} invalid.`
      : 'The file cannot be imported.';
  const lines = problems.slice(0, shown).map(formatBulkProblem);
  const more = problems.length > shown ? `\n…and ${problems.length - shown} more.` : '';
  return `${head}\n${lines.join('\n')}${more}`;
}

// ------------------------------------------------------------------ writing

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The bulk-file entry for a stored key: text when the bytes are UTF-8 (so the round trip is exact), else base64. */
export function toBulkFileItem(key: string, entry: Pick<KvEntry, 'value' | 'expiration' | 'metadata'>): BulkFileItem {
  const item: BulkFileItem = { key, value: '' };
  try {
    item.value = strictUtf8.decode(entry.value);
  } catch {
    item.value = Buffer.from(entry.value.buffer, entry.value.byteOffset, entry.value.byteLength).toString('base64');
    item.base64 = true;
  }
  if (entry.expiration !== undefined) item.expiration = entry.expiration;
  if (entry.metadata !== undefined) item.metadata = entry.metadata;
  return item;
}

/**
 * Writes a bulk file piece by piece (so an export never holds the whole file): `begin()`, `item()` per entry,
 * `end()`. One entry per line, properties in a fixed order, so the same data always gives the same bytes.
 */
export class BulkFileWriter {
  private count = 0;

  begin(): string {
    return '[';
  }

  item(item: BulkFileItem): string {
    const ordered: BulkFileItem = { key: item.key, value: item.value };
    if (item.base64) ordered.base64 = true;
    if (item.expiration !== undefined) ordered.expiration = item.expiration;
    if (item.expiration_ttl !== undefined) ordered.expiration_ttl = item.expiration_ttl;
    if (item.metadata !== undefined) ordered.metadata = item.metadata;
    return `${this.count++ === 0 ? '\n' : ',\n'}${JSON.stringify(ordered)}`;
  }

  end(): string {
    return '\n]\n';
  }

  get written(): number {
    return this.count;
  }
}

/** A whole bulk file in one string (small exports and tests). */
export function serializeBulkFile(items: Iterable<BulkFileItem>): string {
  const writer = new BulkFileWriter();
  let out = writer.begin();
  for (const item of items) out += writer.item(item);
  return out + writer.end();
}
