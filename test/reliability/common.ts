// What the reliability cases share: the size switch, a seeded PRNG, a bounded wrapper around forked children,
// and a byte-exact snapshot of a namespace. Not a test file (no `.test.ts`), so mocha only loads it through imports.
import * as diagnostics from 'node:diagnostics_channel';
import type { KvStore } from '../../src/core/store';
import { seededRandom } from '../../src/server/faults';
export { ForkedChild } from '../support/forkedChild';

/** `KV_RELIABILITY_FULL=1` runs every case at its full size; docs/reliability.md lists both sizes. */
export const FULL = process.env.KV_RELIABILITY_FULL === '1';

/** The size of a case: `normal` in every run, `full` under KV_RELIABILITY_FULL=1. */
export function sized(normal: number, full: number): number {
  return FULL ? full : normal;
}

/** Seed of every generated input: KV_RELIABILITY_SEED to replay a failure, else a fixed one so runs repeat. */
export const SEED = Number(process.env.KV_RELIABILITY_SEED ?? 20_240_601);

export { seededRandom };

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Everything a namespace holds, key by key: value bytes (hex), expiration and metadata, as one comparable map.
 * Reads through the store itself, so it works for any provider.
 */
export async function snapshotNamespace(store: KvStore, namespaceId: string): Promise<Map<string, string>> {
  const snapshot = new Map<string, string>();
  let cursor: string | undefined;
  for (let pages = 0; pages < 10_000; pages++) {
    const page = await store.list(namespaceId, { cursor });
    for (const key of page.keys) {
      const entry = await store.get(namespaceId, key.name);
      snapshot.set(
        key.name,
        JSON.stringify({
          value: entry === undefined ? null : Buffer.from(entry.value).toString('hex'),
          expiration: key.expiration ?? null,
          metadata: key.metadata ?? null,
        }),
      );
    }
    if (page.complete || !page.cursor) return snapshot;
    cursor = page.cursor;
  }
  throw new Error('listing did not complete within 10,000 pages');
}

/**
 * Every HTTP request and connection attempt this process makes while watching, seen through undici's and Node's
 * diagnostics channels (so it covers requests that never reach a server, and hosts no test server owns).
 */
export class NetworkWatch {
  /** `METHOD origin/path` of each request undici created. */
  readonly requests: string[] = [];
  /** The same requests with the status their answer had (undefined when none came). */
  readonly exchanges: { method: string; origin: string; path: string; status?: number }[] = [];
  private readonly byRequest = new WeakMap<object, { status?: number }>();
  /** `host:port` of each connection undici tried to open. */
  readonly connects: string[] = [];
  /** Sockets Node's `net` created for outgoing connections, whoever asked. */
  sockets = 0;
  private readonly onRequest = (message: unknown): void => {
    const request = (message as { request: { method: string; origin: string; path: string } }).request;
    this.requests.push(`${request.method} ${request.origin}${request.path}`);
    const exchange = { method: request.method, origin: request.origin, path: request.path } as NetworkWatch['exchanges'][number];
    this.exchanges.push(exchange);
    this.byRequest.set(request, exchange);
  };
  private readonly onHeaders = (message: unknown): void => {
    const { request, response } = message as { request: object; response: { statusCode: number } };
    const exchange = this.byRequest.get(request);
    if (exchange) exchange.status = response.statusCode;
  };
  private readonly onConnect = (message: unknown): void => {
    const params = (message as { connectParams: { hostname: string; port: string } }).connectParams;
    this.connects.push(`${params.hostname}:${params.port}`);
  };
  private readonly onSocket = (): void => {
    this.sockets++;
  };

  constructor() {
    diagnostics.subscribe('undici:request:create', this.onRequest);
    diagnostics.subscribe('undici:request:headers', this.onHeaders);
    diagnostics.subscribe('undici:client:beforeConnect', this.onConnect);
    diagnostics.subscribe('net.client.socket', this.onSocket);
  }

  /** Requests to one origin (e.g. a test server's), so other traffic in the process does not count. */
  exchangesWith(origin: string): NetworkWatch['exchanges'] {
    const wanted = new URL(origin).origin;
    return this.exchanges.filter((exchange) => exchange.origin === wanted);
  }

  stop(): void {
    diagnostics.unsubscribe('undici:request:create', this.onRequest);
    diagnostics.unsubscribe('undici:request:headers', this.onHeaders);
    diagnostics.unsubscribe('undici:client:beforeConnect', this.onConnect);
    diagnostics.unsubscribe('net.client.socket', this.onSocket);
  }
}
