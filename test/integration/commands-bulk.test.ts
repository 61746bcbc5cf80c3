// Bulk commands in a real VS Code, against the Local store and the project's Cloudflare-dialect server:
// import (checked whole first; progress, cancel, failure accounting), export (namespace and folder), the
// 20k-key import → export → import round trip, and files uploaded as values and downloaded back.
import * as assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BulkFileItem } from '../../src/core/bulkFile';
import type { KvStore } from '../../src/core/store';
import type { KvExplorerApi } from '../../src/vscode/api';
import type { ExportResult, ImportResult } from '../../src/vscode/commands/bulk';
import type { UploadResult } from '../../src/vscode/commands/transfer';
import { activateApi, BACKENDS, cloudflareBackend, keysOf, RecordingPrompter, rejectsWith, run, tempDir, text, type Backend } from './commandsSupport';

const now = () => Math.floor(Date.now() / 1000);

function writeJson(path: string, items: unknown[]): string {
  writeFileSync(path, JSON.stringify(items));
  return path;
}

/** A file's entries by key, parsed back from JSON. */
function entriesOf(path: string): Map<string, BulkFileItem> {
  const items = JSON.parse(readFileSync(path, 'utf8')) as BulkFileItem[];
  return new Map(items.map((item) => [item.key, item]));
}

/** 20k keys with binary values, text, unicode and odd names, metadata and (absolute) expirations. */
function roundTripItems(count: number): BulkFileItem[] {
  const expiresAt = now() + 7 * 86_400;
  return Array.from({ length: count }, (_, i) => {
    const key = i % 11 === 0 ? `odd names/ü ${i}/?#%20 ${'x'.repeat(i % 5)}` : `k/${String(i).padStart(6, '0')}`;
    const item: BulkFileItem =
      i % 3 === 0
        ? { key, value: randomBytes(i % 97).toString('base64'), base64: true }
        : { key, value: `value ${i} ✓ "quoted" \\ \u0000 ${'é'.repeat(i % 9)}` };
    if (i % 4 === 0) item.metadata = { i, tags: ['a', i % 2 === 0], nested: { n: null } };
    if (i % 5 === 0) item.expiration = expiresAt + i;
    return item;
  });
}

/** The same entry: bytes of the value, metadata and expiration, whatever text/base64 form each file chose. */
function assertSameEntries(actual: Map<string, BulkFileItem>, expected: Map<string, BulkFileItem>): void {
  assert.equal(actual.size, expected.size, 'as many entries');
  const bytes = (item: BulkFileItem) => (item.base64 ? Buffer.from(item.value, 'base64') : Buffer.from(item.value, 'utf8'));
  for (const [key, want] of expected) {
    const got = actual.get(key);
    assert.ok(got, `"${key}" is there`);
    assert.ok(bytes(got).equals(bytes(want)), `"${key}" has the same bytes`);
    assert.deepEqual(got.metadata, want.metadata, `"${key}" has the same metadata`);
    assert.equal(got.expiration, want.expiration, `"${key}" has the same expiration`);
  }
}

