// The hand-written parts of the REST client's policy, on a fake clock: backoff with jitter, Retry-After,
// the caps on attempts and total time, the retry loop, per-key write spacing, the semaphore, and the https rule.
import assert from 'node:assert/strict';
import { KvError } from '../../src/core/errors';
import {
  DEFAULT_RETRY_POLICY,
  backoffDelay,
  cancelledError,
  nextRetryDelay,
  parseRetryAfter,
  retryLoop,
  type AttemptOutcome,
  type Clock,
  type RetryPolicy,
} from '../../src/core/retry';
import { KeyWriteSpacer } from '../../src/providers/http/writeSpacing';
import { Semaphore } from '../../src/providers/http/semaphore';
import { isLoopbackHost, joinUrl, parseBaseUrl } from '../../src/providers/http/url';
import { buildMultipart } from '../../src/providers/http/multipart';

/** Time moves only when the test says so; sleeping registers a timer that `advance` fires. */
class FakeClock implements Clock {
  private timers: { at: number; fire: () => void }[] = [];
  readonly sleeps: number[] = [];
  constructor(public nowMs = 1_000_000) {}

  now(): number {
    return this.nowMs;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    this.sleeps.push(ms);
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(cancelledError(signal));
      const timer = { at: this.nowMs + ms, fire: () => resolve() };
      this.timers.push(timer);
      signal?.addEventListener(
        'abort',
        () => {
          this.timers = this.timers.filter((t) => t !== timer);
          reject(cancelledError(signal));
        },
        { once: true },
      );
    });
  }

  get pendingTimers(): number {
    return this.timers.length;
  }

  /** Moves time forward, firing due timers in order and letting promise chains run between them. */
  async advance(ms: number): Promise<void> {
    const until = this.nowMs + ms;
    for (;;) {
      await flush();
      this.timers.sort((a, b) => a.at - b.at);
      const next = this.timers[0];
      if (!next || next.at > until) break;
      this.timers.shift();
      this.nowMs = Math.max(this.nowMs, next.at);
      next.fire();
    }
    this.nowMs = until;
    await flush();
  }
}

async function flush(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
  await new Promise((resolve) => setImmediate(resolve));
}

/** A clock whose sleeps finish at once, moving time forward by what was asked. */
class AutoClock implements Clock {
  readonly sleeps: number[] = [];
  constructor(public nowMs = 0) {}
  now(): number {
    return this.nowMs;
  }
  async sleep(ms: number): Promise<void> {
    this.sleeps.push(ms);
    this.nowMs += ms;
  }
}

const policy: RetryPolicy = { maxAttempts: 5, baseDelayMs: 100, maxDelayMs: 1_000, maxTotalMs: 10_000 };

