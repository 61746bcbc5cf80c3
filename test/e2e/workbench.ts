// e2e helper: starts code-server with this extension loaded and opens the workbench in Chromium, as a person would.
//   const workbench = await openWorkbench({ folder, env });   // ... workbench.page is a playwright-core Page
//   await screenshot(workbench.page, 'stores-view');          // artifacts/stores-view.png
//   await workbench.close();
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser, Locator, Page } from 'playwright-core';

export const repoRoot = resolve(__dirname, '..', '..', '..'); // out/test/e2e -> repository root
export const artifactsDir = join(repoRoot, 'artifacts');

interface CodeServer {
  url: string;
  port: number;
  profile: { dir: string; workspaceDir: string };
  output(): string;
  stop(): Promise<void>;
}

/** The parts of scripts/vscode-server.mjs used by e2e tests (an ES module, so loaded with import()). */
export interface VscodeServerModule {
  startCodeServer(options: { env?: Record<string, string> }): Promise<CodeServer>;
  workbenchUrl(server: CodeServer, options: { folder?: string }): string;
  launchChromium(): Promise<Browser>;
  /** Installs code-server when needed; resolves to its CLI script. */
  ensureCodeServer(): Promise<string>;
  /** The Node 20 binary that runs code-server and its extension host. */
  codeServerNode(): string;
}

export function loadVscodeServer(): Promise<VscodeServerModule> {
  return import(pathToFileURL(join(repoRoot, 'scripts', 'vscode-server.mjs')).href);
}

export interface Workbench {
  page: Page;
  url: string;
  /** The folder the workbench opened (a fresh empty one unless `folder` was given). */
  folder: string;
  /** code-server's recent output, for failure messages. */
  serverOutput(): string;
  close(): Promise<void>;
}

export interface OpenWorkbenchOptions {
  /** Folder to open; default a fresh empty folder. */
  folder?: string;
  /** Extra environment for code-server, which the extension host (and so the extension) inherits. */
  env?: Record<string, string>;
}

export async function openWorkbench({ folder, env }: OpenWorkbenchOptions = {}): Promise<Workbench> {
  const vscodeServer = await loadVscodeServer();
  const server = await vscodeServer.startCodeServer({ env });
  let browser: Browser | undefined;
  try {
    browser = await vscodeServer.launchChromium();
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const url = vscodeServer.workbenchUrl(server, { folder });
    await page.goto(url);
    // The workbench is usable once the activity bar has its items.
    await page.locator('.activitybar .action-item').first().waitFor({ timeout: 60_000 });
    const openedBrowser = browser;
    return {
      page,
      url,
      folder: folder ?? server.profile.workspaceDir,
      serverOutput: () => server.output(),
      async close() {
        await openedBrowser.close();
        await server.stop();
      },
    };
  } catch (err) {
    await browser?.close();
    await server.stop();
    throw err;
  }
}

/** Clicks an activity-bar item (view container) by its title, e.g. 'KV Explorer'. */
export async function openViewContainer(page: Page, title: string): Promise<void> {
  await page.locator(`.activitybar .action-item a[aria-label^="${title}"]`).click();
}

/** Saves a PNG of what the user sees into artifacts/<name>.png and returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(artifactsDir, { recursive: true });
  const file = join(artifactsDir, `${name}.png`);
  await page.screenshot({ path: file });
  return file;
}

// ------------------------------------------------------------------ the Stores tree, as a person sees it

export function sidebar(page: Page): Locator {
  return page.locator('#workbench\\.parts\\.sidebar');
}

/** The row of a tree item in the Stores view, by its label. */
export function row(page: Page, label: string): Locator {
  const exactly = new RegExp(`^${label.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);
  return sidebar(page).locator('[role="tree"][aria-label="Stores"] [role="treeitem"]', { has: page.locator('.label-name', { hasText: exactly }) });
}

/** Clicks a collapsed tree item open and waits until it is expanded. */
export async function expand(page: Page, label: string): Promise<void> {
  const item = row(page, label).first();
  await item.waitFor({ timeout: 30_000 });
  if ((await item.getAttribute('aria-expanded')) !== 'true') await item.click();
  for (let i = 0; i < 50; i++) {
    if ((await item.getAttribute('aria-expanded')) === 'true') return;
    await page.waitForTimeout(100);
  }
  throw new Error(`tree item ${await item.getAttribute('aria-label')} did not expand`);
}

/** Folds the Get Started section so the Stores tree has the sidebar's height. */
export async function foldGetStarted(page: Page): Promise<void> {
  const getStarted = sidebar(page).locator('.pane-header', { hasText: /Get Started/i });
  await getStarted.waitFor({ timeout: 30_000 });
  if ((await getStarted.getAttribute('aria-expanded')) === 'true') await getStarted.click();
}

/** Moves the mouse off the tree and closes hovers, so screenshots show the view at rest. */
export async function settle(page: Page): Promise<void> {
  await page.mouse.move(900, 700);
  await page.keyboard.press('Escape');
  await page.waitForTimeout(400);
}

/** Opens the workbench on a workspace folder whose settings point the Local connection at `storeDir`. */
export async function openWorkbenchOnLocalStore(folder: string, storeDir: string): Promise<Workbench> {
  mkdirSync(join(folder, '.vscode'), { recursive: true });
  writeFileSync(join(folder, '.vscode', 'settings.json'), JSON.stringify({ 'kvExplorer.localStore.path': storeDir }, null, 2));
  return openWorkbench({ folder });
}
