// What `wrangler dev` serves, without wrangler: Miniflare with its local explorer API (Cloudflare's KV REST
// dialect under /cdn-cgi/explorer/api), bound to 127.0.0.1 on a free port.
import { Miniflare } from 'miniflare';
import { WRANGLER_EXPLORER_API_PATH } from '../../src/core/wranglerConfig';

export interface MiniflareExplorer {
  miniflare: Miniflare;
  /** The dev server's URL, e.g. `http://127.0.0.1:PORT/`. */
  url: URL;
  /** The explorer API root a CloudflareStore with target 'wrangler-dev' takes. */
  apiRoot: string;
}

export async function startMiniflareExplorer(kvNamespaces: string[] = ['NS'], body = 'ok'): Promise<MiniflareExplorer> {
  const miniflare = new Miniflare({
    modules: true,
    script: `export default { fetch() { return new Response(${JSON.stringify(body)}) } }`,
    kvNamespaces,
    unsafeLocalExplorer: true,
    host: '127.0.0.1',
    port: 0,
  });
  const url = await miniflare.ready;
  return { miniflare, url, apiRoot: new URL(WRANGLER_EXPLORER_API_PATH, url).href };
}
