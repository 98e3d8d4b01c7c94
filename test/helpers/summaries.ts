// Summaries and timeline points built in tests, shaped like a real run's: several stages,
// failures that start under load, a breakpoint search that broke, USP when asked.
import type { PeriodSummary, Percentiles, Summary, TimelinePoint } from '../../src/scenario/summary.js';

export function percentiles(p50: number | null, count = 100): Percentiles {
  if (p50 === null) return { count: 0, p50: null, p95: null, p99: null, avg: null, max: null };
  return { count, p50, p95: p50 * 2.5, p99: p50 * 4, avg: p50 * 1.3, max: p50 * 6 };
}

/** One point: `load` in 0..1 shapes rates, latency and failures together. */
export function point(t: number, stage: string, load: number, opts: { usp?: boolean; cpes?: number } = {}): TimelinePoint {
  const cpes = opts.cpes ?? 5000;
  const failed = load > 0.6 ? Math.round((load - 0.6) * 200) / 10 : 0;
  const ready = Math.round(cpes * Math.min(1, 0.2 + load));
  const p: TimelinePoint = {
    t,
    stage,
    okPerSec: Math.round(400 * load * 10) / 10,
    failedPerSec: failed,
    failuresPerSec: failed ? { timeout: failed * 0.7, 'http-status': failed * 0.3 } : {},
    acsMs: percentiles(20 + 400 * load * load),
    informMs: percentiles(30 + 600 * load * load),
    states: { new: Math.max(0, cpes - ready - 100), bootstrapping: 60, ready, failed: 40, dark: stage === 'mains cut' ? 1500 : 0 },
    activeSessions: Math.round(200 * load),
    queuedSessions: load > 0.8 ? Math.round(1000 * (load - 0.8)) : 0,
  };
  if (opts.usp) {
    p.uspPerSec = Math.round(80 * load);
    p.uspRttMs = percentiles(3 + 10 * load);
    p.mqtt = { connected: ready, connecting: 20, backoff: load > 0.7 ? 30 : 0, disconnected: cpes - ready - 20 };
  }
  return p;
}

export const HOSTILE_STAGE = '<img src=x onerror="window.pwned=1">cut & "east"';

function period(name: string, kind: string, start: number, seconds: number, ok: number, failed: number, usp: boolean): PeriodSummary {
  const iso = (ms: number) => new Date(ms).toISOString();
  return {
    name,
    kind,
    startedAt: iso(start),
    endedAt: iso(start + seconds * 1000),
    seconds,
    sessions: { ok, failed, perSecond: (ok + failed) / seconds, successRate: ok + failed ? ok / (ok + failed) : null },
    failures: failed ? { byReason: { timeout: Math.round(failed * 0.7), 'http-status': failed - Math.round(failed * 0.7) }, byStatus: { '503': failed - Math.round(failed * 0.7) }, retryAfterHonored: Math.round(failed * 0.2) } : { byReason: {}, byStatus: {}, retryAfterHonored: 0 },
    acsResponseMs: { Inform: percentiles(45, ok + failed), Empty: percentiles(12, ok), TransferComplete: percentiles(18, 7) },
    sessionMs: percentiles(120, ok + failed),
    powerOnToReadyMs: percentiles(kind === 'powerOn' ? 850 : null, ok),
    statesAtEnd: { new: 0, bootstrapping: 12, ready: 4900, failed: 88, dark: 0 },
    usp: usp ? { requestsOk: ok * 2, requestsError: 3, rttMs: { Get: percentiles(4, ok), Set: percentiles(9, 40) }, connectionsAtEnd: { connected: 4980, backoff: 20 } } : undefined,
  };
}

/** A run of four stages (power-on, hold, a power cut named by a hostile user, a breakpoint search) that failed a threshold. */
export function realisticSummary(opts: { usp?: boolean } = {}): Summary {
  const usp = opts.usp ?? false;
  const start = Date.UTC(2025, 4, 6, 9, 30, 0);
  const stages: Array<[string, string, number, (i: number, n: number) => number]> = [
    ['power on', 'powerOn', 60, (i, n) => (i / n) * 0.5],
    ['steady', 'hold', 60, () => 0.45],
    [HOSTILE_STAGE, 'powerCut', 40, (i) => (i < 10 ? 0.1 : 0.55)],
    ['find the limit', 'breakpoint', 80, (i, n) => 0.3 + (0.7 * i) / n],
  ];
  const timeline: TimelinePoint[] = [];
  const periods: PeriodSummary[] = [];
  let t = start;
  for (const [name, kind, seconds, load] of stages) {
    const from = t;
    for (let i = 0; i < seconds; i++) timeline.push(point((t += 1000), name, load(i, seconds), { usp }));
    const pts = timeline.filter((p) => p.stage === name);
    const ok = Math.round(pts.reduce((a, p) => a + p.okPerSec, 0));
    const failed = Math.round(pts.reduce((a, p) => a + p.failedPerSec, 0));
    periods.push(period(name, kind, from, seconds, ok, failed, usp));
  }
  periods[3]!.breakpoint = {
    fromRate: 50,
    toRate: 400,
    steps: [50, 100, 200, 400].map((rate, i) => ({ rate, achieved: i < 3 ? rate * 0.98 : 231.5, startedAt: new Date(start + (160 + i * 20) * 1000).toISOString(), held: i < 3, reached: true, broke: i < 3 ? [] : ['acs_response_ms{message:Inform}: p(95) < 500', 'session_success: rate > 0.99'] })),
    highestRateHeld: 200,
    brokeAtRate: 400,
  };
  const totalOk = periods.reduce((a, p) => a + p.sessions.ok, 0);
  const totalFailed = periods.reduce((a, p) => a + p.sessions.failed, 0);
  const run = period('run', 'run', start, 240, totalOk, totalFailed, usp);
  return {
    scenario: { name: 'Monday 9:00 storm </script><b>bold</b>', file: 'scenarios/storm.yaml', description: 'Five thousand gateways power on, hold, lose mains, then climb until the ACS breaks.' },
    fleet: { cpes: 5000, shards: 4, acsUrl: 'http://127.0.0.1:7547/', usp: usp ? 'mqtt://127.0.0.1:1883' : undefined, seed: 42 },
    startedAt: new Date(start).toISOString(),
    endedAt: new Date(start + 240_000).toISOString(),
    stages: periods,
    run,
    thresholds: [
      { source: 'session_success: rate > 0.99', stage: undefined, value: run.sessions.successRate, ok: false },
      { source: 'acs_response_ms{message:Inform}: p(95) < 500', stage: 'steady', value: 112.5, ok: true },
      { source: 'ready_ms: p(99) < 2000', stage: 'power on', value: 3400, ok: false },
      { source: 'usp_rtt_ms: p(95) < 50', stage: undefined, value: null, ok: false },
    ],
    result: 'thresholds-failed',
    exitCode: 2,
    timeline,
  };
}
