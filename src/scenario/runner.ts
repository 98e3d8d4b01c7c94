// Plays a scenario on a running fleet (docs/scenarios.md): stages in order, timed events,
// the breakpoint search, abortOnFail, and at the end the Summary with every threshold
// judged. It talks to the shards only through the fleet's typed thread messages
// (RunnerFleet), and measures through the process's one Sampler.
import type { FleetEvent, Scenario, Stage, Target, Threshold } from './model.js';
import { Period, type Tick } from './measure.js';
import type { Sampler } from './sampler.js';
import type { BreakpointResult, BreakpointStep, PeriodSummary, RunResult, Summary, ThresholdResult, TimelinePoint } from './summary.js';
import { rampSeconds, rangeOf } from './target.js';
import { evaluate, stageOf } from './thresholds.js';

/** What the runner needs of the fleet: events in, one CPE's interval read back. */
export interface RunnerFleet {
  applyEvent(event: FleetEvent, at: number): Promise<number>;
  /** CPE `cpe`'s PeriodicInformInterval in seconds, if it can be read. */
  intervalOf(cpe: number): Promise<number | undefined>;
}

export interface RunnerOptions {
  fleet: RunnerFleet;
  sampler: Sampler;
  /** The fleet's global index range [lo, hi). */
  range: { lo: number; hi: number };
  about: Summary['fleet'];
  log: (level: 'info' | 'warn', msg: string, extra?: Record<string, unknown>) => void;
  /** How long a stage with no length of its own waits for the fleet to settle. */
  settleLimitMs?: number;
}

/** Exit codes (docs/scenarios.md "Exit codes"). */
export const EXIT_OK = 0;
export const EXIT_THRESHOLDS = 99;

const SETTLE_LIMIT_MS = 5 * 60 * 1000;

/** The timeline keeps at most 2 × this many points (a long soak keeps every 2nd, 4th, ... second). */
const MAX_POINTS = 3600;

/** How long an event's action takes, in seconds, before the fleet is left to settle. */
export function actionSeconds(ev: FleetEvent, range: { lo: number; hi: number }): number {
  switch (ev.kind) {
    case 'powerOn':
    case 'reboot':
    case 'factoryReset':
      return rampSeconds(ev.ramp, ev.target, range);
    case 'powerCut':
      return ev.durationSeconds + ('ramp' in ev.restore ? rampSeconds(ev.restore.ramp, ev.target, range) : ev.restore.bootDelay.maxSeconds);
    case 'linkFault':
      return ev.durationSeconds;
    case 'setInterval':
      return 0;
  }
}

/** The expected number of CPEs of a target in the fleet. */
export function expectedSize(t: Target, range: { lo: number; hi: number }): number {
  const { from, to } = rangeOf(t, range.lo, range.hi);
  return Math.max(0, to - from) * (t.fraction ?? 1);
}

/** The breakpoint's aimed rates: floor(duration / step) steps from `from` to `to`. */
export function breakpointRates(fromRate: number, toRate: number, durationSeconds: number, stepSeconds: number): number[] {
  const k = Math.max(1, Math.floor(durationSeconds / stepSeconds));
  return Array.from({ length: k }, (_, i) => (k === 1 ? fromRate : fromRate + ((toRate - fromRate) * i) / (k - 1)));
}

interface StageRun {
  stage: Stage;
  period: Period;
  /** The period thresholds scoped to the stage are judged on (a breakpoint's last step). */
  judged: Period;
  breakpoint?: BreakpointResult;
  endedAt?: number;
}

export class ScenarioRunner {
  private readonly runPeriod: Period;
  private readonly stageRuns = new Map<string, StageRun>();
  private current: StageRun | undefined;
  private step: Period | undefined;
  private timeline: Summary['timeline'] = [];
  /** Points kept: one in every `keepEvery` seconds (doubles whenever the timeline reaches 2 × MAX_POINTS). */
  private keepEvery = 1;
  private ticks = 0;
  private stopped = false;
  private abortReason: string | undefined;
  /** The abortOnFail threshold that stopped the run, with its value then. */
  private abortedBy: { th: Threshold; value: number } | undefined;
  private wake: (() => void) | undefined;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly startedAt = Date.now();
  private readonly unsubscribe: () => void;

