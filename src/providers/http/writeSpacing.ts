// At most one write per interval to the same key (Cloudflare allows 1 write per second per key).
// Writes of one key run one after another, in call order, each starting at least `intervalMs` after the
// previous one FINISHED; so rapid saves of one key are spaced out instead of fired into a 429, and a later
// save can never overtake an earlier one that is still being retried. Counting from the finish rather than the
// start keeps the gap the server sees at least `intervalMs` even when the earlier request was slow to arrive.

import { cancelledError, systemClock, type Clock } from '../../core/retry';

interface KeyState {
  /** Settles when the last queued write of this key has finished. */
  tail: Promise<void>;
  /** When the last write of this key finished. */
  lastWriteMs: number;
  /** Writes queued or running. */
  active: number;
}

/** Entries idle longer than the interval carry no information; they are dropped once the map grows past this. */
const PRUNE_THRESHOLD = 1024;

export class KeyWriteSpacer {
  private readonly keys = new Map<string, KeyState>();

  constructor(
    readonly intervalMs: number,
    private readonly clock: Clock = systemClock,
  ) {}

  /** Keys currently tracked (for tests of pruning). */
  get trackedKeys(): number {
    return this.keys.size;
  }

  /**
   * Waits until `key` may be written; call the returned function when the write has finished (succeeded or not).
   * Rejects with a 'cancelled' KvError when `signal` aborts while waiting; the queue behind it moves on.
   */
  async acquire(key: string, signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) throw cancelledError(signal);
    if (this.keys.size > PRUNE_THRESHOLD) this.prune();
    let state = this.keys.get(key);
    if (!state) {
      state = { tail: Promise.resolve(), lastWriteMs: Number.NEGATIVE_INFINITY, active: 0 };
      this.keys.set(key, state);
    }
    const keyState = state;
    const previous = keyState.tail;
    let markDone!: () => void;
    const done = new Promise<void>((resolve) => (markDone = resolve));
    keyState.tail = previous.then(() => done);
    keyState.active++;
    let finished = false;
    const finish = (wrote: boolean): void => {
      if (finished) return;
      finished = true;
      if (wrote) keyState.lastWriteMs = this.clock.now();
      keyState.active--;
      markDone();
    };
    try {
      await untilSettledOrAborted(previous, signal);
      const waitMs = keyState.lastWriteMs + this.intervalMs - this.clock.now();
      if (waitMs > 0) await this.clock.sleep(waitMs, signal);
    } catch (error) {
      finish(false); // cancelled while waiting: nothing was written
      throw error;
    }
    return () => finish(true);
  }

  /** Runs `write` in its slot for `key`. */
  async run<T>(key: string, write: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    const release = await this.acquire(key, signal);
    try {
      return await write();
    } finally {
      release();
    }
  }

  private prune(): void {
    const now = this.clock.now();
    for (const [key, state] of this.keys) {
      if (state.active === 0 && now - state.lastWriteMs >= this.intervalMs) this.keys.delete(key);
    }
  }
}

function untilSettledOrAborted(promise: Promise<void>, signal: AbortSignal | undefined): Promise<void> {
  if (!signal) return promise;
  return new Promise((resolve, reject) => {
    const onAbort = (): void => reject(cancelledError(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
