// Turns a connection into its KvStore. The only module that knows which provider class serves which kind.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { KvError } from '../core/errors';
import type { Logger } from '../core/log';
import type { KvStore } from '../core/store';
import { WRANGLER_EXPLORER_API_PATH } from '../core/wranglerConfig';
import { CLOUDFLARE_API_BASE_URL, CloudflareStore, type CloudflareAuth } from '../providers/cloudflare';
import { TelnyxStore, TELNYX_API_BASE_URL } from '../providers/telnyx';
import type { Connection } from './connections';

export interface StoreDependencies {
  /** The connection's credential from SecretStorage (absent for authType 'none'). */
  secret?: string;
  /** Directory of the local store (local connections only). */
  localPath?: string;
  logger: Logger;
}

/** The namespace a brand-new local store starts with, so a first-time user sees something to open. */
export const FIRST_LOCAL_NAMESPACE_TITLE = 'default';

async function openLocalStore(directory: string, logger: Logger): Promise<KvStore> {
  // Loaded here, not at the top: the local provider loads lmdb (native), which would otherwise be part of every
  // activation, even one that never opens the local store.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { LOCAL_DATA_FILE, LocalStore } = require('../providers/local') as typeof import('../providers/local');
  const brandNew = !existsSync(join(directory, LOCAL_DATA_FILE));
  const store = await LocalStore.open(directory, { logger });
  if (brandNew) {
    const { items } = await store.listNamespaces({ limit: 1 });
    if (items.length === 0) await store.createNamespace(FIRST_LOCAL_NAMESPACE_TITLE);
    logger.log('info', `Created the local store in ${directory}.`);
  }
  return store;
}

function cloudflareAuth(connection: Connection, secret: string | undefined): CloudflareAuth {
  if (!secret) throw new KvError('unauthorized', `No credentials are stored for "${connection.name}".`);
  if (connection.authType === 'global-api-key') return { email: connection.email ?? '', key: secret };
  return { token: secret };
}

/** wrangler dev's explorer API root, from the dev server's origin (a URL that already names the API is kept). */
export function wranglerDevApiRoot(origin: string): string {
  const trimmed = origin.replace(/\/+$/, '');
  return trimmed.endsWith(WRANGLER_EXPLORER_API_PATH) ? trimmed : trimmed + WRANGLER_EXPLORER_API_PATH;
}

export async function createStore(connection: Connection, dependencies: StoreDependencies): Promise<KvStore> {
  switch (connection.kind) {
    case 'local':
      if (!dependencies.localPath) throw new KvError('invalid', 'The local store has no directory.');
      return openLocalStore(dependencies.localPath, dependencies.logger);
    case 'cloudflare':
      return new CloudflareStore({
        baseUrl: connection.baseUrl ?? CLOUDFLARE_API_BASE_URL,
        accountId: connection.accountId,
        auth: cloudflareAuth(connection, dependencies.secret),
        target: 'cloudflare',
        logger: dependencies.logger,
      });
    case 'wrangler-dev':
      if (!connection.baseUrl) throw new KvError('invalid', `"${connection.name}" has no URL.`);
      return new CloudflareStore({ baseUrl: wranglerDevApiRoot(connection.baseUrl), target: 'wrangler-dev', logger: dependencies.logger });
    case 'telnyx':
      if (!dependencies.secret) throw new KvError('unauthorized', `No API key is stored for "${connection.name}".`);
      return new TelnyxStore({ baseUrl: connection.baseUrl ?? TELNYX_API_BASE_URL, apiKey: dependencies.secret, logger: dependencies.logger });
  }
}
