// Identity derived from (seed, index): serials, MACs and addresses. Nothing is stored
// per CPE; every value is recomputed on demand.
import { hexDigits } from '../util/hash.js';
import type { Ipv4Pool, Ipv6Pool } from '../datamodel/context.js';

const SERIAL_SALT = 0x5e41a1;

/** Compile a serial pattern ({index}, {index:08}, {hex:8}, {oui}). */
export function compileSerialPattern(pattern: string, oui: string): (seed: number, index: number) => string {
  const parts: Array<string | ((seed: number, index: number) => string)> = [];
  const re = /\{(index(?::(\d+))?|hex:(\d+)|oui)\}/g;
  let last = 0;
  let hasIndex = false;
  for (let m = re.exec(pattern); m; m = re.exec(pattern)) {
    if (m.index > last) parts.push(pattern.slice(last, m.index));
    if (m[1]!.startsWith('index')) {
      hasIndex = true;
      const width = m[2] ? Number(m[2]) : 0;
      parts.push((_s, i) => String(i).padStart(width, '0'));
    } else if (m[1]!.startsWith('hex')) {
      const n = Number(m[3]);
      parts.push((s, i) => hexDigits(s, i, SERIAL_SALT, n));
    } else {
      parts.push(() => oui);
    }
    last = re.lastIndex;
  }
  if (last < pattern.length) parts.push(pattern.slice(last));
  if (!hasIndex) throw new Error(`serialPattern "${pattern}" has no {index}: serials would repeat across the fleet`);
  const leftover = /\{[^}]*\}/.exec(pattern.replace(re, ''));
  if (leftover) throw new Error(`serialPattern "${pattern}": unknown placeholder ${leftover[0]} (expected {index}, {index:NN}, {hex:N}, {oui})`);
  return (seed, index) => {
    let s = '';
    for (const p of parts) s += typeof p === 'string' ? p : p(seed, index);
    return s;
  };
}

export function parseMac(s: string): number | undefined {
  const m = /^([0-9A-Fa-f]{2})[:-]?([0-9A-Fa-f]{2})[:-]?([0-9A-Fa-f]{2})[:-]?([0-9A-Fa-f]{2})[:-]?([0-9A-Fa-f]{2})[:-]?([0-9A-Fa-f]{2})$/.exec(s);
  if (!m) return undefined;
  return parseInt(m.slice(1).join(''), 16);
}

export function formatMac(n: number): string {
  const v = ((n % 2 ** 48) + 2 ** 48) % 2 ** 48;
  const hex = v.toString(16).toUpperCase().padStart(12, '0');
  return `${hex.slice(0, 2)}:${hex.slice(2, 4)}:${hex.slice(4, 6)}:${hex.slice(6, 8)}:${hex.slice(8, 10)}:${hex.slice(10, 12)}`;
}

export function parseIpv4(s: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return undefined;
  const o = m.slice(1).map(Number);
  if (o.some((x) => x > 255)) return undefined;
  return ((o[0]! << 24) >>> 0) + (o[1]! << 16) + (o[2]! << 8) + o[3]!;
}

export function formatIpv4(n: number): string {
  return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

/**
 * Address k of CPE `index` in the pool. perCpe 0 means every CPE shares the pool's
 * addresses (a LAN subnet); otherwise each CPE owns a block of perCpe addresses,
 * skipping the network address, cycling within the CIDR.
 */
export function ipv4At(pool: Ipv4Pool, index: number, k: number): string {
  const usable = Math.max(1, pool.size - 2);
  const offset = pool.perCpe === 0 ? k : index * pool.perCpe + k;
  return formatIpv4((pool.base + 1 + (((offset % usable) + usable) % usable)) >>> 0);
}

/** Address k (interface id k+1) in CPE `index`'s /64 under the pool prefix. */
export function ipv6At(pool: Ipv6Pool, index: number, k: number): string {
  const groups = pool.groups.slice(0, 4);
  const subnetBits = 64 - pool.prefixLen;
  const subnet = pool.perCpe === 0 ? 0 : subnetBits >= 32 ? index : index % 2 ** subnetBits;
  // Put the CPE's subnet number in the low bits of the first 64.
  let carry = subnet;
  for (let g = 3; g >= 0 && carry > 0; g--) {
    const v = groups[g]! + (carry % 65536);
    groups[g] = v % 65536;
    carry = Math.floor(carry / 65536) + Math.floor(v / 65536);
  }
  const iid = k + 1;
  return compressIpv6([...groups, 0, 0, Math.floor(iid / 65536) % 65536, iid % 65536]);
}

/** RFC 5952 text form: lower case, the longest run of zero groups (2+) as "::". */
export function compressIpv6(groups: number[]): string {
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < groups.length; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < groups.length && groups[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

export function parseIpv6Prefix(s: string): { groups: number[]; prefixLen: number } | undefined {
  const m = /^([0-9a-fA-F:]+)\/(\d{1,3})$/.exec(s);
  if (!m) return undefined;
  const prefixLen = Number(m[2]);
  if (prefixLen > 64) return undefined;
  const [head, tail] = m[1]!.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  if (m[1]!.split('::').length > 2) return undefined;
  const fill = 8 - h.length - t.length;
  if (fill < 0 || (tail === undefined && fill !== 0)) return undefined;
  const all = [...h, ...Array(fill).fill('0'), ...t].map((x) => parseInt(x, 16));
  if (all.some((x) => Number.isNaN(x) || x > 0xffff)) return undefined;
  return { groups: all.slice(0, 4), prefixLen };
}
