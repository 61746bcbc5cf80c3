// A person browses the Stores tree in the workbench: expands a namespace and folders, clicks a key and reads
// its value in an editor, then filters the namespace by prefix. Screenshots go to artifacts/ (and the README).
import * as assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalStore } from '../../src/providers/local';
import { expand, foldGetStarted, openViewContainer, openWorkbenchOnLocalStore, row, screenshot, settle, sidebar, type Workbench } from './workbench';

const DAY = 24 * 3600;

/** What a small shop's KV might hold. */
async function seedLocalStore(dir: string): Promise<void> {
  const store = await LocalStore.open(dir, { sweepIntervalMs: 0 });
  try {
    const now = Math.floor(Date.now() / 1000);
    const shop = (await store.createNamespace('shop-config')).id;
    await store.createNamespace('sessions');
    await store.createNamespace('rate-limits');
    const entries: [string, string, { expiration?: number; metadata?: unknown }?][] = [
      ['config/app.json', JSON.stringify({ name: 'Shop', currency: 'EUR', maintenance: false }, null, 2)],
      ['config/routes.yaml', 'home: /\ncheckout: /cart/checkout\n'],
      ['config/theme.css', ':root { --brand: #f38020; }\n'],
      ['feature-flags/checkout-v2', 'true', { expiration: now + 3 * DAY, metadata: { owner: 'payments' } }],
      ['feature-flags/dark-mode', 'false', { metadata: { owner: 'web' } }],
      ['feature-flags/new-search', 'true', { expiration: now + 5 * 3600 }],
      ['users/42/profile', JSON.stringify({ id: 42, name: 'Ada Lovelace', plan: 'pro' }, null, 2), { metadata: { plan: 'pro' } }],
      ['users/42/settings', JSON.stringify({ theme: 'dark', locale: 'en-GB' }, null, 2)],
      ['users/42/avatar.png', '\u0089PNG'],
      ['users/7/profile', JSON.stringify({ id: 7, name: 'Grace Hopper', plan: 'team' }, null, 2)],
      ['users/7/settings', JSON.stringify({ theme: 'light' }, null, 2)],
      ['README.md', '# shop-config\nConfiguration read by the storefront worker.\n'],
      ['maintenance.html', '<h1>Back soon</h1>\n'],
    ];
    for (const [key, value, options] of entries) await store.put(shop, key, value, options);
  } finally {
    await store.close();
  }
}

describe('Stores tree in the workbench', () => {
  let workbench: Workbench;
  let root: string;

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'kv-tree-e2e-'));
    const storeDir = join(root, 'store');
    const folder = join(root, 'shop');
    await seedLocalStore(storeDir);
    workbench = await openWorkbenchOnLocalStore(folder, storeDir);
  });

  after(async () => {
    await workbench?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('expands a namespace and folders, and a click on a key opens its value', async () => {
    const { page } = workbench;
    await openViewContainer(page, 'KV Explorer');
    // Give the tree the sidebar's height: fold the Get Started section (as a user who has read it would).
    await foldGetStarted(page);
    await expand(page, 'Local');
    await expand(page, 'shop-config');
    await expand(page, 'users');
    await expand(page, '42');
    await expand(page, 'feature-flags');
    await row(page, 'checkout-v2').waitFor();
    await row(page, 'profile').first().click();
    const editor = page.locator('.editor-instance .monaco-editor .view-lines');
    await page.locator('.tabs-container .tab.active', { hasText: 'profile' }).waitFor({ timeout: 30_000 });
    await editor.filter({ hasText: 'Ada Lovelace' }).waitFor({ timeout: 30_000 });
    await settle(page);
    await screenshot(page, 'tree-nested');
  });

  it('shows a key\'s full name, expiration and metadata in its tooltip', async () => {
    const { page } = workbench;
    await row(page, 'checkout-v2').hover();
    const hover = page.locator('.monaco-hover:visible, .workbench-hover-container:visible').first();
    await hover.waitFor({ timeout: 10_000 });
    await hover.filter({ hasText: 'feature-flags/checkout-v2' }).waitFor({ timeout: 5_000 });
    await hover.filter({ hasText: '"owner": "payments"' }).waitFor({ timeout: 5_000 });
    await page.waitForTimeout(300);
    await screenshot(page, 'tree-tooltip');
    await settle(page);
  });

  it('filters a namespace by prefix from its inline action', async () => {
    const { page } = workbench;
    await page.keyboard.press('Control+K');
    await page.keyboard.press('W'); // close editors so the tree has the stage
    const namespace = row(page, 'shop-config');
    await namespace.hover();
    await namespace.locator('.actions .action-label[aria-label="Filter by Prefix…"]').click();
    const input = page.locator('.quick-input-widget input');
    await input.waitFor({ timeout: 10_000 });
    await input.fill('feature-flags/');
    await input.press('Enter');
    await sidebar(page).locator('.label-description', { hasText: 'prefix: feature-flags/' }).waitFor({ timeout: 10_000 });
    await row(page, 'feature-flags/checkout-v2').waitFor({ timeout: 10_000 });
    assert.equal(await row(page, 'users').count(), 0, 'folders outside the filter are hidden');
    await settle(page);
    await screenshot(page, 'tree-filter');
  });
});
