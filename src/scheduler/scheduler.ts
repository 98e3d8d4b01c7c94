// One scheduler per shard, never a timer per CPE: a binary min-heap over
// typed arrays with a single armed timer. Entries are (time, cpe, kind); a CPE waiting
// for nothing costs no timer, promise or closure. Stale entries are skipped by the
// owner's validity check rather than removed (lazy deletion).
//
// An entry is 8 bytes: its due time as whole ms past the shard's epoch (a Uint32, see
// times.ts) and cpe × 32 + kind (a Uint32). The heap is sized up front for one entry per
// CPE (a fleet's boot ramp, then its periodic Informs) and grows by half when more are
// pending. A time too far ahead for a Uint32 waits in a short list until a rebase brings
// it in range.
import type { Clock } from './clock.js';
import { MAX_OFFSET, PAST_MS, REBASE_AFTER_MS, TimeBase, wholeMs } from './times.js';

export type Fire = (cpe: number, kind: number, at: number) => void;

/** Kinds fit in the low 5 bits of an entry's key. */
const KIND_BITS = 5;
const KIND_MASK = (1 << KIND_BITS) - 1;
/** CPEs one scheduler can address: the rest of a Uint32 key. */
export const MAX_SCHEDULED_CPES = 2 ** (32 - KIND_BITS);
const MIN_CAPACITY = 1024;

export class Scheduler {
  /** The epoch every due time of the shard is kept against. */
  readonly base: TimeBase;
  private at: Uint32Array;
  private key: Uint32Array;
  private n = 0;
  /** Entries beyond the Uint32 range, as whole epoch ms. */
  private far: Array<{ at: number; cpe: number; kind: number }> = [];
  private timer: unknown;
  private armedAt = Infinity;
  private running = false;
  private stopped = false;
  /** The clock's slack (0: none) and this scheduler's place in its grid. */
  private readonly slack: number;
  private readonly phase: number;

  constructor(
    private readonly clock: Clock,
    private readonly fire: Fire,
    /** Told when a handler throws; the scheduler carries on with the next entry. */
    private readonly onError: (e: unknown, cpe: number, kind: number) => void = () => undefined,
    /** Entries to hold without growing: the shard's CPE count (one pending timer each). */
    capacity = 0,
    /**
     * With a clock's slack: the ms past each multiple of it at which this scheduler wakes
     * (taken modulo the slack), so that the shards of a process, and processes, do not all
     * wake, and start their sessions, at the same instant.
     */
    phase = 0,
  ) {
    this.slack = clock.slackMs ?? 0;
    this.phase = this.slack > 0 ? phase % this.slack : 0;
    this.base = new TimeBase(clock.now());
    const cap = Math.max(MIN_CAPACITY, capacity + MIN_CAPACITY);
    this.at = new Uint32Array(cap);
    this.key = new Uint32Array(cap);
  }

  get size(): number {
    return this.n + this.far.length;
  }

  /** Bytes of the heap's arrays. */
  get byteLength(): number {
    return this.at.byteLength + this.key.byteLength;
  }

  /** Fire `kind` for `cpe` at epoch ms `at` (at the next whole ms: fire's `at` is wholeMs(at), or the epoch for older times). */
  schedule(at: number, cpe: number, kind: number): void {
    if (!(cpe >= 0 && cpe < MAX_SCHEDULED_CPES) || kind >>> KIND_BITS !== 0) throw new RangeError(`scheduler: cpe ${cpe} / kind ${kind} out of range`);
    const whole = wholeMs(at);
    let rel = whole - this.base.epoch;
    if (!(rel <= MAX_OFFSET)) {
      this.rebase();
      rel = whole - this.base.epoch;
    }
    if (!(rel <= MAX_OFFSET)) {
      // NaN lands here too and never fires, as a NaN time never came due before.
      this.far.push({ at: whole, cpe, kind });
      if (!this.running && this.far.length === 1) this.arm();
      return;
    }
    if (rel < 0) rel = 0;
    this.push(rel, cpe * 32 + kind);
    if (!this.running && this.wakeAt(this.base.epoch + rel) < this.armedAt) this.arm();
  }

