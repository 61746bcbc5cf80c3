// Adding, editing and removing connections. Credentials are verified before anything is saved, and go to
// SecretStorage only (through the connection manager); nothing here writes them anywhere else.
import { describeError, invalid, isKvError, KvError } from '../../core/errors';
import { CLOUDFLARE_API_BASE_URL, CloudflareStore, type CloudflareAccount, type CloudflareAuth } from '../../providers/cloudflare';
import type { Connection, ConnectionConfig, ConnectionUpdate, NewConnection } from '../connections';
import { createStore } from '../storeFactory';
import { describeConnection, type CommandDefinition, type Invocation } from './context';

/** Environment variables wrangler reads (shared notes §1.7); the Telnyx SDK's for Telnyx. */
const ENV = {
  cloudflareToken: 'CLOUDFLARE_API_TOKEN',
  cloudflareAccount: 'CLOUDFLARE_ACCOUNT_ID',
  cloudflareKey: 'CLOUDFLARE_API_KEY',
  cloudflareEmail: 'CLOUDFLARE_EMAIL',
  cloudflareBaseUrl: 'CLOUDFLARE_API_BASE_URL',
  telnyxKey: 'TELNYX_API_KEY',
  telnyxBaseUrl: 'TELNYX_BASE_URL',
} as const;

const WRANGLER_DEV_DEFAULT_URL = 'http://127.0.0.1:8787';
const ENTER_ACCOUNT_ID = Symbol('enter account id');
const ENTER_URL = Symbol('enter URL');

function env(name: string): string | undefined {
  const value = process.env[name]?.trim();
  return value ? value : undefined;
}

function credentialProblem(what: string) {
  return (value: string): string | undefined => {
    if (value.trim() === '') return `Paste the ${what}.`;
    if (/\s/.test(value.trim())) return `The ${what} has no spaces or line breaks; check what was pasted.`;
    return undefined;
  };
}

