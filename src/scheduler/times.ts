// Per-CPE times in 4 or 6 bytes instead of a Float64's 8, exact to the millisecond.
//
// A time something is due (a scheduler entry, a periodic Inform, a retry) is a whole
// number of ms past the shard's epoch in a Uint32 (49.7 days of range). The epoch moves
// forward (a rebase, at most every ~24.8 days) and every array kept against it shifts
// with it; a time beyond the range (an interval of more than ~48 days) is kept whole in
// a sparse map instead. A time something happened (a power-on, the last event) is a
// Uint32 of whole seconds since 1970 and a Uint16 of the ms past it: no epoch, good
// until 2106.

/** The scheduler fires in whole ms: a fractional due time fires at the next whole ms. */
export const wholeMs = (at: number): number => Math.ceil(at);

/** Largest offset a Uint32 slot holds. */
export const MAX_OFFSET = 0xffff_ffff;
/** The epoch starts this far before the shard's first reading: a time up to a day in the past is still exact. */
export const PAST_MS = 86_400_000;
/** Once now is this far past the epoch, the epoch moves up to now − PAST_MS. */
export const REBASE_AFTER_MS = 2 ** 31;

/** The epoch the due times of one shard are kept against, and who shifts with it. */
export class TimeBase {
  /** Epoch ms (whole) that offset 0 stands for. */
  epoch: number;
  private readonly followers: Array<(d: number) => void> = [];

  constructor(now: number) {
    this.epoch = Math.floor(now) - PAST_MS;
  }

  /** `shift(d)` is called when the epoch moves d ms forward. */
  follow(shift: (d: number) => void): void {
    this.followers.push(shift);
  }

  /** Move the epoch d ms forward; the scheduler calls this once it has shifted its own entries. */
  moved(d: number): void {
    this.epoch += d;
    for (const f of this.followers) f(d);
  }
}

const NONE = 0;
const FAR = 0xffff_ffff;

/**
 * One due time per CPE (0 when none) in a Uint32: offset from the epoch + 1, or FAR with
 * the time in a sparse map. A stored time reads back as the scheduler fires it
 * (wholeMs, and no earlier than the epoch), so `get(l) === at` tells a current timer
 * entry from a stale one.
 */
export class DueTimes {
  private readonly slots: Uint32Array;
  private readonly far = new Map<number, number>();

  constructor(
    size: number,
    private readonly base: TimeBase,
  ) {
    this.slots = new Uint32Array(size);
    base.follow((d) => this.shift(d));
  }

  get byteLength(): number {
    return this.slots.byteLength;
  }

  get(l: number): number {
    const s = this.slots[l]!;
    if (s === NONE) return 0;
    if (s === FAR) return this.far.get(l)!;
    return this.base.epoch + s - 1;
  }

  /** `at` epoch ms, or 0 for none. */
  set(l: number, at: number): void {
    if (this.slots[l] === FAR) this.far.delete(l);
    if (at === 0) {
      this.slots[l] = NONE;
      return;
    }
    const whole = wholeMs(at);
    const s = whole - this.base.epoch + 1;
    if (s < FAR) this.slots[l] = Math.max(1, s);
    else {
      this.slots[l] = FAR;
      this.far.set(l, whole);
    }
  }

  private shift(d: number): void {
    const slots = this.slots;
    for (let l = 0; l < slots.length; l++) {
      const s = slots[l]!;
      if (s !== NONE && s !== FAR) slots[l] = s > d ? s - d : 1;
    }
    for (const [l, at] of this.far) {
      const s = at - this.base.epoch + 1;
      if (s < FAR) {
        slots[l] = Math.max(1, s);
        this.far.delete(l);
      }
    }
  }
}

/**
 * One past time per CPE (0 when none), exact to the ms: whole seconds since 1970 in a
 * Uint32 and the ms past them in a Uint16 (6 bytes).
 */
export class Stamps {
  private readonly seconds: Uint32Array;
  private readonly ms: Uint16Array;

  constructor(size: number) {
    this.seconds = new Uint32Array(size);
    this.ms = new Uint16Array(size);
  }

  get byteLength(): number {
    return this.seconds.byteLength + this.ms.byteLength;
  }

  get(l: number): number {
    return this.seconds[l]! * 1000 + this.ms[l]!;
  }

  /** `at` epoch ms (whole ms kept; before 1970 reads as 0). */
  set(l: number, at: number): void {
    const whole = Math.min(Math.max(0, Math.floor(at)), MAX_OFFSET * 1000);
    this.seconds[l] = Math.floor(whole / 1000);
    this.ms[l] = whole % 1000;
  }
}
