// When and how long to wait before trying a request again: exponential backoff with full jitter,
// Retry-After (seconds or HTTP date), and caps on attempts and on total time.
// Time and randomness are injected so every decision can be tested with a fake clock.

import { KvError } from './errors';

/** Wall-clock milliseconds and an abortable wait; the system clock in production, a fake one in tests. */
export interface Clock {
  now(): number;
  /** Resolves after `ms`; rejects with a 'cancelled' KvError when `signal` aborts first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export function cancelledError(signal?: AbortSignal): KvError {
  const reason: unknown = signal?.reason;
  const why = reason instanceof Error && reason.name !== 'AbortError' ? `: ${reason.message}` : '';
  return new KvError('cancelled', `The request was cancelled${why}.`, { cause: reason });
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw cancelledError(signal);
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(cancelledError(signal));
      const onAbort = (): void => {
        clearTimeout(timer);
        reject(cancelledError(signal));
      };
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, Math.max(0, ms));
      signal?.addEventListener('abort', onAbort, { once: true });
    }),
};

export interface RetryPolicy {
  /** Attempts in all, the first one included. */
  readonly maxAttempts: number;
  /** Upper bound of the first backoff; each later one doubles it. */
  readonly baseDelayMs: number;
  /** Upper bound of any single backoff computed here (a server's Retry-After may ask for more). */
  readonly maxDelayMs: number;
  /** No retry starts later than this after the first attempt started. */
  readonly maxTotalMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 6,
  baseDelayMs: 250,
  maxDelayMs: 8_000,
  maxTotalMs: 60_000,
};

/**
 * Milliseconds a `Retry-After` header asks for: delta-seconds or an HTTP date.
 * Undefined when absent or unreadable; never negative.
 */
export function parseRetryAfter(value: string | undefined, nowMs: number): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (text === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  // Only a date (it has letters, e.g. "Wed, 21 Oct 2015 07:28:00 GMT"), so "-5" or "1e3" are not misread as one.
  if (!/[a-z]/i.test(text)) return undefined;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}

/**
 * "Full jitter" backoff: uniformly random in [0, min(maxDelay, base·2^(retry-1))).
 * Spreading retries over the whole window keeps many clients from retrying in lockstep.
 */
export function backoffDelay(retryNumber: number, policy: RetryPolicy, random: () => number): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, retryNumber - 1));
  return Math.floor(random() * ceiling);
}

export interface RetryDecisionInput {
  /** Attempts already made (1 after the first failure). */
  attemptsMade: number;
  startedAtMs: number;
  nowMs: number;
  /** What the server asked for, when it did. */
  retryAfterMs?: number;
  policy: RetryPolicy;
  random: () => number;
}

/**
 * How long to wait before the next attempt, or undefined to stop: out of attempts, or the wait would
 * end past the total-time cap. A Retry-After is a floor: the wait is never shorter than what the server asked.
 */
export function nextRetryDelay(input: RetryDecisionInput): number | undefined {
  const { attemptsMade, startedAtMs, nowMs, retryAfterMs, policy, random } = input;
  if (attemptsMade >= policy.maxAttempts) return undefined;
  const backoff = backoffDelay(attemptsMade, policy, random);
  const delay = retryAfterMs === undefined ? backoff : Math.max(retryAfterMs, backoff);
  if (nowMs + delay - startedAtMs > policy.maxTotalMs) return undefined;
  return delay;
}

/** What one attempt produced, as the retry loop needs to see it. */
export type AttemptOutcome<T> =
  /** Final: hand the value back. */
  | { kind: 'done'; value: T }
  /** A result worth retrying (429, 503); handed back as it is when retries run out. */
  | { kind: 'retry-result'; value: T; reason: string; retryAfterMs?: number }
  /** An error worth retrying (reset, timeout); thrown when retries run out. */
  | { kind: 'retry-error'; error: unknown; reason: string };

export interface RetryLoopOptions {
  policy: RetryPolicy;
  clock: Clock;
  random: () => number;
  signal?: AbortSignal;
  /** Called before each wait, e.g. to log it. */
  onRetry?: (info: { attempt: number; delayMs: number; reason: string }) => void;
}

/**
 * Runs `attempt` (numbered from 1) until it is done, or retries run out. Cancellation between attempts
 * rejects with a 'cancelled' KvError.
 */
export async function retryLoop<T>(attempt: (attempt: number) => Promise<AttemptOutcome<T>>, options: RetryLoopOptions): Promise<T> {
  const { policy, clock, random, signal } = options;
  const startedAtMs = clock.now();
  for (let attemptNumber = 1; ; attemptNumber++) {
    throwIfAborted(signal);
    const outcome = await attempt(attemptNumber);
    if (outcome.kind === 'done') return outcome.value;
    const delayMs = nextRetryDelay({
      attemptsMade: attemptNumber,
      startedAtMs,
      nowMs: clock.now(),
      retryAfterMs: outcome.kind === 'retry-result' ? outcome.retryAfterMs : undefined,
      policy,
      random,
    });
    if (delayMs === undefined) {
      if (outcome.kind === 'retry-result') return outcome.value;
      throw outcome.error;
    }
    options.onRetry?.({ attempt: attemptNumber, delayMs, reason: outcome.reason });
    await clock.sleep(delayMs, signal);
  }
}