  /** When the timer wakes for an entry due at `due`: the next slot of the clock's slack (the due time itself without). */
  private wakeAt(due: number): number {
    if (!(this.slack > 0)) return due;
    return Math.ceil((due - this.phase) / this.slack) * this.slack + this.phase;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) this.clock.clearTimer(this.timer);
    this.timer = undefined;
  }

  private push(rel: number, key: number): void {
    if (this.n === this.at.length) this.grow();
    let i = this.n++;
    // sift up
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (this.at[p]! <= rel) break;
      this.at[i] = this.at[p]!;
      this.key[i] = this.key[p]!;
      i = p;
    }
    this.at[i] = rel;
    this.key[i] = key;
  }

  private grow(): void {
    const cap = Math.ceil(this.at.length * 1.5);
    const a = new Uint32Array(cap);
    a.set(this.at);
    const k = new Uint32Array(cap);
    k.set(this.key);
    this.at = a;
    this.key = k;
  }

  private pop(): void {
    const last = --this.n;
    if (last === 0) return;
    const rel = this.at[last]!;
    const key = this.key[last]!;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= last) break;
      const r = l + 1;
      const c = r < last && this.at[r]! < this.at[l]! ? r : l;
      if (this.at[c]! >= rel) break;
      this.at[i] = this.at[c]!;
      this.key[i] = this.key[c]!;
      i = c;
    }
    this.at[i] = rel;
    this.key[i] = key;
  }

  /**
   * Once now is REBASE_AFTER_MS past the epoch, move the epoch up to a day before now (no
   * further than the earliest entry, so no pending time changes), shift every entry and
   * every follower's due times, and bring in the far entries now in range.
   */
  private rebase(): void {
    const nowRel = Math.floor(this.clock.now()) - this.base.epoch;
    if (nowRel <= REBASE_AFTER_MS) return;
    let d = nowRel - PAST_MS;
    if (this.n > 0) d = Math.min(d, this.at[0]!);
    // An entry overdue by weeks would pin the epoch: not worth an O(N) pass for a few ms.
    if (d < REBASE_AFTER_MS / 2) return;
    for (let i = 0; i < this.n; i++) this.at[i] = this.at[i]! - d;
    this.base.moved(d);
    const far = this.far;
    this.far = [];
    for (const e of far) {
      const rel = e.at - this.base.epoch;
      if (rel <= MAX_OFFSET) this.push(Math.max(0, rel), e.cpe * 32 + e.kind);
      else this.far.push(e);
    }
  }

  private arm(): void {
    if (this.stopped) return;
    if (this.timer !== undefined) this.clock.clearTimer(this.timer);
    this.timer = undefined;
    this.armedAt = Infinity;
    let next = this.n > 0 ? this.base.epoch + this.at[0]! : Infinity;
    // Far entries come in range at a rebase: be awake for it.
    if (this.far.length > 0) next = Math.min(next, this.base.epoch + REBASE_AFTER_MS + 1);
    if (next === Infinity) return;
    this.armedAt = this.wakeAt(next);
    // With slack, one ms more: node's timers count on libuv's clock, which can be up to a ms
    // ahead of Date.now(), and a wake-up before the slot would find its entries not yet due.
    const late = this.slack > 0 ? 1 : 0;
    this.timer = this.clock.setTimer(() => this.run(), this.armedAt - this.clock.now() + late);
  }

  private run(): void {
    this.timer = undefined;
    this.armedAt = Infinity;
    this.running = true;
    try {
      this.rebase();
      // Bounded batch per turn so a burst of due entries cannot starve I/O.
      let budget = 2048;
      while (this.n > 0 && this.base.epoch + this.at[0]! <= this.clock.now() && budget-- > 0 && !this.stopped) {
        const at = this.base.epoch + this.at[0]!;
        const key = this.key[0]!;
        this.pop();
        const cpe = key >>> KIND_BITS;
        const kind = key & KIND_MASK;
        try {
          this.fire(cpe, kind, at);
        } catch (e) {
          this.onError(e, cpe, kind);
        }
      }
    } finally {
      this.running = false;
    }
    if (this.stopped) return;
    if (this.n > 0 && this.base.epoch + this.at[0]! <= this.clock.now()) {
      this.armedAt = this.base.epoch + this.at[0]!;
      this.timer = this.clock.setTimer(() => this.run(), 0);
    } else {
      this.arm();
    }
  }
}
