// A log-bucketed histogram for latency percentiles: bucket k holds values in
// (BASE * GROWTH^(k-1), BASE * GROWTH^k], so any percentile read back is within 2% of a
// value seen. Counts travel between threads as sparse [bucket, count, ...] pairs, and
// merge by adding. Prometheus histograms keep their coarse buckets for scraping; this is
// what the scenario summary and report read p50/p95/p99 from.

/** Values at or below this (ms) share bucket 0. */
const BASE = 0.05;
const GROWTH = 1.02;
const LOG_GROWTH = Math.log(GROWTH);
/** Up to BASE * GROWTH^1023: about 34 minutes in ms. */
const BUCKETS = 1024;

export type SparseCounts = number[];

export function bucketOf(v: number): number {
  if (!(v > BASE)) return 0;
  return Math.min(BUCKETS - 1, Math.ceil(Math.log(v / BASE) / LOG_GROWTH));
}

/** The bucket's upper edge: what a percentile falling in it reads as. */
export function upperEdge(bucket: number): number {
  return BASE * GROWTH ** bucket;
}

export class LogHistogram {
  private counts = new Map<number, number>();
  count = 0;
  sum = 0;
  min = Infinity;
  max = -Infinity;

  record(v: number): void {
    const b = bucketOf(v);
    this.counts.set(b, (this.counts.get(b) ?? 0) + 1);
    this.count++;
    this.sum += v;
    if (v < this.min) this.min = v;
    if (v > this.max) this.max = v;
  }

  /** Add another histogram's counts (sparse pairs plus its count, sum, min, max). */
  merge(h: HistogramWire): void {
    const c = h.counts;
    for (let i = 0; i + 1 < c.length; i += 2) this.counts.set(c[i]!, (this.counts.get(c[i]!) ?? 0) + c[i + 1]!);
    this.count += h.count;
    this.sum += h.sum;
    if (h.count > 0) {
      this.min = Math.min(this.min, h.min);
      this.max = Math.max(this.max, h.max);
    }
  }

  /** Add another histogram of this thread in place (no wire round trip). */
  add(h: LogHistogram): void {
    for (const [k, n] of h.counts) this.counts.set(k, (this.counts.get(k) ?? 0) + n);
    this.count += h.count;
    this.sum += h.sum;
    if (h.count > 0) {
      this.min = Math.min(this.min, h.min);
      this.max = Math.max(this.max, h.max);
    }
  }

  /** The value under which a share q (0..1) of the recorded values fall; NaN when empty. */
  quantile(q: number): number {
    if (this.count === 0) return NaN;
    const rank = Math.max(1, Math.ceil(q * this.count));
    const keys = [...this.counts.keys()].sort((a, b) => a - b);
    let seen = 0;
    for (const k of keys) {
      seen += this.counts.get(k)!;
      if (seen >= rank) return Math.min(this.max, Math.max(this.min, upperEdge(k)));
    }
    return this.max;
  }

  get mean(): number {
    return this.count === 0 ? NaN : this.sum / this.count;
  }

  toWire(): HistogramWire {
    const counts: SparseCounts = [];
    for (const [k, n] of this.counts) counts.push(k, n);
    return { counts, count: this.count, sum: this.sum, min: this.count ? this.min : 0, max: this.count ? this.max : 0 };
  }

  /** Take the counts so far and start empty (a shard's sample of the last interval). */
  drain(): HistogramWire {
    const w = this.toWire();
    this.counts = new Map();
    this.count = 0;
    this.sum = 0;
    this.min = Infinity;
    this.max = -Infinity;
    return w;
  }
}

/** A histogram as it crosses a thread boundary. */
export interface HistogramWire {
  counts: SparseCounts;
  count: number;
  sum: number;
  min: number;
  max: number;
}

export function fromWire(w: HistogramWire): LogHistogram {
  const h = new LogHistogram();
  h.merge(w);
  return h;
}
