// Gets a real VS Code running on this machine: code-server (VS Code's server + browser workbench, from the npm
// registry) plus Debian's Chromium. Used by `npm start`, the integration room and the e2e room.
// Usage: node scripts/vscode-server.mjs install   (install only; idempotent; `npm start` serves it)
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync, copyFileSync, symlinkSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CODE_SERVER_VERSION = '4.100.3';
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
export const repoRoot = resolve(fileURLToPath(new URL('..', import.meta.url)));
/** Ignored cache folder; KV_EXPLORER_CACHE lets a fresh clone reuse another checkout's install. */
export const cacheDir = resolve(process.env.KV_EXPLORER_CACHE || join(repoRoot, '.cache'));
const installDir = join(cacheDir, `code-server-${CODE_SERVER_VERSION}`);
/** code-server's CLI; run it with codeServerNode(). */
export const entryJs = join(installDir, 'node_modules', 'code-server', 'out', 'node', 'entry.js');
const doneMarker = join(installDir, '.installed');

/** Flags for Chromium inside containers and without network (no sandbox as root, no background traffic). */
export const CHROMIUM_ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage',
];

const log = (msg) => process.stderr.write(`[vscode-server] ${msg}\n`);

let node20;
/**
 * code-server 4.100.3 is VS Code 1.100's server and runs on Node 20, as its native modules are built for it. npm
 * scripts may put another `node` first on PATH (a dependency's node_modules/.bin/node), so look for Node 20 by
 * version: KV_EXPLORER_NODE, the running node, then each `node` on PATH outside node_modules.
 */
export function codeServerNode() {
  if (node20) return node20;
  const onPathDirs = (process.env.PATH ?? '').split(delimiter).filter((dir) => dir && !dir.split(sep).includes('node_modules'));
  const candidates = [process.env.KV_EXPLORER_NODE, process.execPath, ...onPathDirs.map((dir) => join(dir, 'node')), '/usr/bin/node'];
  for (const candidate of candidates) {
    if (!candidate || !existsSync(candidate)) continue;
    const version = spawnSync(candidate, ['-p', 'process.versions.node'], { encoding: 'utf8' }).stdout?.trim() ?? '';
    if (version.startsWith('20.')) return (node20 = candidate);
  }
  throw new Error(`code-server ${CODE_SERVER_VERSION} needs Node 20; none found. Set KV_EXPLORER_NODE to a Node 20 binary.`);
}

function run(cmd, args, cwd, { allowFailure = false } = {}) {
  log(`(${cwd}) ${cmd} ${args.join(' ')}`);
  // npm and node-gyp run on Node 20 too, so what they build loads in code-server.
  const PATH = [dirname(codeServerNode()), process.env.PATH].join(delimiter);
  const env = { ...process.env, PATH, npm_config_yes: 'true', DEBIAN_FRONTEND: 'noninteractive' };
  const result = spawnSync(cmd, args, { cwd, stdio: ['ignore', 'inherit', 'inherit'], env });
  if (result.status !== 0 && !allowFailure) throw new Error(`${cmd} ${args.join(' ')} failed with exit code ${result.status}`);
}

function requireBuilt(file) {
  if (!existsSync(file)) throw new Error(`native module was not built: ${file}`);
}

/** Installs Debian packages as root when a tool is missing (a fresh Debian machine has none of them). */
function aptInstall(packages) {
  if (process.getuid?.() !== 0) throw new Error(`missing ${packages.join(', ')}; install with: sudo apt-get install -y ${packages.join(' ')}`);
  run('apt-get', ['update'], '/');
  run('apt-get', ['install', '-y', ...packages], '/'); // with recommends: Chromium's fonts
}

const onPath = (tool) => spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status === 0;

export function ensureChromium() {
  if (existsSync(CHROMIUM_PATH)) return CHROMIUM_PATH;
  log(`no Chromium at ${CHROMIUM_PATH}; installing Debian's chromium (and ripgrep, for workbench search)`);
  aptInstall(onPath('rg') ? ['chromium'] : ['chromium', 'ripgrep']);
  if (!existsSync(CHROMIUM_PATH)) throw new Error(`Chromium still missing at ${CHROMIUM_PATH}`);
  return CHROMIUM_PATH;
}

