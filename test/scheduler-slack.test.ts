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
  it('fires entries due within one 10 ms slot together at its end, each at or after its due time, and arms once per slot', () => {
    const clock = new SlackClock(10);
    const t0 = clock.now();
    const fired: Array<{ cpe: number; at: number; now: number }> = [];
    const s = new Scheduler(clock, (cpe, _kind, at) => fired.push({ cpe, at, now: clock.now() }), undefined, 16);
    s.schedule(t0 + 1, 1, 0);
    s.schedule(t0 + 3, 2, 0);
    s.schedule(t0 + 9, 3, 0);
    s.schedule(t0 + 10, 4, 0);
    s.schedule(t0 + 11, 5, 0);
    // One timer for the slot ending at t0 + 10, not one per entry.
    expect(clock.armed).toEqual([t0 + 10]);
    clock.advance(9);
    expect(fired).toEqual([]);
    clock.advance(1);
    expect(fired.map((f) => f.cpe)).toEqual([1, 2, 3, 4]);
    for (const f of fired) expect(f.now).toBeGreaterThanOrEqual(f.at);
    clock.advance(10);
    expect(fired.map((f) => f.cpe)).toEqual([1, 2, 3, 4, 5]);
    expect(fired[4]!.now).toBe(t0 + 20);
    // An earlier entry in a later-armed world re-arms for its own slot.
    s.schedule(t0 + 45, 6, 0);
    s.schedule(t0 + 22, 7, 0);
    expect(clock.armed.at(-1)).toBe(t0 + 30);
    clock.advance(30);
    expect(fired.slice(5).map((f) => [f.cpe, f.now - t0])).toEqual([
      [7, 30],
      [6, 50],
    ]);
    s.stop();
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
    // 60 entries, one per ms: on a 10 ms grid that is 7 slots (a late wake-up only merges more),
    // and a timer may wake a ms before Date.now() reaches its slot (libuv's clock): one more each.
    expect(wakeups).toBeLessThanOrEqual(2 * (Math.ceil(60 / SYSTEM_TIMER_SLACK_MS) + 1));
  });
});