function accountIdProblem(value: string): string | undefined {
  if (value.trim() === '') return 'Enter the account id (Cloudflare dashboard → Account home → Account ID).';
  if (/[\s/?#]/.test(value.trim())) return 'An account id has no spaces, "/", "?" or "#".';
  return undefined;
}

function urlProblem(value: string): string | undefined {
  try {
    const url = new URL(value.trim());
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'The URL starts with http:// or https://.';
    return undefined;
  } catch {
    return `"${value}" is not a URL.`;
  }
}

function nameProblem(value: string): string | undefined {
  return value.trim() === '' ? 'The connection needs a name.' : undefined;
}

/** A connection's store, used once to check that the credentials work, then closed. */
async function probe(invocation: Invocation, config: Omit<ConnectionConfig, 'id'>, secret: string | undefined): Promise<void> {
  const connection: Connection = { ...config, id: 'probe', origin: 'configured' };
  const store = await createStore(connection, { secret, logger: invocation.deps.log });
  try {
    await store.listNamespaces({ limit: 1 });
  } finally {
    await store.close();
  }
}

async function askName(invocation: Invocation, suggestion: string): Promise<string | undefined> {
  return invocation.prompter.input({ id: 'name', title: invocation.title, prompt: 'A name for the connection, as the Stores tree shows it', value: suggestion, validate: nameProblem });
}

async function save(invocation: Invocation, config: NewConnection, secret: string | undefined): Promise<Connection> {
  const connection = await invocation.deps.connections.addConnection(config, secret);
  invocation.info(`Added "${connection.name}".`);
  return connection;
}

// ------------------------------------------------------------------ Cloudflare

type CloudflareMethod = 'environment' | 'api-token' | 'global-api-key';

interface CloudflareCredentials {
  auth: CloudflareAuth;
  /** Known already (environment, or an account-owned token). */
  accountId?: string;
  /** The accounts the credentials can see, when listing them worked. */
  accounts?: CloudflareAccount[];
}

async function chooseCloudflareMethod(invocation: Invocation): Promise<CloudflareMethod | undefined> {
  const envToken = env(ENV.cloudflareToken);
  const envAccount = env(ENV.cloudflareAccount);
  const envKey = env(ENV.cloudflareKey) && env(ENV.cloudflareEmail);
  const items: { id: CloudflareMethod; label: string; description?: string; detail?: string; value: CloudflareMethod }[] = [];
  if ((envToken || envKey) && envAccount) {
    items.push({
      id: 'environment',
      label: 'Use the credentials from the environment',
      description: `${envToken ? ENV.cloudflareToken : `${ENV.cloudflareEmail} + ${ENV.cloudflareKey}`}, account ${envAccount}`,
      value: 'environment',
    });
  }
  items.push(
    { id: 'api-token', label: 'Paste an API token', detail: 'Recommended. Create one under My Profile → API Tokens with "Workers KV Storage" permission.', value: 'api-token' },
    { id: 'global-api-key', label: 'Use an email address and the global API key', detail: 'The legacy key with full access to the account.', value: 'global-api-key' },
  );
  return invocation.prompter.pick({ id: 'method', title: invocation.title, placeHolder: 'How do you sign in to Cloudflare?', items });
}

/** Verifies an API token; an account-owned token also needs its account id (asked for when the user route refuses it). */
async function verifyCloudflareToken(invocation: Invocation, baseUrl: string | undefined, token: string, accountId: string | undefined): Promise<string | undefined> {
  const logger = invocation.deps.log;
  const verify = (account: string | undefined) =>
    invocation.progress('Verifying the Cloudflare API token…', () => CloudflareStore.verifyToken({ baseUrl, token, accountId: account, logger }));
  let verification;
  try {
    verification = await verify(accountId);
  } catch (error) {
    if (accountId !== undefined || !isKvError(error) || !['unauthorized', 'invalid', 'not-found'].includes(error.kind)) throw error;
    // Not a user token; it may be an account-owned token, which only its account's verify route accepts.
    const account = await invocation.prompter.input({
      id: 'accountId',
      title: invocation.title,
      prompt: `Cloudflare did not accept this as a user API token (${describeError(error)}). If it is an account-owned token, enter its account id.`,
      validate: accountIdProblem,
    });
    if (account === undefined) return undefined;
    accountId = account.trim();
    verification = await verify(accountId);
  }
  if (verification.status !== 'active') {
    throw new KvError('unauthorized', `Cloudflare says this API token is ${verification.status}${verification.expiresOn ? ` (expires on ${verification.expiresOn})` : ''}.`);
  }
  return accountId ?? '';
}

async function cloudflareCredentials(invocation: Invocation, method: CloudflareMethod, baseUrl: string | undefined): Promise<CloudflareCredentials | undefined> {
  const log = invocation.deps.log;
  if (method === 'environment') {
    const accountId = env(ENV.cloudflareAccount)!;
    const token = env(ENV.cloudflareToken);
    if (token) {
      log.addSecret(token);
      await verifyCloudflareToken(invocation, baseUrl, token, accountId);
      return { auth: { token }, accountId };
    }
    const auth = { email: env(ENV.cloudflareEmail)!, key: env(ENV.cloudflareKey)! };
    log.addSecret(auth.key);
    const accounts = await invocation.progress('Checking the Cloudflare API key…', () => CloudflareStore.listAccounts({ baseUrl, auth, logger: log }));
    return { auth, accountId, accounts };
  }
  if (method === 'api-token') {
    const token = await invocation.prompter.input({
      id: 'token',
      title: invocation.title,
      prompt: 'Paste a Cloudflare API token with the "Workers KV Storage" permission. It is kept in VS Code\'s secret storage.',
      password: true,
      validate: credentialProblem('API token'),
    });
    if (token === undefined) return undefined;
    const trimmed = token.trim();
    log.addSecret(trimmed); // before anything can log it
    const accountId = await verifyCloudflareToken(invocation, baseUrl, trimmed, undefined);
    if (accountId === undefined) return undefined;
    if (accountId) return { auth: { token: trimmed }, accountId };
    return { auth: { token: trimmed }, accounts: await listAccountsOrNone(invocation, baseUrl, { token: trimmed }) };
  }
  const email = await invocation.prompter.input({
    id: 'email',
    title: invocation.title,
    prompt: 'The email address of the Cloudflare account',
    validate: (value) => (/^[^\s@]+@[^\s@]+$/.test(value.trim()) ? undefined : 'Enter an email address.'),
  });
  if (email === undefined) return undefined;
  const key = await invocation.prompter.input({
    id: 'apiKey',
    title: invocation.title,
    prompt: 'Paste the global API key (My Profile → API Tokens → Global API Key). It is kept in VS Code\'s secret storage.',
    password: true,
    validate: credentialProblem('global API key'),
  });
  if (key === undefined) return undefined;
  const auth = { email: email.trim(), key: key.trim() };
  log.addSecret(auth.key);
  // A global key has no verify route: listing the accounts it can see is the check.
  const accounts = await invocation.progress('Checking the Cloudflare API key…', () => CloudflareStore.listAccounts({ baseUrl, auth, logger: log }));
  return { auth, accounts };
}

/** Tokens without the Account Settings read permission cannot list accounts; the id is then typed in. */
async function listAccountsOrNone(invocation: Invocation, baseUrl: string | undefined, auth: CloudflareAuth): Promise<CloudflareAccount[] | undefined> {
  try {
    return await invocation.progress('Listing the accounts the token can see…', () => CloudflareStore.listAccounts({ baseUrl, auth, logger: invocation.deps.log }));
  } catch (error) {
    if (isKvError(error, 'cancelled')) throw error;
    invocation.deps.log.log('info', `Listing Cloudflare accounts failed (${describeError(error)}); asking for the account id instead.`);
    return undefined;
  }
}

async function chooseAccount(invocation: Invocation, credentials: CloudflareCredentials): Promise<CloudflareAccount | undefined> {
  if (credentials.accountId) {
    const known = credentials.accounts?.find((account) => account.id === credentials.accountId);
    return { id: credentials.accountId, name: known?.name ?? '' };
  }
  const accounts = credentials.accounts ?? [];
  let chosen: CloudflareAccount | typeof ENTER_ACCOUNT_ID | undefined = ENTER_ACCOUNT_ID;
  if (accounts.length > 0) {
    chosen = await invocation.prompter.pick<CloudflareAccount | typeof ENTER_ACCOUNT_ID>({
      id: 'account',
      title: invocation.title,
      placeHolder: 'Pick the account whose KV namespaces to show',
      items: [
        ...accounts.map((account) => ({ id: account.id, label: account.name || account.id, description: account.id, value: account })),
        { label: 'Enter an account id…', value: ENTER_ACCOUNT_ID },
      ],
    });
  }
  if (chosen !== ENTER_ACCOUNT_ID) return chosen;
  const typed = await invocation.prompter.input({
    id: 'accountId',
    title: invocation.title,
    prompt: 'The Cloudflare account id (dashboard → Account home → Account ID)',
    validate: accountIdProblem,
  });
  return typed === undefined ? undefined : { id: typed.trim(), name: '' };
}

async function addCloudflareConnection(invocation: Invocation): Promise<Connection | undefined> {
  // As wrangler does: CLOUDFLARE_API_BASE_URL replaces the API root for everything.
  const baseUrl = typeof invocation.options.baseUrl === 'string' ? invocation.options.baseUrl : env(ENV.cloudflareBaseUrl);
  if (baseUrl !== undefined) {
    const problem = urlProblem(baseUrl);
    if (problem) throw invalid('connection.baseUrl', `The Cloudflare API base URL: ${problem}`);
  }
  const method = await chooseCloudflareMethod(invocation);
  if (!method) return undefined;
  const credentials = await cloudflareCredentials(invocation, method, baseUrl);
  if (!credentials) return undefined;
  const account = await chooseAccount(invocation, credentials);
  if (!account) return undefined;
  const name = await askName(invocation, account.name || 'Cloudflare');
  if (name === undefined) return undefined;
  const global = 'email' in credentials.auth;
  const config: NewConnection = {
    kind: 'cloudflare',
    name,
    accountId: account.id,
    authType: global ? 'global-api-key' : 'api-token',
    email: 'email' in credentials.auth ? credentials.auth.email : undefined,
    baseUrl: baseUrl && baseUrl.replace(/\/+$/, '') !== CLOUDFLARE_API_BASE_URL ? baseUrl : undefined,
  };
  const secret = 'token' in credentials.auth ? credentials.auth.token : credentials.auth.key;
  // The KV routes need their own permission: check them before saving, so a token without it is caught now.
  await invocation.progress(`Listing the KV namespaces of ${account.id}…`, () => probe(invocation, config, secret));
  return save(invocation, config, secret);
}

// ------------------------------------------------------------------ Telnyx

async function addTelnyxConnection(invocation: Invocation): Promise<Connection | undefined> {
  const baseUrl = typeof invocation.options.baseUrl === 'string' ? invocation.options.baseUrl : env(ENV.telnyxBaseUrl);
  if (baseUrl !== undefined) {
    const problem = urlProblem(baseUrl);
    if (problem) throw invalid('connection.baseUrl', `The Telnyx API base URL: ${problem}`);
  }
  let key: string | undefined;
  const envKey = env(ENV.telnyxKey);
  if (envKey) {
    const method = await invocation.prompter.pick({
      id: 'method',
      title: invocation.title,
      placeHolder: 'Which Telnyx API key?',
      items: [
        { id: 'environment', label: `Use ${ENV.telnyxKey} from the environment`, value: 'environment' },
        { id: 'api-key', label: 'Paste an API key', value: 'api-key' },
      ],
    });
    if (!method) return undefined;
    if (method === 'environment') key = envKey;
  }
  if (key === undefined) {
    const typed = await invocation.prompter.input({
      id: 'apiKey',
      title: invocation.title,
      prompt: 'Paste a Telnyx API key (Mission Control → Auth → API Keys). It is kept in VS Code\'s secret storage.',
      password: true,
      validate: credentialProblem('API key'),
    });
    if (typed === undefined) return undefined;
    key = typed.trim();
  }
  invocation.deps.log.addSecret(key);
  const config: NewConnection = { kind: 'telnyx', name: 'Telnyx', authType: 'api-key', baseUrl };
  // Telnyx has no verify route: listing namespaces is the check.
  await invocation.progress('Checking the Telnyx API key…', () => probe(invocation, config, key));
  const name = await askName(invocation, 'Telnyx');
  if (name === undefined) return undefined;
  return save(invocation, { ...config, name }, key);
}

// ------------------------------------------------------------------ wrangler dev

async function connectWranglerDev(invocation: Invocation): Promise<Connection | undefined> {
  const { connections } = invocation.deps;
  await invocation.progress('Looking for a running wrangler dev…', () => connections.detectWranglerDev());
  const detected = connections.list().filter((connection) => connection.kind === 'wrangler-dev');
  let url: string | undefined;
  if (detected.length > 0 || !invocation.interactive) {
    const choice = await invocation.prompter.pick<Connection | typeof ENTER_URL>({
      id: 'server',
      title: invocation.title,
      placeHolder: 'Pick a wrangler dev server, or enter its URL',
      items: [
        ...detected.map((connection) => ({
          id: connection.baseUrl,
          label: connection.name,
          description: connection.baseUrl,
          detail: connection.origin === 'detected' ? 'Found through the workspace\'s wrangler config; it is in the Stores tree already.' : 'Added already.',
          value: connection as Connection | typeof ENTER_URL,
        })),
        { id: 'url', label: 'Enter the URL of a wrangler dev server…', value: ENTER_URL },
      ],
    });
    if (choice === undefined) return undefined;
    if (choice !== ENTER_URL) {
      invocation.deps.tree.refresh({ connectionId: choice.id });
      if (invocation.deps.treeView.visible) {
        const root = (await invocation.deps.tree.getChildren()).find((node) => node.type === 'connection' && node.connection.id === choice.id);
        if (root) await invocation.deps.treeView.reveal(root, { select: true, focus: true, expand: true });
      }
      return choice;
    }
  }
  url = await invocation.prompter.input({
    id: 'url',
    title: invocation.title,
    prompt: 'The address wrangler dev prints ("Ready on http://…")',
    value: WRANGLER_DEV_DEFAULT_URL,
    validate: urlProblem,
  });
  if (url === undefined) return undefined;
  const baseUrl = url.trim().replace(/\/+$/, '');
  const config: NewConnection = { kind: 'wrangler-dev', name: 'wrangler dev', authType: 'none', baseUrl };
  await invocation.progress(`Asking ${baseUrl} for its KV namespaces…`, async () => {
    try {
      await probe(invocation, config, undefined);
    } catch (error) {
      throw new KvError(
        isKvError(error) ? error.kind : 'unavailable',
        `${baseUrl} does not answer as wrangler dev's local explorer API: ${describeError(error)} (wrangler dev ≥ 4.40 serves it; is it running?)`,
      );
    }
  });
  const name = await askName(invocation, `wrangler dev: ${new URL(baseUrl).host}`);
  if (name === undefined) return undefined;
  return save(invocation, { ...config, name }, undefined);
}

// ------------------------------------------------------------------ edit and remove

type EditField = 'name' | 'credentials' | 'accountId' | 'baseUrl';

async function configuredConnection(invocation: Invocation): Promise<Connection | undefined> {
  const connection = await invocation.connection((candidate) => candidate.origin === 'configured', 'Pick a connection you added');
  if (connection && connection.origin !== 'configured') {
    throw invalid('connection.builtin', `"${connection.name}" is ${connection.origin === 'builtin' ? 'built in' : 'found automatically'}; there is nothing to edit or remove.`);
  }
  return connection;
}

export async function editConnection(invocation: Invocation): Promise<Connection | undefined> {
  const connection = await configuredConnection(invocation);
  if (!connection) return undefined;
  const fields: { id: EditField; label: string; description?: string; value: EditField }[] = [{ id: 'name', label: 'Rename', description: connection.name, value: 'name' }];
  if (connection.authType !== 'none') {
    const what = connection.authType === 'api-token' ? 'API token' : connection.authType === 'global-api-key' ? 'global API key' : 'API key';
    fields.push({ id: 'credentials', label: `Replace the ${what}`, value: 'credentials' });
  }
  if (connection.kind === 'cloudflare') fields.push({ id: 'accountId', label: 'Change the account', description: connection.accountId, value: 'accountId' });
  fields.push({
    id: 'baseUrl',
    label: connection.kind === 'wrangler-dev' ? 'Change the URL' : 'Change the API base URL',
    description: connection.baseUrl ?? 'provider default',
    value: 'baseUrl',
  });
  const field = await invocation.prompter.pick({ id: 'field', title: `Edit "${connection.name}"`, placeHolder: 'What to change', items: fields });
  if (!field) return undefined;

  const changes: { -readonly [K in keyof ConnectionUpdate]: ConnectionUpdate[K] } = {};
  let secret: string | undefined;
  switch (field) {
    case 'name': {
      const name = await invocation.prompter.input({ id: 'name', title: invocation.title, value: connection.name, validate: nameProblem });
      if (name === undefined) return undefined;
      changes.name = name;
      break;
    }
    case 'credentials': {
      const what = connection.authType === 'api-token' ? 'API token' : connection.authType === 'global-api-key' ? 'global API key' : 'API key';
      const typed = await invocation.prompter.input({ id: 'secret', title: invocation.title, prompt: `Paste the new ${what}.`, password: true, validate: credentialProblem(what) });
      if (typed === undefined) return undefined;
      secret = typed.trim();
      invocation.deps.log.addSecret(secret);
      break;
    }
    case 'accountId': {
      const typed = await invocation.prompter.input({ id: 'accountId', title: invocation.title, value: connection.accountId, validate: accountIdProblem });
      if (typed === undefined) return undefined;
      changes.accountId = typed.trim();
      break;
    }
    case 'baseUrl': {
      const typed = await invocation.prompter.input({
        id: 'baseUrl',
        title: invocation.title,
        prompt: connection.kind === 'wrangler-dev' ? 'The address of the wrangler dev server' : 'The API root (empty for the provider default)',
        value: connection.baseUrl ?? '',
        validate: (value) => (value.trim() === '' && connection.kind !== 'wrangler-dev' ? undefined : urlProblem(value)),
      });
      if (typed === undefined) return undefined;
      changes.baseUrl = typed.trim() === '' ? undefined : typed.trim().replace(/\/+$/, '');
      break;
    }
  }
  const { connections } = invocation.deps;
  if (secret !== undefined) {
    // New credentials: check them before they replace what works today.
    const { id: _id, origin: _origin, ...current } = connection;
    await invocation.progress(`Checking the new credentials of "${connection.name}"…`, () => probe(invocation, current, secret));
  }
  const updated = await connections.updateConnection(connection.id, changes, secret);
  if (field === 'accountId' || field === 'baseUrl') {
    // The stored credentials stay in SecretStorage; check them against the new account or address, and undo on failure.
    try {
      await invocation.progress(`Checking "${updated.name}"…`, async () => (await connections.storeFor(connection.id)).listNamespaces({ limit: 1 }));
    } catch (error) {
      await connections.updateConnection(connection.id, { accountId: connection.accountId, baseUrl: connection.baseUrl });
      throw error;
    }
  }
  invocation.info(`Updated "${updated.name}".`);
  return updated;
}

export async function removeConnection(invocation: Invocation): Promise<boolean> {
  const connection = await configuredConnection(invocation);
  if (!connection) return false;
  const credentials = connection.authType === 'none' ? '' : ' Its stored credentials are deleted from this machine.';
  const confirmed = await invocation.prompter.confirm({
    id: 'confirm',
    title: invocation.title,
    message: `Remove the connection "${connection.name}"?`,
    detail: `${describeConnection(connection)}.${credentials} Nothing in the store itself is deleted.`,
    confirm: 'Remove',
  });
  if (!confirmed) return false;
  await invocation.deps.connections.removeConnection(connection.id);
  invocation.info(`Removed "${connection.name}".`);
  return true;
}

export const connectionCommands: CommandDefinition[] = [
  { id: 'kvExplorer.addCloudflareConnection', title: 'Add Cloudflare Connection', run: addCloudflareConnection },
  { id: 'kvExplorer.addTelnyxConnection', title: 'Add Telnyx Connection', run: addTelnyxConnection },
  { id: 'kvExplorer.connectWranglerDev', title: 'Connect to wrangler dev', run: connectWranglerDev },
  { id: 'kvExplorer.editConnection', title: 'Edit Connection', run: editConnection },
  { id: 'kvExplorer.removeConnection', title: 'Remove Connection', run: removeConnection },
];
