// Creating, renaming and deleting namespaces, where the provider allows it (capabilities say so).
import { describeError, invalid, isKvError, KvError } from '../../core/errors';
import type { KvStore, Namespace } from '../../core/store';
import { validateNamespaceTitle } from '../../core/validation';
import type { CommandDefinition, Invocation } from './context';

/** Keys counted before a namespace delete asks; beyond that it says "more than". */
const COUNT_LIMIT = 10_000;
/** Time the count may take before the question says "all of its keys" instead. */
const COUNT_TIME_MS = 3_000;

function titleProblem(store: KvStore) {
  return (title: string): string | undefined => {
    try {
      validateNamespaceTitle(store.limits, title);
      return undefined;
    } catch (error) {
      return describeError(error);
    }
  };
}

function requireCapability(store: KvStore, capability: 'namespaceCreate' | 'namespaceRename' | 'namespaceDelete', what: string, where: string): void {
  if (store.capabilities[capability]) return;
  const why = store.kind === 'wrangler-dev' ? " — wrangler dev's namespaces are the kv_namespaces bindings of its wrangler configuration" : '';
  throw invalid(`capability.${capability}`, `${where} cannot ${what}${why}.`);
}

/** Counts keys while it is cheap: an exact number, or a lower bound when it stopped early. */
export async function countKeys(store: KvStore, namespaceId: string, prefix = ''): Promise<{ count: number; exact: boolean }> {
  const started = Date.now();
  let count = 0;
  let cursor: string | undefined;
  for (;;) {
    const page = await store.list(namespaceId, { prefix, cursor, limit: store.limits.listLimit.max });
    count += page.keys.length;
    if (page.complete || !page.cursor) return { count, exact: true };
    if (count >= COUNT_LIMIT || Date.now() - started > COUNT_TIME_MS) return { count, exact: false };
    cursor = page.cursor;
  }
}

async function createNamespace(invocation: Invocation): Promise<Namespace | undefined> {
  const connection = await invocation.connection();
  if (!connection) return undefined;
  const store = await invocation.store(connection.id);
  requireCapability(store, 'namespaceCreate', 'create namespaces', `"${connection.name}"`);
  const title = await invocation.prompter.input({
    id: 'title',
    title: invocation.title,
    prompt: `A name for the new namespace in ${connection.name}`,
    placeHolder: store.limits.namespaceTitle.patternDescription ? `${store.limits.namespaceTitle.patternDescription}` : 'e.g. SESSIONS',
    validate: titleProblem(store),
  });
  if (title === undefined) return undefined;
  const namespace = await store.createNamespace(title);
  invocation.deps.tree.refresh({ connectionId: connection.id });
  invocation.info(`Created namespace "${namespace.title}" (${namespace.id}).`);
  return namespace;
}

export async function renameNamespace(invocation: Invocation): Promise<string | undefined> {
  const target = await invocation.namespace();
  if (!target) return undefined;
  const store = await invocation.store(target.connectionId);
  requireCapability(store, 'namespaceRename', 'rename namespaces', `"${invocation.connectionName(target.connectionId)}"`);
  const current = await invocation.namespaceTitle(target);
  const title = await invocation.prompter.input({
    id: 'title',
    title: invocation.title,
    prompt: `A new name for "${current}" (its id ${target.namespaceId} stays the same)`,
    value: current,
    validate: titleProblem(store),
  });
  if (title === undefined || title === current) return undefined;
  await store.renameNamespace(target.namespaceId, title);
  invocation.deps.tree.refresh({ connectionId: target.connectionId });
  invocation.info(`Renamed namespace "${current}" to "${title}".`);
  return title;
}

export async function deleteNamespace(invocation: Invocation): Promise<boolean> {
  const target = await invocation.namespace();
  if (!target) return false;
  const store = await invocation.store(target.connectionId);
  const connectionName = invocation.connectionName(target.connectionId);
  requireCapability(store, 'namespaceDelete', 'delete namespaces', `"${connectionName}"`);
  const title = await invocation.namespaceTitle(target);
  let lost = 'all of its keys';
  try {
    const { count, exact } = await countKeys(store, target.namespaceId);
    lost = exact ? `its ${count} ${count === 1 ? 'key' : 'keys'}` : `all of its keys (more than ${count})`;
  } catch (error) {
    if (isKvError(error, 'cancelled')) throw error;
    invocation.deps.log.log('info', `Counting the keys of ${target.namespaceId} failed: ${describeError(error)}`);
  }
  const confirmed = await invocation.prompter.confirm({
    id: 'confirm',
    title: invocation.title,
    message: `Delete the namespace "${title}" and ${lost}?`,
    detail: `Namespace id ${target.namespaceId} in ${connectionName}. This cannot be undone.`,
    confirm: 'Delete Namespace',
  });
  if (!confirmed) return false;
  await invocation.progress(`Deleting namespace "${title}"…`, async () => {
    try {
      await store.deleteNamespace(target.namespaceId);
    } catch (error) {
      if (isKvError(error, 'not-found')) throw new KvError('not-found', `The namespace "${title}" no longer exists.`);
      throw error;
    }
  });
  invocation.deps.tree.refresh({ connectionId: target.connectionId });
  invocation.info(`Deleted namespace "${title}".`);
  return true;
}

export const namespaceCommands: CommandDefinition[] = [
  { id: 'kvExplorer.createNamespace', title: 'Create Namespace', run: createNamespace },
  { id: 'kvExplorer.renameNamespace', title: 'Rename Namespace', run: renameNamespace },
  { id: 'kvExplorer.deleteNamespace', title: 'Delete Namespace', run: deleteNamespace },
];