  constructor(
    private readonly scenario: Scenario,
    private readonly o: RunnerOptions,
  ) {
    this.runPeriod = new Period(scenario.name, 'run', this.startedAt);
    this.unsubscribe = o.sampler.onTick((k, p) => this.onTick(k, p));
  }

  /** End the run early (Ctrl-C, --duration): the current stage stops, the rest are skipped. */
  stop(reason: string): void {
    if (this.stopped) return;
    this.stopped = true;
    this.abortReason ??= reason;
    this.wake?.();
  }

  async run(): Promise<Summary> {
    // Stages start on the sampler's grid: what happened before is measured before the first.
    await this.o.sampler.next();
    for (const stage of this.scenario.stages) {
      if (this.stopped) break;
      await this.runStage(stage);
    }
    this.unsubscribe();
    for (const t of this.timers) clearTimeout(t);
    this.o.sampler.stage = '';
    return this.summary();
  }

  // ---- measuring ----

  private onTick(k: Tick, p: TimelinePoint): void {
    if (this.ticks++ % this.keepEvery === 0) this.timeline.push(p);
    if (this.timeline.length >= 2 * MAX_POINTS) {
      this.timeline = this.timeline.filter((_, i) => i % 2 === 0);
      this.keepEvery *= 2;
    }
    this.runPeriod.add(k);
    this.current?.period.add(k);
    this.step?.add(k);
    this.checkAborts();
  }

  /** abortOnFail thresholds, judged once a second over their period so far. */
  private checkAborts(): void {
    for (const th of this.scenario.thresholds) {
      if (!th.abortOnFail || this.stopped) continue;
      const name = stageOf(th);
      const run = name === undefined ? undefined : this.stageRuns.get(name);
      if (name !== undefined && (!run || run.stage.action.kind === 'breakpoint')) continue;
      const { value, ok } = evaluate(th, run ? run.period : this.runPeriod);
      if (value !== null && !ok) {
        this.abortedBy = { th, value };
        this.abortReason = `threshold ${th.source} failed with ${round2(value)}`;
        this.o.log('warn', 'threshold failed: aborting the run', { threshold: th.source, value });
        this.stop(this.abortReason);
      }
    }
  }

  // ---- stages ----