for (const { name, make } of BACKENDS) {
  describe(`commands: bulk (${name})`, function () {
    this.timeout(120_000);
    let api: KvExplorerApi;
    let backend: Backend;
    let store: KvStore;
    let files: { dir: string; dispose(): void };

    before(async () => {
      api = await activateApi();
      backend = await make(api);
      store = backend.store;
      files = tempDir('bulk');
    });

    after(async () => {
      await backend?.dispose();
      files?.dispose();
    });

    const at = (namespaceId: string, extra: Record<string, string> = {}) => ({ connectionId: backend.connectionId, namespaceId, ...extra });

    it('refuses a file with bad entries, reporting every one with its index and rule, and writes nothing', async () => {
      const namespaceId = await backend.namespace();
      const file = writeJson(join(files.dir, 'bad.json'), [
        { key: 'fine', value: 'ok' },
        { key: '', value: 'x' },
        { key: 'b64', value: 'not base64!', base64: true },
        { key: 'fine', value: 'again' },
        { key: 'ttl', value: 'x', expiration_ttl: 10 },
        { key: 'meta', value: 'x', metadata: { big: 'y'.repeat(2000) } },
        'not an object',
        { key: 'typo', value: 'x', expiraton: 5 },
      ]);
      const prompter = new RecordingPrompter({ file: [file] });
      const result = await run<ImportResult>('importJson', at(namespaceId), { prompter });
      assert.deepEqual(
        result.problems.map((problem) => `${problem.index}:${problem.rule}`),
        ['1:key.empty', '2:entry.value.base64', '3:entry.key.duplicate', '4:expiration.ttl', '5:metadata.maxBytes', '6:entry.shape'],
      );
      assert.deepEqual(result.warnings.map((warning) => `${warning.index}:${warning.rule}`), ['7:entry.unknownProperty']);
      assert.equal(result.outcome, undefined);
      assert.deepEqual(await keysOf(store, namespaceId), [], 'nothing was written');
      const report = prompter.reports[0]?.text ?? '';
      for (const index of [1, 2, 3, 4, 5, 6]) assert.match(report, new RegExp(`#${index}\\b`), `the report names entry #${index}`);
      assert.match(prompter.messages.find((message) => message.level === 'error')?.message ?? '', /^Nothing was imported\. 6 of 8 entries are invalid\./);
      assert.ok(!prompter.asked.some((question) => question.id === 'confirm'), 'a refused file is never offered for import');

      const notJson = join(files.dir, 'not.json');
      writeFileSync(notJson, '[{"key": "a", "value": "b"},');
      const broken = await run<ImportResult>('importJson', at(namespaceId), { file: notJson });
      assert.deepEqual(broken.problems.map((problem) => problem.rule), ['file.json']);
    });

    it('imports after a confirmation that counts the keys, with progress', async () => {
      const namespaceId = await backend.namespace();
      const items = Array.from({ length: 1500 }, (_, i) => ({ key: `imp/${i}`, value: `v${i}` }));
      const file = writeJson(join(files.dir, 'good.json'), items);
      const refuse = new RecordingPrompter({ file: [file], confirm: false });
      await run('importJson', at(namespaceId), { prompter: refuse });
      assert.match(refuse.request<{ message: string }>('confirm').message, /^Import 1,500 keys into "/);
      assert.deepEqual(await keysOf(store, namespaceId), []);

      const progress: string[] = [];
      const result = await run<ImportResult>('importJson', undefined, {
        connection: backend.connectionId,
        namespace: namespaceId,
        file,
        confirm: true,
        onProgress: (message) => progress.push(message),
      });
      assert.equal(result.outcome?.written.length, 1500);
      assert.equal((await keysOf(store, namespaceId)).length, 1500);
      assert.equal(progress.at(-1), '1,500 of 1,500 keys');
    });

    it('cancelled: says exactly which keys were written, in flight, and never sent', async () => {
      const namespaceId = await backend.namespace();
      const items = Array.from({ length: 25_000 }, (_, i) => ({ key: `c/${String(i).padStart(5, '0')}`, value: `v${i}` }));
      const file = writeJson(join(files.dir, 'cancel.json'), items);
      const controller = new AbortController();
      const result = await run<ImportResult>('importJson', at(namespaceId), {
        file,
        confirm: true,
        signal: controller.signal,
        onProgress: (message) => {
          if (/^(10,000|[1-9][0-9],[0-9]{3}) of/.test(message)) controller.abort();
        },
      });
      const outcome = result.outcome!;
      assert.equal(outcome.cancelled, true);
      const accounted = [...outcome.written, ...outcome.uncertain, ...outcome.notAttempted, ...outcome.failed.map((f) => f.key)];
      assert.equal(accounted.length, 25_000, 'every key is accounted for once');
      assert.ok(outcome.written.length >= 10_000 && outcome.notAttempted.length > 0, `${outcome.written.length} written, ${outcome.notAttempted.length} not sent`);
      const stored = new Set(await keysOf(store, namespaceId));
      for (const key of outcome.written) assert.ok(stored.has(key), `${key} was reported written and is`);
      for (const key of outcome.notAttempted) assert.ok(!stored.has(key), `${key} was reported not sent and is not there`);
    });

    it('exports a namespace and a folder in the same format, replacing the file only when complete', async () => {
      const namespaceId = await backend.namespace();
      await store.put(namespaceId, 'site/index.html', '<h1>hi</h1>', { metadata: { type: 'html' } });
      await store.put(namespaceId, 'site/logo.png', new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0xff]));
      await store.put(namespaceId, 'readme', 'top', { expiration: now() + 3600 });
      const whole = join(files.dir, 'whole.json');
      const result = await run<ExportResult>('exportJson', at(namespaceId), { file: whole });
      assert.equal(result.count, 3);
      assert.equal(existsSync(`${whole}.partial`), false, 'no temporary file stays behind');
      const exported = entriesOf(whole);
      assert.deepEqual([...exported.keys()], ['readme', 'site/index.html', 'site/logo.png']);
      assert.deepEqual(exported.get('site/logo.png'), { key: 'site/logo.png', value: 'iVBOR/8=', base64: true });
      assert.deepEqual(exported.get('site/index.html')?.metadata, { type: 'html' });
      assert.ok(exported.get('readme')?.expiration);

      const folder = join(files.dir, 'folder.json');
      const prompter = new RecordingPrompter({ file: folder });
      await run('exportJson', at(namespaceId, { prefix: 'site/' }), { prompter });
      assert.deepEqual([...entriesOf(folder).keys()], ['site/index.html', 'site/logo.png'], 'full key names, so a re-import puts them back');
      assert.match(prompter.request<{ defaultUri?: { path: string } }>('file').defaultUri?.path ?? '', /-site\.json$/);
    });

    it('uploads files and folders as values (prefix + relative path), and downloads a value byte for byte', async () => {
      const namespaceId = await backend.namespace();
      const site = join(files.dir, 'site');
      mkdirSync(join(site, 'img'), { recursive: true });
      writeFileSync(join(site, 'index.html'), '<html></html>');
      const logo = randomBytes(3000);
      writeFileSync(join(site, 'img', 'logo.png'), logo);
      const notes = join(files.dir, 'notes.txt');
      writeFileSync(notes, 'remember');

      const result = await run<UploadResult>('uploadFiles', at(namespaceId, { prefix: 'assets/' }), { files: [site, notes], prefix: 'assets/', confirm: true });
      assert.deepEqual(result.keys.sort(), ['assets/notes.txt', 'assets/site/img/logo.png', 'assets/site/index.html']);
      assert.equal(result.outcome.written.length, 3);
      assert.ok(Buffer.from((await store.get(namespaceId, 'assets/site/img/logo.png'))!.value).equals(logo));
      assert.equal(text((await store.get(namespaceId, 'assets/notes.txt'))?.value), 'remember');

      const again = new RecordingPrompter({ files: [site, notes], prefix: 'assets/', confirm: false });
      await run('uploadFiles', at(namespaceId), { prompter: again });
      assert.match(again.request<{ message: string }>('confirm').message, /3 of the keys exist already and will be overwritten/);

      await rejectsWith(run('uploadFiles', at(namespaceId), { files: [site], prefix: `${'p'.repeat(500)}/`, confirm: true }), {
        rule: 'upload.files',
        message: /Nothing was uploaded: 2 file/,
      });

      const target = join(files.dir, 'downloaded.png');
      await run('downloadValue', at(namespaceId, { key: 'assets/site/img/logo.png' }), { file: target });
      assert.ok(readFileSync(target).equals(logo));
    });

    it('round-trips 20k keys (binary values, metadata, expirations): import → export → import → export, identical', async function () {
      this.timeout(600_000);
      const original = roundTripItems(20_000);
      const source = writeJson(join(files.dir, 'original.json'), original);
      const first = await backend.namespace('first');
      const second = await backend.namespace('second');

      const imported = await run<ImportResult>('importJson', at(first), { file: source, confirm: true });
      assert.equal(imported.outcome?.written.length, 20_000);
      const export1 = join(files.dir, 'export1.json');
      assert.equal((await run<ExportResult>('exportJson', at(first), { file: export1 })).count, 20_000);
      assertSameEntries(entriesOf(export1), new Map(original.map((item) => [item.key, item])));

      const reimported = await run<ImportResult>('importJson', at(second), { file: export1, confirm: true });
      assert.equal(reimported.outcome?.written.length, 20_000);
      const export2 = join(files.dir, 'export2.json');
      await run('exportJson', at(second), { file: export2 });
      assert.ok(readFileSync(export1).equals(readFileSync(export2)), 'the second export is byte-identical to the first');
    });
  });
}

