// Keys that stress every encoding path: separators, dot segments, percent signs, URL delimiters, unicode.

/** Deterministic PRNG (mulberry32), so a failure names a reproducible key. */
export function seededRandom(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PIECES = ['/', '//', '..', '.', '%', '%2F', '?', '#', '+', ' ', '&', '=', 'é', '日本', '🔑', 'a', 'config', '.json', '\\', ';', '~'];

/** `count` distinct keys built from awkward pieces; none is empty, '.' or '..' (no provider accepts those). */
export function generatedKeys(count: number, seed = 1): string[] {
  const random = seededRandom(seed);
  const keys = new Set<string>();
  while (keys.size < count) {
    const parts = 1 + Math.floor(random() * 6);
    let key = '';
    for (let i = 0; i < parts; i++) key += PIECES[Math.floor(random() * PIECES.length)];
    if (key !== '.' && key !== '..') keys.add(key);
  }
  return [...keys];
}
