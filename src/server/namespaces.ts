// Both dialects page namespaces by page number while the store pages by cursor: they read the whole list
// (at most 1000 per account at Cloudflare) and slice it.

import type { KvStore, Namespace } from '../core/store';

export async function listAllNamespaces(store: KvStore): Promise<Namespace[]> {
  const all: Namespace[] = [];
  let cursor: string | undefined;
  for (;;) {
    const page = await store.listNamespaces({ cursor, limit: store.limits.listLimit.max });
    all.push(...page.items);
    if (page.complete || !page.cursor) return all;
    cursor = page.cursor;
  }
}
