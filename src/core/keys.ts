// Grouping keys into folders on '/'. A key `a`, a folder `a/`, the key `a/` itself,
// empty segments (`a//b`) and a leading '/' all stay distinct.

import type { ChildItem, ChildrenOptions, ChildrenPage, KeyInfo, KvStore } from './store';

export const SEPARATOR = '/';

/**
 * Where `keyName` (which starts with `prefix`) sits one level below `prefix`:
 * a key directly there, or the folder that contains it.
 */
export function childOf(prefix: string, keyName: string): { type: 'folder'; name: string; prefix: string } | { type: 'key'; name: string } {
  const rest = keyName.slice(prefix.length);
  const slash = rest.indexOf(SEPARATOR);
  // The key `a/` under '' lands in folder `a/`, where it shows as a key with an empty last segment.
  if (slash === -1) return { type: 'key', name: rest };
  const name = rest.slice(0, slash);
  return { type: 'folder', name, prefix: prefix + name + SEPARATOR };
}

/** The last segment of a key, as a label. A key ending in '/' has an empty last segment. */
export function lastSegment(key: string): string {
  return key.slice(key.lastIndexOf(SEPARATOR) + 1);
}

/** The folder prefix that directly contains `key` ('' at the root). */
export function parentPrefix(key: string): string {
  return key.slice(0, key.lastIndexOf(SEPARATOR) + 1);
}

/** Parent folder prefix of a folder prefix (`a/b/` → `a/`, `a/` → ''). */
export function parentFolderPrefix(folderPrefix: string): string {
  return parentPrefix(folderPrefix.slice(0, -1));
}

interface GenericCursor {
  /** The underlying list cursor to resume from. */
  c?: string;
  /** The last folder prefix already emitted, so a folder spanning pages appears once. */
  f?: string;
}

function encodeCursor(cursor: GenericCursor): string {
  return Buffer.from(JSON.stringify(cursor), 'utf8').toString('base64url');
}

function decodeCursor(cursor: string | undefined): GenericCursor {
  if (!cursor) return {};
  try {
    return JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as GenericCursor;
  } catch {
    return {};
  }
}

/**
 * `children()` for stores that can only list flat keys: reads list pages under `prefix` and groups them.
 * Whole underlying pages are consumed, so a page may hold somewhat more than `limit` items.
 * Listings are in key order, so each folder's keys are contiguous and a folder is emitted once.
 */
export async function genericChildren(
  store: Pick<KvStore, 'list'>,
  namespaceId: string,
  prefix: string,
  options: ChildrenOptions = {},
): Promise<ChildrenPage> {
  const want = options.limit ?? 1000;
  const state = decodeCursor(options.cursor);
  const items: ChildItem[] = [];
  let listCursor = state.c;
  let lastFolder = state.f;
  for (;;) {
    const page = await store.list(namespaceId, { prefix, cursor: listCursor, signal: options.signal });
    for (const key of page.keys) {
      const child = childOf(prefix, key.name);
      if (child.type === 'key') {
        items.push({ type: 'key', name: child.name, key: key as KeyInfo });
      } else if (child.prefix !== lastFolder) {
        lastFolder = child.prefix;
        items.push({ type: 'folder', name: child.name, prefix: child.prefix });
      }
    }
    listCursor = page.cursor;
    if (page.complete || !listCursor) return { items, complete: true };
    if (items.length >= want) {
      return { items, complete: false, cursor: encodeCursor({ c: listCursor, f: lastFolder }) };
    }
  }
}
