// The project's Cloudflare-dialect server over a local store, run as its own process (out/src/server/main.js),
// so the clients measured against it (ours, the bare loop, wrangler) do not share its event loop.

import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from '../dataset';

export interface ServerProcess {
  /** `http://127.0.0.1:PORT/client/v4` */
  baseUrl: string;
  accountId: string;
  token: string;
  stop(): Promise<void>;
}

const START_TIMEOUT_MS = 60_000;

export async function startServerProcess(storeDir: string, token: string): Promise<ServerProcess> {
  const child: ChildProcess = spawn(
    process.execPath,
    [join(REPO_ROOT, 'out', 'src', 'server', 'main.js'), '--dialect', 'cloudflare', '--port', '0', '--store', storeDir, '--token', token],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ready = new Promise<{ baseUrl: string; accountId: string }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`The server did not start within ${START_TIMEOUT_MS / 1000} s:\n${output}`)), START_TIMEOUT_MS);
    const onData = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      const match = /base URL: (http:\/\/127\.0\.0\.1:\d+\/client\/v4)\s+account: (\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve({ baseUrl: match[1], accountId: match[2] });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`The server exited (${code}) before it was ready:\n${output}`));
    });
  });
  try {
    const { baseUrl, accountId } = await ready;
    return {
      baseUrl,
      accountId,
      token,
      async stop() {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
        // It closes its listener and store on SIGTERM; one that hangs is not allowed to outlive the bench.
        const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(killer);
      },
    };
  } catch (error) {
    if (child.exitCode === null) child.kill('SIGKILL');
    throw error;
  }
}
