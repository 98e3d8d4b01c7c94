// The CLI's one clock over the fleet: the shards' totals once a second while something needs
// them that often (the fleet not ready yet, a bootstrap run not finished, a live status line
// drawn), else every PROGRESS_SECONDS, when the progress log line is due. It drives the
// progress output (a log line every PROGRESS_SECONDS, or the live line each second) and the
// checks for "all N ready" and the end of a bootstrap run.
import type { ShardStats } from '../threads/messages.js';

/** A `progress` log line every this many seconds (piped, --log-format json, --no-progress). */
export const PROGRESS_SECONDS = 5;

export interface StatsTickerOptions {
  stats: () => Promise<ShardStats>;
  /** True while ticks are wanted every second; else they come every PROGRESS_SECONDS. */
  fast: () => boolean;
  /** Each tick: the totals, the seconds since start on the tick grid, and the seconds since the previous tick. */
  onTick: (s: ShardStats, second: number, dt: number) => void;
  onError: (e: Error, second: number) => void;
  now?: () => number;
  /**
   * When the run started (epoch ms; default: now). Seconds count from it, and the first
   * tick's dt is the time since it, so sessions ended while the fleet was starting are
   * spread over the start-up instead of counted as one second's.
   */
  t0?: number;
}

export class StatsTicker {
  private timer: NodeJS.Timeout | undefined;
  private second = 0;
  private stopped = false;
  private readonly t0: number;
  private last: number;
  private readonly now: () => number;

  constructor(private readonly o: StatsTickerOptions) {
    this.now = o.now ?? Date.now;
    this.t0 = o.t0 ?? this.now();
    this.last = this.t0;
    // Started late (after the fleet came up): the grid picks up at the seconds already gone.
    this.second = Math.max(0, Math.floor((this.now() - this.t0) / 1000));
  }

  start(): void {
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** The next tick on the one-second grid: the next second when fast, else the next multiple of PROGRESS_SECONDS. */
  private schedule(): void {
    if (this.stopped) return;
    this.second += this.o.fast() ? 1 : PROGRESS_SECONDS - (this.second % PROGRESS_SECONDS);
    const k = this.second;
    this.timer = setTimeout(() => this.fire(k), Math.max(0, this.t0 + k * 1000 - this.now()));
  }

  private fire(k: number): void {
    // One request at a time: the next tick is planned once this one has its answer.
    void this.o.stats().then(
      (s) => {
        if (this.stopped) return;
        const t = this.now();
        const dt = (t - this.last) / 1000;
        this.last = t;
        this.o.onTick(s, k, dt);
      },
      (e: Error) => {
        if (!this.stopped) this.o.onError(e, k);
      },
    ).finally(() => this.schedule());
  }
}

/** Sessions ended per second between two ticks (from sessionsOk + sessionsFailed). */
export class SessionRate {
  private prev: number | undefined;

  next(s: ShardStats, dt: number): number {
    const total = s.sessionsOk + s.sessionsFailed;
    // A restarted shard's counters start again: never below zero.
    const rate = dt > 0 ? Math.max(0, total - (this.prev ?? 0)) / dt : 0;
    this.prev = total;
    return rate;
  }
}

const counts = (m: Record<string, number>): string =>
  Object.entries(m)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${k} ${n}`)
    .join(' ');

/** The live status line: time, CPEs by state, sessions/s, the top failure reasons, connections, the stage. */
export function statusLine(s: ShardStats, o: { seconds: number; rate: number; stage?: string | undefined }): string {
  const states = `new ${s.states.new} bootstrapping ${s.states.bootstrapping} ready ${s.states.ready} failed ${s.states.failed}`;
  const parts = [`${o.seconds}s`, states, `${o.rate.toFixed(1)} sessions/s`];
  const reasons = Object.entries(s.failReasons).filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  if (reasons.length > 0) {
    const top = reasons.slice(0, 3).map(([r, n]) => `${r} ${n}`).join(', ');
    parts.push(`failures ${top}${reasons.length > 3 ? ` +${reasons.length - 3} more` : ''}`);
  }
  if (s.uspConnections && counts(s.uspConnections)) parts.push(`usp ${counts(s.uspConnections)}`);
  if (s.xmppConnections && counts(s.xmppConnections)) parts.push(`xmpp ${counts(s.xmppConnections)}`);
  if (o.stage) parts.push(`stage ${o.stage}`);
  return parts.join(' | ');
}
