// The shared time rules every protocol side uses: dateTime formatting and parsing, the
// phase-anchored next time, and the retry window with an injected random source. The
// edges pinned here are the ones where the CWMP and USP copies used to differ.
import { describe, expect, it } from '@jest/globals';
import { absoluteTime, isoSeconds, UNKNOWN_TIME } from '../src/datamodel/datetime.js';
import { retryDelayMs, retryWindow } from '../src/scheduler/backoff.js';
import { nextOnPhase } from '../src/scheduler/phase.js';

const at = (s: string) => Date.parse(s);
const H = 3_600_000;

describe('dateTime values (TR-106 dateTime)', () => {
  it('formats whole seconds in UTC', () => {
    expect(isoSeconds(at('2026-12-07T10:11:12.987Z'))).toBe('2026-12-07T10:11:12Z');
  });

  it('names no absolute time for the Unknown Time, boot-relative values, empty or bad text', () => {
    expect(absoluteTime(UNKNOWN_TIME)).toBeUndefined();
    expect(absoluteTime('0001-01-01T00:00:00')).toBeUndefined();
    expect(absoluteTime('0001-01-01T00:05:00Z')).toBeUndefined(); // five minutes after boot
    expect(absoluteTime('')).toBeUndefined();
    expect(absoluteTime(undefined)).toBeUndefined();
    expect(absoluteTime('yesterday')).toBeUndefined();
  });

  it('takes the epoch and every later time as absolute, a value without a zone as UTC', () => {
    // The USP copy used to treat anything before 1970-01-02 as unknown.
    expect(absoluteTime('1970-01-01T00:00:00Z')).toBe(0);
    expect(absoluteTime('1970-01-01T06:00:00Z')).toBe(6 * H);
    expect(absoluteTime('2026-12-07T10:00:00')).toBe(at('2026-12-07T10:00:00Z'));
    expect(absoluteTime('2026-12-07T10:00:00+01:00')).toBe(at('2026-12-07T09:00:00Z'));
  });
});

describe('the next time on a phase (TR-069 Amendment 6 3.2.1.2)', () => {
  const now = at('2026-12-07T10:30:00Z');

  it('is strictly after now, also when now is exactly on the phase', () => {
    expect(nextOnPhase(now, H, now)).toBe(now + H);
    expect(nextOnPhase(now - 3 * H, H, now)).toBe(now + H);
  });

  it('follows the phase of an anchor in the past', () => {
    expect(nextOnPhase(at('2020-01-01T00:15:00Z'), H, now)).toBe(at('2026-12-07T11:15:00Z'));
  });

  it('uses the anchor only as a phase when it lies in the future', () => {
    // The next instant comes before the anchor itself.
    expect(nextOnPhase(at('2026-12-09T00:45:00Z'), H, now)).toBe(at('2026-12-07T10:45:00Z'));
    expect(nextOnPhase(now + H / 2, H, now)).toBe(now + H / 2);
  });

  it('anchors on the epoch (the USP copy used to pick its own phase there)', () => {
    expect(nextOnPhase(absoluteTime('1970-01-01T00:00:00Z')!, 24 * H, now)).toBe(at('2026-12-08T00:00:00Z'));
  });
});

describe('retry windows (TR-069 Amendment 6 3.2.1.1; the same rule for USP Notify and MQTT reconnects)', () => {
  it('puts retry n in [m·(k/1000)^(n−1), m·(k/1000)^n] s, the 10th window from then on', () => {
    expect(retryWindow(1)).toEqual([5, 10]);
    expect(retryWindow(2, 10, 1500)).toEqual([15, 22.5]);
    expect(retryWindow(10)).toEqual([2560, 5120]);
    expect(retryWindow(11)).toEqual(retryWindow(10));
    expect(retryWindow(0)).toEqual(retryWindow(1));
  });

  it('lands where the injected random source says', () => {
    expect(retryDelayMs(3, {}, () => 0)).toBe(20_000);
    expect(retryDelayMs(3, {}, () => 0.5)).toBe(30_000);
    expect(retryDelayMs(3, { minWait: 1, multiplier: 1000 }, () => 0.999)).toBe(1000);
  });

  it('falls back to m = 5 s and k = 2000 for unset (0 or NaN) settings', () => {
    expect(retryDelayMs(1, { minWait: Number(''), multiplier: Number('x') }, () => 0)).toBe(5000);
  });

  it('caps the delay at maxMs (ConnectRetryMaxInterval)', () => {
    expect(retryDelayMs(10, { maxMs: 60_000 }, () => 0.5)).toBe(60_000);
    expect(retryDelayMs(1, { maxMs: 60_000 }, () => 0.5)).toBe(7500);
  });
});
