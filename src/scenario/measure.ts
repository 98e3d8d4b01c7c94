// What the fleet measured, second by second: the shards' samples merged into one Tick per
// interval (counters as deltas, latencies as log histograms), and periods (a stage, a
// breakpoint step, the whole run) as ranges of ticks. From a period come its summary and
// the MetricSource thresholds are judged on; from each tick, one point of the timeline.
import type { ShardSample } from '../threads/messages.js';
import { LogHistogram } from '../util/loghist.js';
import type { Percentiles, PeriodSummary, MetricSource, TimelinePoint } from './summary.js';

/** What a tick and a period both hold: counts of sessions and failures, latency histograms. */
export interface Measures {
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
}

function emptyMeasures(): Measures {
  return { ok: 0, failed: 0, byReason: {}, byStatus: {}, retryAfter: 0, acs: new Map(), session: new LogHistogram(), ready: new LogHistogram(), uspOk: 0, uspError: 0, usp: new Map() };
}

function addMeasures(into: Measures, from: Measures): void {
  into.ok += from.ok;
  into.failed += from.failed;
  addAll(into.byReason, from.byReason);
  addAll(into.byStatus, from.byStatus);
  into.retryAfter += from.retryAfter;
  for (const [m, h] of from.acs) histOf(into.acs, m).add(h);
  into.session.add(from.session);
  into.ready.add(from.ready);
  into.uspOk += from.uspOk;
  into.uspError += from.uspError;
  for (const [m, h] of from.usp) histOf(into.usp, m).add(h);
}

/** One interval's measurements, fleet-wide. */
export interface Tick extends Measures {
  /** Epoch ms at the interval's end. */
  t: number;
  /** Length of the interval, seconds. */
  seconds: number;
  stage: string;
  /** CPEs by lifecycle state at the interval's end, and `dark`. */
  states: Record<string, number>;
  active: number;
  queued: number;
  /** Fleet-event wave timers still to fire. */
  pendingEvents: number;
  mqtt: Record<string, number> | undefined;
}

export interface SessionTotals {
  ok: number;
  failed: number;
  byReason: Record<string, number>;
}

/** What ended between two totals (never below zero: a restarted shard's counters start again). */
export function totalsSince(before: SessionTotals, after: SessionTotals): SessionTotals {
  const byReason: Record<string, number> = {};
  for (const [k, v] of Object.entries(after.byReason)) {
    const d = v - (before.byReason[k] ?? 0);
    if (d > 0) byReason[k] = d;
  }
  return { ok: Math.max(0, after.ok - before.ok), failed: Math.max(0, after.failed - before.failed), byReason };
}

type Counters = Pick<ShardSample, 'sessionsOk' | 'sessionsFailed' | 'failReasons' | 'failStatuses' | 'retryAfterHonored'> & { uspOk: number; uspError: number };

const ZERO: Counters = { sessionsOk: 0, sessionsFailed: 0, failReasons: {}, failStatuses: {}, retryAfterHonored: 0, uspOk: 0, uspError: 0 };

function addAll(into: Record<string, number>, from: Record<string, number>, sign = 1): void {
  for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + sign * v;
}

