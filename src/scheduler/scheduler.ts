// One scheduler per shard, never a timer per CPE: a binary min-heap over
// typed arrays with a single armed timer. Entries are (time, cpe, kind); a CPE waiting
// for nothing costs no timer, promise or closure. Stale entries are skipped by the
// owner's validity check rather than removed (lazy deletion).
import type { Clock } from './clock.js';

export type Fire = (cpe: number, kind: number, at: number) => void;

export class Scheduler {
  private at = new Float64Array(1024);
  private cpe = new Int32Array(1024);
  private kind = new Uint8Array(1024);
  private n = 0;
  private timer: unknown;
  private armedAt = Infinity;
  private running = false;
  private stopped = false;

  constructor(
    private readonly clock: Clock,
    private readonly fire: Fire,
    /** Told when a handler throws; the scheduler carries on with the next entry. */
    private readonly onError: (e: unknown, cpe: number, kind: number) => void = () => undefined,
  ) {}

  get size(): number {
    return this.n;
  }

  schedule(at: number, cpe: number, kind: number): void {
    if (this.n === this.at.length) this.grow();
    let i = this.n++;
    // sift up
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (this.at[p]! <= at) break;
      this.move(p, i);
      i = p;
    }
    this.at[i] = at;
    this.cpe[i] = cpe;
    this.kind[i] = kind;
    if (!this.running && at < this.armedAt) this.arm();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) this.clock.clearTimer(this.timer);
    this.timer = undefined;
  }

  private grow(): void {
    const cap = this.at.length * 2;
    const a = new Float64Array(cap);
    a.set(this.at);
    const c = new Int32Array(cap);
    c.set(this.cpe);
    const k = new Uint8Array(cap);
    k.set(this.kind);
    this.at = a;
    this.cpe = c;
    this.kind = k;
  }

  private move(from: number, to: number): void {
    this.at[to] = this.at[from]!;
    this.cpe[to] = this.cpe[from]!;
    this.kind[to] = this.kind[from]!;
  }

  private pop(): void {
    const last = --this.n;
    if (last === 0) return;
    const at = this.at[last]!;
    const cpe = this.cpe[last]!;
    const kind = this.kind[last]!;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= last) break;
      const r = l + 1;
      const c = r < last && this.at[r]! < this.at[l]! ? r : l;
      if (this.at[c]! >= at) break;
      this.move(c, i);
      i = c;
    }
    this.at[i] = at;
    this.cpe[i] = cpe;
    this.kind[i] = kind;
  }

  private arm(): void {
    if (this.stopped) return;
    if (this.timer !== undefined) this.clock.clearTimer(this.timer);
    this.timer = undefined;
    this.armedAt = Infinity;
    if (this.n === 0) return;
    const next = this.at[0]!;
    this.armedAt = next;
    this.timer = this.clock.setTimer(() => this.run(), next - this.clock.now());
  }

  private run(): void {
    this.timer = undefined;
    this.armedAt = Infinity;
    this.running = true;
    try {
      // Bounded batch per turn so a burst of due entries cannot starve I/O.
      let budget = 2048;
      while (this.n > 0 && this.at[0]! <= this.clock.now() && budget-- > 0 && !this.stopped) {
        const at = this.at[0]!;
        const cpe = this.cpe[0]!;
        const kind = this.kind[0]!;
        this.pop();
        try {
          this.fire(cpe, kind, at);
        } catch (e) {
          this.onError(e, cpe, kind);
        }
      }
    } finally {
      this.running = false;
    }
    if (this.n > 0 && this.at[0]! <= this.clock.now()) {
      this.armedAt = this.at[0]!;
      this.timer = this.clock.setTimer(() => this.run(), 0);
    } else {
      this.arm();
    }
  }
}
