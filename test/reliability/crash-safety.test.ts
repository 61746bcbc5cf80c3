// Crash safety: kill -9 a process in the middle of a 100k-entry bulk import into the local store, 20 times at
// random points. Every time, the store must reopen, every internal batch must be all or nothing (and in order),
// every batch the child was told was committed must be there, and each surviving value must be exact.
// The child is the local store's own test child (test/support/localStoreChild.ts, mode `bulk-import`): it imports
// calls of IMPORT_CALL_SIZE entries one after another and reports each committed batch.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BULK_BATCH_KEYS, LocalStore } from '../../src/providers/local/localStore';
import { IMPORT_CALL_SIZE, importKey, importValue, type ChildMessage } from '../support/localStoreChild';
import { FULL, ForkedChild, SEED, seededRandom, sized, sleep } from './common';

const CHILD_SCRIPT = join(__dirname, '..', 'support', 'localStoreChild.js');

/** Entries in one import: 100k, i.e. IMPORT_CALL_SIZE-entry calls 0..3 of the child. */
const IMPORT_ENTRIES = 100_000;
const CALLS_PER_IMPORT = Math.ceil(IMPORT_ENTRIES / IMPORT_CALL_SIZE);
const KILLS = sized(20, 100);
const BATCHES_PER_CALL = Math.ceil(IMPORT_CALL_SIZE / BULK_BATCH_KEYS);
const batchSize = (batch: number): number => Math.min(BULK_BATCH_KEYS, IMPORT_CALL_SIZE - batch * BULK_BATCH_KEYS);

interface RoundResult {
  namespaceId: string;
  keysStored: number;
}

