// A person edits a value: clicks a key in the Stores tree, types, presses Ctrl+S, and the store holds the new
// text. Then someone else changes the key, and the next Ctrl+S asks instead of overwriting.
import * as assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { LocalStore } from '../../src/providers/local';
import { expand, foldGetStarted, openViewContainer, openWorkbenchOnLocalStore, row, screenshot, settle, type Workbench } from './workbench';

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

/** Not valid UTF-8 (a PNG signature and stray bytes): a text editor gets the read-only hex view instead. */
const BINARY_VALUE = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0xff, 0xfe]);

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
      await store.put(namespaceId, 'blobs/header.bin', BINARY_VALUE);
    } finally {
      await store.close();
    }
    const folder = join(root, 'workspace');
    workbench = await openWorkbenchOnLocalStore(folder, storeDir);
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

  it('opens a binary value as a read-only hex view that typing cannot change', async () => {
    const { page } = workbench;
    await expand(page, 'blobs');
    await row(page, 'header.bin').click();
    await activeTab(page).filter({ hasText: 'header.bin (hex)' }).waitFor({ timeout: 30_000 });
    const lines = page.locator('.editor-instance .view-lines', { hasText: '89 50 4e 47' });
    await lines.waitFor({ timeout: 30_000 });
    await typeAtEnd(page, 'typed');
    await page.locator('.monaco-editor-overlaymessage', { hasText: 'read-only' }).waitFor({ timeout: 10_000 });
    await settle(page);
    await screenshot(page, 'editing-binary');
    assert.doesNotMatch((await lines.textContent()) ?? '', /typed/);
    assert.doesNotMatch((await activeTab(page).getAttribute('class')) ?? '', /\bdirty\b/);
    const store = await LocalStore.open(storeDir, { sweepIntervalMs: 0 });
    try {
      assert.deepEqual((await store.get(namespaceId, 'blobs/header.bin'))?.value, BINARY_VALUE);
    } finally {
      await store.close();
    }
  });
});
