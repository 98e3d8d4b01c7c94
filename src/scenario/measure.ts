// What the fleet measured, second by second: the shards' samples merged into one Tick per
// interval (counters as deltas, latencies as log histograms), and periods (a stage, a
// breakpoint step, the whole run) as ranges of ticks. From a period come its summary and
// the MetricSource thresholds are judged on; from each tick, one point of the timeline.
import type { ShardSample } from '../threads/messages.js';
import { LogHistogram, type HistogramWire } from '../util/loghist.js';
import type { Percentiles, PeriodSummary, MetricSource, TimelinePoint } from './summary.js';

/** One interval's measurements, fleet-wide. */
export interface Tick {
  /** Epoch ms at the interval's end. */
  t: number;
  /** Length of the interval, seconds. */
  seconds: number;
  stage: string;
  ok: number;
  failed: number;
  byReason: Record<string, number>;
  byStatus: Record<string, number>;
  retryAfter: number;
  acs: Map<string, LogHistogram>;
  session: LogHistogram;
  ready: LogHistogram;
  uspOk: number;
  uspError: number;
  usp: Map<string, LogHistogram>;
  /** CPEs by lifecycle state at the interval's end, and `dark`. */
  states: Record<string, number>;
  active: number;
  queued: number;
  /** Fleet-event wave timers still to fire. */
  pendingEvents: number;
  mqtt: Record<string, number> | undefined;
}

type Counters = Pick<ShardSample, 'sessionsOk' | 'sessionsFailed' | 'failReasons' | 'failStatuses' | 'retryAfterHonored'> & { uspOk: number; uspError: number };

const ZERO: Counters = { sessionsOk: 0, sessionsFailed: 0, failReasons: {}, failStatuses: {}, retryAfterHonored: 0, uspOk: 0, uspError: 0 };

function addAll(into: Record<string, number>, from: Record<string, number>, sign = 1): void {
  for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + sign * v;
}

function mergeInto(map: Map<string, LogHistogram>, key: string, w: HistogramWire): void {
  let h = map.get(key);
  if (!h) map.set(key, (h = new LogHistogram()));
  h.merge(w);
}

/**
 * Turns the shards' samples into ticks. Shard counters are cumulative; a shard that was
 * restarted starts again from 0, so a counter that went backwards counts from there.
 */
export class Ticker {
  private last: Counters[] = [];
  private lastAt: number;

  constructor(startAt: number) {
    this.lastAt = startAt;
  }

  tick(at: number, stage: string, samples: Array<ShardSample | undefined>): Tick {
    const tick: Tick = {
      t: at,
      seconds: Math.max(0.001, (at - this.lastAt) / 1000),
      stage,
      ok: 0,
      failed: 0,
      byReason: {},
      byStatus: {},
      retryAfter: 0,
      acs: new Map(),
      session: new LogHistogram(),
      ready: new LogHistogram(),
      uspOk: 0,
      uspError: 0,
      usp: new Map(),
      states: { new: 0, bootstrapping: 0, ready: 0, failed: 0, dark: 0 },
      active: 0,
      queued: 0,
      pendingEvents: 0,
      mqtt: undefined,
    };
    this.lastAt = at;
    samples.forEach((s, i) => {
      if (!s) return;
      const now: Counters = { ...s, uspOk: s.usp?.requestsOk ?? 0, uspError: s.usp?.requestsError ?? 0 };
      let prev = this.last[i] ?? ZERO;
      if (now.sessionsOk < prev.sessionsOk || now.sessionsFailed < prev.sessionsFailed) prev = ZERO; // restarted
      this.last[i] = now;
      tick.ok += now.sessionsOk - prev.sessionsOk;
      tick.failed += now.sessionsFailed - prev.sessionsFailed;
      addAll(tick.byReason, now.failReasons);
      addAll(tick.byReason, prev.failReasons, -1);
      addAll(tick.byStatus, now.failStatuses);
      addAll(tick.byStatus, prev.failStatuses, -1);
      tick.retryAfter += now.retryAfterHonored - prev.retryAfterHonored;
      tick.uspOk += Math.max(0, now.uspOk - prev.uspOk);
      tick.uspError += Math.max(0, now.uspError - prev.uspError);
      for (const [k, w] of Object.entries(s.acsResponseMs)) mergeInto(tick.acs, k, w);
      tick.session.merge(s.sessionMs);
      tick.ready.merge(s.readyMs);
      if (s.usp) {
        for (const [k, w] of Object.entries(s.usp.rttMs)) mergeInto(tick.usp, k, w);
        tick.mqtt ??= {};
        addAll(tick.mqtt, s.usp.connections);
      }
      addAll(tick.states, s.states);
      tick.states['dark']! += s.dark;
      tick.active += s.activeSessions;
      tick.queued += s.queuedSessions;
      tick.pendingEvents += s.pendingEvents;
    });
    for (const m of [tick.byReason, tick.byStatus]) for (const k of Object.keys(m)) if (m[k]! <= 0) delete m[k];
    return tick;
  }
}

export function percentiles(h: LogHistogram | undefined): Percentiles {
  if (!h || h.count === 0) return { count: 0, p50: null, p95: null, p99: null, avg: null, max: null };
  const r = (v: number) => Math.round(v * 100) / 100;
  return { count: h.count, p50: r(h.quantile(0.5)), p95: r(h.quantile(0.95)), p99: r(h.quantile(0.99)), avg: r(h.mean), max: r(h.max) };
}

function mergedOf(maps: Iterable<LogHistogram>): LogHistogram {
  const out = new LogHistogram();
  for (const h of maps) out.merge(h.toWire());
  return out;
}

