// A person edits a value: clicks a key in the Stores tree, types, presses Ctrl+S, and the store holds the new
// text. Then someone else changes the key, and the next Ctrl+S asks instead of overwriting.
import * as assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { LocalStore } from '../../src/providers/local';
import { expand, foldGetStarted, openViewContainer, openWorkbench, row, screenshot, settle, type Workbench } from './workbench';

/** Reads a key through a second handle on the same LMDB directory: a fresh read, not the extension's cache. */
async function readValue(storeDir: string, namespaceId: string, key: string): Promise<string | undefined> {
  const store = await LocalStore.open(storeDir, { sweepIntervalMs: 0 });
  try {
    const entry = await store.get(namespaceId, key);
    return entry && Buffer.from(entry.value).toString('utf8');
  } finally {
    await store.close();
  }
}

async function writeValue(storeDir: string, namespaceId: string, key: string, value: string): Promise<void> {
  const store = await LocalStore.open(storeDir, { sweepIntervalMs: 0 });
  try {
    await store.put(namespaceId, key, value);
  } finally {
    await store.close();
  }
}

async function typeAtEnd(page: Page, text: string): Promise<void> {
  await page.locator('.editor-instance .monaco-editor .view-lines').click();
  await page.keyboard.press('Control+End');
  await page.keyboard.type(text);
}

function activeTab(page: Page) {
  return page.locator('.tabs-container .tab.active');
}

async function waitUntil(check: () => Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  assert.fail(`timed out waiting for ${what}`);
}

describe('editing a value in the workbench', () => {
  let workbench: Workbench;
  let root: string;
  let storeDir: string;
  let namespaceId: string;

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'kv-edit-e2e-'));
    storeDir = join(root, 'store');
    const store = await LocalStore.open(storeDir, { sweepIntervalMs: 0 });
    try {
      namespaceId = (await store.createNamespace('notes')).id;
      await store.put(namespaceId, 'lists/groceries.md', '# Groceries\n- bread\n');
    } finally {
      await store.close();
    }
    const folder = join(root, 'workspace');
    mkdirSync(join(folder, '.vscode'), { recursive: true });
    writeFileSync(join(folder, '.vscode', 'settings.json'), JSON.stringify({ 'kvExplorer.localStore.path': storeDir }, null, 2));
    workbench = await openWorkbench({ folder });
  });

  after(async () => {
    await workbench?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('clicks a key, types, saves with Ctrl+S, and a fresh read sees the new value', async () => {
    const { page } = workbench;
    await openViewContainer(page, 'KV Explorer');
    await foldGetStarted(page);
    await expand(page, 'Local');
    await expand(page, 'notes');
    await expand(page, 'lists');
    await row(page, 'groceries.md').click();
    await activeTab(page).filter({ hasText: 'groceries.md' }).waitFor({ timeout: 30_000 });
    await page.locator('.editor-instance .view-lines', { hasText: 'bread' }).waitFor({ timeout: 30_000 });
    await typeAtEnd(page, '- milk\n');
    await page.locator('.editor-instance .view-lines', { hasText: 'milk' }).waitFor({ timeout: 10_000 });
    await page.keyboard.press('Control+S');
    await waitUntil(async () => (await readValue(storeDir, namespaceId, 'lists/groceries.md')) === '# Groceries\n- bread\n- milk\n', 'the saved value in the store');
    await waitUntil(async () => !(await activeTab(page).getAttribute('class'))?.includes('dirty'), 'the tab to be clean');
    await settle(page);
    await screenshot(page, 'editing-saved');
  });

  it('asks before overwriting a change made elsewhere, and Cancel keeps the editor dirty', async () => {
    const { page } = workbench;
    await typeAtEnd(page, '- eggs\n');
    await writeValue(storeDir, namespaceId, 'lists/groceries.md', '# Groceries\n- bread\n- milk\n- coffee (from the phone)\n');
    await page.keyboard.press('Control+S');
    const dialog = page.locator('.monaco-dialog-box');
    await dialog.filter({ hasText: 'changed in the store since you opened it' }).waitFor({ timeout: 20_000 });
    await page.waitForTimeout(300);
    await screenshot(page, 'editing-conflict');
    await dialog.locator('.monaco-button', { hasText: 'Cancel' }).click();
    await dialog.waitFor({ state: 'hidden', timeout: 10_000 });
    await page.locator('.editor-instance .view-lines', { hasText: 'eggs' }).waitFor({ timeout: 10_000 });
    await waitUntil(async () => /\bdirty\b/.test((await activeTab(page).getAttribute('class')) ?? ''), 'the tab to show unsaved changes');
    assert.equal(await readValue(storeDir, namespaceId, 'lists/groceries.md'), '# Groceries\n- bread\n- milk\n- coffee (from the phone)\n');
  });

  it('shows why the save failed with a Retry, which asks again, and Overwrite stores the editor text', async () => {
    const { page } = workbench;
    const notice = page.locator('.notifications-toasts .notification-toast', { hasText: 'changed in the store since you opened it' });
    await notice.waitFor({ timeout: 20_000 });
    await page.waitForTimeout(500); // the toast slides in
    await screenshot(page, 'editing-save-failed');
    await notice.locator('.monaco-button', { hasText: 'Retry' }).click();
    const dialog = page.locator('.monaco-dialog-box').filter({ hasText: 'changed in the store since you opened it' });
    await dialog.waitFor({ timeout: 20_000 });
    await dialog.locator('.monaco-button', { hasText: 'Overwrite' }).click();
    await waitUntil(async () => (await readValue(storeDir, namespaceId, 'lists/groceries.md')) === '# Groceries\n- bread\n- milk\n- eggs\n', 'the overwritten value in the store');
    await waitUntil(async () => !/\bdirty\b/.test((await activeTab(page).getAttribute('class')) ?? ''), 'the tab to be clean');
  });
});
