// What a run reports (docs/scenarios.md "The report"): summary.json's shape, the timeline
// points the report plots and the live page streams, and what thresholds are read from.
import type { LogHistogram } from '../util/loghist.js';

/** Percentiles of a latency, in ms (null when nothing was measured). */
export interface Percentiles {
  count: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  avg: number | null;
  max: number | null;
}

/** One point a second: rates over the last interval, states now. */
export interface TimelinePoint {
  /** Epoch ms at the end of the interval. */
  t: number;
  /** The stage running then ('' before the first and after the last). */
  stage: string;
  /** Sessions that ended per second, ok and failed. */
  okPerSec: number;
  failedPerSec: number;
  /** Failed sessions per second by reason (only reasons seen in the interval). */
  failuresPerSec: Record<string, number>;
  /** ACS response time over every CPE message of the interval. */
  acsMs: Percentiles;
  /** ACS response time to Informs alone. */
  informMs: Percentiles;
  /** CPEs by lifecycle state now, and how many of them are dark (power cut, reboot). */
  states: Record<string, number>;
  activeSessions: number;
  queuedSessions: number;
  /** USP, when agents run: requests answered per second and their handling time. */
  uspPerSec?: number;
  uspRttMs?: Percentiles;
  mqtt?: Record<string, number>;
}

export interface BreakpointStep {
  /** Target arrival rate of the step, sessions/s. */
  rate: number;
  /** Sessions that ended per second during the step. */
  achieved: number;
  startedAt: string;
  /** Every threshold held over the step. */
  held: boolean;
  /** The fleet made at least 80% of the aimed rate (otherwise the step measured a lower rate than it names). */
  reached: boolean;
  /** Thresholds that broke, as written. */
  broke: string[];
}

export interface BreakpointResult {
  fromRate: number;
  toRate: number;
  steps: BreakpointStep[];
  /**
   * The highest rate at which every threshold held: a held step's aimed rate, or the rate it
   * achieved when that fell short of 80% of the aim; null when the first step broke.
   */
  highestRateHeld: number | null;
  /** The rate of the step that broke, or null when none did. */
  brokeAtRate: number | null;
}

export interface PeriodSummary {
  name: string;
  /** Stage kind (hold, powerOn, powerCut, ..., breakpoint); 'run' for the whole run. */
  kind: string;
  startedAt: string;
  endedAt: string;
  seconds: number;
  sessions: { ok: number; failed: number; perSecond: number; successRate: number | null };
  failures: { byReason: Record<string, number>; byStatus: Record<string, number>; retryAfterHonored: number };
  /** ACS response time per CPE message sent (Inform, Empty, GetParameterValuesResponse, ...). */
  acsResponseMs: Record<string, Percentiles>;
  sessionMs: Percentiles;
  powerOnToReadyMs: Percentiles;
  /** CPEs by state when the period ended (dark counted apart as well). */
  statesAtEnd: Record<string, number>;
  usp?: { requestsOk: number; requestsError: number; rttMs: Record<string, Percentiles>; connectionsAtEnd: Record<string, number> } | undefined;
  breakpoint?: BreakpointResult | undefined;
}

export interface ThresholdResult {
  /** As written in the scenario. */
  source: string;
  /** The stage it is scoped to (its `stage:` tag), or undefined for the whole run. */
  stage: string | undefined;
  /** The measured value; null when nothing was measured (which fails the threshold). */
  value: number | null;
  ok: boolean;
}

export type RunResult = 'passed' | 'thresholds-failed' | 'aborted';

export interface Summary {
  scenario: { name: string; file: string; description: string };
  fleet: { cpes: number; shards: number; acsUrl: string; usp: string | undefined; seed: number };
  startedAt: string;
  endedAt: string;
  stages: PeriodSummary[];
  run: PeriodSummary;
  thresholds: ThresholdResult[];
  result: RunResult;
  /** Why the run was cut short, when result is 'aborted' or a threshold aborted it. */
  abortReason?: string | undefined;
  exitCode: number;
  timeline: TimelinePoint[];
  /**
   * The stop after the last stage: CWMP sessions in flight when the run ended, and how they
   * ended during the stop (within --stop-grace, or cut and counted `stopped`). Not in the
   * stages, the run or the thresholds, which end with the last stage.
   */
  stop?: StopSummary | undefined;
}

export interface StopSummary {
  inFlight: number;
  ok: number;
  failed: number;
  byReason: Record<string, number>;
}

/**
 * What thresholds are evaluated on: a period's measurements by metric name and tags.
 * `undefined` means the metric does not exist (a scenario error caught before the run);
 * an empty histogram or zero counts mean nothing was measured.
 */
export interface MetricSource {
  /** Latency metrics (acs_response_ms, session_ms, ready_ms, usp_rtt_ms), tags applied. */
  trend(metric: string, tags: Record<string, string>): LogHistogram | undefined;
  /** Share metrics (session_success, session_failed, usp_success): [hits, total]. */
  rate(metric: string, tags: Record<string, string>): [number, number] | undefined;
  /** Counts (sessions, session_failed, retry_after_honored, ...). */
  count(metric: string, tags: Record<string, string>): number | undefined;
  /** Rates over time (sessions_per_sec): the per-second values of the period. */
  series(metric: string, tags: Record<string, string>): number[] | undefined;
}
