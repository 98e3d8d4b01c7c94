// Main thread: the latest snapshot of every shard, merged with main's own metrics into
// the text /metrics serves. A shard that dies keeps its last snapshot, so merged counters
// never go backwards. Nothing here walks CPEs: a scrape costs the same at any fleet size.
import { AggregatorRegistry } from './prom.js';
import type { MetricsSnapshot } from '../threads/messages.js';
import type { FdMonitor } from '../util/fds.js';
import type { ThreadMetrics } from './thread-metrics.js';

export class MetricsHub {
  private readonly shards = new Map<string, MetricsSnapshot>();
  private uptimeReported = 0;
  private fdReadFailuresReported = 0;

  constructor(
    private readonly main: ThreadMetrics,
    private readonly workerThreads: () => number,
    /** The process's descriptors: the open count (its last good value when a read fails) and the limit. */
    private readonly fds?: FdMonitor,
    private readonly startedAt = Date.now(),
  ) {}

  /** A shard's periodic push; `key` identifies one run (generation) of one shard thread. */
  update(key: string, snapshot: MetricsSnapshot): void {
    this.shards.set(key, snapshot);
  }

  /**
   * That run of the shard is gone. Its counters and histograms stay in the merge, so the
   * fleet's totals never go backwards; its gauges go, since the restarted run reports its own.
   */
  retire(key: string): void {
    const s = this.shards.get(key);
    if (s) this.shards.set(key, s.filter((m) => String(m.type) !== 'gauge'));
  }

  get contentType(): string {
    return this.main.catalog.registry.contentType;
  }

  async render(): Promise<string> {
    const c = this.main.catalog;
    const up = (Date.now() - this.startedAt) / 1000;
    c.uptime.inc(Math.max(0, up - this.uptimeReported));
    this.uptimeReported = up;
    c.workerThreads.set(this.workerThreads());
    // Reading it opens /proc/self/stat: out of descriptors it fails, and the gauge keeps its
    // last good value rather than failing the scrape.
    try {
      c.residentMemory.set(process.memoryUsage.rss());
    } catch {
      // EMFILE/ENFILE: as the open-fds gauge, the last good value stays.
    }
    if (this.fds) {
      const open = this.fds.sample();
      if (open !== undefined) c.fdCount.set({ os: 'linux' }, open);
      c.fdReadFailures.inc(this.fds.readFailures - this.fdReadFailuresReported);
      this.fdReadFailuresReported = this.fds.readFailures;
      const soft = this.fds.limit.soft;
      if (soft !== undefined && Number.isFinite(soft)) c.fdLimit.set(soft);
    }
    const own = await this.main.snapshot();
    return AggregatorRegistry.aggregate([own, ...this.shards.values()]).metrics();
  }
}
