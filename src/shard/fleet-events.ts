// Fleet events on this shard's share of a subset (docs/scenarios.md): power on along a
// ramp, power cuts, reboot and factory-reset waves, a new periodic interval, link faults.
// Subsets are arithmetic on the index (src/scenario/target.ts); what must outlive the
// moment an event is applied is kept per event, never per CPE: link faults and interval
// rules are short lists the transport and the tree consult, and waves are timer entries.
import type { FleetEvent, LinkFaultSpec, Target } from '../scenario/model.js';
import { isMember, rampOffsetMs, rangeOf } from '../scenario/target.js';
import { unit } from '../util/hash.js';
import { TimerKind } from './timer-kind.js';

/** What fleet events do to one CPE; the table implements it. */
export interface EventTable {
  readonly lo: number;
  readonly size: number;
  readonly seed: number;
  readonly fleet: { lo: number; hi: number };
  readonly profile: { name: string; dir: string };
  now(): number;
  isPoweredOn(l: number): boolean;
  /** Off at start, never powered yet. */
  isNew(l: number): boolean;
  schedule(at: number, l: number, kind: TimerKind): void;
  /** Mains off now, back at `bootAt`: dark, no sessions, MQTT dropped, then 1 BOOT / Boot!. */
  powerCut(l: number, bootAt: number): void;
  /** The periodic Inform interval of these CPEs changed (a rule, not an overlay): plan again. */
  intervalChanged(l: number): void;
  /** A link fault starts now on CPE `l` (a down link drops what is connected). */
  linkFaultApplied?(l: number, fault: LinkFaultSpec): void;
}

/** Salt of the power-cut boot delay draws (one series per cut, so cuts differ). */
const BOOT_DELAY_SALT = 0xb007d1a7;

interface LinkRule {
  target: Target;
  from: number;
  until: number;
  fault: LinkFaultSpec;
}

interface ValueRule {
  target: Target;
  values: ReadonlyMap<string, string>;
}

export class FleetEvents {
  private links: LinkRule[] = [];
  private values: ValueRule[] = [];
  private cuts = 0;
  /** Wave timers scheduled and not fired yet: a stage has not done its work while any is left. */
  pending = 0;

  constructor(
    private readonly t: EventTable,
    /** The periodic interval parameter's path (root-specific). */
    private readonly intervalPath: string,
  ) {}

  /** Apply one event starting at epoch ms `at`; returns how many of this shard's CPEs it reached. */
  apply(ev: FleetEvent, at: number): number {
    const t = this.t;
    const { from, to } = rangeOf(ev.target, t.lo, t.lo + t.size);
    let affected = 0;
    const each = (fn: (l: number, index: number) => void) => {
      for (let index = from; index < to; index++) {
        if (!isMember(ev.target, index, t.seed, t.profile)) continue;
        affected++;
        fn(index - t.lo, index);
      }
    };
    switch (ev.kind) {
      case 'powerOn':
        each((l, index) => {
          if (!t.isNew(l)) return;
          this.pending++;
          t.schedule(at + rampOffsetMs(ev.ramp, ev.target, index, t.fleet), l, TimerKind.WavePowerOn);
        });
        break;
      case 'powerCut': {
        const back = at + ev.durationSeconds * 1000;
        const restore = ev.restore;
        const salt = (BOOT_DELAY_SALT + this.cuts++) >>> 0;
        each((l, index) => {
          if (!t.isPoweredOn(l)) return;
          let bootAt = back;
          if ('ramp' in restore) bootAt += rampOffsetMs(restore.ramp, ev.target, index, t.fleet);
          else {
            const { minSeconds, maxSeconds } = restore.bootDelay;
            bootAt += (minSeconds + unit(t.seed, index, salt) * (maxSeconds - minSeconds)) * 1000;
          }
          t.powerCut(l, bootAt);
        });
        break;
      }
      case 'reboot':
      case 'factoryReset': {
        const kind = ev.kind === 'reboot' ? TimerKind.WaveReboot : TimerKind.WaveReset;
        each((l, index) => {
          this.pending++;
          t.schedule(at + rampOffsetMs(ev.ramp, ev.target, index, t.fleet), l, kind);
        });
        break;
      }
      case 'setInterval':
        // Newest first: a later rule on the same CPEs wins.
        this.values.unshift({ target: ev.target, values: new Map([[this.intervalPath, String(ev.seconds)]]) });
        each((l) => {
          if (t.isPoweredOn(l)) t.intervalChanged(l);
        });
        break;
      case 'linkFault':
        this.links.unshift({ target: ev.target, from: at, until: at + ev.durationSeconds * 1000, fault: ev.fault });
        // In effect now: connections the fault breaks are told (later starts take effect at the next connect).
        each((l) => {
          if (at <= t.now()) t.linkFaultApplied?.(l, ev.fault);
        });
        break;
      default: {
        const never: never = ev;
        throw new Error(`unknown fleet event ${JSON.stringify(never)}`);
      }
    }
    return affected;
  }

  /** A wave timer fired (power on, reboot, reset). */
  fired(): void {
    if (this.pending > 0) this.pending--;
  }

  /** The link fault on CPE `l`'s links now, if any (the newest active one). */
  linkFault(l: number): LinkFaultSpec | undefined {
    if (this.links.length === 0) return undefined;
    const now = this.t.now();
    if (this.links.some((r) => r.until <= now)) this.links = this.links.filter((r) => r.until > now);
    const index = this.t.lo + l;
    for (const r of this.links) if (r.from <= now && isMember(r.target, index, this.t.seed, this.t.profile)) return r.fault;
    return undefined;
  }

  /** Values a fleet event fixed for CPE `l` (under anything the ACS or controller set). */
  valuesFor(l: number): ReadonlyMap<string, string> | undefined {
    if (this.values.length === 0) return undefined;
    const index = this.t.lo + l;
    for (const r of this.values) if (isMember(r.target, index, this.t.seed, this.t.profile)) return r.values;
    return undefined;
  }
}
