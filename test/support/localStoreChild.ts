// Child process for the local store's multi-process and crash tests (forked by test/unit/local-processes.test.ts).
// Usage: node localStoreChild.js <mode> <directory> <namespaceId> [count]
//   two-process: writes `child/<i>`, then waits (bounded) until it reads every `parent/<i>` the parent writes.
//   bulk-import: runs bulkPut calls of IMPORT_CALL_SIZE entries forever, reporting progress, until killed.
//   leave-open: opens the store (background sweep on) and returns without closing it; the process must still exit.
import { LocalStore } from '../../src/providers/local';
import { BULK_BATCH_KEYS } from '../../src/providers/local/localStore';

export type ChildMessage =
  | { type: 'ready' }
  | { type: 'batch'; call: number; done: number }
  | { type: 'call-done'; call: number }
  | { type: 'done'; sawParentKeys: number; listedKeys: number }
  | { type: 'error'; message: string };

/** Two and a half internal batches per call, so a kill can land between or inside a call's transactions. */
export const IMPORT_CALL_SIZE = BULK_BATCH_KEYS * 2 + BULK_BATCH_KEYS / 2;

/** Key and value of entry `index` of import call `call`; the value names its key so a torn write would show. */
export function importKey(call: number, index: number): string {
  return `imp/${String(call).padStart(4, '0')}/${String(index).padStart(6, '0')}`;
}

export function importValue(call: number, index: number): string {
  return `${importKey(call, index)}:${'x'.repeat(64)}`;
}

function send(message: ChildMessage): Promise<void> {
  return new Promise((resolve, reject) => process.send!(message, (error: Error | null) => (error ? reject(error) : resolve())));
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function twoProcess(store: LocalStore, namespaceId: string, count: number): Promise<void> {
  await send({ type: 'ready' });
  for (let i = 0; i < count; i++) {
    await store.put(namespaceId, `child/${i}`, `from child ${i}`);
    // Read whatever the parent has written so far, interleaved with writing.
    const seen = await store.get(namespaceId, `parent/${i}`);
    if (seen !== undefined && Buffer.from(seen.value).toString() !== `from parent ${i}`) {
      throw new Error(`parent/${i} read back wrong: ${Buffer.from(seen.value).toString()}`);
    }
  }
  const deadline = Date.now() + 20_000;
  let sawParentKeys = 0;
  while (Date.now() < deadline) {
    sawParentKeys = 0;
    for (let i = 0; i < count; i++) {
      const entry = await store.get(namespaceId, `parent/${i}`);
      if (entry && Buffer.from(entry.value).toString() === `from parent ${i}`) sawParentKeys++;
    }
    if (sawParentKeys === count) break;
    await sleep(20);
  }
  let listedKeys = 0;
  let cursor: string | undefined;
  do {
    const page = await store.list(namespaceId, { cursor });
    listedKeys += page.keys.length;
    cursor = page.complete ? undefined : page.cursor;
  } while (cursor);
  await send({ type: 'done', sawParentKeys, listedKeys });
}

async function bulkImport(store: LocalStore, namespaceId: string, firstCall: number): Promise<void> {
  await send({ type: 'ready' });
  for (let call = firstCall; ; call++) {
    const entries = Array.from({ length: IMPORT_CALL_SIZE }, (_, index) => ({ key: importKey(call, index), value: importValue(call, index) }));
    const pending: Promise<void>[] = [];
    const result = await store.bulkPut(namespaceId, entries, {
      onProgress: ({ done }) => void pending.push(send({ type: 'batch', call, done })),
    });
    if (result.failed.length > 0) throw new Error(`import call ${call}: ${result.failed[0].error}`);
    await Promise.all(pending);
    await send({ type: 'call-done', call });
  }
}

async function main(): Promise<void> {
  const [mode, directory, namespaceId, countText] = process.argv.slice(2);
  if (mode === 'leave-open') {
    const store = await LocalStore.open(directory, { sweepIntervalMs: 1_000 });
    await store.put(namespaceId, 'left-open', 'v');
    await send({ type: 'ready' });
    return;
  }
  const store = await LocalStore.open(directory, { sweepIntervalMs: 0 });
  try {
    if (mode === 'two-process') await twoProcess(store, namespaceId, Number(countText));
    else if (mode === 'bulk-import') await bulkImport(store, namespaceId, Number(countText));
    else throw new Error(`unknown mode ${mode}`);
  } finally {
    await store.close();
  }
}

if (require.main === module) {
  main()
    .then(() => process.disconnect?.())
    .catch(async (error: unknown) => {
      await send({ type: 'error', message: error instanceof Error ? (error.stack ?? error.message) : String(error) }).catch(() => undefined);
      process.exit(1);
    });
}