describe('retry policy (src/core/retry.ts)', () => {
  describe('parseRetryAfter', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');

    it('reads delta-seconds, including fractions and surrounding space', () => {
      assert.equal(parseRetryAfter('3', now), 3000);
      assert.equal(parseRetryAfter(' 0 ', now), 0);
      assert.equal(parseRetryAfter('1.5', now), 1500);
    });

    it('reads an HTTP date relative to now, never negative', () => {
      assert.equal(parseRetryAfter('Thu, 01 Jan 2026 00:00:07 GMT', now), 7000);
      assert.equal(parseRetryAfter('Wed, 31 Dec 2025 23:59:00 GMT', now), 0);
    });

    it('ignores what it cannot read', () => {
      for (const value of [undefined, '', 'soon', '-5', '1e3', '12abc']) assert.equal(parseRetryAfter(value, now), undefined, String(value));
    });
  });

  describe('backoffDelay (full jitter)', () => {
    it('spans [0, base·2^(n-1)) and is capped at maxDelay', () => {
      assert.equal(backoffDelay(1, policy, () => 0), 0);
      assert.equal(backoffDelay(1, policy, () => 0.999999), 99);
      assert.equal(backoffDelay(2, policy, () => 0.5), 100);
      assert.equal(backoffDelay(3, policy, () => 0.5), 200);
      assert.equal(backoffDelay(4, policy, () => 0.5), 400);
      assert.equal(backoffDelay(5, policy, () => 0.5), 500); // 1600 capped at 1000
      assert.equal(backoffDelay(30, policy, () => 0.999999), 999);
    });
  });

  describe('nextRetryDelay', () => {
    const base = { startedAtMs: 0, nowMs: 0, policy, random: () => 0.5 };

    it('stops after maxAttempts', () => {
      assert.equal(nextRetryDelay({ ...base, attemptsMade: 4 }), 400);
      assert.equal(nextRetryDelay({ ...base, attemptsMade: 5 }), undefined);
    });

    it('treats Retry-After as a floor over the jittered backoff', () => {
      assert.equal(nextRetryDelay({ ...base, attemptsMade: 1, retryAfterMs: 3000 }), 3000);
      assert.equal(nextRetryDelay({ ...base, attemptsMade: 4, retryAfterMs: 10 }), 400);
    });

    it('stops when the wait would end past the total-time cap', () => {
      assert.equal(nextRetryDelay({ ...base, attemptsMade: 1, nowMs: 9_960 }), undefined);
      assert.equal(nextRetryDelay({ ...base, attemptsMade: 1, nowMs: 9_950 }), 50);
      assert.equal(nextRetryDelay({ ...base, attemptsMade: 1, retryAfterMs: 300_000 }), undefined);
    });

    it('has sane defaults', () => {
      assert.ok(DEFAULT_RETRY_POLICY.maxAttempts >= 3 && DEFAULT_RETRY_POLICY.maxTotalMs >= 10_000);
    });
  });

  describe('retryLoop', () => {
    it('retries until done, sleeping the computed delays', async () => {
      const clock = new AutoClock();
      const seen: number[] = [];
      const value = await retryLoop<string>(
        async (attempt) => {
          seen.push(attempt);
          return attempt < 3 ? { kind: 'retry-result', value: `fail ${attempt}`, reason: 'HTTP 503' } : { kind: 'done', value: 'ok' };
        },
        { policy, clock, random: () => 0.5 },
      );
      assert.equal(value, 'ok');
      assert.deepEqual(seen, [1, 2, 3]);
      assert.deepEqual(clock.sleeps, [50, 100]);
    });

    it('hands back the last retryable result when attempts run out', async () => {
      const clock = new AutoClock();
      let calls = 0;
      const value = await retryLoop<number>(async () => ({ kind: 'retry-result', value: ++calls, reason: 'HTTP 429', retryAfterMs: 2000 }), {
        policy,
        clock,
        random: () => 0,
      });
      assert.equal(value, 5);
      assert.deepEqual(clock.sleeps, [2000, 2000, 2000, 2000]);
    });

    it('throws the last retryable error when the total time runs out', async () => {
      const clock = new AutoClock();
      let calls = 0;
      const outcome = (): Promise<AttemptOutcome<string>> => {
        calls++;
        clock.nowMs += 4_000; // each attempt takes 4 s
        return Promise.resolve({ kind: 'retry-error', error: new Error(`reset ${calls}`), reason: 'reset' });
      };
      await assert.rejects(retryLoop(outcome, { policy, clock, random: () => 0 }), /reset 3/);
      assert.equal(calls, 3); // at 12 s the next attempt would start past the 10 s cap
    });

    it('does not retry a thrown error', async () => {
      let calls = 0;
      await assert.rejects(
        retryLoop(
          async () => {
            calls++;
            throw new Error('fatal');
          },
          { policy, clock: new AutoClock(), random: () => 0 },
        ),
        /fatal/,
      );
      assert.equal(calls, 1);
    });

    it('stops waiting and rejects as cancelled when the signal aborts during a backoff', async () => {
      const clock = new FakeClock();
      const controller = new AbortController();
      let calls = 0;
      const loop = retryLoop(async () => ({ kind: 'retry-result', value: ++calls, reason: 'HTTP 503' }), {
        policy,
        clock,
        random: () => 0.5,
        signal: controller.signal,
      });
      await flush();
      assert.equal(clock.pendingTimers, 1);
      controller.abort();
      await assert.rejects(loop, (error: unknown) => error instanceof KvError && error.kind === 'cancelled');
      assert.equal(calls, 1);
    });

    it('reports each retry to onRetry', async () => {
      const retries: string[] = [];
      await retryLoop<number>(async (attempt) => (attempt === 1 ? { kind: 'retry-error', error: new Error('x'), reason: 'timed out' } : { kind: 'done', value: 1 }), {
        policy,
        clock: new AutoClock(),
        random: () => 0,
        onRetry: ({ attempt, delayMs, reason }) => retries.push(`${attempt}:${delayMs}:${reason}`),
      });
      assert.deepEqual(retries, ['1:0:timed out']);
    });
  });
});

