// Bulk work for remote providers: splitting requests into batches an API accepts (at most N items and M bytes
// each), running them a few at a time, and accounting for every key (written, or failed with the reason).

import { describeError } from '../../core/errors';
import { settleWithConcurrency } from '../../core/concurrency';
import { cancelledError } from '../../core/retry';
import type { BulkOptions, BulkResult } from '../../core/store';

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

/** One request of a bulk run: the keys it carries, and the work, which resolves with the keys it did not apply. */
export interface BulkJob {
  keys: string[];
  run: () => Promise<string[]>;
}

/**
 * Runs the jobs `concurrency` at a time, reporting progress, and accounts for every key.
 * Cancellation rejects; when not a single job succeeded, the first job's error is thrown, typed.
 */
export async function runBulkJobs(provider: string, jobs: BulkJob[], total: number, options: BulkOptions, concurrency: number): Promise<BulkResult> {
  const result: BulkResult = { succeeded: [], failed: [] };
  let done = 0;
  options.onProgress?.({ done, total });
  const outcomes = await settleWithConcurrency(
    jobs,
    concurrency,
    async (job) => {
      const unsuccessful = await job.run();
      done += job.keys.length - new Set(unsuccessful).size;
      options.onProgress?.({ done, total });
      return unsuccessful;
    },
    options.signal,
  );
  if (options.signal?.aborted) throw cancelledError(options.signal);
  outcomes.forEach((outcome, index) => {
    const keys = jobs[index].keys;
    if (outcome.status === 'fulfilled') {
      const unsuccessful = new Set(outcome.value);
      for (const key of keys) {
        if (unsuccessful.has(key)) result.failed.push({ key, error: `${provider} reported that it did not apply this key.` });
        else result.succeeded.push(key);
      }
    } else {
      const reason = describeError(outcome.reason);
      for (const key of keys) result.failed.push({ key, error: reason });
    }
  });
  const firstError = outcomes.find((outcome) => outcome.status === 'rejected');
  if (result.succeeded.length === 0 && firstError) throw (firstError as PromiseRejectedResult).reason;
  return result;
}

/** Bulk work for an API without a bulk endpoint: one request per key, `concurrency` at a time. */
export function runPerKey(
  provider: string,
  keys: string[],
  options: BulkOptions,
  concurrency: number,
  work: (key: string, index: number) => Promise<void>,
): Promise<BulkResult> {
  const jobs = keys.map((key, index) => ({
    keys: [key],
    run: async () => {
      await work(key, index);
      return [] as string[];
    },
  }));
  return runBulkJobs(provider, jobs, keys.length, options, concurrency);
}