/** Another process holds the lock while it installs; wait for it (stale locks of dead processes are taken over). */
async function withInstallLock(fn) {
  const lock = `${installDir}.lock`;
  for (let waited = 0; ; waited++) {
    try {
      mkdirSync(lock);
      writeFileSync(join(lock, 'pid'), String(process.pid));
      break;
    } catch (err) {
      if (err.code !== 'EEXIST') throw err;
      const holder = Number(readFileSafe(join(lock, 'pid')));
      if (holder && !isAlive(holder)) { rmSync(lock, { recursive: true, force: true }); continue; }
      if (waited % 30 === 0) log(`waiting for another install (pid ${holder || '?'}) to finish`);
      if (waited > 1800) throw new Error(`install lock ${lock} held for 30 minutes`);
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
  try { return await fn(); } finally { rmSync(lock, { recursive: true, force: true }); }
}

function readFileSafe(file) { try { return readFileSync(file, 'utf8'); } catch { return ''; } }
function isAlive(pid) { try { process.kill(pid, 0); return true; } catch (err) { return err.code === 'EPERM'; } }

/**
 * Installs code-server into the cache by hand (its own postinstall refuses root and downloads ripgrep from the
 * internet). Builds into a staging folder and renames it when complete, so an interrupted install is redone.
 */
export async function ensureCodeServer() {
  if (existsSync(doneMarker)) return entryJs;
  mkdirSync(cacheDir, { recursive: true });
  return withInstallLock(async () => {
    if (existsSync(doneMarker)) return entryJs;
    const started = Date.now();
    log(`installing code-server ${CODE_SERVER_VERSION} into ${installDir} (takes a few minutes, once)`);
    if (!onPath('make') || !onPath('g++') || !onPath('python3')) aptInstall(['build-essential', 'python3']);
    const stage = `${installDir}.staging`;
    rmSync(stage, { recursive: true, force: true });
    rmSync(installDir, { recursive: true, force: true });
    mkdirSync(stage, { recursive: true });
    // Own package.json so npm installs here and not into the repository that contains the cache.
    writeFileSync(join(stage, 'package.json'), JSON.stringify({ name: 'kv-explorer-vscode-cache', private: true }) + '\n');
    const npmFlags = ['--no-audit', '--no-fund', '--no-update-notifier', '--loglevel=error'];
    run('npm', ['install', '--ignore-scripts', ...npmFlags, `code-server@${CODE_SERVER_VERSION}`], stage);

    const codeServer = join(stage, 'node_modules', 'code-server');
    run('npm', ['rebuild', ...npmFlags, 'argon2'], stage);
    requireBuilt(join(stage, 'node_modules', 'argon2', 'lib', 'binding', 'napi-v3', 'argon2.node'));

    const vscodeDir = join(codeServer, 'lib', 'vscode');
    run('npm', ['install', '--omit=dev', '--ignore-scripts', ...npmFlags], vscodeDir);
    // node-pty's post-install step fails on npm's warnings after pty.node is built: judge by the built files.
    run('npm', ['rebuild', ...npmFlags, '@vscode/spdlog', 'native-watchdog', 'node-pty'], vscodeDir, { allowFailure: true });
    const vscodeModules = join(vscodeDir, 'node_modules');
    requireBuilt(join(vscodeModules, '@vscode', 'spdlog', 'build', 'Release', 'spdlog.node'));
    requireBuilt(join(vscodeModules, 'native-watchdog', 'build', 'Release', 'watchdog.node'));
    requireBuilt(join(vscodeModules, 'node-pty', 'build', 'Release', 'pty.node'));

    // Workbench search uses ripgrep; optional (the download in its postinstall cannot work offline).
    const rg = ['/usr/bin/rg', '/usr/local/bin/rg'].find(existsSync);
    if (rg) {
      mkdirSync(join(vscodeModules, '@vscode', 'ripgrep', 'bin'), { recursive: true });
      copyFileSync(rg, join(vscodeModules, '@vscode', 'ripgrep', 'bin', 'rg'));
    } else log('ripgrep not found: workbench search will not work (apt-get install ripgrep)');
    symlinkSync('node_modules', join(vscodeDir, 'node_modules.asar'));

    run('npm', ['install', '--omit=dev', ...npmFlags], join(vscodeDir, 'extensions'));

    writeFileSync(join(stage, '.installed'), `code-server ${CODE_SERVER_VERSION}\n`);
    renameSync(stage, installDir);
    log(`code-server installed in ${Math.round((Date.now() - started) / 1000)} s`);
    return entryJs;
  });
}

/** A free TCP port on 127.0.0.1 (asked from the OS, so parallel runs do not collide). */
export function freePort() {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolvePort(port));
    });
  });
}

