// The physical floor of a durable write on this disk: write one 4 kB page into a file and wait for
// fdatasync, the least any store must do before it may report a write as safe from a power loss.

import { open, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';

const PAGE_BYTES = 4096;
/** Pages the writes cycle over, so the file stays small and every write lands on an allocated page. */
const PAGES = 256;

export interface FlushFloor {
  /** One page written at a position chosen by `index`, then flushed to the disk. */
  write(index: number): Promise<void>;
  close(): Promise<void>;
}

export async function openFlushFloor(dir: string): Promise<FlushFloor> {
  const path = join(dir, 'flush-floor.bin');
  const file: FileHandle = await open(path, 'w+');
  const page = Buffer.alloc(PAGE_BYTES, 0x2a);
  await file.write(Buffer.alloc(PAGE_BYTES * PAGES), 0, PAGE_BYTES * PAGES, 0);
  await file.sync();
  return {
    async write(index) {
      await file.write(page, 0, PAGE_BYTES, (index % PAGES) * PAGE_BYTES);
      await file.datasync();
    },
    async close() {
      await file.close();
      await rm(path, { force: true });
    },
  };
}
