// Which CPEs an event or stage aims at, by arithmetic on the index: a range, then a seeded
// draw per index against the fraction. Nothing per CPE is stored, and the same --seed
// picks the same CPEs on every run and in every shard.
import { unit } from '../util/hash.js';
import type { Ramp, Target } from './model.js';

/** Salt of the subset draw, apart from every data-model draw. */
const TARGET_SALT = 0x5ce7a110;

/** The CPE indices a target can reach within a fleet [lo, hi). */
export function rangeOf(t: Target, lo: number, hi: number): { from: number; to: number } {
  return { from: Math.max(lo, t.from ?? lo), to: Math.min(hi, t.to ?? hi) };
}

/** Is CPE `index` in the subset? `profile` is the fleet's profile name and folder. */
export function isMember(t: Target, index: number, seed: number, profile?: { name: string; dir: string }): boolean {
  if (t.from !== undefined && index < t.from) return false;
  if (t.to !== undefined && index >= t.to) return false;
  if (t.profile !== undefined && profile && t.profile !== profile.name && t.profile !== profile.dir) return false;
  if (t.fraction !== undefined && t.fraction < 1 && unit(seed, index, TARGET_SALT) >= t.fraction) return false;
  return true;
}

/**
 * When CPE `index` of the subset acts along `ramp`, in ms after the event starts. CPEs are
 * spread over the window in index order: for a rate, the window is the subset's expected
 * size over the rate, so the whole fleet agrees without counting members across shards.
 */
export function rampOffsetMs(ramp: Ramp, t: Target, index: number, fleet: { lo: number; hi: number }): number {
  if (ramp.mode === 'none') return 0;
  const { from, to } = rangeOf(t, fleet.lo, fleet.hi);
  const span = Math.max(1, to - from);
  const pos = (index - from) / span;
  const seconds = ramp.mode === 'window' ? ramp.seconds : (span * (t.fraction ?? 1)) / ramp.perSecond;
  return pos * seconds * 1000;
}

/** How long a ramp over the subset takes, in seconds. */
export function rampSeconds(ramp: Ramp, t: Target, fleet: { lo: number; hi: number }): number {
  if (ramp.mode === 'none') return 0;
  if (ramp.mode === 'window') return ramp.seconds;
  const { from, to } = rangeOf(t, fleet.lo, fleet.hi);
  return (Math.max(0, to - from) * (t.fraction ?? 1)) / ramp.perSecond;
}

/** Why a target's index range falls outside the fleet [lo, hi), or undefined when it fits. */
export function outsideFleet(t: Target, fleet: { lo: number; hi: number }): string | undefined {
  const from = t.from ?? fleet.lo;
  const to = t.to ?? fleet.hi;
  if (from < fleet.lo || to > fleet.hi || from >= to) return `the range [${from}, ${to}) is outside the fleet's CPEs [${fleet.lo}, ${fleet.hi})`;
  return undefined;
}
