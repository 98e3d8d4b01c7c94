// The scheduler's timer slack (src/scheduler/clock.ts): with a clock that allows it, entries
// due within one slot fire on one wake-up at the slot's end, never before they are due.
import { describe, expect, it } from '@jest/globals';
import { FakeClock, systemClock, SYSTEM_TIMER_SLACK_MS } from '../src/scheduler/clock.js';
import { Scheduler } from '../src/scheduler/scheduler.js';

class SlackClock extends FakeClock {
  readonly slackMs: number;
  armed: number[] = [];
  constructor(slack: number) {
    super(Date.UTC(2026, 0, 1));
    this.slackMs = slack;
  }
  override setTimer(fn: () => void, ms: number): unknown {
    this.armed.push(this.now() + Math.max(0, ms));
    return super.setTimer(fn, ms);
  }
}

describe('scheduler timer slack', () => {
  it('fires entries due within one 10 ms slot together at its end (+1 ms for the libuv clock), each at or after its due time, and arms once per slot', () => {
    const clock = new SlackClock(10);
    const t0 = clock.now(); // a multiple of 10
    const fired: Array<{ cpe: number; at: number; now: number }> = [];
    const s = new Scheduler(clock, (cpe, _kind, at) => fired.push({ cpe, at, now: clock.now() }), undefined, 16);
    s.schedule(t0 + 1, 1, 0);
    s.schedule(t0 + 3, 2, 0);
    s.schedule(t0 + 9, 3, 0);
    s.schedule(t0 + 10, 4, 0);
    s.schedule(t0 + 12, 5, 0);
    // One timer for the slot ending at t0 + 10, not one per entry.
    expect(clock.armed).toEqual([t0 + 11]);
    clock.advance(10);
    expect(fired).toEqual([]);
    clock.advance(1);
    expect(fired.map((f) => f.cpe)).toEqual([1, 2, 3, 4]);
    for (const f of fired) expect(f.now).toBeGreaterThanOrEqual(f.at);
    clock.advance(10);
    expect(fired.map((f) => f.cpe)).toEqual([1, 2, 3, 4, 5]);
    expect(fired[4]!.now).toBe(t0 + 21);
    // An earlier entry re-arms for its own slot.
    s.schedule(t0 + 45, 6, 0);
    s.schedule(t0 + 22, 7, 0);
    expect(clock.armed.at(-1)).toBe(t0 + 31);
    clock.advance(30);
    expect(fired.slice(5).map((f) => [f.cpe, f.now - t0])).toEqual([
      [7, 31],
      [6, 51],
    ]);
    s.stop();
  });

  it('wakes on its own phase of the grid', () => {
    const clock = new SlackClock(10);
    const t0 = clock.now();
    const fired: number[] = [];
    const s = new Scheduler(clock, () => fired.push(clock.now() - t0), undefined, 16, 1003);
    s.schedule(t0 + 1, 1, 0);
    s.schedule(t0 + 5, 2, 0);
    clock.advance(30);
    // Phase 1003 is 3 ms into each slot: t0 + 1 wakes at t0 + 3 (+1), t0 + 5 at t0 + 13 (+1).
    expect(fired).toEqual([4, 14]);
    s.stop();
  });

  it('stopped by an entry it fires, fires nothing more and leaves no timer armed', () => {
    const clock = new SlackClock(10);
    const t0 = clock.now();
    const fired: number[] = [];
    const s = new Scheduler(
      clock,
      (cpe) => {
        fired.push(cpe);
        s.stop();
      },
      undefined,
      16,
    );
    for (let i = 1; i <= 3; i++) s.schedule(t0 + i, i, 0);
    clock.advance(50);
    expect(fired).toEqual([1]);
    expect(clock.nextAt()).toBeUndefined();
  });

  it('without slack (a fake clock) fires each entry at its own due time', () => {
    const clock = new SlackClock(0);
    const t0 = clock.now();
    const fired: number[] = [];
    const s = new Scheduler(clock, () => fired.push(clock.now() - t0), undefined, 16);
    for (const d of [1, 3, 9]) s.schedule(t0 + d, d, 0);
    clock.advance(20);
    expect(fired).toEqual([1, 3, 9]);
    s.stop();
  });

  it('on the system clock, entries due over 60 ms all fire, none early, on at most one wake-up per slot', async () => {
    expect(systemClock.slackMs).toBe(SYSTEM_TIMER_SLACK_MS);
    const t0 = Date.now();
    const early: number[] = [];
    let count = 0;
    let wakeups = 0;
    const counted = { ...systemClock, setTimer: (fn: () => void, ms: number) => systemClock.setTimer(() => (wakeups++, fn()), ms) };
    const all = new Promise<void>((resolve) => {
      const s = new Scheduler(
        counted,
        (_cpe, _kind, at) => {
          const now = Date.now();
          if (now < at) early.push(at - now);
          if (++count === 60) {
            s.stop();
            resolve();
          }
        },
        undefined,
        64,
      );
      for (let i = 0; i < 60; i++) s.schedule(t0 + 5 + i, i, 0);
    });
    await all;
    expect(early).toEqual([]);
    // 60 entries, one per ms: on a 10 ms grid that is 7 slots (a late wake-up only merges
    // more); one spare for a wake-up that still came before Date.now() reached its slot.
    expect(wakeups).toBeLessThanOrEqual(Math.ceil(60 / SYSTEM_TIMER_SLACK_MS) + 2);
  });
});
