// Deterministic draws from (seed, index, salt). Everything a CPE "has" that is not in
// its overlay comes from these, so the same seed rebuilds the same fleet value for value.

/** 32-bit FNV-1a of a string, used to turn paths and names into salts. */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** A well-mixed 32-bit value from up to three integers (murmur3 finaliser rounds). */
export function mix32(a: number, b: number, c = 0): number {
  let h = (a ^ 0x9e3779b9) >>> 0;
  h = Math.imul(h ^ (b >>> 0), 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h ^ (c >>> 0), 0xc2b2ae35);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A uniform draw in [0, 1) from (seed, index, salt). */
export function unit(seed: number, index: number, salt: number): number {
  return mix32(seed, index, salt) / 4294967296;
}

/** An integer draw in [min, max] from (seed, index, salt). */
export function intBetween(seed: number, index: number, salt: number, min: number, max: number): number {
  if (max <= min) return min;
  return min + Math.floor(unit(seed, index, salt) * (max - min + 1));
}

/** n upper-case hex digits from (seed, index, salt). */
export function hexDigits(seed: number, index: number, salt: number, n: number): string {
  let out = '';
  let round = 0;
  while (out.length < n) {
    out += mix32(seed, index, (salt + Math.imul(round++, 0x27d4eb2d)) >>> 0)
      .toString(16)
      .toUpperCase()
      .padStart(8, '0');
  }
  return out.slice(0, n);
}
