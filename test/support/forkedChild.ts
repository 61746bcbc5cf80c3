// A forked Node child driven over IPC, with bounded waits: shared by the unit and reliability rooms' multi-process cases.
import { fork, type ChildProcess } from 'node:child_process';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A forked child whose messages can be awaited with a deadline; an early exit or an 'error' message fails the wait. */
export class ForkedChild<M extends { type: string }> {
  readonly process: ChildProcess;
  readonly messages: M[] = [];
  private exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private readonly exitPromise: Promise<void>;
  private waiters: (() => void)[] = [];

  constructor(script: string, args: string[]) {
    this.process = fork(script, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.process.on('message', (message: M) => {
      this.messages.push(message);
      this.wakeAll();
    });
    this.exitPromise = new Promise((resolve) =>
      this.process.on('exit', (code, signal) => {
        this.exited = { code, signal };
        this.wakeAll();
        resolve();
      }),
    );
  }

  get hasExited(): boolean {
    return this.exited !== undefined;
  }

  /** Resolves with the first message that satisfies `accept`. */
  async waitFor(accept: (message: M) => boolean, what: string, timeoutMs: number): Promise<M> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const failure = this.messages.find((message) => message.type === 'error') as (M & { message?: string }) | undefined;
      if (failure) throw new Error(`child failed: ${failure.message ?? JSON.stringify(failure)}`);
      const found = this.messages.find(accept);
      if (found) return found;
      if (this.exited) throw new Error(`child exited (${JSON.stringify(this.exited)}) before ${what}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`child: no ${what} within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 200));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  async killHard(): Promise<void> {
    if (!this.exited) this.process.kill('SIGKILL');
    await this.exitPromise;
  }

  async exit(timeoutMs: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    await Promise.race([this.exitPromise, sleep(timeoutMs)]);
    if (!this.exited) throw new Error(`child did not exit within ${timeoutMs} ms`);
    return this.exited;
  }

  /** Resolves with the first message of `type`, typed as that message. */
  async waitForType<T extends M['type']>(type: T, timeoutMs: number): Promise<Extract<M, { type: T }>> {
    return (await this.waitFor((message) => message.type === type, `a "${type}" message`, timeoutMs)) as Extract<M, { type: T }>;
  }

  private wakeAll(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }
}
