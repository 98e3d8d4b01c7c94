// The parsed form of a load test (docs/scenarios.md): stages in order, events on subsets
// of the fleet, thresholds. Fleet events are plain data: the same objects travel to the
// shards in thread messages and come in through POST /admin/events, so everything here is
// structured-clone safe and carries no per-CPE state.

/**
 * A subset of the fleet, chosen by arithmetic on the CPE index (no per-CPE object):
 * every CPE of the range whose seeded draw falls under `fraction`. All keys are optional
 * and combine (fraction of a range); none means the whole fleet.
 */
export interface Target {
  /** Share of the CPEs in [from, to), chosen by a draw on (seed, index): the same CPEs under the same --seed. */
  fraction?: number;
  /** First global CPE index of the subset (inclusive). */
  from?: number;
  /** End of the subset's index range (exclusive). */
  to?: number;
  /** Only CPEs of this profile (the fleet runs one: its name or folder). */
  profile?: string;
}

/** How a subset powers on: at a rate, spread over a window, or all at once. */
export type Ramp = { mode: 'rate'; perSecond: number } | { mode: 'window'; seconds: number } | { mode: 'none' };

/** When CPEs come back after a power cut: along a ramp, or each after its own random delay. */
export type Restore = { ramp: Ramp } | { bootDelay: { minSeconds: number; maxSeconds: number } };

/** Added trouble on the links of a subset, for a while (applied at the transport). */
export interface LinkFaultSpec {
  /** Added before each request and each connect. */
  latencyMs: number;
  /** Uniform extra on top of latencyMs, 0..jitterMs. */
  jitterMs: number;
  /** Chance that one request (or MQTT connection) is cut by a reset, mid-session too. */
  resetProbability: number;
  /** Chance that one request gets no answer at all: it hits --acs-timeout. */
  stallProbability: number;
  /** The link is down: connects fail at once. */
  down: boolean;
}

export type FleetEvent =
  | { kind: 'powerOn'; target: Target; ramp: Ramp }
  | { kind: 'powerCut'; target: Target; durationSeconds: number; restore: Restore }
  | { kind: 'reboot'; target: Target; ramp: Ramp }
  | { kind: 'factoryReset'; target: Target; ramp: Ramp }
  | { kind: 'setInterval'; target: Target; seconds: number }
  | { kind: 'linkFault'; target: Target; durationSeconds: number; fault: LinkFaultSpec };

export type FleetEventKind = FleetEvent['kind'];
export const FLEET_EVENT_KINDS: readonly FleetEventKind[] = ['powerOn', 'powerCut', 'reboot', 'factoryReset', 'setInterval', 'linkFault'];

/** One event placed in time: `at` seconds after its stage started. */
export interface TimedEvent {
  atSeconds: number;
  event: FleetEvent;
}

/**
 * A breakpoint search: the session arrival rate climbs from `fromRate` to `toRate`
 * sessions/s over `durationSeconds`, in steps of `stepSeconds`; the stage stops at the
 * first step where a threshold breaks and reports the highest rate at which all held.
 */
export interface BreakpointSpec {
  target: Target;
  fromRate: number;
  toRate: number;
  durationSeconds: number;
  stepSeconds: number;
  /** How the rate is raised: shorter periodic intervals, more CPEs powered on, or both. */
  by: 'interval' | 'powerOn' | 'both';
}

export type StageAction =
  | { kind: 'hold' }
  | { kind: 'event'; event: FleetEvent }
  | { kind: 'breakpoint'; breakpoint: BreakpointSpec };

export interface Stage {
  name: string;
  action: StageAction;
  /**
   * How long the stage lasts. Undefined: as long as its action takes (a ramp's window,
   * a power cut's dark time and restore window), then until the fleet settles.
   */
  durationSeconds: number | undefined;
  /** Events during the stage, by offset from its start. */
  events: TimedEvent[];
}

/** One k6-style threshold: `metric{tags}` and a condition, e.g. `p(95) < 500`. */
export interface Threshold {
  /** As written, for the summary: `acs_response_ms{message:Inform}: p(95) < 500`. */
  source: string;
  metric: string;
  tags: Record<string, string>;
  /** The aggregate: 'rate', 'count', 'avg', 'min', 'max', 'med', or 'p(N)'. */
  stat: string;
  op: '<' | '<=' | '>' | '>=' | '==' | '!=';
  value: number;
  /** Stop the run (or the breakpoint stage) as soon as it fails. */
  abortOnFail: boolean;
}

export interface Scenario {
  /** The file it came from (for messages). */
  file: string;
  name: string;
  description: string;
  /** Options of cpe-sim set by the file (same keys as --config), before flags and env. */
  options: Record<string, unknown>;
  stages: Stage[];
  thresholds: Threshold[];
}
