// When a CPE's next periodic Inform is due (TR-069 3.2.1.2, PROTOCOLS A.8).
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
    const time = view.get(`${root}.ManagementServer.PeriodicInformTime`);
    const anchor = time && !UNKNOWN_TIME.test(time) ? Date.parse(time) : NaN;
    if (Number.isFinite(anchor)) {
      // Phase only: the next instant Time + k·Interval after now, even when Time is in the future.
      const k = Math.floor((now - anchor) / interval) + 1;
      return anchor + k * interval;
    }
    // No phase given: the CPE picks one; ±10% jitter keeps a fleet from informing in lockstep.
    return now + interval * (0.9 + 0.2 * rand());
  }
}
