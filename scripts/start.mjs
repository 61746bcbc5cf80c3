// `npm start`: builds, then opens VS Code with this extension loaded.
// Desktop `code --extensionDevelopmentPath` when `code` is on PATH; otherwise the browser VS Code (code-server) on
// http://127.0.0.1:PORT (PORT env, default 8080), running until Ctrl+C. Its profile and workspace live in
// .cache/start/ so settings and the local store survive restarts.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { cacheDir, profileIn, repoRoot, startCodeServer, workbenchUrl } from './vscode-server.mjs';

const build = spawnSync(process.execPath, [join(repoRoot, 'scripts', 'build.mjs')], { stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);

const hasDesktopCode = spawnSync('sh', ['-c', 'command -v code'], { stdio: 'ignore' }).status === 0;
if (hasDesktopCode && !process.env.KV_EXPLORER_BROWSER) {
  const code = spawnSync('code', [`--extensionDevelopmentPath=${repoRoot}`], { stdio: 'inherit' });
  process.exit(code.status ?? 1);
}

const profile = profileIn(join(cacheDir, 'start'));
const port = Number(process.env.PORT || 8080);
const server = await startCodeServer({ port, profile });
const url = workbenchUrl(server, {});
console.log(`\nKV Explorer is running in VS Code at:\n\n  ${url}\n\n(the short address ${server.url}/ opens VS Code without the extension under development)`);
console.log('Press Ctrl+C to stop.');

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  await server.stop({ keepProfile: true });
  process.exit(0);
}
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
server.process.on('exit', (code) => {
  if (!stopping) {
    console.error(`code-server stopped unexpectedly (${code})\n${server.output()}`);
    process.exit(1);
  }
});
