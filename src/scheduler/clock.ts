// The clock is injected: shards use the system clock, tests drive FakeClock.

export interface Clock {
  now(): number;
  /**
   * How late a scheduler's wake-up may be, in ms: the scheduler arms its timer for the end
   * of the slot of this size (on its own phase) that the next entry falls in (0 or unset:
   * the due time itself), so entries due within one slot fire on one wake-up. The system
   * clock's is SYSTEM_TIMER_SLACK_MS; a fake clock has none.
   */
  readonly slackMs?: number;
  setTimer(fn: () => void, ms: number): unknown;
  clearTimer(handle: unknown): void;
}

/**
 * The shards' timer slack: with 100,000 CPEs a shard has an entry due almost every ms (each
 * STUN send and session start is one), and every timer wake-up is a trip through the kernel.
 * On a 10 ms grid a shard wakes at most 100 times a second for its timers; a session or a
 * Binding Request starts at most 11 ms late (the timer wakes a ms past its slot), nothing fires early.
 */
export const SYSTEM_TIMER_SLACK_MS = 10;

export const systemClock: Clock = {
  now: () => Date.now(),
  slackMs: SYSTEM_TIMER_SLACK_MS,
  setTimer: (fn, ms) => {
    const t = setTimeout(fn, Math.min(Math.max(0, ms), 2 ** 31 - 1));
    return t;
  },
  clearTimer: (h) => clearTimeout(h as NodeJS.Timeout),
};

/** Manual time for tests: nothing fires until advance() is called. */
export class FakeClock implements Clock {
  private t: number;
  private seq = 0;
  private timers = new Map<number, { at: number; fn: () => void }>();
  constructor(start = Date.UTC(2026, 0, 1)) {
    this.t = start;
  }
  now(): number {
    return this.t;
  }
  setTimer(fn: () => void, ms: number): unknown {
    const id = ++this.seq;
    this.timers.set(id, { at: this.t + Math.max(0, ms), fn });
    return id;
  }
  clearTimer(h: unknown): void {
    this.timers.delete(h as number);
  }
  /** Time of the next pending timer, if any. */
  nextAt(): number | undefined {
    let min: number | undefined;
    for (const { at } of this.timers.values()) if (min === undefined || at < min) min = at;
    return min;
  }
  /** Move time forward by ms, firing due timers in order. */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const e of this.timers) if (e[1].at <= end && (!next || e[1].at < next[1].at)) next = e;
      if (!next) break;
      this.timers.delete(next[0]);
      this.t = Math.max(this.t, next[1].at);
      next[1].fn();
    }
    this.t = end;
  }
}
