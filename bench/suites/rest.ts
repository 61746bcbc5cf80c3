// Suite `rest`: the Cloudflare provider (CloudflareStore on the shared REST client) against wrangler and a bare
// undici loop, all talking to the project's Cloudflare-dialect server (its own process) over one local store:
// listing every key of a namespace, and importing a wrangler bulk JSON file.

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { parseBulkFile } from '../../src/core/bulkFile';
import { runBulkPut } from '../../src/core/bulkRun';
import { CloudflareStore } from '../../src/providers/cloudflare';
import { LocalStore } from '../../src/providers/local';
import { benchKey, benchValue, sizeLabel } from '../dataset';
import { alternate, formatValue, log, machine, median, ratioCase, timeMs, type BenchCase, type RunOptions, type SuiteResult } from '../harness';
import { startServerProcess } from '../peers/server';
import { prepareWrangler } from '../peers/wrangler';
import { listAllKeys, seededLocalStore } from './local';

const LIST_VS_WRANGLER_TARGET = 0.25;
const LIST_VS_BARE_TARGET = 1.15;
const IMPORT_VS_WRANGLER_TARGET = 0.3;
const TOKEN = 'bench-token-0123456789abcdef';

interface Sizes {
  keys: number;
  importPairs: number;
  reps: number;
  /** Repetitions of the cheap pairing (ours vs the bare loop). */
  fastReps: number;
}
const FULL: Sizes = { keys: 100_000, importPairs: 100_000, reps: 5, fastReps: 15 };
const QUICK: Sizes = { keys: 10_000, importPairs: 10_000, reps: 5, fastReps: 11 };

interface EnvelopePage {
  success: boolean;
  result: { name: string }[];
  result_info?: { cursor?: string };
}

