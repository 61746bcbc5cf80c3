// Splitting bulk requests into batches a Cloudflare-style API accepts (at most N items and M bytes each),
// and running them a few at a time.

import { cancelledError } from '../../core/retry';

export interface SizedItem<T> {
  item: T;
  /** Bytes the item adds to the request body, separator included. */
  bytes: number;
}

/**
 * Greedy packing in input order. An item larger than `maxBytes` on its own gets a batch of its own
 * (validation has already bounded single items; the server has the last word).
 */
export function packBatches<T>(items: SizedItem<T>[], maxItems: number, maxBytes: number): T[][] {
  const batches: T[][] = [];
  let current: T[] = [];
  let currentBytes = 0;
  for (const { item, bytes } of items) {
    if (current.length > 0 && (current.length >= maxItems || currentBytes + bytes > maxBytes)) {
      batches.push(current);
      current = [];
      currentBytes = 0;
    }
    current.push(item);
    currentBytes += bytes;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

/** Runs `work` over `items` with at most `concurrency` at once; settles every item, in input order. */
export async function settleWithConcurrency<T, R>(
  items: T[],
  concurrency: number,
  work: (item: T, index: number) => Promise<R>,
  signal?: AbortSignal,
): Promise<PromiseSettledResult<R>[]> {
  const results: PromiseSettledResult<R>[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      try {
        if (signal?.aborted) throw cancelledError(signal);
        results[index] = { status: 'fulfilled', value: await work(items[index], index) };
      } catch (reason) {
        results[index] = { status: 'rejected', reason };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
}
