// Provider limits, from each provider's documentation (see shared notes, kv-rest-apis.md).

export interface LimitProfile {
  /** Name used in messages: "Cloudflare", "Telnyx", "Local store". */
  readonly provider: string;
  readonly key: {
    /** Maximum UTF-8 bytes of a key. */
    readonly maxBytes?: number;
    /** Maximum characters of a key. */
    readonly maxChars?: number;
    /** Every key must match this pattern. */
    readonly pattern?: RegExp;
    /** How `pattern` reads to a person. */
    readonly patternDescription?: string;
    /** Keys that are never allowed. */
    readonly forbidden: readonly string[];
    /** Keys starting with this are reserved by the provider. */
    readonly reservedPrefix?: string;
  };
  /** Maximum bytes of a value. */
  readonly maxValueBytes: number;
  /** Maximum bytes of serialized JSON metadata; undefined when the provider has no metadata. */
  readonly maxMetadataBytes?: number;
  /** Minimum seconds between now and an expiration (absolute or TTL). */
  readonly minExpirationSeconds: number;
  /** Maximum TTL in seconds, where the provider bounds it. */
  readonly maxTtlSeconds?: number;
  readonly listLimit: { readonly min: number; readonly max: number; readonly default: number };
  /** Native bulk limits per request; undefined when there is no bulk endpoint. */
  readonly bulk?: { readonly maxPairs: number; readonly maxBytes: number };
  readonly namespaceTitle: {
    readonly maxChars: number;
    readonly pattern?: RegExp;
    readonly patternDescription?: string;
  };
  /** Writes to one key per second; undefined when unlimited. */
  readonly writesPerKeyPerSecond?: number;
}

const MiB = 1024 * 1024;

export const CLOUDFLARE_LIMITS: LimitProfile = {
  provider: 'Cloudflare',
  key: { maxBytes: 512, forbidden: ['', '.', '..'] },
  maxValueBytes: 25 * MiB,
  maxMetadataBytes: 1024,
  minExpirationSeconds: 60,
  listLimit: { min: 10, max: 1000, default: 1000 },
  bulk: { maxPairs: 10_000, maxBytes: 100 * 1000 * 1000 },
  namespaceTitle: { maxChars: 512 },
  writesPerKeyPerSecond: 1,
};

/** The local store keeps Cloudflare's semantics so what works locally works in production. */
export const LOCAL_LIMITS: LimitProfile = {
  ...CLOUDFLARE_LIMITS,
  provider: 'Local store',
  listLimit: { min: 1, max: 1000, default: 1000 },
  writesPerKeyPerSecond: undefined,
};

export const TELNYX_LIMITS: LimitProfile = {
  provider: 'Telnyx',
  key: {
    maxChars: 256,
    pattern: /^[-/_=.a-zA-Z0-9]+$/,
    patternDescription: 'letters, digits and - / _ = . only (no colons or spaces)',
    // The pattern allows them, but a URL resolves '.' and '..' away (…/keys/.. is the namespace's own path).
    forbidden: ['', '.', '..'],
    reservedPrefix: '_',
  },
  maxValueBytes: 1 * MiB,
  maxMetadataBytes: undefined,
  minExpirationSeconds: 1,
  maxTtlSeconds: 9_223_372_036,
  listLimit: { min: 1, max: 1000, default: 1000 },
  bulk: undefined,
  namespaceTitle: { maxChars: 255, pattern: /^[a-z0-9-]+$/, patternDescription: 'lowercase letters, digits and -' },
};
