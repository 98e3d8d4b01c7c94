// When a CPE's next periodic Inform and heartbeat are due (TR-069 3.2.1.2, HeartbeatPolicy
// in TR-181 Device.ManagementServer; docs/cwmp-behaviour.md "Periodic Inform", "Heartbeat").
import { absoluteTime } from '../datamodel/datetime.js';
import type { CpeView } from '../datamodel/view.js';
import type { Random } from '../scheduler/backoff.js';
import { nextOnPhase } from '../scheduler/phase.js';

/** Used when neither the model nor the profile settings give an interval. */
const FALLBACK_INTERVAL = 86400;

export class PeriodicPlanner {
  constructor(
    private readonly settingsInterval: number | undefined,
    private readonly random: Random = Math.random,
  ) {}

  /**
   * Epoch ms of the next periodic Inform after `now`, or undefined when disabled. `spread`:
   * a fleet-wide interval change, where each CPE picks a fresh random phase in the new
   * interval, so N CPEs inform at N / interval a second from the change on.
   */
  next(view: CpeView, now: number, spread = false): number | undefined {
    const root = view.template.rootName;
    const enable = view.get(`${root}.ManagementServer.PeriodicInformEnable`);
    if (enable === 'false' || enable === '0') return undefined;
    const raw = Number(view.get(`${root}.ManagementServer.PeriodicInformInterval`));
    const interval = (Number.isFinite(raw) && raw >= 1 ? raw : this.settingsInterval ?? FALLBACK_INTERVAL) * 1000;
    const anchor = absoluteTime(view.get(`${root}.ManagementServer.PeriodicInformTime`));
    if (anchor !== undefined) return nextOnPhase(anchor, interval, now);
    if (spread) return now + interval * this.random();
    // No phase given: the CPE picks one; ±10% jitter keeps a fleet from informing in lockstep.
    return now + interval * (0.9 + 0.2 * this.random());
  }

  /** Next heartbeat: ReportingInterval (at least 30 s) on InitiationTime's phase, or a random phase when it is unknown. */
  nextHeartbeat(view: CpeView, now: number): number | undefined {
    const hp = `${view.template.rootName}.ManagementServer.HeartbeatPolicy.`;
    if (view.get(`${hp}Enable`) !== 'true') return undefined;
    const interval = Math.max(30, Number(view.get(`${hp}ReportingInterval`)) || 86400) * 1000;
    const anchor = absoluteTime(view.get(`${hp}InitiationTime`));
    return anchor !== undefined ? nextOnPhase(anchor, interval, now) : now + interval * this.random();
  }
}
