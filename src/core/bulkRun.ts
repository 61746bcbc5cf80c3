// Long bulk writes and deletes that can be cancelled and still say exactly which keys were written.
//
// The providers' bulkPut/bulkDelete already split work into requests within their limits (10,000 pairs / 100 MB
// for Cloudflare, one request per key for stores without bulk) and run those concurrently; this module does not
// split by bytes again. What it adds is the unit of certainty: a provider that is cancelled mid-call throws
// without saying which of its requests had landed, so work is handed to it in segments. Every key of a finished
// segment is known written or failed; only the one segment in flight when the user cancels is uncertain.

import { describeError, isKvError } from './errors';
import type { BulkProgress, BulkPutEntry, BulkResult, KvStore } from './store';

/** Keys per segment for stores without a bulk endpoint: a few rounds of the provider's per-key concurrency. */
export const PER_KEY_SEGMENT = 64;
/** Keys per segment for stores with one, when their limits do not say. */
const DEFAULT_BULK_SEGMENT = 10_000;

export interface BulkRunOptions {
  signal?: AbortSignal;
  onProgress?: (progress: BulkProgress) => void;
  /** Keys per call to the store; by default one bulk request's worth, or PER_KEY_SEGMENT without bulk. */
  segmentSize?: number;
}

export interface BulkRunOutcome {
  /** Keys the store confirmed, in input order. */
  written: string[];
  /** Keys the store did not apply, with its reason. */
  failed: { key: string; error: string }[];
  /** Keys that were in flight when the run was cancelled: each may or may not have been applied. */
  uncertain: string[];
  /** Keys never sent (after a cancel, or after an error that stopped the run). */
  notAttempted: string[];
  cancelled: boolean;
  /** The error that stopped the run before its end (a cancel is not an error). */
  stoppedBy?: string;
}

function segmentSizeFor(store: Pick<KvStore, 'capabilities' | 'limits'>, bulk: boolean, wanted: number | undefined): number {
  if (wanted !== undefined) return Math.max(1, Math.floor(wanted));
  if (!bulk) return PER_KEY_SEGMENT;
  return store.limits.bulk?.maxPairs ?? DEFAULT_BULK_SEGMENT;
}

async function runSegments<T>(
  items: T[],
  keyOf: (item: T) => string,
  segmentSize: number,
  options: BulkRunOptions,
  run: (segment: T[], onProgress: (progress: BulkProgress) => void, signal: AbortSignal | undefined) => Promise<BulkResult>,
): Promise<BulkRunOutcome> {
  const outcome: BulkRunOutcome = { written: [], failed: [], uncertain: [], notAttempted: [], cancelled: false };
  const total = items.length;
  const settled = () => outcome.written.length + outcome.failed.length;
  options.onProgress?.({ done: 0, total });
  for (let start = 0; start < items.length; start += segmentSize) {
    const segment = items.slice(start, start + segmentSize);
    const rest = () => items.slice(start + segment.length).map(keyOf);
    if (options.signal?.aborted) {
      outcome.cancelled = true;
      outcome.notAttempted.push(...items.slice(start).map(keyOf));
      break;
    }
    const base = settled();
    let confirmed = 0;
    let result: BulkResult;
    try {
      result = await run(
        segment,
        (progress) => {
          confirmed = progress.done;
          options.onProgress?.({ done: base + progress.done, total });
        },
        options.signal,
      );
    } catch (error) {
      if (isKvError(error, 'cancelled') || options.signal?.aborted) {
        outcome.cancelled = true;
        // The store had confirmed the whole segment before it noticed the cancel: nothing is in doubt.
        if (confirmed >= segment.length) outcome.written.push(...segment.map(keyOf));
        else outcome.uncertain.push(...segment.map(keyOf));
      } else {
        const reason = describeError(error);
        outcome.stoppedBy = reason;
        for (const item of segment) outcome.failed.push({ key: keyOf(item), error: reason });
      }
      outcome.notAttempted.push(...rest());
      break;
    }
    outcome.written.push(...result.succeeded);
    outcome.failed.push(...result.failed);
    options.onProgress?.({ done: settled(), total });
    if (options.signal?.aborted) {
      // A store that stops by itself on cancel (the local one) reports the keys it skipped as failed: exact.
      outcome.cancelled = true;
      outcome.notAttempted.push(...rest());
      break;
    }
  }
  return outcome;
}

/** Writes entries through the store's bulkPut, segment by segment (see the top of this file). */
export function runBulkPut(store: KvStore, namespaceId: string, entries: BulkPutEntry[], options: BulkRunOptions = {}): Promise<BulkRunOutcome> {
  const size = segmentSizeFor(store, store.capabilities.bulkWrite, options.segmentSize);
  return runSegments(entries, (entry) => entry.key, size, options, (segment, onProgress, signal) =>
    store.bulkPut(namespaceId, segment, { signal, onProgress }),
  );
}

/** Deletes keys through the store's bulkDelete, segment by segment. */
export function runBulkDelete(store: KvStore, namespaceId: string, keys: string[], options: BulkRunOptions = {}): Promise<BulkRunOutcome> {
  const size = segmentSizeFor(store, store.capabilities.bulkDelete, options.segmentSize);
  return runSegments(keys, (key) => key, size, options, (segment, onProgress, signal) => store.bulkDelete(namespaceId, segment, { signal, onProgress }));
}

/** "20000 written" / "19000 written, 3 failed, 1000 not attempted (cancelled)": a one-line summary. */
export function summarizeOutcome(outcome: BulkRunOutcome, verb = 'written'): string {
  const parts = [`${outcome.written.length} ${verb}`];
  if (outcome.failed.length) parts.push(`${outcome.failed.length} failed`);
  if (outcome.uncertain.length) parts.push(`${outcome.uncertain.length} in flight when cancelled (may or may not be ${verb})`);
  if (outcome.notAttempted.length) parts.push(`${outcome.notAttempted.length} not attempted`);
  return parts.join(', ');
}

/** The full account of a run, every key listed under what happened to it, for a report document. */
export function describeOutcome(outcome: BulkRunOutcome, verb = 'written'): string {
  const lines: string[] = [];
  const section = (title: string, keys: string[]) => {
    if (keys.length === 0) return;
    lines.push('', `${title} (${keys.length}):`);
    for (const key of keys) lines.push(`  ${JSON.stringify(key)}`);
  };
  lines.push(summarizeOutcome(outcome, verb) + (outcome.cancelled ? ' — cancelled.' : '.'));
  if (outcome.stoppedBy) lines.push(`Stopped by: ${outcome.stoppedBy}`);
  if (outcome.failed.length) {
    lines.push('', `Failed (${outcome.failed.length}):`);
    for (const { key, error } of outcome.failed) lines.push(`  ${JSON.stringify(key)}: ${error}`);
  }
  section(`In flight when cancelled — may or may not be ${verb}`, outcome.uncertain);
  section('Not attempted', outcome.notAttempted);
  section(verb.charAt(0).toUpperCase() + verb.slice(1), outcome.written);
  return lines.join('\n') + '\n';
}
