// wrangler (the npm package, run with Node 22 as it requires) as a client of the project's server:
// CLOUDFLARE_API_BASE_URL points it there, and anything else it might reach for goes to a closed local port.

import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureNode22 } from '../../test/support/node22';
import { REPO_ROOT } from '../dataset';
import { timeMs } from '../harness';
import type { ServerProcess } from './server';

const WRANGLER_TIMEOUT_MS = 10 * 60_000;

export interface Wrangler {
  /** Runs `wrangler <args>` to completion; returns its wall time in ms and its stdout. Throws when it fails. */
  run(args: string[]): Promise<{ ms: number; stdout: string }>;
  /** A scratch folder (wrangler's working directory), removed by dispose(). */
  work: string;
  version: string;
  dispose(): void;
}

export async function prepareWrangler(server: ServerProcess): Promise<Wrangler> {
  const node22 = await ensureNode22();
  const wranglerJs = join(REPO_ROOT, 'node_modules', 'wrangler', 'bin', 'wrangler.js');
  const version = (JSON.parse(readFileSync(join(REPO_ROOT, 'node_modules', 'wrangler', 'package.json'), 'utf8')) as { version: string }).version;
  const work = mkdtempSync(join(tmpdir(), 'kv-bench-wrangler-'));
  for (const dir of ['home', 'cwd', 'tmp/update-check']) mkdirSync(join(work, dir), { recursive: true });
  // A fresh "latest version" answer in wrangler's cache, so it never asks the package registry.
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
    HTTPS_PROXY: 'http://127.0.0.1:9',
    NO_PROXY: '127.0.0.1,localhost',
  };
  const run = async (args: string[]) => {
    let stdout = '';
    const ms = await timeMs(
      () =>
        new Promise<void>((resolve, reject) => {
          execFile(
            node22,
            [wranglerJs, ...args],
            { cwd: join(work, 'cwd'), env, timeout: WRANGLER_TIMEOUT_MS, maxBuffer: 512 * 1024 * 1024 },
            (error, out, err) => {
              if (error) reject(new Error(`wrangler ${args.join(' ')} failed: ${error.message}\n${out.slice(-2000)}\n${err.slice(-2000)}`));
              else {
                stdout = out;
                resolve();
              }
            },
          );
        }),
    );
    return { ms, stdout };
  };
  return { run, work, version, dispose: () => rmSync(work, { recursive: true, force: true }) };
}