/** The least a client can do: one keep-alive connection, GET a page, parse it, follow the cursor. */
async function bareListAll(agent: Agent, baseUrl: string, accountId: string, namespaceId: string, token: string): Promise<number> {
  let count = 0;
  let cursor = '';
  for (;;) {
    const url = `${baseUrl}/accounts/${accountId}/storage/kv/namespaces/${namespaceId}/keys?limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const response = await request(url, { dispatcher: agent, headers: { authorization: `Bearer ${token}` } });
    const page = (await response.body.json()) as EnvelopePage;
    if (response.statusCode !== 200 || !page.success) throw new Error(`bare loop: HTTP ${response.statusCode}`);
    count += page.result.length;
    cursor = page.result_info?.cursor ?? '';
    if (!cursor) return count;
  }
}

function expectCount(what: string, actual: number, expected: number): void {
  if (actual !== expected) throw new Error(`${what} gave ${actual} keys, expected ${expected}.`);
}

export async function runRestSuite(options: RunOptions): Promise<SuiteResult> {
  const sizes = options.quick ? QUICK : FULL;
  log(`rest: ${sizes.keys.toLocaleString('en-US')} keys, import of ${sizes.importPairs.toLocaleString('en-US')} pairs`);
  const seeded = await seededLocalStore(sizes.keys);
  const namespaceId = seeded.manifest.namespaceId;
  const server = await startServerProcess(seeded.dir, TOKEN);
  const wrangler = await prepareWrangler(server);
  const store = new CloudflareStore({ baseUrl: server.baseUrl, accountId: server.accountId, auth: { token: TOKEN }, target: 'cloudflare' });
  const agent = new Agent({ connections: 1 });
  const cases: BenchCase[] = [];
  const notes: string[] = [];
  const backend = await LocalStore.open(seeded.dir, { sweepIntervalMs: 0 });
  let importNamespace: string | undefined;
  try {
    // --- list every key: against wrangler (seconds per run), then against the bare loop (milliseconds per run,
    // so more repetitions to see through a shared machine's noise).
    log('rest: list all keys');
    const oursList = () =>
      timeMs(async () => {
        expectCount('ours', await listAllKeys((cursor) => store.list(namespaceId, { cursor, limit: 1000 })), sizes.keys);
      });
    const vsWrangler = await alternate(
      [
        { name: 'ours', measure: oursList },
        {
          name: 'wrangler',
          measure: async () => {
            const { ms, stdout } = await wrangler.run(['kv', 'key', 'list', '--namespace-id', namespaceId, '--remote']);
            expectCount('wrangler kv key list', (JSON.parse(stdout) as unknown[]).length, sizes.keys);
            return ms;
          },
        },
      ],
      { warmup: 1, reps: sizes.reps, label: 'list all keys (vs wrangler)' },
    );
    const vsBare = await alternate(
      [
        { name: 'ours', measure: oursList },
        {
          name: 'bare',
          measure: () =>
            timeMs(async () => {
              expectCount('bare loop', await bareListAll(agent, server.baseUrl, server.accountId, namespaceId, TOKEN), sizes.keys);
            }),
        },
      ],
      { warmup: 1, reps: sizes.fastReps, label: 'list all keys (vs bare loop)' },
    );
    const label = sizeLabel(sizes.keys);
    cases.push(
      ratioCase({
        name: 'list all keys vs wrangler',
        unit: 'ms',
        ours: vsWrangler.ours,
        peer: vsWrangler.wrangler,
        peerName: `wrangler ${wrangler.version} kv key list`,
        target: LIST_VS_WRANGLER_TARGET,
        detail: `${label} keys; wall time of the wrangler process (Node 22) against the same listing by the provider in this process`,
      }),
      ratioCase({
        name: 'list all keys vs bare undici loop',
        unit: 'ms',
        ours: vsBare.ours,
        peer: vsBare.bare,
        peerName: 'bare undici cursor loop',
        target: LIST_VS_BARE_TARGET,
        detail: `${label} keys, pages of 1000, one keep-alive connection`,
      }),
    );

    // --- import a wrangler bulk file.
    const pairs = Array.from({ length: sizes.importPairs }, (_, index) => ({ key: `import/${benchKey(index)}`, value: benchValue(index) }));
    const file = join(wrangler.work, 'cwd', 'bulk.json');
    writeFileSync(file, JSON.stringify(pairs));
    importNamespace = (await store.createNamespace(`bench-import-${Date.now()}`)).id;
    const target = importNamespace;
    log('rest: bulk import');
    const importSamples = await alternate(
      [
        {
          name: 'ours',
          // What the Import command does: read the file, check every entry, then write through runBulkPut.
          measure: () =>
            timeMs(async () => {
              const contents = parseBulkFile(readFileSync(file), { limits: store.limits, expiration: store.capabilities.expiration });
              if (contents.problems.length > 0) throw new Error(`ours: the bulk file has problems: ${contents.problems[0].message}`);
              const outcome = await runBulkPut(store, target, contents.entries);
              expectCount('ours import', outcome.written.length, sizes.importPairs);
            }),
        },
        {
          name: 'wrangler',
          measure: async () => (await wrangler.run(['kv', 'bulk', 'put', file, '--namespace-id', target, '--remote'])).ms,
        },
        {
          // Not a contender: the server's own share of both, the local store writing the same pairs (opened here
          // beside the server process, as two VS Code windows would), so the notes can say what the clients add.
          name: 'store',
          measure: () =>
            timeMs(async () => {
              const result = await backend.bulkPut(target, pairs);
              expectCount('the store floor', result.succeeded.length, sizes.importPairs);
            }),
        },
      ],
      { warmup: 1, reps: sizes.reps, label: 'bulk import' },
    );
    const storeShare = median(importSamples.store);
    const clientRatio = (median(importSamples.ours) - storeShare) / (median(importSamples.wrangler) - storeShare);
    expectCount('the import namespace', await listAllKeys((cursor) => store.list(target, { cursor, limit: 1000 })), sizes.importPairs);
    cases.push(
      ratioCase({
        name: 'bulk import vs wrangler',
        unit: 'ms',
        ours: importSamples.ours,
        peer: importSamples.wrangler,
        peerName: `wrangler ${wrangler.version} kv bulk put`,
        target: IMPORT_VS_WRANGLER_TARGET,
        detail: `${sizeLabel(sizes.importPairs)} pairs from one wrangler bulk JSON file, overwriting the same keys each repetition`,
      }),
    );
    notes.push(
      `Bulk import: the local store itself takes ${formatValue(storeShare)} ms to write the ${sizeLabel(sizes.importPairs)} pairs (LocalStore.bulkPut in this process), ` +
        `a share both clients wait for; without it, ours adds ${formatValue(median(importSamples.ours) - storeShare)} ms and wrangler ` +
        `${formatValue(median(importSamples.wrangler) - storeShare)} ms (client-side ratio ${clientRatio.toPrecision(3)}).`,
    );
  } finally {
    if (importNamespace) await store.deleteNamespace(importNamespace).catch((error: unknown) => log(`rest: could not delete the import namespace: ${String(error)}`));
    await store.close();
    await backend.close();
    await agent.close();
    wrangler.dispose();
    await server.stop();
  }

  return {
    suite: 'rest',
    date: new Date().toISOString(),
    mode: options.quick ? 'quick' : 'full',
    machine: machine(),
    cases,
    notes: [
      ...notes,
      `The project's Cloudflare-dialect server (out/src/server/main.js, its own process) over a local store holding ${sizes.keys.toLocaleString('en-US')} keys.`,
      `wrangler ${wrangler.version} runs on Node 22 with CLOUDFLARE_API_BASE_URL at the server; its time includes its start-up, as a user running it would wait for.`,
    ],
  };
}
