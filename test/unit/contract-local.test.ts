// The shared store contract against the local store: a real LMDB in a fresh temp directory per test.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalStore } from '../../src/providers/local';
import { runStoreContract } from '../support/storeContract';

runStoreContract('local', async () => {
  const directory = mkdtempSync(join(tmpdir(), 'kv-contract-local-'));
  const store = await LocalStore.open(directory, { sweepIntervalMs: 0 });
  const { id } = await store.createNamespace('contract');
  return {
    store,
    namespaceId: id,
    cleanup: async () => {
      await store.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
});