/** User-data, extensions and workspace folders under `dir` (created when missing), with quiet workbench settings. */
export function profileIn(dir) {
  const profile = { dir, userDataDir: join(dir, 'user-data'), extensionsDir: join(dir, 'extensions'), workspaceDir: join(dir, 'workspace') };
  for (const d of [profile.userDataDir, profile.extensionsDir, profile.workspaceDir]) mkdirSync(d, { recursive: true });
  const settingsFile = join(profile.userDataDir, 'User', 'settings.json');
  if (!existsSync(settingsFile)) {
    // No welcome page, trust prompt, telemetry or update checks.
    mkdirSync(join(profile.userDataDir, 'User'), { recursive: true });
    writeFileSync(settingsFile, JSON.stringify({
      'workbench.startupEditor': 'none',
      'security.workspace.trust.enabled': false,
      'telemetry.telemetryLevel': 'off',
      'extensions.autoCheckUpdates': false,
      'extensions.autoUpdate': false,
      'workbench.tips.enabled': false,
    }, null, 2));
  }
  return profile;
}

/** Fresh folders so runs never see each other's state; stop() removes them. */
export function freshProfile() {
  return profileIn(mkdtempSync(join(tmpdir(), 'kv-explorer-vscode-')));
}

/**
 * Starts code-server on 127.0.0.1 and resolves when it answers HTTP.
 * env is added to code-server's environment, which its extension host inherits.
 * Returns { url, port, profile, stop() }.
 */
export async function startCodeServer({ port, env = {}, profile = freshProfile(), quiet = true } = {}) {
  const entry = await ensureCodeServer();
  port ??= await freePort();
  const args = [
    entry, '--auth', 'none', '--bind-addr', `127.0.0.1:${port}`,
    '--user-data-dir', profile.userDataDir, '--extensions-dir', profile.extensionsDir,
    '--disable-telemetry', '--disable-update-check', '--disable-workspace-trust', '--disable-getting-started-override',
  ];
  const child = spawn(codeServerNode(), args, {
    cwd: profile.dir,
    env: { ...process.env, ...env },
    stdio: ['ignore', quiet ? 'pipe' : 'inherit', quiet ? 'pipe' : 'inherit'],
    detached: false,
  });
  let output = '';
  child.stdout?.on('data', (d) => { output = (output + d).slice(-20000); });
  child.stderr?.on('data', (d) => { output = (output + d).slice(-20000); });
  // Never leave a server behind when the caller exits or is interrupted.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const exited = new Promise((r) => child.once('exit', (code, signal) => { process.off('exit', killOnExit); r({ code, signal }); }));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    const early = await Promise.race([exited, new Promise((r) => setTimeout(() => r(undefined), 250))]);
    if (early) throw new Error(`code-server exited (${early.code ?? early.signal}) before it answered:\n${output}`);
    try {
      const res = await fetch(`${url}/healthz`);
      if (res.ok) break;
    } catch { /* not listening yet */ }
    if (Date.now() > deadline) { child.kill(); throw new Error(`code-server did not answer on ${url} within 60 s:\n${output}`); }
  }
  return {
    url, port, profile, process: child,
    output: () => output,
    async stop({ keepProfile = false } = {}) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
      // The extension host may still be flushing into the profile for a moment after the server exits.
      if (!keepProfile) {
        try {
          rmSync(profile.dir, { recursive: true, force: true, maxRetries: 20, retryDelay: 100 });
        } catch (err) {
          log(`could not remove ${profile.dir}: ${err.message}`);
        }
      }
    },
  };
}

/** Workbench URL that opens `folder` and loads this repository as the extension under development. */
export function workbenchUrl(server, { folder, extensionDevelopmentPath = repoRoot, extensionTestsPath } = {}) {
  const remote = (p) => `vscode-remote://127.0.0.1:${server.port}${p}`;
  const payload = [['extensionDevelopmentPath', remote(extensionDevelopmentPath)], ['skipWelcome', 'true']];
  if (extensionTestsPath) payload.push(['extensionTestsPath', remote(extensionTestsPath)]);
  const params = new URLSearchParams({ folder: folder ?? server.profile.workspaceDir, payload: JSON.stringify(payload) });
  return `${server.url}/?${params}`;
}

/** Launches headless Chromium through playwright-core. */
export async function launchChromium({ headless = true } = {}) {
  const { chromium } = await import('playwright-core');
  return chromium.launch({ executablePath: ensureChromium(), headless, args: CHROMIUM_ARGS });
}

// CLI
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [command] = process.argv.slice(2);
  if (command === 'install') {
    ensureChromium();
    await ensureCodeServer();
    log(`ready: ${entryJs}`);
  } else {
    console.error('usage: node scripts/vscode-server.mjs install');
    process.exit(2);
  }
}

