// When a CPE's next periodic Inform is due (TR-069 3.2.1.2; docs/cwmp-behaviour.md "Periodic Inform").
import type { CpeView } from '../datamodel/view.js';

const UNKNOWN_TIME = /^0001-01-01T00:00:00/;
/** Used when neither the model nor the profile settings give an interval. */
const FALLBACK_INTERVAL = 86400;

export class PeriodicPlanner {
  constructor(private readonly settingsInterval: number | undefined) {}

  /** Epoch ms of the next periodic Inform after `now`, or undefined when disabled. */
  next(view: CpeView, now: number, rand: () => number = Math.random): number | undefined {
    const root = view.template.rootName;
    const enable = view.get(`${root}.ManagementServer.PeriodicInformEnable`);
    if (enable === 'false' || enable === '0') return undefined;
    const raw = Number(view.get(`${root}.ManagementServer.PeriodicInformInterval`));
    const interval = (Number.isFinite(raw) && raw >= 1 ? raw : this.settingsInterval ?? FALLBACK_INTERVAL) * 1000;
    const anchored = phaseNext(view.get(`${root}.ManagementServer.PeriodicInformTime`), interval, now);
    // No phase given: the CPE picks one; ±10% jitter keeps a fleet from informing in lockstep.
    return anchored ?? now + interval * (0.9 + 0.2 * rand());
  }

  /**
   * Next heartbeat (TR-069 Amd 6; docs/cwmp-behaviour.md "Heartbeat"):
   * HeartbeatPolicy.ReportingInterval with InitiationTime as the phase, or a random phase
   * when it is unknown.
   */
  nextHeartbeat(view: CpeView, now: number, rand: () => number = Math.random): number | undefined {
    const hp = `${view.template.rootName}.ManagementServer.HeartbeatPolicy.`;
    if (view.get(`${hp}Enable`) !== 'true') return undefined;
    const interval = Math.max(30, Number(view.get(`${hp}ReportingInterval`)) || 86400) * 1000;
    return phaseNext(view.get(`${hp}InitiationTime`), interval, now) ?? now + interval * rand();
  }
}

/** The next instant anchor + k·interval after now (phase only, even when anchor is in the future). */
function phaseNext(time: string | undefined, intervalMs: number, now: number): number | undefined {
  const anchor = time && !UNKNOWN_TIME.test(time) ? Date.parse(time) : NaN;
  if (!Number.isFinite(anchor)) return undefined;
  const k = Math.floor((now - anchor) / intervalMs) + 1;
  return anchor + k * intervalMs;
}
