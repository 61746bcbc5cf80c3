// The local store across processes: two processes sharing one store, and kill -9 in the middle of a bulk import.
// Child scripts: test/support/localStoreChild.ts. Every wait is bounded; children are killed on failure.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BULK_BATCH_KEYS, LocalStore } from '../../src/providers/local/localStore';
import { IMPORT_CALL_SIZE, importKey, importValue, type ChildMessage } from '../support/localStoreChild';
import { ForkedChild } from '../support/forkedChild';
import { listAll } from '../support/storeContract';

const CHILD_SCRIPT = join(__dirname, '..', 'support', 'localStoreChild.js');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('LocalStore across processes', function () {
  this.timeout(90_000);
  let directory: string;
  const children: ForkedChild<ChildMessage>[] = [];

  beforeEach(() => {
    directory = mkdtempSync(join(tmpdir(), 'kv-local-proc-'));
  });

  afterEach(async () => {
    for (const child of children.splice(0)) await child.killHard();
    rmSync(directory, { recursive: true, force: true });
  });

  it('two processes write and read the same store at the same time', async () => {
    const count = 200;
    const store = await LocalStore.open(directory, { sweepIntervalMs: 0 });
    try {
      const ns = (await store.createNamespace('shared')).id;
      const child = new ForkedChild<ChildMessage>(CHILD_SCRIPT, ['two-process', directory, ns, String(count)]);
      children.push(child);
      await child.waitForType('ready', 15_000);
      for (let i = 0; i < count; i++) {
        await store.put(ns, `parent/${i}`, `from parent ${i}`);
        const seen = await store.get(ns, `child/${i}`);
        if (seen) assert.equal(Buffer.from(seen.value).toString(), `from child ${i}`);
      }
      const deadline = Date.now() + 20_000;
      let sawChildKeys = 0;
      while (Date.now() < deadline) {
        sawChildKeys = 0;
        for (let i = 0; i < count; i++) {
          const entry = await store.get(ns, `child/${i}`);
          if (entry && Buffer.from(entry.value).toString() === `from child ${i}`) sawChildKeys++;
        }
        if (sawChildKeys === count) break;
        await sleep(20);
      }
      assert.equal(sawChildKeys, count, 'the parent reads every key the child wrote');
      const done = await child.waitForType('done', 30_000);
      assert.equal(done.sawParentKeys, count, 'the child reads every key the parent wrote');
      assert.equal(done.listedKeys, 2 * count, "the child's listing holds both processes' keys");
      assert.deepEqual(await child.exit(10_000), { code: 0, signal: null });
      assert.equal((await listAll(store, ns)).length, 2 * count);
    } finally {
      await store.close();
    }
  });

  it('an open store does not keep its process alive (the sweep timers are unref-ed)', async () => {
    const setup = await LocalStore.open(directory, { sweepIntervalMs: 0 });
    const ns = (await setup.createNamespace('idle')).id;
    await setup.close();
    const child = new ForkedChild<ChildMessage>(CHILD_SCRIPT, ['leave-open', directory, ns]);
    children.push(child);
    await child.waitForType('ready', 15_000);
    assert.deepEqual(await child.exit(10_000), { code: 0, signal: null });
  });

  it('kill -9 during a bulk import leaves every batch all or nothing, keeps every reported batch, and reopens clean', async () => {
    const setup = await LocalStore.open(directory, { sweepIntervalMs: 0 });
    const ns = (await setup.createNamespace('import')).id;
    await setup.close();

    const batchCount = Math.ceil(IMPORT_CALL_SIZE / BULK_BATCH_KEYS);
    const batchSize = (batch: number) => Math.min(BULK_BATCH_KEYS, IMPORT_CALL_SIZE - batch * BULK_BATCH_KEYS);
    let nextCall = 0;
    let committedBatches = 0;
    const killDelays: number[] = [];
    for (let round = 0; round < 3; round++) {
      const child = new ForkedChild<ChildMessage>(CHILD_SCRIPT, ['bulk-import', directory, ns, String(nextCall)]);
      children.push(child);
      await child.waitForType('ready', 15_000);
      const delay = 150 + Math.floor(Math.random() * 1200);
      killDelays.push(delay);
      await sleep(delay);
      await child.killHard();
      const context = `round ${round}, kill delays ${JSON.stringify(killDelays)}`;

      // Keys confirmed to the child (batch committed) must all be there.
      const reported = new Map<number, number>();
      for (const message of child.messages) {
        if (message.type === 'batch') reported.set(message.call, Math.max(reported.get(message.call) ?? 0, message.done));
        if (message.type === 'error') assert.fail(`child failed: ${message.message}`);
      }

      const store = await LocalStore.open(directory, { sweepIntervalMs: 0 });
      try {
        const counts = new Map<string, number>();
        for (const name of await listAll(store, ns, 'imp/')) {
          const [, callText, indexText] = name.split('/');
          const id = `${Number(callText)}/${Math.floor(Number(indexText) / BULK_BATCH_KEYS)}`;
          counts.set(id, (counts.get(id) ?? 0) + 1);
        }
        const lastCall = Math.max(nextCall - 1, ...[...counts.keys()].map((id) => Number(id.split('/')[0])));
        for (let call = nextCall; call <= lastCall; call++) {
          let previousComplete = true;
          for (let batch = 0; batch < batchCount; batch++) {
            const present = counts.get(`${call}/${batch}`) ?? 0;
            assert.ok(present === 0 || present === batchSize(batch), `${context}: call ${call} batch ${batch} is torn: ${present} of ${batchSize(batch)} keys`);
            if (present > 0) {
              assert.ok(previousComplete, `${context}: call ${call} batch ${batch} committed before an earlier batch`);
              committedBatches++;
              const first = batch * BULK_BATCH_KEYS;
              const last = first + batchSize(batch) - 1;
              for (const index of [first, last]) {
                const entry = await store.get(ns, importKey(call, index));
                assert.equal(Buffer.from(entry!.value).toString(), importValue(call, index), `${context}: value of ${importKey(call, index)}`);
              }
            }
            previousComplete = present > 0;
          }
          const confirmed = reported.get(call) ?? 0;
          const stored = [...Array(batchCount).keys()].reduce((sum, batch) => sum + (counts.get(`${call}/${batch}`) ?? 0), 0);
          assert.ok(stored >= confirmed, `${context}: call ${call} reported ${confirmed} keys saved but only ${stored} survived`);
        }
        // Opens clean: the killed writer's lock and reader slots are recovered, so writing works at once.
        await store.put(ns, `probe/${round}`, 'after the crash');
        assert.equal(Buffer.from((await store.get(ns, `probe/${round}`))!.value).toString(), 'after the crash');
        nextCall = lastCall + 1;
      } finally {
        await store.close();
      }
    }
    assert.ok(committedBatches > 0, `no batch was committed before any kill (delays ${JSON.stringify(killDelays)}); the test proved nothing`);
  });
});
