// Runs the test rooms and prints one closing line `N passed, N failed` summed over them.
// Usage: node scripts/test.mjs                          typecheck + build + unit, reliability, integration, e2e
//        node scripts/test.mjs <room...> [--grep TEXT]  build + the named rooms only
// Rooms: unit and reliability run under plain mocha in Node; integration runs mocha inside a real VS Code
// extension host (desktop VS Code via @vscode/test-electron when VSCODE_EXECUTABLE_PATH is set, else code-server
// opened in Chromium); e2e runs plain mocha whose tests drive the workbench in Chromium (test/e2e/workbench.ts).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { format } from 'node:util';
import { join } from 'node:path';
import { ensureChromium, ensureCodeServer, freshProfile, launchChromium, repoRoot, startCodeServer, workbenchUrl } from './vscode-server.mjs';

const ROOMS = ['unit', 'reliability', 'integration', 'e2e'];
const COUNTS_FILE_ENV = 'KV_TEST_COUNTS_FILE'; // read by test/support/count-reporter.ts
const TESTS_MODULE_BANNER = 'KV Explorer tests in VS Code'; // first line test/integration/index.ts logs
const INTEGRATION_TIMEOUT_MS = Number(process.env.KV_TEST_INTEGRATION_TIMEOUT_MS || 20 * 60_000);
const outTest = join(repoRoot, 'out', 'test');
const color = process.stdout.isTTY && !process.env.NO_COLOR;

function parseArgs(argv) {
  const rooms = [];
  let grep;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--grep' || arg === '-g') grep = argv[++i];
    else if (arg.startsWith('--grep=')) grep = arg.slice('--grep='.length);
    else if (ROOMS.includes(arg)) rooms.push(arg);
    else {
      console.error(`unknown argument ${arg}\nusage: node scripts/test.mjs [${ROOMS.join('|')}...] [--grep TEXT]`);
      process.exit(2);
    }
  }
  return { rooms: rooms.length ? rooms : ROOMS, all: rooms.length === 0, grep };
}

function banner(text) {
  console.log(`\n${color ? '\x1b[1m' : ''}=== ${text} ===${color ? '\x1b[0m' : ''}`);
}

function findFiles(dir, keep) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter(keep).sort().map((f) => join(dir, f));
}

/** A step that is not a test (typecheck, build): counts as one failure when it fails. */
function step(name, command, args) {
  banner(name);
  const result = spawnSync(command, args, { cwd: repoRoot, stdio: 'inherit' });
  const ok = result.status === 0;
  if (!ok) console.log(`${name} failed (exit ${result.status ?? result.signal})`);
  return ok;
}