describe('commands: bulk import failure (cloudflare)', function () {
  this.timeout(120_000);

  it('reports exactly which keys were written when the store starts failing half-way', async () => {
    const api = await activateApi();
    const backend = await cloudflareBackend(api);
    const files = tempDir('bulk-fail');
    try {
      const namespaceId = await backend.namespace();
      const items = Array.from({ length: 15_000 }, (_, i) => ({ key: `f/${String(i).padStart(5, '0')}`, value: `v${i}` }));
      const file = writeJson(join(files.dir, 'fail.json'), items);
      const prompter = new RecordingPrompter({ file: [file], confirm: true });
      const result = await run<ImportResult>('importJson', { connectionId: backend.connectionId, namespaceId }, {
        prompter,
        onProgress: (message) => {
          // Once the first bulk request is confirmed, every later write fails.
          if (message.startsWith('10,000 of')) backend.server.setFaults({ rate: 1, kinds: ['500'], methods: ['PUT'] });
        },
      });
      backend.server.setFaults(undefined);
      const outcome = result.outcome!;
      assert.deepEqual(outcome.written, items.slice(0, 10_000).map((item) => item.key), 'the first 10,000, exactly');
      assert.equal(outcome.failed.length, 5_000);
      assert.match(outcome.stoppedBy ?? '', /Cloudflare 10001/);
      assert.deepEqual(new Set(await keysOf(backend.store, namespaceId)), new Set(outcome.written), 'the store holds exactly what was reported');
      const warning = prompter.messages.find((message) => message.level === 'warn');
      assert.match(warning?.message ?? '', /Import incomplete: 10000 written, 5000 failed/);
      assert.deepEqual(warning?.actions, ['Show Which Keys']);
    } finally {
      backend.server.setFaults(undefined);
      await backend.dispose();
      files.dispose();
    }
  });
});
