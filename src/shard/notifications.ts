// Value-change notification (TR-069 3.2.1, A.3.2.4; docs/cwmp-behaviour.md). Only CPEs whose
// attributes an ACS set to passive/active, or whose device changed a notified parameter
// itself (a firmware upgrade), hold anything here: a baseline of last-reported values and
// the paths pending a report. Changes the ACS makes itself never notify.
import { getParameterAttributes } from '../cwmp/rpc/params.js';
import type { ParameterValue } from '../cwmp/types.js';
import type { CpeView } from '../datamodel/view.js';

interface Watch {
  /** Last reported (or ACS-set) value of every parameter the ACS asked to watch. */
  baseline: Map<string, string>;
  /** Paths with a change not yet delivered in an Inform. */
  pending: Set<string>;
  /** Epoch ms the last session completed, for DefaultActiveNotificationThrottle. */
  lastSessionEnd: number;
}

export interface NotifyHost {
  now(): number;
  view(l: number): CpeView;
  /** Ask for a session carrying 4 VALUE CHANGE. */
  raiseValueChange(l: number): void;
  /** Call `recheck(l)` again at this time (throttled active notification). */
  wakeAt(at: number, l: number): void;
}

/** Notification values that open a session (2 active; 5/6 lightweight active ride on it here). */
const isActive = (n: number) => n === 2 || n === 5 || n === 6;

export class Notifications {
  private readonly watches = new Map<number, Watch>();
  /** CPEs with at least one active-notified parameter: the only ones the scan visits. */
  private readonly active = new Set<number>();

  constructor(private readonly host: NotifyHost) {}

  get watchedCpes(): number {
    return this.watches.size;
  }

  private ensure(l: number): Watch {
    let w = this.watches.get(l);
    if (!w) {
      w = { baseline: new Map(), pending: new Set(), lastSessionEnd: 0 };
      this.watches.set(l, w);
    }
    return w;
  }

  private prune(l: number): void {
    const w = this.watches.get(l);
    if (w && w.baseline.size === 0 && w.pending.size === 0) this.watches.delete(l);
  }

  /** After SetParameterAttributes: start or stop watching, from the current value. */
  attributesSet(l: number): void {
    const view = this.host.view(l);
    const attrs = view.overlay?.attrs;
    const w = this.ensure(l);
    let anyActive = false;
    const keep = new Set<string>();
    for (const [path, a] of attrs ?? []) {
      if (a.notification === 0) continue;
      keep.add(path);
      if (isActive(a.notification)) anyActive = true;
      if (!w.baseline.has(path)) w.baseline.set(path, view.get(path) ?? '');
    }
    for (const p of [...w.baseline.keys()]) if (!keep.has(p)) w.baseline.delete(p);
    if (anyActive) this.active.add(l);
    else this.active.delete(l);
    this.prune(l);
  }

  /** After SetParameterValues: the ACS's own values are the new baseline, never a change. */
  acsSet(l: number, names: readonly string[]): void {
    const w = this.watches.get(l);
    if (!w) return;
    const view = this.host.view(l);
    for (const n of names) {
      if (w.baseline.has(n)) w.baseline.set(n, view.get(n) ?? '');
      w.pending.delete(n);
    }
  }

  /**
   * The device changed these itself (firmware, a new STUN binding): report them, in a
   * session of their own when one is active, in the next Inform when passive; not at all when off.
   */
  deviceChanged(l: number, paths: readonly string[]): void {
    const view = this.host.view(l);
    const w = this.ensure(l);
    const attrs = getParameterAttributes(view, paths);
    const notified = attrs.ok ? attrs.value.filter((a) => a.notification !== 0) : [];
    for (const a of notified) w.pending.add(a.name);
    if (notified.some((a) => isActive(a.notification))) this.host.raiseValueChange(l);
    this.prune(l);
  }

  /** Compare watched values with their baseline; true when something changed. */
  private detect(l: number, view: CpeView, w: Watch): boolean {
    let changed = false;
    for (const [path, old] of w.baseline) {
      const cur = view.get(path);
      if (cur !== undefined && cur !== old && !w.pending.has(path)) {
        w.pending.add(path);
        changed = true;
      }
    }
    return changed || w.pending.size > 0;
  }

  /** The periodic scan and throttle wake-ups: open a session for active changes when allowed. */
  recheck(l: number): void {
    const w = this.watches.get(l);
    if (!w || !this.active.has(l)) return;
    const view = this.host.view(l);
    if (!this.detect(l, view, w)) return;
    const attrs = view.overlay?.attrs;
    if (![...w.pending].some((p) => isActive(attrs?.get(p)?.notification ?? 0))) return;
    // At least ManagementServer.DefaultActiveNotificationThrottle seconds since the last session
    const throttle = Number(view.get(`${view.template.rootName}.ManagementServer.DefaultActiveNotificationThrottle`)) || 0;
    const at = w.lastSessionEnd + throttle * 1000;
    if (at > this.host.now()) this.host.wakeAt(at, l);
    else this.host.raiseValueChange(l);
  }

  scan(): void {
    for (const l of this.active) this.recheck(l);
  }

  /** For the Inform: changed parameters with their current values; marks 4 VALUE CHANGE. */
  forInform(l: number, view: CpeView): ParameterValue[] {
    const w = this.watches.get(l);
    if (!w) return [];
    this.detect(l, view, w);
    const out: ParameterValue[] = [];
    for (const path of w.pending) {
      const r = view.resolve(path);
      if (r?.kind === 'param') out.push({ name: path, value: view.wireValue(r.node, path, r.inst), type: r.node.type });
    }
    return out;
  }

  /** The Inform carrying these was delivered: they become the baseline. */
  delivered(l: number, params: readonly ParameterValue[], view: CpeView): void {
    const w = this.watches.get(l);
    if (!w) return;
    for (const p of params) {
      w.pending.delete(p.name);
      if (w.baseline.has(p.name)) w.baseline.set(p.name, view.get(p.name) ?? p.value);
    }
    this.prune(l);
  }

  sessionCompleted(l: number, now: number): void {
    const w = this.watches.get(l);
    if (w) w.lastSessionEnd = now;
  }

  /** 4 VALUE CHANGE does not survive a reboot (docs/cwmp-behaviour.md); values it changes are found anew. */
  rebooted(l: number): void {
    this.watches.get(l)?.pending.clear();
    this.prune(l);
  }

  reset(l: number): void {
    this.watches.delete(l);
    this.active.delete(l);
  }
}
