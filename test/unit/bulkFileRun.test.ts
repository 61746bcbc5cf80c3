// Bulk runs (import, folder delete, upload) over real stores: a finished run accounts for every key, and a
// cancelled or failed one says exactly which keys were written, which were in flight, and which were never sent.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeOutcome, runBulkDelete, runBulkPut, summarizeOutcome, type BulkRunOutcome } from '../../src/core/bulkRun';
import type { BulkPutEntry, BulkProgress, KvStore } from '../../src/core/store';
import { CloudflareStore } from '../../src/providers/cloudflare';
import { LocalStore } from '../../src/providers/local';
import { startCloudflareServer, type CloudflareServer } from '../../src/server';

function entries(count: number, prefix = 'k'): BulkPutEntry[] {
  return Array.from({ length: count }, (_, i) => ({ key: `${prefix}/${String(i).padStart(6, '0')}`, value: `v${i}` }));
}

async function existing(store: KvStore, namespaceId: string): Promise<Set<string>> {
  const keys = new Set<string>();
  let cursor: string | undefined;
  for (;;) {
    const page = await store.list(namespaceId, { cursor });
    for (const key of page.keys) keys.add(key.name);
    if (page.complete || !page.cursor) return keys;
    cursor = page.cursor;
  }
}

/** Every key is in exactly one bucket. */
function assertAccountedFor(outcome: BulkRunOutcome, keys: string[]): void {
  const buckets = [outcome.written, outcome.failed.map((f) => f.key), outcome.uncertain, outcome.notAttempted];
  const all = buckets.flat();
  assert.equal(all.length, keys.length, `each key once: ${buckets.map((b) => b.length).join('/')}`);
  assert.deepEqual(new Set(all), new Set(keys));
}

