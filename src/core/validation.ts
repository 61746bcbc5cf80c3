// Validation against a provider's limits. Every store calls these before anything is written or sent,
// so bad input gets a clear message and never reaches the server.

import { invalid, tooLarge } from './errors';
import type { LimitProfile } from './limits';
import type { BulkPutEntry, KvValue, PutOptions } from './store';

const encoder = new TextEncoder();

export function toBytes(value: KvValue): Uint8Array {
  return typeof value === 'string' ? encoder.encode(value) : value;
}

export function utf8Length(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} bytes`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1).replace(/\.0$/, '')} KiB`;
  return `${(bytes / (1024 * 1024)).toFixed(2).replace(/\.?0+$/, '')} MiB`;
}

/** Returns a message naming the broken rule, or undefined when the key is valid. For live validation in input boxes. */
export function keyProblem(limits: LimitProfile, key: string): string | undefined {
  try {
    validateKey(limits, key);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

export function validateKey(limits: LimitProfile, key: string): void {
  const rules = limits.key;
  if (key === '') throw invalid('key.empty', 'The key name is empty.');
  if (rules.forbidden.includes(key)) {
    throw invalid('key.forbidden', `${limits.provider} does not allow the key name "${key}".`);
  }
  if (rules.maxBytes !== undefined) {
    const bytes = utf8Length(key);
    if (bytes > rules.maxBytes) {
      throw tooLarge(
        'key.maxBytes',
        `The key is ${bytes} bytes in UTF-8; ${limits.provider} allows at most ${rules.maxBytes}.`,
        rules.maxBytes,
        bytes,
      );
    }
  }
  if (rules.maxChars !== undefined && key.length > rules.maxChars) {
    throw tooLarge(
      'key.maxChars',
      `The key is ${key.length} characters; ${limits.provider} allows at most ${rules.maxChars}.`,
      rules.maxChars,
      key.length,
    );
  }
  if (rules.pattern && !rules.pattern.test(key)) {
    const bad = [...key].find((ch) => !rules.pattern!.test(ch));
    const which = bad === undefined ? '' : ` It contains ${JSON.stringify(bad)}.`;
    throw invalid('key.pattern', `${limits.provider} keys may contain ${rules.patternDescription ?? rules.pattern.source}.${which}`);
  }
  if (rules.reservedPrefix && key.startsWith(rules.reservedPrefix)) {
    throw invalid('key.reserved', `${limits.provider} reserves keys that start with "${rules.reservedPrefix}".`);
  }
}

export function validateValueSize(limits: LimitProfile, byteLength: number): void {
  if (byteLength > limits.maxValueBytes) {
    throw tooLarge(
      'value.maxBytes',
      `The value is ${formatBytes(byteLength)} (${byteLength} bytes); ${limits.provider} allows at most ${formatBytes(limits.maxValueBytes)} (${limits.maxValueBytes} bytes).`,
      limits.maxValueBytes,
      byteLength,
    );
  }
}

/** Serializes metadata for the wire; throws when the provider has none, or it is not JSON, or too large. */
export function validateMetadata(limits: LimitProfile, metadata: unknown): string | undefined {
  if (metadata === undefined) return undefined;
  if (limits.maxMetadataBytes === undefined) {
    throw invalid('metadata.unsupported', `${limits.provider} does not store metadata.`);
  }
  let json: string | undefined;
  try {
    json = JSON.stringify(metadata);
  } catch (error) {
    throw invalid('metadata.json', `The metadata cannot be serialized as JSON: ${(error as Error).message}`);
  }
  if (json === undefined) throw invalid('metadata.json', 'The metadata is not a JSON value.');
  const bytes = utf8Length(json);
  if (bytes > limits.maxMetadataBytes) {
    throw tooLarge(
      'metadata.maxBytes',
      `The metadata is ${bytes} bytes as JSON; ${limits.provider} allows at most ${limits.maxMetadataBytes}.`,
      limits.maxMetadataBytes,
      bytes,
    );
  }
  return json;
}

/** Parses metadata typed by a person; the message names the JSON problem. */
export function parseMetadataText(limits: LimitProfile, text: string): unknown {
  let metadata: unknown;
  try {
    metadata = JSON.parse(text);
  } catch (error) {
    throw invalid('metadata.json', `The metadata is not valid JSON: ${(error as Error).message}`);
  }
  validateMetadata(limits, metadata);
  return metadata;
}

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

export function validateExpiration(
  limits: LimitProfile,
  options: { expiration?: number; expirationTtl?: number },
  now: number = nowSeconds(),
): void {
  const min = limits.minExpirationSeconds;
  if (options.expirationTtl !== undefined) {
    const ttl = options.expirationTtl;
    if (!Number.isInteger(ttl)) throw invalid('expiration.ttl', `The TTL must be a whole number of seconds; got ${ttl}.`);
    if (ttl < min) {
      throw invalid('expiration.ttl', `The TTL is ${ttl} seconds; ${limits.provider} needs at least ${min}.`, { limit: min, actual: ttl });
    }
    if (limits.maxTtlSeconds !== undefined && ttl > limits.maxTtlSeconds) {
      throw invalid('expiration.ttl', `The TTL is ${ttl} seconds; ${limits.provider} allows at most ${limits.maxTtlSeconds}.`);
    }
  }
  if (options.expiration !== undefined && options.expirationTtl === undefined) {
    const at = options.expiration;
    if (!Number.isInteger(at)) throw invalid('expiration.absolute', `The expiration must be whole seconds since the epoch; got ${at}.`);
    if (at < now + min) {
      const ahead = at - now;
      const when = ahead <= 0 ? 'in the past' : `only ${ahead} seconds from now`;
      throw invalid(
        'expiration.absolute',
        `The expiration ${new Date(at * 1000).toISOString()} is ${when}; ${limits.provider} needs at least ${min} seconds in the future.`,
        { limit: min, actual: ahead },
      );
    }
  }
}

export function validateNamespaceTitle(limits: LimitProfile, title: string): void {
  const rules = limits.namespaceTitle;
  if (title.trim() === '') throw invalid('namespace.empty', 'The namespace name is empty.');
  if (title.length > rules.maxChars) {
    throw tooLarge(
      'namespace.maxChars',
      `The namespace name is ${title.length} characters; ${limits.provider} allows at most ${rules.maxChars}.`,
      rules.maxChars,
      title.length,
    );
  }
  if (rules.pattern && !rules.pattern.test(title)) {
    throw invalid('namespace.pattern', `${limits.provider} namespace names may contain ${rules.patternDescription ?? rules.pattern.source}.`);
  }
}

export function validateListLimit(limits: LimitProfile, limit: number | undefined): number {
  if (limit === undefined) return limits.listLimit.default;
  const { min, max } = limits.listLimit;
  if (!Number.isInteger(limit) || limit < min || limit > max) {
    throw invalid('list.limit', `The list limit must be a whole number from ${min} to ${max}; got ${limit}.`);
  }
  return limit;
}

/** Everything a single put must satisfy. Returns the value's bytes and the serialized metadata. */
export function validatePut(
  limits: LimitProfile,
  key: string,
  value: KvValue,
  options: PutOptions = {},
  now?: number,
): { bytes: Uint8Array; metadataJson?: string } {
  validateKey(limits, key);
  const bytes = toBytes(value);
  validateValueSize(limits, bytes.byteLength);
  const metadataJson = validateMetadata(limits, options.metadata);
  validateExpiration(limits, options, now);
  return { bytes, metadataJson };
}

/** Checks every item before any is written or sent; one error names each bad item's index and key. */
function validateEach<T extends { key: string } | string>(rule: string, noun: string, items: T[], check: (item: T) => void): void {
  const problems: string[] = [];
  items.forEach((item, index) => {
    try {
      check(item);
    } catch (error) {
      problems.push(`#${index} (${JSON.stringify(typeof item === 'string' ? item : item.key)}): ${(error as Error).message}`);
    }
  });
  if (problems.length > 0) {
    const shown = problems.slice(0, 20).join('\n');
    const more = problems.length > 20 ? `\n…and ${problems.length - 20} more.` : '';
    throw invalid(rule, `${problems.length} of ${items.length} ${noun} are invalid:\n${shown}${more}`);
  }
}

/** Validates every entry before any is written; the message names each bad entry's index. */
export function validateBulkPut(limits: LimitProfile, entries: BulkPutEntry[], now?: number): void {
  validateEach('bulk.entries', 'entries', entries, (entry) => validatePut(limits, entry.key, entry.value, entry, now));
}

/** Validates every key of a bulk delete before any is sent. */
export function validateBulkKeys(limits: LimitProfile, keys: string[]): void {
  validateEach('bulk.keys', 'keys', keys, (key) => validateKey(limits, key));
}