  private async runStage(stage: Stage): Promise<void> {
    const a = stage.action;
    const kind = a.kind === 'event' ? a.event.kind : a.kind;
    // Called on the sampler's grid (the run's first tick, or the tick that ended the stage before).
    const start = Date.now();
    const period = new Period(stage.name, kind, start);
    const run: StageRun = { stage, period, judged: period };
    this.stageRuns.set(stage.name, run);
    this.current = run;
    this.o.sampler.stage = stage.name;
    this.o.log('info', 'stage started', { stage: stage.name, kind });
    const pending = new Map<NodeJS.Timeout, string>();
    for (const te of stage.events) {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        pending.delete(timer);
        if (!this.stopped) void this.apply(te.event, `${stage.name} event`);
      }, te.atSeconds * 1000);
      this.timers.add(timer);
      pending.set(timer, `${te.event.kind} at ${te.atSeconds}s`);
    }
    if (a.kind === 'hold') {
      await this.sleep(stage.durationSeconds! * 1000);
    } else if (a.kind === 'event') {
      await this.apply(a.event, stage.name);
      if (stage.durationSeconds !== undefined) await this.sleep(stage.durationSeconds * 1000 - (Date.now() - start));
      else {
        await this.sleep(actionSeconds(a.event, this.o.range) * 1000);
        await this.settle(stage.name);
      }
    } else {
      run.breakpoint = await this.breakpoint(run);
    }
    // Events fire during their stage only: those it ended before are skipped.
    if (pending.size > 0) this.o.log('warn', 'stage ended before some of its events were due: skipped', { stage: stage.name, skipped: [...pending.values()] });
    for (const timer of pending.keys()) {
      clearTimeout(timer);
      this.timers.delete(timer);
    }
    await this.o.sampler.next();
    this.current = undefined;
    this.o.log('info', 'stage ended', { stage: stage.name, seconds: Math.round((Date.now() - start) / 100) / 10 });
    run.endedAt = Date.now();
  }

  private async apply(event: FleetEvent, what: string): Promise<number> {
    try {
      const reached = await this.o.fleet.applyEvent(event, Date.now());
      this.o.log('info', 'fleet event applied', { event: event.kind, by: what, reached });
      return reached;
    } catch (e) {
      this.o.log('warn', 'fleet event failed', { event: event.kind, by: what, error: (e as Error).message });
      return 0;
    }
  }

  /** Sleep, cut short by stop(). */
  private sleep(ms: number): Promise<void> {
    if (this.stopped || ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }

  /** Until every wave timer fired, no CPE is dark or bootstrapping and no session waits, checked at each tick; bounded. */
  private async settle(stage: string): Promise<void> {
    const limit = this.o.settleLimitMs ?? SETTLE_LIMIT_MS;
    const deadline = Date.now() + limit;
    while (!this.stopped) {
      const k = await this.o.sampler.next();
      if (k && k.pendingEvents === 0 && k.states['dark'] === 0 && k.states['bootstrapping'] === 0 && k.queued === 0) return;
      if (Date.now() >= deadline) {
        this.o.log('warn', 'stage ended before the fleet settled', { stage, waitedSeconds: limit / 1000, states: k?.states, queued: k?.queued });
        return;
      }
    }
  }

  // ---- the breakpoint search ----

  private async breakpoint(run: StageRun): Promise<BreakpointResult> {
    const a = run.stage.action;
    if (a.kind !== 'breakpoint') throw new Error('not a breakpoint stage');
    const b = a.breakpoint;
    const scoped = this.scenario.thresholds.filter((th) => stageOf(th) === run.stage.name);
    const n = expectedSize(b.target, this.o.range);
    const { from } = rangeOf(b.target, this.o.range.lo, this.o.range.hi);
    const interval = (await this.o.fleet.intervalOf(from).catch(() => undefined)) ?? 300;
    const result: BreakpointResult = { fromRate: b.fromRate, toRate: b.toRate, steps: [], highestRateHeld: null, brokeAtRate: null };
    let on = 0;
    let poweredTo = from;
    for (const rate of breakpointRates(b.fromRate, b.toRate, b.durationSeconds, b.stepSeconds)) {
      if (this.stopped) break;
      // A step is `step` whole ticks on the grid, starting on one (the stage, and each step, begin on a tick).
      const startedAt = Date.now();
      const step = new Period(`${run.stage.name}@${rate}`, 'breakpoint-step', startedAt);
      this.step = step;
      ({ on, poweredTo } = await this.raise(b.target, b.by, rate, n, interval, on, poweredTo, b.stepSeconds));
      for (let t = 0; t < b.stepSeconds && !this.stopped; t++) await this.o.sampler.next();
      this.step = undefined;
      if (this.stopped && step.seconds < b.stepSeconds / 2) break; // cut short: not a judged step
      const broke = scoped.filter((th) => !evaluate(th, step).ok).map((th) => th.source);
      const achieved = round2((step.total.ok + step.total.failed) / Math.max(step.seconds, 0.001));
      const rec: BreakpointStep = { rate: round2(rate), achieved, startedAt: new Date(startedAt).toISOString(), held: broke.length === 0, reached: achieved >= 0.8 * rate, broke };
      result.steps.push(rec);
      run.judged = step;
      this.o.log('info', 'breakpoint step', { stage: run.stage.name, rate: rec.rate, achieved: rec.achieved, held: rec.held, ...(broke.length ? { broke } : {}) });
      if (!rec.reached) this.o.log('warn', 'breakpoint step fell short of its rate: the fleet did not make the sessions asked for (an ACS resetting the interval, too few CPEs, or --max-sessions)', { stage: run.stage.name, rate: rec.rate, achieved: rec.achieved });
      if (!rec.held) {
        result.brokeAtRate = rec.rate;
        break;
      }
      // A step that fell short held at the rate it made, not the one it aimed at.
      const heldAt = rec.reached ? rec.rate : rec.achieved;
      result.highestRateHeld = Math.max(result.highestRateHeld ?? 0, heldAt);
    }
    return result;
  }

  /**
   * Aim the target's session arrival rate at `rate`: N CPEs on an interval of T seconds
   * give N / T sessions/s. Returns how many CPEs of the target are on now.
   */
  private async raise(target: Target, by: 'interval' | 'powerOn' | 'both', rate: number, n: number, interval: number, on: number, poweredTo: number, stepSeconds: number): Promise<{ on: number; poweredTo: number }> {
    let powered = on;
    let upTo = poweredTo;
    if (by !== 'interval' && powered < n) {
      const want = Math.min(n, Math.ceil(rate * interval));
      if (want > powered) {
        // Only the CPEs new to this step, spread over the step.
        const { from, to } = rangeOf(target, this.o.range.lo, this.o.range.hi);
        upTo = Math.min(to, from + Math.ceil(want / (target.fraction ?? 1)));
        await this.apply({ kind: 'powerOn', target: { ...target, from: poweredTo, to: upTo }, ramp: { mode: 'window', seconds: stepSeconds } }, 'breakpoint');
        powered = want;
      }
      if (by === 'powerOn' || powered < n || rate * interval <= n) return { on: powered, poweredTo: upTo };
    }
    await this.apply({ kind: 'setInterval', target, seconds: Math.max(1, Math.round(n / rate)) }, 'breakpoint');
    return { on: by === 'interval' ? on : powered, poweredTo: upTo };
  }

  // ---- the summary ----

  private summary(): Summary {
    const end = Date.now();
    const stages: PeriodSummary[] = [];
    for (const r of this.stageRuns.values()) {
      const s = r.period.summary(r.endedAt ?? end);
      if (r.breakpoint) s.breakpoint = r.breakpoint;
      stages.push(s);
    }
    const thresholds: ThresholdResult[] = this.scenario.thresholds.map((th) => this.judge(th));
    const failed = thresholds.some((t) => !t.ok);
    const result: RunResult = this.abortReason !== undefined ? 'aborted' : failed ? 'thresholds-failed' : 'passed';
    return {
      scenario: { name: this.scenario.name, file: this.scenario.file, description: this.scenario.description },
      fleet: this.o.about,
      startedAt: new Date(this.startedAt).toISOString(),
      endedAt: new Date(end).toISOString(),
      stages,
      run: this.runPeriod.summary(end),
      thresholds,
      result,
      ...(this.abortReason !== undefined ? { abortReason: this.abortReason } : {}),
      exitCode: failed || this.abortedBy ? EXIT_THRESHOLDS : EXIT_OK,
      timeline: this.timeline,
    };
  }

  private judge(th: Threshold): ThresholdResult {
    const name = stageOf(th);
    // The threshold that aborted the run failed, whatever later ticks brought.
    if (this.abortedBy?.th === th) return { source: th.source, stage: name, value: round2(this.abortedBy.value), ok: false };
    const run = name === undefined ? undefined : this.stageRuns.get(name);
    if (name !== undefined && !run) return { source: th.source, stage: name, value: null, ok: false };
    const { value, ok } = evaluate(th, run ? run.judged : this.runPeriod);
    return { source: th.source, stage: name, value: value === null ? null : round2(value), ok };
  }
}

const round2 = (v: number) => Math.round(v * 100) / 100;