describe('bulk runs: segments, progress, cancel and failure accounting', function () {
  this.timeout(120_000);
  let dir: string;
  let local: LocalStore;
  let server: CloudflareServer;
  let backing: LocalStore;
  let backingDir: string;
  let cloudflare: CloudflareStore;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kv-bulkrun-'));
    local = await LocalStore.open(dir, { sweepIntervalMs: 0 });
    backingDir = mkdtempSync(join(tmpdir(), 'kv-bulkrun-cf-'));
    backing = await LocalStore.open(backingDir, { sweepIntervalMs: 0 });
    server = await startCloudflareServer({ store: backing, token: 'bulk-run-token-1234', accountId: 'acc' });
    cloudflare = new CloudflareStore({ baseUrl: server.baseUrl, accountId: 'acc', auth: { token: 'bulk-run-token-1234' } });
  });

  after(async () => {
    await cloudflare?.close();
    await server?.close();
    await backing?.close();
    await local?.close();
    rmSync(dir, { recursive: true, force: true });
    rmSync(backingDir, { recursive: true, force: true });
  });

  it('writes everything in provider-sized segments, with progress that only grows', async () => {
    const { id } = await local.createNamespace('all');
    const input = entries(25_000);
    const progress: BulkProgress[] = [];
    const outcome = await runBulkPut(local, id, input, { onProgress: (p) => progress.push(p) });
    assert.equal(outcome.written.length, 25_000);
    assert.deepEqual(outcome.written, input.map((entry) => entry.key), 'in input order');
    assert.equal(outcome.cancelled, false);
    assert.equal((await existing(local, id)).size, 25_000);
    assert.deepEqual(progress[0], { done: 0, total: 25_000 });
    assert.deepEqual(progress.at(-1), { done: 25_000, total: 25_000 });
    for (let i = 1; i < progress.length; i++) assert.ok(progress[i].done >= progress[i - 1].done, 'progress never goes back');
    assert.equal(summarizeOutcome(outcome), '25000 written');
  });

  it('cancelled between segments (local store): exactly the finished segments are written', async () => {
    const { id } = await local.createNamespace('cancel');
    const input = entries(30_000);
    const controller = new AbortController();
    const outcome = await runBulkPut(local, id, input, {
      signal: controller.signal,
      onProgress: ({ done }) => {
        if (done >= 10_000) controller.abort();
      },
    });
    assert.equal(outcome.cancelled, true);
    assertAccountedFor(outcome, input.map((entry) => entry.key));
    const stored = await existing(local, id);
    assert.deepEqual(new Set(outcome.written), stored, 'written means stored, and nothing else is');
    assert.equal(outcome.uncertain.length, 0, 'the local store stops by itself between transactions: nothing is in doubt');
    assert.ok(outcome.written.length >= 10_000 && outcome.written.length < 30_000, String(outcome.written.length));
    for (const key of outcome.notAttempted) assert.ok(!stored.has(key));
    const report = describeOutcome(outcome);
    assert.match(report, /cancelled/);
    assert.match(report, /Not attempted \(\d+\):\n {2}"k\/0\d+"/);
  });

  it('cancelled mid-request (Cloudflare): the segment in flight is uncertain, the rest untouched, the written ones stored', async () => {
    const { id } = await backing.createNamespace('cf-cancel');
    const input = entries(2_000);
    const controller = new AbortController();
    let segments = 0;
    const outcome = await runBulkPut(cloudflare, id, input, {
      segmentSize: 500,
      signal: controller.signal,
      onProgress: ({ done }) => {
        // Abort while the second segment's request is on its way.
        if (done >= 500 && segments++ === 0) setImmediate(() => controller.abort());
      },
    });
    assert.equal(outcome.cancelled, true);
    assertAccountedFor(outcome, input.map((entry) => entry.key));
    const stored = await existing(backing, id);
    for (const key of outcome.written) assert.ok(stored.has(key), `${key} is written`);
    for (const key of outcome.notAttempted) assert.ok(!stored.has(key), `${key} was never sent`);
    assert.ok(outcome.written.length >= 500, 'the first segment finished');
    assert.ok(outcome.notAttempted.length > 0, 'later segments were not sent');
    assert.equal(outcome.uncertain.length, 500, 'exactly the segment in flight is in doubt');
    assert.equal(outcome.written.length + outcome.uncertain.length + outcome.notAttempted.length, 2_000, 'nothing failed');
  });

  it('a cancel that arrives after the store confirmed its whole segment leaves nothing in doubt', async () => {
    const { id } = await backing.createNamespace('cf-cancel-confirmed');
    const input = entries(1_000);
    const controller = new AbortController();
    const outcome = await runBulkPut(cloudflare, id, input, {
      segmentSize: 500,
      signal: controller.signal,
      onProgress: ({ done }) => {
        if (done === 500) controller.abort(); // the provider then throws 'cancelled' for a segment it had finished
      },
    });
    assert.equal(outcome.cancelled, true);
    assert.equal(outcome.written.length, 500);
    assert.equal(outcome.uncertain.length, 0);
    assert.equal(outcome.notAttempted.length, 500);
    assert.deepEqual(await existing(backing, id), new Set(outcome.written));
  });

  it('stops at the first segment the store refuses, and says so for every key', async () => {
    const input = entries(1_200);
    const outcome = await runBulkPut(cloudflare, 'no-such-namespace', input, { segmentSize: 500 });
    assert.match(outcome.stoppedBy ?? '', /namespace/i);
    assert.equal(outcome.written.length, 0);
    assert.equal(outcome.failed.length, 500);
    assert.equal(outcome.notAttempted.length, 700);
    assert.equal(outcome.failed[0].error, outcome.stoppedBy);
    assertAccountedFor(outcome, input.map((entry) => entry.key));
  });

  it('deletes in segments too, and a cancel leaves the untouched keys in place', async () => {
    const { id } = await local.createNamespace('delete');
    const input = entries(5_000);
    await runBulkPut(local, id, input);
    const keys = input.map((entry) => entry.key);
    const controller = new AbortController();
    const outcome = await runBulkDelete(local, id, keys, {
      segmentSize: 1_000,
      signal: controller.signal,
      onProgress: ({ done }) => {
        if (done >= 2_000) controller.abort();
      },
    });
    assertAccountedFor(outcome, keys);
    const left = await existing(local, id);
    assert.equal(left.size, 5_000 - outcome.written.length);
    for (const key of outcome.written) assert.ok(!left.has(key));
    for (const key of outcome.notAttempted) assert.ok(left.has(key));
    assert.equal(summarizeOutcome(outcome, 'deleted').startsWith(`${outcome.written.length} deleted`), true);
  });
});
