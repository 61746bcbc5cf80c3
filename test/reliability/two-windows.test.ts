// Two windows: several processes read and write one local store at the same time, as two VS Code windows (two
// extension hosts) on one machine do. No process may see a lock error, and no write may be lost.
// Three processes: this one and two children (test/support/localStoreChild.ts, mode `two-process`), each child
// sharing a namespace with this process; this process also runs bulk writes and deletes in a third namespace.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalStore } from '../../src/providers/local/localStore';
import type { ChildMessage } from '../support/localStoreChild';
import { FULL, ForkedChild, sized } from './common';

const CHILD_SCRIPT = join(__dirname, '..', 'support', 'localStoreChild.js');
/** Single-key writes per process per shared namespace. */
const WRITES = sized(5_000, 20_000);
/** Bulk rounds in the churn namespace, each 1,000 puts then a delete of half of them. */
const CHURN_ROUNDS = sized(20, 200);
const CHURN_BATCH = 1_000;

describe(`reliability: two windows — three processes on one local store, ${WRITES.toLocaleString('en')} writes each${FULL ? ' (full)' : ''}`, function () {
  this.timeout(sized(120_000, 900_000));
  let directory: string;
  const children: ForkedChild<ChildMessage>[] = [];

  before(() => {
    directory = mkdtempSync(join(tmpdir(), 'kv-rel-windows-'));
  });

  after(async () => {
    for (const child of children.splice(0)) await child.killHard();
    rmSync(directory, { recursive: true, force: true });
  });

  it('every process sees every other process\'s writes, with no lock error and nothing lost', async () => {
    const store = await LocalStore.open(directory, { sweepIntervalMs: 0 });
    try {
      const shared = [(await store.createNamespace('window-a')).id, (await store.createNamespace('window-b')).id];
      const churn = (await store.createNamespace('churn')).id;
      for (const namespaceId of shared) {
        children.push(new ForkedChild<ChildMessage>(CHILD_SCRIPT, ['two-process', directory, namespaceId, String(WRITES)]));
      }
      for (const child of children) await child.waitFor((message) => message.type === 'ready', 'ready', 20_000);

      // This process writes `parent/<i>` into both shared namespaces, reading the child's key of the same index as it
      // goes, while bulk writes and deletes churn a third namespace: all at once.
      const writeShared = async (namespaceId: string): Promise<void> => {
        for (let i = 0; i < WRITES; i++) {
          await store.put(namespaceId, `parent/${i}`, `from parent ${i}`);
          const seen = await store.get(namespaceId, `child/${i}`);
          if (seen) assert.equal(Buffer.from(seen.value).toString(), `from child ${i}`, `child/${i} read back wrong while being written`);
        }
      };
      const churnWrites = async (): Promise<void> => {
        for (let round = 0; round < CHURN_ROUNDS; round++) {
          const keys = Array.from({ length: CHURN_BATCH }, (_, i) => `churn/${round}/${i}`);
          const put = await store.bulkPut(churn, keys.map((key) => ({ key, value: key })));
          assert.equal(put.failed.length, 0, `churn round ${round}: ${put.failed[0]?.error}`);
          const removed = await store.bulkDelete(churn, keys.filter((_, i) => i % 2 === 1));
          assert.equal(removed.failed.length, 0, `churn round ${round} delete: ${removed.failed[0]?.error}`);
        }
      };
      await Promise.all([...shared.map(writeShared), churnWrites()]);

      for (const [index, child] of children.entries()) {
        const done = await child.waitFor((message) => message.type === 'done', 'done', 60_000);
        assert.ok(done.type === 'done');
        assert.equal(done.sawParentKeys, WRITES, `child ${index} read every key this process wrote`);
        assert.equal(done.listedKeys, 2 * WRITES, `child ${index}'s listing holds both processes' keys`);
        assert.deepEqual(await child.exit(20_000), { code: 0, signal: null }, `child ${index} exits cleanly`);
      }

      // Nothing lost, from this side: every key of every writer, with its exact value.
      for (const namespaceId of shared) {
        for (let i = 0; i < WRITES; i++) {
          for (const who of ['parent', 'child']) {
            const entry = await store.get(namespaceId, `${who}/${i}`);
            assert.equal(entry && Buffer.from(entry.value).toString(), `from ${who} ${i}`, `${who}/${i} in ${namespaceId}`);
          }
        }
        const page = await store.list(namespaceId, { limit: 1000 });
        let listed = page.keys.length;
        let cursor = page.complete ? undefined : page.cursor;
        while (cursor) {
          const next = await store.list(namespaceId, { cursor });
          listed += next.keys.length;
          cursor = next.complete ? undefined : next.cursor;
        }
        assert.equal(listed, 2 * WRITES, `${namespaceId} holds exactly both writers' keys`);
      }
      for (let round = 0; round < CHURN_ROUNDS; round++) {
        const { keys } = await store.list(churn, { prefix: `churn/${round}/` });
        assert.equal(keys.length, CHURN_BATCH / 2, `churn round ${round} keeps exactly the half it did not delete`);
      }
    } finally {
      await store.close();
    }
  });
});
