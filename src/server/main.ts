// Serves a local store over the Cloudflare or Telnyx KV REST API on 127.0.0.1, until Ctrl+C.
//
//   node out/src/server/main.js --dialect cloudflare --port 8787 --store <dir> [--token T] [--account-id ID]
//   node out/src/server/main.js --dialect telnyx --port 8788 --store <dir> [--token KEY] [--provisioning-delay-ms N]
//
// The token comes from --token, else the KV_SERVER_TOKEN environment variable, else a random one that is printed.

import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { describeError } from '../core/errors';
import { LocalStore } from '../providers/local';
import { DEFAULT_ACCOUNT_ID, startCloudflareServer } from './cloudflare';
import type { RunningServer } from './http';
import { startTelnyxServer } from './telnyx';

const USAGE = 'usage: node out/src/server/main.js --dialect cloudflare|telnyx --store <dir> [--port N] [--token T] [--account-id ID] [--provisioning-delay-ms N]';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      dialect: { type: 'string', default: 'cloudflare' },
      store: { type: 'string' },
      port: { type: 'string', default: '0' },
      token: { type: 'string' },
      'account-id': { type: 'string', default: DEFAULT_ACCOUNT_ID },
      'provisioning-delay-ms': { type: 'string', default: '0' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const dialect = values.dialect;
  const port = Number(values.port);
  const delayMs = Number(values['provisioning-delay-ms']);
  if (!values.store || (dialect !== 'cloudflare' && dialect !== 'telnyx') || !Number.isInteger(port) || port < 0 || port > 65535 || !(delayMs >= 0)) {
    console.error(USAGE);
    process.exitCode = 2;
    return;
  }
  const tokenGiven = values.token ?? process.env.KV_SERVER_TOKEN;
  const token = tokenGiven || randomBytes(20).toString('hex');
  const directory = resolve(values.store);
  const store = await LocalStore.open(directory);

  let server: RunningServer;
  if (dialect === 'cloudflare') {
    const cloudflare = await startCloudflareServer({ store, token, accountId: values['account-id'], port });
    server = cloudflare;
    console.log(`Cloudflare KV API for the local store in ${directory}`);
    console.log(`  base URL: ${cloudflare.baseUrl}   account: ${cloudflare.accountId}`);
    console.log('  for wrangler:');
    console.log(`    CLOUDFLARE_API_BASE_URL=${cloudflare.baseUrl} CLOUDFLARE_ACCOUNT_ID=${cloudflare.accountId} CLOUDFLARE_API_TOKEN=<token>`);
  } else {
    const telnyx = await startTelnyxServer({ store, apiKey: token, port, provisioningDelayMs: delayMs });
    server = telnyx;
    console.log(`Telnyx KV API for the local store in ${directory}`);
    console.log(`  base URL: ${telnyx.baseUrl}   (Authorization: Bearer <token>)`);
  }
  // A token chosen by the user is theirs to know; only a generated one is shown.
  console.log(tokenGiven ? '  token: as given' : `  token: ${token}`);
  console.log('Press Ctrl+C to stop.');

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await server.close();
    await store.close();
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
}

main().catch((error: unknown) => {
  console.error(describeError(error));
  process.exitCode = 1;
});
