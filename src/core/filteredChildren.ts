// One level of a namespace restricted to a prefix filter, for the tree's per-namespace filter.
// A filter ending in '/' is simply that folder. Any other filter ("users/4") shows the items one level
// below its folder part ("users/") whose names start with the rest ("4"): folder users/42/, key users/4.
import { genericChildren, parentPrefix } from './keys';
import type { ChildItem, ChildrenOptions, ChildrenPage, KvStore } from './store';

export async function filteredChildren(
  store: Pick<KvStore, 'children' | 'list' | 'capabilities'>,
  namespaceId: string,
  filter: string,
  options: ChildrenOptions = {},
): Promise<ChildrenPage> {
  const base = parentPrefix(filter);
  const rest = filter.slice(base.length);
  if (rest === '') return store.children(namespaceId, base, options);

  if (!store.capabilities.nativeChildren) {
    // Flat-listing stores: read only the keys that start with the filter, grouped one level below `base`.
    return genericChildren(
      { list: (ns, listOptions) => store.list(ns, { ...listOptions, prefix: filter }) },
      namespaceId,
      base,
      options,
    );
  }

  // Indexed stores: walk `base`'s children (cheap seeks, never the keys below them) and keep the matches.
  // Children come in key order and every match starts with base + rest, so the matches form one run:
  // once a match has been seen, the first non-match ends the listing. A resumed page was cut inside the run.
  const want = options.limit ?? 1000;
  const items: ChildItem[] = [];
  let inRun = options.cursor !== undefined;
  let cursor = options.cursor;
  for (;;) {
    const page = await store.children(namespaceId, base, { limit: options.limit, cursor, signal: options.signal });
    for (const item of page.items) {
      if (item.name.startsWith(rest)) {
        items.push(item);
        inRun = true;
      } else if (inRun) {
        return { items, complete: true };
      }
    }
    if (page.complete || !page.cursor) return { items, complete: true };
    cursor = page.cursor;
    if (items.length >= want) return { items, complete: false, cursor };
  }
}
