// dateTime values as the data models hold them (TR-106 dateTime, used by TR-098 and
// TR-181): UTC with whole seconds, and the Unknown Time 0001-01-01T00:00:00Z.

/** TR-106: the Unknown Time (also what TR-069 Amendment 6 A.3.2.8 puts in a pending DownloadResponse). */
export const UNKNOWN_TIME = '0001-01-01T00:00:00Z';

/** Epoch ms as a dateTime with whole seconds, e.g. 2026-12-07T10:00:00Z. */
export function isoSeconds(ms: number): string {
  // Thousands of Informs a second carry the same few seconds: the last one is kept.
  const sec = Math.floor(ms / 1000);
  if (sec === lastSecond) return lastIso;
  const iso = new Date(sec * 1000).toISOString();
  lastSecond = sec;
  lastIso = `${iso.slice(0, -5)}Z`;
  return lastIso;
}
let lastSecond = Number.NaN;
let lastIso = '';

/** TR-106: a value before the year 2 is the Unknown Time or a time relative to boot. */
const FIRST_ABSOLUTE_MS = Date.parse('0002-01-01T00:00:00Z');

/**
 * The absolute time a dateTime names, in epoch ms; undefined when it names none: empty,
 * unparseable, the Unknown Time, or a boot-relative value. A value without a zone is UTC.
 */
export function absoluteTime(value: string | undefined): number | undefined {
  if (!value) return undefined;
  const ms = Date.parse(/(?:Z|[+-]\d\d:?\d\d)$/i.test(value) ? value : `${value}Z`);
  return Number.isFinite(ms) && ms >= FIRST_ABSOLUTE_MS ? ms : undefined;
}

/**
 * Epoch ms (with a fraction) as a dateTime to the microsecond, e.g.
 * 2026-12-07T10:00:00.123456Z: TR-143's transfer timings (ROMTime, BOMTime, ...).
 */
export function isoMicros(ms: number): string {
  const whole = Math.floor(ms / 1000);
  const us = Math.min(999_999, Math.max(0, Math.round((ms - whole * 1000) * 1000)));
  return `${new Date(whole * 1000).toISOString().slice(0, 19)}.${String(us).padStart(6, '0')}Z`;
}
