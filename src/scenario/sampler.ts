// One sampler a process: once a second it asks every shard for its sample, merges them into
// a Tick and hands it on (the scenario runner's periods, the live page's feed). Shards
// drain their latency histograms on each sample, so nothing else may ask them. Samples
// are taken on the one-second grid only, never in between: every tick is one interval
// long, so a rate per tick is a rate per second (a scenario's stages start on the grid).
import type { ShardSample } from '../threads/messages.js';
import { Ticker, timelinePoint, type SessionTotals, type Tick } from './measure.js';
import type { TimelinePoint } from './summary.js';

export interface SampleSource {
  samples(): Promise<Array<ShardSample | undefined>>;
}

export const SAMPLE_MS = 1000;

export class Sampler {
  private readonly ticker: Ticker;
  private timer: NodeJS.Timeout | undefined;
  /** The sample in progress: samples never overlap, and `now()` waits for it. */
  private running: Promise<Tick | undefined> = Promise.resolve(undefined);
  private readonly tickListeners = new Set<(k: Tick, p: TimelinePoint) => void>();
  /** The stage label of the next ticks ('' outside a scenario's stages). */
  stage = '';
  /** The latest tick. */
  last: Tick | undefined;

  constructor(
    private readonly source: SampleSource,
    /** Each tick as a timeline point (the live page's feed). */
    private readonly onPoint: (p: TimelinePoint) => void = () => undefined,
    private readonly clock: () => number = Date.now,
    private readonly periodMs = SAMPLE_MS,
  ) {
    this.ticker = new Ticker(clock());
  }

  start(): void {
    this.timer ??= setInterval(() => void this.take(), this.periodMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** The next tick on the grid (undefined when no shard answered it). */
  next(): Promise<Tick | undefined> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private waiters: Array<(k: Tick | undefined) => void> = [];

  /** Take a sample (after any in progress); resolves with its tick, undefined when no shard answered. */
  private take(): Promise<Tick | undefined> {
    const next = this.running.then(async () => {
      const samples = await this.source.samples().catch(() => []);
      const waiting = this.waiters.splice(0);
      if (samples.every((s) => s === undefined)) {
        for (const w of waiting) w(undefined);
        return undefined;
      }
      const tick = this.ticker.tick(this.clock(), this.stage, samples);
      this.last = tick;
      const point = timelinePoint(tick);
      this.onPoint(point);
      for (const fn of [...this.tickListeners]) fn(tick, point);
      for (const w of waiting) w(tick);
      return tick;
    });
    this.running = next.catch(() => undefined);
    return next;
  }

  /** Sessions ended so far as of the latest tick (what a run's ticks have counted). */
  totals(): SessionTotals {
    return this.ticker.totals();
  }

  onTick(fn: (k: Tick, p: TimelinePoint) => void): () => void {
    this.tickListeners.add(fn);
    return () => this.tickListeners.delete(fn);
  }
}