describe('KeyWriteSpacer (per-key write spacing)', () => {
  it('lets the first write of a key go at once and spaces the next ones by the interval', async () => {
    const clock = new FakeClock(0);
    const spacer = new KeyWriteSpacer(1000, clock);
    const started: [string, number][] = [];
    const write = (key: string, tag: string): Promise<void> => spacer.run(key, async () => void started.push([tag, clock.now()]));
    const all = Promise.all([write('k', 'k1'), write('k', 'k2'), write('k', 'k3'), write('other', 'o1')]);
    await flush();
    assert.deepEqual(started, [
      ['k1', 0],
      ['o1', 0],
    ]);
    await clock.advance(999);
    assert.equal(started.length, 2);
    await clock.advance(1);
    assert.deepEqual(started.slice(2), [['k2', 1000]]);
    await clock.advance(1000);
    await all;
    assert.deepEqual(started.slice(3), [['k3', 2000]]);
  });

  it('does not wait when the last write of the key is older than the interval', async () => {
    const clock = new FakeClock(0);
    const spacer = new KeyWriteSpacer(1000, clock);
    await spacer.run('k', async () => undefined);
    clock.nowMs = 5000;
    let ran = false;
    await spacer.run('k', async () => void (ran = true));
    assert.ok(ran);
    assert.equal(clock.sleeps.length, 0);
  });

  it('keeps a later write behind an earlier one that is still running, and spaces it from its finish', async () => {
    const clock = new FakeClock(0);
    const spacer = new KeyWriteSpacer(1000, clock);
    const order: string[] = [];
    let finishFirst!: () => void;
    const first = spacer.run('k', () => new Promise<void>((resolve) => (finishFirst = () => (order.push('first done'), resolve()))));
    const second = spacer.run('k', async () => void order.push(`second at ${clock.now()}`));
    await clock.advance(5000);
    assert.deepEqual(order, []);
    finishFirst();
    await clock.advance(999);
    assert.deepEqual(order, ['first done'], 'the interval counts from when the first write finished');
    await clock.advance(1);
    await Promise.all([first, second]);
    assert.deepEqual(order, ['first done', 'second at 6000']);
  });

  it('a cancelled waiter rejects as cancelled and the queue behind it moves on', async () => {
    const clock = new FakeClock(0);
    const spacer = new KeyWriteSpacer(1000, clock);
    const started: string[] = [];
    await spacer.run('k', async () => void started.push('a'));
    const controller = new AbortController();
    const b = spacer.run('k', async () => void started.push('b'), controller.signal);
    const c = spacer.run('k', async () => void started.push('c'));
    await flush();
    controller.abort();
    await assert.rejects(b, (error: unknown) => error instanceof KvError && error.kind === 'cancelled');
    await clock.advance(1000);
    await c;
    assert.deepEqual(started, ['a', 'c']);
  });

  it('a failed write still frees the key', async () => {
    const clock = new FakeClock(0);
    const spacer = new KeyWriteSpacer(1000, clock);
    await assert.rejects(spacer.run('k', async () => Promise.reject(new Error('boom'))), /boom/);
    const next = spacer.run('k', async () => 'ok');
    await clock.advance(1000);
    assert.equal(await next, 'ok');
  });

  it('forgets idle keys once many are tracked', async () => {
    const clock = new FakeClock(0);
    const spacer = new KeyWriteSpacer(1000, clock);
    for (let i = 0; i < 1100; i++) await spacer.run(`k${i}`, async () => undefined);
    assert.equal(spacer.trackedKeys, 1100);
    clock.nowMs = 2000;
    await spacer.run('fresh', async () => undefined);
    assert.equal(spacer.trackedKeys, 1);
  });
});

describe('Semaphore', () => {
  it('bounds holders and hands permits over in order', async () => {
    const semaphore = new Semaphore(2);
    const a = await semaphore.acquire();
    const b = await semaphore.acquire();
    let cGranted = false;
    const c = semaphore.acquire().then((release) => ((cGranted = true), release));
    await flush();
    assert.equal(cGranted, false);
    assert.equal(semaphore.inUse, 2);
    a();
    a(); // releasing twice gives back one permit only
    const releaseC = await c;
    assert.equal(semaphore.inUse, 2);
    b();
    releaseC();
    assert.equal(semaphore.inUse, 0);
  });

  it('drops a waiter whose signal aborts', async () => {
    const semaphore = new Semaphore(1);
    const held = await semaphore.acquire();
    const controller = new AbortController();
    const waiting = semaphore.acquire(controller.signal);
    controller.abort();
    await assert.rejects(waiting, (error: unknown) => error instanceof KvError && error.kind === 'cancelled');
    held();
    assert.equal(semaphore.inUse, 0);
  });
});