describe(`reliability: crash safety — kill -9 during a ${IMPORT_ENTRIES.toLocaleString('en')}-entry bulk import, ${KILLS} times${FULL ? ' (full)' : ''}`, function () {
  this.timeout(KILLS * 30_000 + 60_000);
  let directory: string;
  const children: ForkedChild<ChildMessage>[] = [];

  before(() => {
    directory = mkdtempSync(join(tmpdir(), 'kv-rel-crash-'));
  });

  after(async () => {
    for (const child of children.splice(0)) await child.killHard();
    rmSync(directory, { recursive: true, force: true });
  });

  async function startImport(namespaceId: string): Promise<ForkedChild<ChildMessage>> {
    const child = new ForkedChild<ChildMessage>(CHILD_SCRIPT, ['bulk-import', directory, namespaceId, '0']);
    children.push(child);
    await child.waitFor((message) => message.type === 'ready', 'ready', 20_000);
    return child;
  }

  async function newNamespace(title: string): Promise<string> {
    const store = await LocalStore.open(directory, { sweepIntervalMs: 0 });
    try {
      return (await store.createNamespace(title)).id;
    } finally {
      await store.close();
    }
  }

  it('reopens every time with each batch all or nothing and every committed batch kept', async () => {
    // Calibrate: how long a whole 100k import takes here, so kill points spread over all of it.
    const calibration = await startImport(await newNamespace('calibration'));
    const started = Date.now();
    await calibration.waitFor((message) => message.type === 'call-done' && message.call === CALLS_PER_IMPORT - 1, 'the whole import', 120_000);
    const importMs = Date.now() - started;
    await calibration.killHard();

    const random = seededRandom(SEED);
    const rounds: RoundResult[] = [];
    let roundsWithPartialImport = 0;
    for (let round = 0; round < KILLS; round++) {
      const namespaceId = await newNamespace(`crash-${round}`);
      const child = await startImport(namespaceId);
      const killAtMs = Math.floor(random() * importMs);
      await sleep(killAtMs);
      await child.killHard();
      const context = `round ${round} (killed ${killAtMs} ms into a ${importMs} ms import, seed ${SEED})`;
      const failure = child.messages.find((message) => message.type === 'error');
      assert.equal(failure, undefined, `${context}: the child failed before the kill: ${JSON.stringify(failure)}`);

      // Batches the child heard were committed, per call.
      const confirmed = new Map<number, number>();
      for (const message of child.messages) {
        if (message.type === 'batch') confirmed.set(message.call, Math.max(confirmed.get(message.call) ?? 0, message.done));
        if (message.type === 'call-done') confirmed.set(message.call, IMPORT_CALL_SIZE);
      }

      const store = await LocalStore.open(directory, { sweepIntervalMs: 0 });
      try {
        // Count present keys per (call, batch) and check every value byte for byte.
        const present = new Map<string, number>();
        let stored = 0;
        let cursor: string | undefined;
        do {
          const page = await store.list(namespaceId, { cursor });
          for (const key of page.keys) {
            const [, callText, indexText] = key.name.split('/');
            const call = Number(callText);
            const index = Number(indexText);
            assert.equal(key.name, importKey(call, index), `${context}: unexpected key ${key.name}`);
            const id = `${call}/${Math.floor(index / BULK_BATCH_KEYS)}`;
            present.set(id, (present.get(id) ?? 0) + 1);
            stored++;
          }
          cursor = page.complete ? undefined : page.cursor;
        } while (cursor);
        for (const [id] of present) {
          const [call, batch] = id.split('/').map(Number);
          const first = batch * BULK_BATCH_KEYS;
          for (let index = first; index < first + batchSize(batch); index++) {
            const entry = await store.get(namespaceId, importKey(call, index));
            assert.ok(entry, `${context}: ${importKey(call, index)} is missing from a batch that has other keys`);
            assert.equal(Buffer.from(entry.value).toString(), importValue(call, index), `${context}: value of ${importKey(call, index)}`);
          }
        }

        const lastCall = Math.max(-1, ...[...present.keys()].map((id) => Number(id.split('/')[0])));
        let previousComplete = true;
        for (let call = 0; call <= lastCall; call++) {
          let callStored = 0;
          for (let batch = 0; batch < BATCHES_PER_CALL; batch++) {
            const count = present.get(`${call}/${batch}`) ?? 0;
            assert.ok(count === 0 || count === batchSize(batch), `${context}: call ${call} batch ${batch} is torn: ${count} of ${batchSize(batch)} keys`);
            if (count > 0) assert.ok(previousComplete, `${context}: call ${call} batch ${batch} was committed after a missing earlier batch`);
            previousComplete = count > 0;
            callStored += count;
          }
          const told = confirmed.get(call) ?? 0;
          assert.ok(callStored >= told, `${context}: the child was told ${told} keys of call ${call} were saved, but only ${callStored} survived`);
        }
        if (stored > 0 && stored < IMPORT_ENTRIES) roundsWithPartialImport++;

        // The killed writer's lock is recovered: this process can write at once.
        await store.put(namespaceId, 'probe/after-crash', `round ${round}`);
        assert.equal(Buffer.from((await store.get(namespaceId, 'probe/after-crash'))!.value).toString(), `round ${round}`);
        rounds.push({ namespaceId, keysStored: stored + 1 });
      } finally {
        await store.close();
      }
    }

    // Earlier rounds' data was not disturbed by later crashes.
    const store = await LocalStore.open(directory, { sweepIntervalMs: 0 });
    try {
      for (const [round, result] of rounds.entries()) {
        let count = 0;
        let cursor: string | undefined;
        do {
          const page = await store.list(result.namespaceId, { cursor });
          count += page.keys.length;
          cursor = page.complete ? undefined : page.cursor;
        } while (cursor);
        assert.equal(count, result.keysStored, `round ${round}'s namespace changed after later crashes`);
      }
    } finally {
      await store.close();
    }
    // The kills must have landed inside imports, or the case proved nothing.
    assert.ok(roundsWithPartialImport >= Math.ceil(KILLS / 4), `only ${roundsWithPartialImport} of ${KILLS} kills landed mid-import (import took ${importMs} ms)`);
    console.log(`      crash safety: ${KILLS} kills, ${roundsWithPartialImport} mid-import; a whole import took ${importMs} ms`);
  });
});
