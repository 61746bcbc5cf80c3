// wrangler (the npm package, run with Node 22 as it requires) as a client of the project's server:
// CLOUDFLARE_API_BASE_URL points it there, and anything else it might reach for goes to a closed local port.

import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { ensureNode22 } from '../../test/support/node22';
import { makeWranglerSandbox } from '../../test/support/wranglerSandbox';
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
  const { work, wranglerJs, version, env } = makeWranglerSandbox(server, 'kv-bench-wrangler-');
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
