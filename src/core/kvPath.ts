// The address of a key's document: `kv://<connection>/<namespace>/<key as typed>?<authoritative query>`.
// The path is for people (the editor tab shows its last segment, the language follows its extension); VS Code may
// normalise paths (`..`, `//`), so the query, which nothing rewrites, carries the exact connection, namespace and key.

/** A key's value (its exact bytes), its metadata as JSON, or a read-only hex dump of a value that is not text. */
export type DocumentKind = 'value' | 'metadata' | 'hex';

export interface KvAddress {
  connectionId: string;
  namespaceId: string;
  key: string;
  kind: DocumentKind;
}

export interface KvUriParts {
  authority: string;
  path: string;
  query: string;
}

/** Metadata documents get a JSON path so VS Code picks the JSON language for them. */
export const METADATA_SUFFIX = '.metadata.json';
/** Hex views read as "logo.png (hex)" in the tab, and no language claims that extension. */
export const HEX_SUFFIX = ' (hex)';

/** A label for a key whose last segment is empty (`a/`), so the tab never reads blank. */
const EMPTY_SEGMENT = '(empty)';

function displaySegment(segment: string): string {
  // Keep what people typed, but never let a segment be empty, `.` or `..` in the display path.
  if (segment === '') return EMPTY_SEGMENT;
  if (segment === '.' || segment === '..') return `${segment}(key)`;
  return segment;
}

function authorityFor(connectionId: string): string {
  return /^[A-Za-z0-9._-]+$/.test(connectionId) ? connectionId.toLowerCase() : 'connection';
}

export function encodeKvAddress(address: KvAddress): KvUriParts {
  const segments = address.key.split('/').map(displaySegment);
  const suffix = address.kind === 'metadata' ? METADATA_SUFFIX : address.kind === 'hex' ? HEX_SUFFIX : '';
  const params = new URLSearchParams({ c: address.connectionId, n: address.namespaceId, k: address.key });
  if (address.kind !== 'value') params.set('t', address.kind);
  return {
    authority: authorityFor(address.connectionId),
    path: `/${displaySegment(address.namespaceId)}/${segments.join('/')}${suffix}`,
    query: params.toString(),
  };
}

/** The address a kv URI names, or undefined when the query is not one of ours. */
export function decodeKvAddress(parts: Pick<KvUriParts, 'query'>): KvAddress | undefined {
  const params = new URLSearchParams(parts.query);
  const connectionId = params.get('c');
  const namespaceId = params.get('n');
  const key = params.get('k');
  if (connectionId === null || namespaceId === null || key === null) return undefined;
  const type = params.get('t');
  const kind = type === 'metadata' || type === 'hex' ? type : 'value';
  return { connectionId, namespaceId, key, kind };
}
