// Fault injection for the dialect servers: a seeded share of requests fails the way real APIs fail, so tests of the
// shared REST client's retries are reproducible.

/** What can happen to a faulted request. */
export type FaultKind =
  /** 429 with Retry-After. */
  | '429'
  | '500'
  | '503'
  /** The connection is destroyed before the request is handled: the client sees a reset, nothing was applied. */
  | 'drop'
  /** The request is handled normally after `slowMs`. */
  | 'slow'
  /**
   * The request IS handled (a write applies), then the connection is destroyed instead of answering: the client
   * cannot tell whether its write happened. The only kind that touches the store.
   */
  | 'drop-after';

export interface FaultOptions {
  /** Share of requests that get a fault, 0–1. */
  rate: number;
  /** Faults to choose from, uniformly. Default: 429, 500, 503 and drop. */
  kinds?: FaultKind[];
  /** Retry-After on injected 429s and 503s. Default 1. */
  retryAfterSeconds?: number;
  /** Delay of a 'slow' fault. Default 500 ms. */
  slowMs?: number;
  /** Seed of the PRNG; the same seed and request order give the same faults. Default 1. */
  seed?: number;
  /** Only requests with these methods are faulted (e.g. ['PUT'] for writes only). Default: all. */
  methods?: string[];
}

const DEFAULT_KINDS: FaultKind[] = ['429', '500', '503', 'drop'];

/** mulberry32: small, fast and good enough to spread faults; not for anything secret. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Decides, request by request, which fault (if any) to inject. */
export class FaultPlan {
  private readonly random: () => number;
  private readonly kinds: FaultKind[];
  readonly retryAfterSeconds: number;
  readonly slowMs: number;

  constructor(private readonly options: FaultOptions) {
    if (!(options.rate >= 0 && options.rate <= 1)) throw new RangeError(`Fault rate must be within 0–1; got ${options.rate}.`);
    this.kinds = options.kinds && options.kinds.length > 0 ? options.kinds : DEFAULT_KINDS;
    this.random = seededRandom(options.seed ?? 1);
    this.retryAfterSeconds = options.retryAfterSeconds ?? 1;
    this.slowMs = options.slowMs ?? 500;
  }

  next(method: string): FaultKind | undefined {
    if (this.options.methods && !this.options.methods.includes(method)) return undefined;
    if (this.random() >= this.options.rate) return undefined;
    return this.kinds[Math.floor(this.random() * this.kinds.length)];
  }
}
