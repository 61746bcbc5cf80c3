// A private home for running the real wrangler against a local Cloudflare-dialect server: its own HOME, TMPDIR
// and working directory, and an environment that sends every request to 127.0.0.1.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from './node22';

export interface WranglerSandbox {
  /** The sandbox folder: `home`, `cwd` and `tmp` below it. */
  work: string;
  /** wrangler's entry script, to run with Node 22. */
  wranglerJs: string;
  version: string;
  env: NodeJS.ProcessEnv;
}

export function makeWranglerSandbox(server: { baseUrl: string; token: string; accountId: string }, prefix: string): WranglerSandbox {
  const root = repoRoot();
  const wranglerJs = join(root, 'node_modules', 'wrangler', 'bin', 'wrangler.js');
  const version = (JSON.parse(readFileSync(join(root, 'node_modules', 'wrangler', 'package.json'), 'utf8')) as { version: string }).version;
  const work = mkdtempSync(join(tmpdir(), prefix));
  for (const dir of ['home', 'cwd', 'tmp/update-check']) mkdirSync(join(work, dir), { recursive: true });
  // wrangler asks the package registry for its latest version on some paths; a fresh cache answer keeps it local.
  writeFileSync(join(work, 'tmp', 'update-check', 'wrangler-latest.json'), JSON.stringify({ latest: version, lastUpdate: Date.now() }));
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: join(work, 'home'),
    TMPDIR: join(work, 'tmp'),
    CI: 'true',
    CLOUDFLARE_API_BASE_URL: server.baseUrl,
    CLOUDFLARE_API_TOKEN: server.token,
    CLOUDFLARE_ACCOUNT_ID: server.accountId,
    WRANGLER_SEND_METRICS: 'false',
    WRANGLER_SEND_ERROR_REPORTS: 'false',
    WRANGLER_HIDE_BANNER: 'true',
    // Anything not bound for the server goes to a closed local port instead of out.
    HTTPS_PROXY: 'http://127.0.0.1:9',
    NO_PROXY: '127.0.0.1,localhost',
  };
  return { work, wranglerJs, version, env };
}
