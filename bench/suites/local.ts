// Suite `local`: the local store (LocalStore on LMDB) against Miniflare's KV binding and against raw lmdb, on
// the same keys in one run: sequential put, sequential get, listing every key, and children() at the root.

import { join } from 'node:path';
import { genericChildren } from '../../src/core/keys';
import type { KeyListPage } from '../../src/core/store';
import { LocalStore } from '../../src/providers/local';
import { benchKey, benchValue, cachedSeed, chunks, sizeLabel, TOP_FOLDERS } from '../dataset';
import {
  alternate,
  log,
  machine,
  median,
  ratioCase,
  timeMs,
  type BenchCase,
  type Contender,
  type RunOptions,
  type SuiteResult,
} from '../harness';
import { openFlushFloor } from '../peers/flushFloor';
import { miniflareListAll, seedMiniflare, startMiniflare, type KvBinding } from '../peers/miniflare';
import { openRawLmdb, rawListAll, rawRootChildren, seedRawLmdb } from '../peers/rawLmdb';

/** ≥ 30× Miniflare, as a cost ratio. */
const MINIFLARE_TARGET = 1 / 30;
/** Within 2× of the raw engine. */
const RAW_TARGET = 2;

interface Sizes {
  keys: number;
  /** Sequential puts per repetition: ours and raw / Miniflare (about a hundred per second here). */
  puts: number;
  miniflarePuts: number;
  gets: number;
  miniflareGets: number;
  /** Repetitions against Miniflare, and against raw lmdb (whose repetitions are cheap). */
  reps: number;
  fastReps: number;
}

const FULL: Sizes = { keys: 1_000_000, puts: 2_000, miniflarePuts: 500, gets: 100_000, miniflareGets: 2_000, reps: 5, fastReps: 15 };
const QUICK: Sizes = { keys: 20_000, puts: 500, miniflarePuts: 100, gets: 20_000, miniflareGets: 200, reps: 5, fastReps: 11 };
/** children() at the root takes well under a millisecond against raw lmdb; a sample is the mean of this many calls. */
const CHILDREN_CALLS_PER_SAMPLE = 50;

interface OursManifest {
  namespaceId: string;
  putNamespaceId: string;
  keys: number;
}

export const OURS_SEED_BATCH = 50_000;

/** A local store holding the bench namespace with `total` keys (plus an empty one for put cases), cached. */
export async function seededLocalStore(total: number): Promise<{ dir: string; manifest: OursManifest }> {
  return cachedSeed(`local-store-${sizeLabel(total)}`, async (dir) => {
    const store = await LocalStore.open(dir, { sweepIntervalMs: 0 });
    try {
      const namespace = await store.createNamespace('bench');
      const puts = await store.createNamespace('bench-puts');
      for (const [from, to] of chunks(total, OURS_SEED_BATCH)) {
        const entries = [];
        for (let index = from; index < to; index++) entries.push({ key: benchKey(index), value: benchValue(index) });
        const result = await store.bulkPut(namespace.id, entries);
        if (result.failed.length > 0) throw new Error(`Seeding failed for ${result.failed.length} keys: ${result.failed[0].error}`);
      }
      return { namespaceId: namespace.id, putNamespaceId: puts.id, keys: total };
    } finally {
      await store.close();
    }
  });
}

/** Every key of a namespace through `list`, 1000 per page; returns the count. */
export async function listAllKeys(list: (cursor: string | undefined) => Promise<KeyListPage>): Promise<number> {
  let count = 0;
  let cursor: string | undefined;
  for (;;) {
    const page = await list(cursor);
    count += page.keys.length;
    if (page.complete || !page.cursor) return count;
    cursor = page.cursor;
  }
}

function expectCount(what: string, actual: number, expected: number): void {
  if (actual !== expected) throw new Error(`${what} returned ${actual}, expected ${expected}: the bench would compare different work.`);
}

