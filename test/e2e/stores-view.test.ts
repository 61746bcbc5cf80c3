// A person opens VS Code, clicks "KV Explorer" in the activity bar and sees the Stores view with the local store.
import * as assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { openViewContainer, openWorkbench, screenshot, type Workbench } from './workbench';

describe('Stores view in the workbench', () => {
  let workbench: Workbench;

  before(async () => {
    workbench = await openWorkbench();
  });

  after(async () => {
    await workbench?.close();
  });

  it('opens from the activity bar and shows the Stores view with the local store', async () => {
    const { page } = workbench;
    await openViewContainer(page, 'KV Explorer');
    const sidebar = page.locator('#workbench\\.parts\\.sidebar');
    // With one view the container title reads "KV Explorer: Stores"; with more, "KV Explorer" over section headers.
    await sidebar.locator('.composite.title h2', { hasText: /^KV Explorer/i }).waitFor({ timeout: 30_000 });
    // With no account configured, the Stores tree shows the local store.
    const storesTree = sidebar.locator('[role="tree"][aria-label="Stores"]');
    await storesTree.locator('[role="treeitem"]', { hasText: /^Local/ }).waitFor({ timeout: 30_000 });
    // Dismiss the activity bar's tooltip so the screenshot shows the view as it rests.
    await page.mouse.move(700, 400);
    await page.keyboard.press('Escape');
    await page.locator('.workbench-hover-container').waitFor({ state: 'hidden', timeout: 5_000 });
    const file = await screenshot(page, 'stores-view');
    assert.ok(existsSync(file) && statSync(file).size > 1000, `screenshot saved to ${file}`);
  });
});