function histOf(map: Map<string, LogHistogram>, key: string): LogHistogram {
  let h = map.get(key);
  if (!h) map.set(key, (h = new LogHistogram()));
  return h;
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

  /** Sessions ended so far as of the last tick, summed over the shards (ok, failed, failed by reason). */
  totals(): SessionTotals {
    const out: SessionTotals = { ok: 0, failed: 0, byReason: {} };
    for (const c of this.last) {
      if (!c) continue;
      out.ok += c.sessionsOk;
      out.failed += c.sessionsFailed;
      addAll(out.byReason, c.failReasons);
    }
    return out;
  }

  tick(at: number, stage: string, samples: Array<ShardSample | undefined>): Tick {
    const tick: Tick = {
      ...emptyMeasures(),
      t: at,
      seconds: Math.max(0.001, (at - this.lastAt) / 1000),
      stage,
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
      for (const [k, w] of Object.entries(s.acsResponseMs)) histOf(tick.acs, k).merge(w);
      tick.session.merge(s.sessionMs);
      tick.ready.merge(s.readyMs);
      if (s.usp) {
        for (const [k, w] of Object.entries(s.usp.rttMs)) histOf(tick.usp, k).merge(w);
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
  for (const h of maps) out.add(h);
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
  /** The ticks' measures, summed. */
  readonly total: Measures = emptyMeasures();
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
    addMeasures(this.total, k);
    this.perSecond.push((k.ok + k.failed) / k.seconds);
    this.seconds += k.seconds;
    this.last = k;
  }

  // ---- MetricSource ----

  trend(metric: string, tags: Record<string, string>): LogHistogram | undefined {
    switch (metric) {
      case 'acs_response_ms':
        return tags['message'] !== undefined ? this.total.acs.get(tags['message']) ?? new LogHistogram() : mergedOf(this.total.acs.values());
      case 'session_ms':
        return this.total.session;
      case 'ready_ms':
        return this.total.ready;
      case 'usp_rtt_ms':
        return tags['msg_type'] !== undefined ? this.total.usp.get(tags['msg_type']) ?? new LogHistogram() : mergedOf(this.total.usp.values());
      default:
        return undefined;
    }
  }

  /** Failed sessions matching `status` (an HTTP answer) or `reason`; all of them without either. */
  private failedMatching(tags: Record<string, string>): number {
    if (tags['status'] !== undefined) return this.total.byStatus[tags['status']] ?? 0;
    if (tags['reason'] !== undefined) return this.total.byReason[tags['reason']] ?? 0;
    return this.total.failed;
  }

  rate(metric: string, tags: Record<string, string>): [number, number] | undefined {
    const all = this.total.ok + this.total.failed;
    switch (metric) {
      case 'session_success':
        return [this.total.ok, all];
      case 'session_failed':
        return [this.failedMatching(tags), all];
      case 'usp_success':
        return [this.total.uspOk, this.total.uspOk + this.total.uspError];
      default:
        return undefined;
    }
  }

  count(metric: string, tags: Record<string, string>): number | undefined {
    switch (metric) {
      case 'sessions':
        return this.total.ok + this.total.failed;
      case 'session_failed':
        return this.failedMatching(tags);
      case 'retry_after_honored':
        return this.total.retryAfter;
      default:
        return undefined;
    }
  }

  series(metric: string): number[] | undefined {
    return metric === 'sessions_per_sec' ? this.perSecond : undefined;
  }

  summary(endedAt: number): PeriodSummary {
    const all = this.total.ok + this.total.failed;
    const acs: Record<string, Percentiles> = {};
    for (const m of [...this.total.acs.keys()].sort()) acs[m] = percentiles(this.total.acs.get(m));
    const last = this.last;
    const out: PeriodSummary = {
      name: this.name,
      kind: this.kind,
      startedAt: new Date(this.startedAt).toISOString(),
      endedAt: new Date(endedAt).toISOString(),
      seconds: Math.round(((endedAt - this.startedAt) / 1000) * 10) / 10,
      sessions: { ok: this.total.ok, failed: this.total.failed, perSecond: this.seconds > 0 ? Math.round((all / this.seconds) * 100) / 100 : 0, successRate: all > 0 ? this.total.ok / all : null },
      failures: { byReason: { ...this.total.byReason }, byStatus: { ...this.total.byStatus }, retryAfterHonored: this.total.retryAfter },
      acsResponseMs: acs,
      sessionMs: percentiles(this.total.session),
      powerOnToReadyMs: percentiles(this.total.ready),
      statesAtEnd: last ? { ...last.states } : {},
    };
    if (last?.mqtt) {
      const rtt: Record<string, Percentiles> = {};
      for (const m of [...this.total.usp.keys()].sort()) rtt[m] = percentiles(this.total.usp.get(m));
      out.usp = { requestsOk: this.total.uspOk, requestsError: this.total.uspError, rttMs: rtt, connectionsAtEnd: { ...last.mqtt } };
    }
    return out;
  }
}
