// Generated keys for the encoding fuzz: seeded, so a failure replays with the same KV_RELIABILITY_SEED.
// Keys are made of '/'-separated segments, each glued from pieces that break naive encoders: `..` segments,
// `%` (alone, as a valid escape, as a broken one), `?`, `#`, `+`, spaces, composed and decomposed unicode,
// astral characters, empty segments, leading and trailing '/'.
import type { LimitProfile } from '../../src/core/limits';
import { keyProblem } from '../../src/core/validation';
import { seededRandom } from './common';

/** Pieces for providers with Cloudflare's key rules (any UTF-8 up to 512 bytes except '', '.', '..'). */
export const CLOUDFLARE_PIECES: readonly string[] = [
  '', '', '.', '..', '...', '%', '%2F', '%25', '%zz', '%%', '?', '?a=b&c', '#', '#frag', '+', '++', ' ', '  ', 'a b',
  'é', 'e\u0301', 'ß', '中文', '😀', 'ﬁ', '\u00a0', '\\', '&', '=', ';', ':', '@', '~', "'", '"', '<>', '[]', '{}',
  '|', '^', '`', '\t', 'a', 'b', 'Key', '0', 'x.json', '.hidden', 'cdn-cgi', 'values', 'keys', 'bulk',
];

/** Pieces within Telnyx's key alphabet (letters, digits and - / _ = .). */
export const TELNYX_PIECES: readonly string[] = ['', '', '.', '..', '...', '-', '--', '_', '=', '==', 'a', 'B', 'z9', '0', 'x.json', 'v1', 'keys', 'A_b', '-.-'];

export interface GeneratedKeys {
  keys: string[];
  /** How many keys show each feature, so a test can prove the mix was there. */
  features: Record<string, number>;
}

const FEATURES: Record<string, (key: string) => boolean> = {
  slash: (key) => key.includes('/'),
  dotDotSegment: (key) => key.split('/').includes('..'),
  percent: (key) => key.includes('%'),
  question: (key) => key.includes('?'),
  hash: (key) => key.includes('#'),
  plus: (key) => key.includes('+'),
  space: (key) => key.includes(' '),
  unicode: (key) => /[^\x00-\x7f]/.test(key),
  emptySegment: (key) => key.includes('//') || key.startsWith('/') || key.endsWith('/'),
};

/** `count` distinct keys that the provider's rules allow, from `pieces`, seeded. */
export function generateKeys(count: number, seed: number, pieces: readonly string[], limits: LimitProfile): GeneratedKeys {
  const random = seededRandom(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
  const keys = new Set<string>();
  for (let attempts = 0; keys.size < count; attempts++) {
    if (attempts > count * 50) throw new Error(`could only generate ${keys.size} of ${count} distinct valid keys`);
    const segments = 1 + Math.floor(random() * 6);
    const parts: string[] = [];
    for (let s = 0; s < segments; s++) {
      const glued = Math.floor(random() * 4);
      let segment = '';
      for (let g = 0; g < glued; g++) segment += pick(pieces);
      parts.push(segment);
    }
    const key = parts.join('/');
    if (keyProblem(limits, key) === undefined) keys.add(key);
  }
  const list = [...keys];
  const features: Record<string, number> = {};
  for (const [name, has] of Object.entries(FEATURES)) features[name] = list.filter(has).length;
  return { keys: list, features };
}

/** Feature names a Cloudflare-rules key set must all show, and the subset Telnyx's alphabet can show. */
export const CLOUDFLARE_FEATURES = Object.keys(FEATURES);
export const TELNYX_FEATURES = ['slash', 'dotDotSegment', 'emptySegment'];

/** The value stored under a key in the fuzz: names the key, so a value read through the wrong path shows. */
export function valueFor(key: string): string {
  return `value of ${JSON.stringify(key)}`;
}