export function timelinePoint(k: Tick): TimelinePoint {
  const perSec = (n: number) => Math.round((n / k.seconds) * 100) / 100;
  const failures: Record<string, number> = {};
  for (const [r, n] of Object.entries(k.byReason)) failures[r] = perSec(n);
  const point: TimelinePoint = {
    t: k.t,
    stage: k.stage,
    okPerSec: perSec(k.ok),
    failedPerSec: perSec(k.failed),
    failuresPerSec: failures,
    acsMs: percentiles(mergedOf(k.acs.values())),
    informMs: percentiles(k.acs.get('Inform')),
    states: { ...k.states },
    activeSessions: k.active,
    queuedSessions: k.queued,
  };
  if (k.mqtt) {
    point.uspPerSec = perSec(k.uspOk + k.uspError);
    point.uspRttMs = percentiles(mergedOf(k.usp.values()));
    point.mqtt = { ...k.mqtt };
  }
  return point;
}

/** A run of ticks merged: one stage, one breakpoint step, or the whole run. */
export class Period implements MetricSource {
  ok = 0;
  failed = 0;
  readonly byReason: Record<string, number> = {};
  readonly byStatus: Record<string, number> = {};
  retryAfter = 0;
  readonly acs = new Map<string, LogHistogram>();
  readonly session = new LogHistogram();
  readonly ready = new LogHistogram();
  uspOk = 0;
  uspError = 0;
  readonly usp = new Map<string, LogHistogram>();
  /** Sessions ended per second, one value per tick. */
  readonly perSecond: number[] = [];
  seconds = 0;
  last: Tick | undefined;

  constructor(
    readonly name: string,
    readonly kind: string,
    readonly startedAt: number,
  ) {}

  add(k: Tick): void {
    this.ok += k.ok;
    this.failed += k.failed;
    addAll(this.byReason, k.byReason);
    addAll(this.byStatus, k.byStatus);
    this.retryAfter += k.retryAfter;
    for (const [m, h] of k.acs) mergeInto(this.acs, m, h.toWire());
    this.session.merge(k.session.toWire());
    this.ready.merge(k.ready.toWire());
    this.uspOk += k.uspOk;
    this.uspError += k.uspError;
    for (const [m, h] of k.usp) mergeInto(this.usp, m, h.toWire());
    this.perSecond.push((k.ok + k.failed) / k.seconds);
    this.seconds += k.seconds;
    this.last = k;
  }

  // ---- MetricSource ----

  trend(metric: string, tags: Record<string, string>): LogHistogram | undefined {
    switch (metric) {
      case 'acs_response_ms':
        return tags['message'] !== undefined ? this.acs.get(tags['message']) ?? new LogHistogram() : mergedOf(this.acs.values());
      case 'session_ms':
        return this.session;
      case 'ready_ms':
        return this.ready;
      case 'usp_rtt_ms':
        return tags['msg_type'] !== undefined ? this.usp.get(tags['msg_type']) ?? new LogHistogram() : mergedOf(this.usp.values());
      default:
        return undefined;
    }
  }

  /** Failed sessions matching `status` (an HTTP answer) or `reason`; all of them without either. */
  private failedMatching(tags: Record<string, string>): number {
    if (tags['status'] !== undefined) return this.byStatus[tags['status']] ?? 0;
    if (tags['reason'] !== undefined) return this.byReason[tags['reason']] ?? 0;
    return this.failed;
  }

  rate(metric: string, tags: Record<string, string>): [number, number] | undefined {
    const all = this.ok + this.failed;
    switch (metric) {
      case 'session_success':
        return [this.ok, all];
      case 'session_failed':
        return [this.failedMatching(tags), all];
      case 'usp_success':
        return [this.uspOk, this.uspOk + this.uspError];
      default:
        return undefined;
    }
  }

  count(metric: string, tags: Record<string, string>): number | undefined {
    switch (metric) {
      case 'sessions':
        return this.ok + this.failed;
      case 'session_failed':
        return this.failedMatching(tags);
      case 'retry_after_honored':
        return this.retryAfter;
      default:
        return undefined;
    }
  }

  series(metric: string): number[] | undefined {
    return metric === 'sessions_per_sec' ? this.perSecond : undefined;
  }

  summary(endedAt: number): PeriodSummary {
    const all = this.ok + this.failed;
    const acs: Record<string, Percentiles> = {};
    for (const m of [...this.acs.keys()].sort()) acs[m] = percentiles(this.acs.get(m));
    const last = this.last;
    const out: PeriodSummary = {
      name: this.name,
      kind: this.kind,
      startedAt: new Date(this.startedAt).toISOString(),
      endedAt: new Date(endedAt).toISOString(),
      seconds: Math.round(((endedAt - this.startedAt) / 1000) * 10) / 10,
      sessions: { ok: this.ok, failed: this.failed, perSecond: this.seconds > 0 ? Math.round((all / this.seconds) * 100) / 100 : 0, successRate: all > 0 ? this.ok / all : null },
      failures: { byReason: { ...this.byReason }, byStatus: { ...this.byStatus }, retryAfterHonored: this.retryAfter },
      acsResponseMs: acs,
      sessionMs: percentiles(this.session),
      powerOnToReadyMs: percentiles(this.ready),
      statesAtEnd: last ? { ...last.states } : {},
    };
    if (last?.mqtt) {
      const rtt: Record<string, Percentiles> = {};
      for (const m of [...this.usp.keys()].sort()) rtt[m] = percentiles(this.usp.get(m));
      out.usp = { requestsOk: this.uspOk, requestsError: this.uspError, rttMs: rtt, connectionsAtEnd: { ...last.mqtt } };
    }
    return out;
  }
}