describe('transport rule for base URLs', () => {
  it('accepts https anywhere and http only to loopback', () => {
    for (const url of ['https://api.example.test/client/v4', 'http://127.0.0.1:8787/cdn-cgi/explorer/api', 'http://127.1.2.3/', 'http://[::1]:9000/x', 'http://localhost:1/']) {
      assert.equal(parseBaseUrl(url).href.startsWith(url.slice(0, 8)), true, url);
    }
  });

  it('refuses plain http to any other host, other schemes, credentials and junk, as invalid', () => {
    const cases: [string, string][] = [
      ['http://api.example.test/client/v4', 'url.insecure'],
      ['http://10.0.0.1/', 'url.insecure'],
      ['http://128.0.0.1/', 'url.insecure'],
      ['http://localhost.example.test/', 'url.insecure'],
      ['http://[::2]/', 'url.insecure'],
      ['ftp://127.0.0.1/', 'url.protocol'],
      ['https://user:secret@api.example.test/', 'url.credentials'],
      ['https://api.example.test/?token=x', 'url.query'],
      ['not a url', 'url.syntax'],
    ];
    for (const [url, rule] of cases) {
      assert.throws(
        () => parseBaseUrl(url),
        (error: unknown) => error instanceof KvError && error.kind === 'invalid' && error.rule === rule,
        url,
      );
    }
  });

  it('recognises loopback hosts exactly', () => {
    assert.ok(isLoopbackHost('127.0.0.1') && isLoopbackHost('[::1]') && isLoopbackHost('LOCALHOST'));
    assert.ok(!isLoopbackHost('127.0.0.1.example.test') && !isLoopbackHost('127.0.0.256') && !isLoopbackHost('0.0.0.0'));
  });

  it('joins paths below the base path without decoding an encoded slash', () => {
    const base = parseBaseUrl('http://127.0.0.1:1/client/v4/');
    const url = joinUrl(base, `/values/${encodeURIComponent('a/../b?c#d%')}`, { limit: 10, prefix: 'a/ b', cursor: undefined });
    assert.equal(url.pathname, '/client/v4/values/a%2F..%2Fb%3Fc%23d%25');
    assert.equal(url.search, '?limit=10&prefix=a%2F+b');
  });
});

describe('multipart bodies', () => {
  it('frames each part with its name, type and bytes', () => {
    const { body, contentType } = buildMultipart(
      [
        { name: 'value', value: new Uint8Array([0, 255]), contentType: 'application/octet-stream', filename: 'blob' },
        { name: 'metadata', value: '{"a":1}', contentType: 'application/json' },
      ],
      'BOUND',
    );
    assert.equal(contentType, 'multipart/form-data; boundary=BOUND');
    const expected = Buffer.concat([
      Buffer.from('--BOUND\r\nContent-Disposition: form-data; name="value"; filename="blob"\r\nContent-Type: application/octet-stream\r\n\r\n'),
      Buffer.from([0, 255]),
      Buffer.from('\r\n--BOUND\r\nContent-Disposition: form-data; name="metadata"\r\nContent-Type: application/json\r\n\r\n{"a":1}\r\n--BOUND--\r\n'),
    ]);
    assert.ok(body.equals(expected));
  });

  it('picks another boundary when a part contains it', () => {
    const { contentType } = buildMultipart([{ name: 'value', value: 'has BOUND inside' }], 'BOUND');
    assert.notEqual(contentType, 'multipart/form-data; boundary=BOUND');
  });

  it('parses back with the platform FormData parser', async () => {
    const { body, contentType } = buildMultipart([
      { name: 'value', value: new Uint8Array([1, 2, 3]), contentType: 'application/octet-stream', filename: 'blob' },
      { name: 'metadata', value: '{"é":1}', contentType: 'application/json' },
    ]);
    const form = await new Response(new Uint8Array(body), { headers: { 'content-type': contentType } }).formData();
    const value = form.get('value');
    assert.ok(value instanceof Blob);
    assert.deepEqual([...new Uint8Array(await value.arrayBuffer())], [1, 2, 3]);
    assert.equal(String(form.get('metadata')), '{"é":1}');
  });
});