export async function runLocalSuite(options: RunOptions): Promise<SuiteResult> {
  const sizes = options.quick ? QUICK : FULL;
  const label = sizeLabel(sizes.keys);
  log(`local: ${sizes.keys.toLocaleString('en-US')} keys`);
  const ours = await seededLocalStore(sizes.keys);
  const raw = await cachedSeed(`raw-lmdb-${label}`, async (dir) => {
    await seedRawLmdb(dir, sizes.keys);
    return { keys: sizes.keys };
  });
  const miniflareSeed = await cachedSeed(`miniflare-${label}`, async (dir) => {
    await seedMiniflare(join(dir, 'persist'), sizes.keys);
    return { keys: sizes.keys };
  });

  const store = await LocalStore.open(ours.dir, { sweepIntervalMs: 0 });
  const rawDb = openRawLmdb(raw.dir);
  const miniflare = await startMiniflare(join(miniflareSeed.dir, 'persist'));
  // On the same file system as ours, so both pay the same disk.
  const flushFloor = await openFlushFloor(ours.dir);
  const { namespaceId, putNamespaceId } = ours.manifest;
  const cases: BenchCase[] = [];
  /**
   * One operation, two cases: ours alternating with Miniflare, then ours alternating with raw lmdb. Separate
   * pairings, because Miniflare's repetitions take seconds where raw lmdb's take milliseconds: the cheap pairing
   * gets more repetitions (and, for sub-millisecond work, several calls per sample) to see through the noise of a
   * shared machine.
   */
  const twoCases = async (
    name: string,
    unit: string,
    vsMiniflare: { ours: () => Promise<number>; peer: () => Promise<number>; reps: number; detail: string },
    vsRaw: { ours: () => Promise<number>; peer: () => Promise<number>; reps: number; detail: string },
  ) => {
    log(`local: ${name}`);
    const slow = await alternate(
      [
        { name: 'ours', measure: vsMiniflare.ours },
        { name: 'miniflare', measure: vsMiniflare.peer },
      ] satisfies Contender[],
      { warmup: 1, reps: vsMiniflare.reps, label: `${name} (vs Miniflare)` },
    );
    const fast = await alternate(
      [
        { name: 'ours', measure: vsRaw.ours },
        { name: 'raw', measure: vsRaw.peer },
      ] satisfies Contender[],
      { warmup: 1, reps: vsRaw.reps, label: `${name} (vs raw lmdb)` },
    );
    cases.push(
      ratioCase({ name: `${name} vs Miniflare`, unit, ours: slow.ours, peer: slow.miniflare, peerName: 'Miniflare KV binding', target: MINIFLARE_TARGET, detail: vsMiniflare.detail }),
      ratioCase({ name: `${name} vs raw lmdb`, unit, ours: fast.ours, peer: fast.raw, peerName: 'raw lmdb', target: RAW_TARGET, detail: vsRaw.detail }),
    );
  };

  try {
    const perOp = (count: number, work: (index: number) => Promise<unknown>) => async () =>
      ((await timeMs(async () => {
        for (let index = 0; index < count; index++) await work(index);
      })) * 1000) / count;
    /** Mean of `calls` runs of sub-millisecond work, so one sample is not one scheduler hiccup. */
    const perCall = (calls: number, work: () => Promise<unknown> | unknown) => async () =>
      (await timeMs(async () => {
        for (let call = 0; call < calls; call++) await work();
      })) / calls;

    // --- sequential put: each put awaited before the next, each a committed write.
    const putKey = (index: number) => `bench-put/p${String(index).padStart(6, '0')}`;
    const oursPut = perOp(sizes.puts, (index) => store.put(putNamespaceId, putKey(index), benchValue(index)));
    await twoCases(
      'sequential put',
      'µs/op',
      {
        ours: oursPut,
        peer: perOp(sizes.miniflarePuts, (index) => miniflare.puts.put(putKey(index), benchValue(index))),
        reps: sizes.reps,
        detail: `${sizes.puts} awaited puts (ours) vs ${sizes.miniflarePuts} (Miniflare), time per put`,
      },
      {
        ours: oursPut,
        peer: perOp(sizes.puts, (index) => rawDb.puts.put(putKey(index), Buffer.from(benchValue(index)))),
        reps: sizes.fastReps,
        detail: `${sizes.puts} awaited puts each, one committed write per put`,
      },
    );
    // The physical floor: what any put that must survive a power loss costs on this disk, whatever the store.
    // Reported beside the Miniflare case, not as a target of its own: it says whether 30× Miniflare is possible.
    log('local: sequential put vs the flush floor');
    const floor = await alternate(
      [
        { name: 'ours', measure: oursPut },
        { name: 'floor', measure: perOp(sizes.puts, (index) => flushFloor.write(index)) },
      ] satisfies Contender[],
      { warmup: 1, reps: sizes.fastReps, label: 'sequential put (vs the flush floor)' },
    );
    const putVsMiniflare = cases.find((each) => each.name === 'sequential put vs Miniflare')!;
    const floorMedian = median(floor.floor);
    putVsMiniflare.detail +=
      `; the disk's flush floor (one 4 kB write + fdatasync in the store's directory, alternating with ours) is ` +
      `${floorMedian.toFixed(0)} µs/op against ours ${median(floor.ours).toFixed(0)}: 30× Miniflare would need ` +
      `${(putVsMiniflare.peer * MINIFLARE_TARGET).toFixed(0)} µs/op`;

    // --- sequential get: keys spread over the seeded namespace.
    const getKey = (index: number, count: number) => benchKey((index * Math.max(1, Math.floor(sizes.keys / count))) % sizes.keys);
    const oursGet = perOp(sizes.gets, async (index) => {
      if (!(await store.get(namespaceId, getKey(index, sizes.gets)))) throw new Error('ours: missing key');
    });
    await twoCases(
      'sequential get',
      'µs/op',
      {
        ours: oursGet,
        peer: perOp(sizes.miniflareGets, async (index) => {
          if ((await miniflare.kv.get(getKey(index, sizes.miniflareGets), 'arrayBuffer')) === null) throw new Error('Miniflare: missing key');
        }),
        reps: sizes.reps,
        detail: `${sizes.gets} awaited gets (ours) vs ${sizes.miniflareGets} (Miniflare) spread over ${label} keys, time per get`,
      },
      {
        ours: oursGet,
        peer: perOp(sizes.gets, async (index) => {
          if (rawDb.keys.getBinary(getKey(index, sizes.gets)) === undefined) throw new Error('raw: missing key');
        }),
        reps: sizes.fastReps,
        detail: `${sizes.gets} gets spread over ${label} keys; ours awaited, raw lmdb synchronous`,
      },
    );

    // --- list every key.
    const oursList = () =>
      timeMs(async () => {
        expectCount('ours list', await listAllKeys((cursor) => store.list(namespaceId, { cursor, limit: 1000 })), sizes.keys);
      });
    await twoCases(
      'list all keys',
      'ms',
      {
        ours: oursList,
        peer: () =>
          timeMs(async () => {
            expectCount('Miniflare list', await miniflareListAll(miniflare.kv), sizes.keys);
          }),
        reps: sizes.reps,
        detail: `all ${label} keys, pages of 1000 with cursors`,
      },
      {
        ours: oursList,
        peer: () =>
          timeMs(() => {
            expectCount('raw list', rawListAll(rawDb.keys), sizes.keys);
          }),
        reps: sizes.fastReps,
        detail: `all ${label} keys: ours in pages of 1000 with cursors (name, expiration, metadata); raw lmdb in one getRange() pass (name and stored bytes)`,
      },
    );

    // --- children() at the root.
    const miniflareList = (kv: KvBinding) => async (_namespace: string, options: { prefix?: string; cursor?: string }): Promise<KeyListPage> => {
      const page = await kv.list({ prefix: options.prefix || undefined, cursor: options.cursor, limit: 1000 });
      return { keys: page.keys.map((key) => ({ name: key.name })), cursor: page.list_complete ? undefined : page.cursor, complete: page.list_complete };
    };
    const allChildren = async (page: (cursor: string | undefined) => Promise<{ items: unknown[]; cursor?: string; complete: boolean }>) => {
      let count = 0;
      let cursor: string | undefined;
      for (;;) {
        const result = await page(cursor);
        count += result.items.length;
        if (result.complete || !result.cursor) return count;
        cursor = result.cursor;
      }
    };
    const oursChildren = async () => {
      expectCount('ours children', await allChildren((cursor) => store.children(namespaceId, '', { cursor, limit: 1000 })), TOP_FOLDERS);
    };
    await twoCases(
      'children() at the root',
      'ms',
      {
        ours: perCall(1, oursChildren),
        peer: perCall(1, async () => {
          const list = miniflareList(miniflare.kv);
          expectCount('Miniflare children', await allChildren((cursor) => genericChildren({ list }, 'BENCH', '', { cursor, limit: 1000 })), TOP_FOLDERS);
        }),
        reps: sizes.reps,
        detail: `the ${TOP_FOLDERS} root folders of ${label} keys; Miniflare's list has no delimiter, so every key is listed and grouped (the project's genericChildren)`,
      },
      {
        ours: perCall(CHILDREN_CALLS_PER_SAMPLE, oursChildren),
        peer: perCall(CHILDREN_CALLS_PER_SAMPLE, () => expectCount('raw children', rawRootChildren(rawDb.keys).length, TOP_FOLDERS)),
        reps: sizes.fastReps,
        detail: `the ${TOP_FOLDERS} root folders of ${label} keys, both seeking past each folder; mean of ${CHILDREN_CALLS_PER_SAMPLE} calls per sample`,
      },
    );
  } finally {
    await miniflare.dispose();
    await flushFloor.close();
    await rawDb.close();
    await store.close();
  }

  return {
    suite: 'local',
    date: new Date().toISOString(),
    mode: options.quick ? 'quick' : 'full',
    machine: machine(),
    cases,
    notes: [
      `Namespace of ${sizes.keys.toLocaleString('en-US')} keys (t00..t19/s000..s249/kNNNNNNN), values about 30 bytes.`,
      'Puts go to a second, empty namespace in each contender, so the seeded one keeps its exact key count.',
      "Miniflare's namespace is seeded by writing its SQLite table directly (all rows share one value file); every measured operation goes through its KV binding.",
    ],
  };
}