function newCountsFile() {
  const dir = mkdtempSync(join(tmpdir(), 'kv-explorer-counts-'));
  return { path: join(dir, 'counts.json'), dispose: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Counts written by the reporter; a run that ended badly without failing tests still counts as one failure. */
function readCounts(countsFile, runFailed, what) {
  let counts = { passed: 0, failed: 0 };
  try { counts = JSON.parse(readFileSync(countsFile.path, 'utf8')); } catch { /* the run ended before mocha finished */ }
  countsFile.dispose();
  if (runFailed && counts.failed === 0) {
    console.log(`${what} ended with an error outside any test; counted as 1 failure`);
    counts.failed = 1;
  }
  return { passed: counts.passed, failed: counts.failed };
}

/** A room that does not end by itself (a leaked server or timer keeps Node alive) is stopped after this long. */
const ROOM_TIME_LIMIT_MS = Number(process.env.KV_TEST_ROOM_TIME_LIMIT_MS || 30 * 60_000);

function runPlainMocha(files, { grep, timeout }) {
  const countsFile = newCountsFile();
  const args = [join(repoRoot, 'node_modules', 'mocha', 'bin', 'mocha.js'),
    '--reporter', join(outTest, 'support', 'count-reporter.js'), '--timeout', String(timeout), ...(color ? ['--color'] : [])];
  if (grep) args.push('--grep', grep);
  const result = spawnSync(process.execPath, [...args, ...files], {
    cwd: repoRoot, stdio: 'inherit', env: { ...process.env, [COUNTS_FILE_ENV]: countsFile.path },
    timeout: ROOM_TIME_LIMIT_MS, killSignal: 'SIGKILL',
  });
  if (result.signal) console.log(`mocha was stopped (${result.signal}) after ${ROOM_TIME_LIMIT_MS / 1000} s: something kept it running`);
  return readCounts(countsFile, result.status !== 0, 'mocha');
}

const isVscodeTest = (f) => f.endsWith('.vscode.test.js');
const roomFiles = {
  unit: () => findFiles(join(outTest, 'unit'), (f) => f.endsWith('.test.js')),
  reliability: () => findFiles(join(outTest, 'reliability'), (f) => f.endsWith('.test.js') && !isVscodeTest(f)),
  integration: () => [
    ...findFiles(join(outTest, 'integration'), (f) => f.endsWith('.test.js')),
    ...findFiles(join(outTest, 'reliability'), isVscodeTest),
  ],
  e2e: () => findFiles(join(outTest, 'e2e'), (f) => f.endsWith('.test.js')),
};

async function runRoom(room, grep) {
  const files = roomFiles[room]();
  if (files.length === 0) {
    console.log(`no ${room} test files yet`);
    return { passed: 0, failed: 0 };
  }
  if (room === 'unit' || room === 'reliability') return runPlainMocha(files, { grep, timeout: 20_000 });
  if (room === 'integration' && process.env.VSCODE_EXECUTABLE_PATH) return runIntegrationDesktop(grep);
  // Install before mocha starts, so a first install does not eat the tests' time.
  ensureChromium();
  await ensureCodeServer();
  if (room === 'e2e') return runPlainMocha(files, { grep, timeout: 180_000 });
  return runIntegrationInCodeServer(grep);
}

/** Environment the tests module (test/integration/index.ts) reads inside the extension host. */
function extensionHostEnv(grep, countsFile) {
  return { [COUNTS_FILE_ENV]: countsFile.path, KV_TEST_GREP: grep ?? '', KV_TEST_COLOR: color ? '1' : '' };
}

/** Desktop VS Code (Electron) through @vscode/test-electron: for developers who have one installed. */
async function runIntegrationDesktop(grep) {
  const { runTests } = await import('@vscode/test-electron');
  const countsFile = newCountsFile();
  const profile = freshProfile();
  let failed = false;
  try {
    await runTests({
      vscodeExecutablePath: process.env.VSCODE_EXECUTABLE_PATH,
      extensionDevelopmentPath: repoRoot,
      extensionTestsPath: join(outTest, 'integration', 'index.js'),
      extensionTestsEnv: extensionHostEnv(grep, countsFile),
      launchArgs: [profile.workspaceDir, '--disable-extensions', '--disable-workspace-trust',
        `--user-data-dir=${profile.userDataDir}`, `--extensions-dir=${profile.extensionsDir}`],
    });
  } catch (err) {
    console.log(String(err?.message ?? err));
    failed = true;
  } finally {
    rmSync(profile.dir, { recursive: true, force: true });
  }
  return readCounts(countsFile, failed, 'VS Code');
}

/**
 * code-server + Chromium: the workbench loads the `payload` (extension under development + tests module), the
 * extension host runs `run()`, and the workbench calls codeAutomationExit(0|1) when it settles.
 */
async function runIntegrationInCodeServer(grep) {
  const countsFile = newCountsFile();
  const server = await startCodeServer({ env: extensionHostEnv(grep, countsFile) });
  let browser;
  let exitCode;
  try {
    browser = await launchChromium();
    const page = await browser.newPage();
    if (process.env.KV_TEST_VERBOSE) page.on('console', (msg) => console.log(`[workbench ${msg.type()}] ${msg.text()}`));
    let settle;
    const exited = new Promise((resolve) => { settle = resolve; });
    // The workbench's own start-up log is noise next to mocha's output: hold it back until the tests module
    // announces itself (or show it when the run fails before that, or always with KV_TEST_VERBOSE=1).
    let testsStarted = Boolean(process.env.KV_TEST_VERBOSE);
    const heldBack = [];
    await page.exposeFunction('codeAutomationLog', (type, message) => {
      const text = Array.isArray(message) ? format(...message) : String(message ?? '');
      if (!testsStarted && text.includes(TESTS_MODULE_BANNER)) testsStarted = true;
      if (testsStarted) console.log(text);
      else heldBack.push(`[workbench ${type}] ${text}`);
    });
    await page.exposeFunction('codeAutomationExit', (code) => settle(code));
    page.on('crash', () => settle('the workbench page crashed'));
    browser.on('disconnected', () => settle('Chromium went away'));
    await page.goto(workbenchUrl(server, { extensionTestsPath: join(outTest, 'integration', 'index.js') }));
    const timer = setTimeout(() => settle(`VS Code did not finish the tests within ${INTEGRATION_TIMEOUT_MS / 1000} s`), INTEGRATION_TIMEOUT_MS);
    exitCode = await exited;
    clearTimeout(timer);
    if (typeof exitCode === 'string') console.log(exitCode);
    if (!testsStarted) console.log(`the tests module never started; workbench log:\n${heldBack.join('\n')}`);
  } finally {
    await browser?.close();
    await server.stop();
  }
  if (exitCode !== 0 && process.env.KV_TEST_VERBOSE) console.log(`code-server output:\n${server.output()}`);
  return readCounts(countsFile, exitCode !== 0, 'VS Code');
}

async function main() {
  const { rooms, all, grep } = parseArgs(process.argv.slice(2));
  const results = [];
  let stepFailures = 0;
  if (all && !step('typecheck', process.execPath, [join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc'), '--noEmit', '-p', '.'])) stepFailures++;
  const built = step('build', process.execPath, [join(repoRoot, 'scripts', 'build.mjs')]);
  if (!built) stepFailures++;
  for (const room of rooms) {
    if (!built) break;
    banner(`${room} tests${grep ? ` (grep: ${grep})` : ''}`);
    const started = Date.now();
    let counts;
    try {
      counts = await runRoom(room, grep);
    } catch (err) {
      console.log(`${room} room could not run: ${err?.stack ?? err}`);
      counts = { passed: 0, failed: 1 };
    }
    results.push({ room, ...counts, seconds: (Date.now() - started) / 1000 });
  }

  banner('summary');
  if (stepFailures) console.log(`  typecheck/build failures: ${stepFailures}`);
  for (const r of results) console.log(`  ${r.room.padEnd(12)} passed ${String(r.passed).padStart(4)}   failed ${String(r.failed).padStart(3)}   (${r.seconds.toFixed(1)} s)`);
  const passed = results.reduce((n, r) => n + r.passed, 0);
  const failed = results.reduce((n, r) => n + r.failed, 0) + stepFailures;
  console.log(`${passed} passed, ${failed} failed`);
  process.exitCode = failed > 0 ? 1 : 0;
}

await main();
