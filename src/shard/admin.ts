// The admin API's questions to a shard, answered over its table of CPEs: one CPE's
// summary and detail, a page of CPEs, a synthetic connection request, a queued fault,
// and the shard's counts. Read-only but for the two pokes (CR, fault).
import type { CpeDetail, CpePage, CpeSummary, LifecycleState, ShardStats, StateCounts } from '../threads/messages.js';
import { EV } from '../cwmp/events.js';
import { forcedInform } from '../cwmp/inform.js';
import { getParameterValues } from '../cwmp/rpc/params.js';
import type { CpeView } from '../datamodel/view.js';
import { CpeSimError } from '../util/errors.js';
import type { CwmpSide } from './cwmp-side.js';
import type { FleetEnv } from './fleet-env.js';
import type { UspSide } from './usp-side.js';
import type { XmppSide } from './xmpp-side.js';

/** What the admin queries read of the shard. */
export interface AdminTable {
  readonly shardId: number;
  readonly lo: number;
  readonly size: number;
  readonly env: FleetEnv;
  readonly cwmp: CwmpSide | undefined;
  readonly usp: UspSide | undefined;
  readonly xmpp: XmppSide | undefined;
  local(cpe: number): number | undefined;
  view(l: number): CpeView;
  lifecycle(l: number): LifecycleState;
  isPoweredOn(l: number): boolean;
  stateCountsByName(): StateCounts;
}

const NO_CWMP = 'a USP-only fleet (no --acs-url) runs no CWMP sessions';

export class ShardAdmin {
  constructor(private readonly t: AdminTable) {}

  private owned(cpe: number): number {
    const l = this.t.local(cpe);
    if (l === undefined) throw new CpeSimError('NOT_FOUND', `CPE ${cpe} is not in shard ${this.t.shardId}`);
    return l;
  }

  summary(cpe: number): CpeSummary | null {
    const l = this.t.local(cpe);
    if (l === undefined) return null;
    const { env, cwmp } = this.t;
    const crUsername = this.t.view(l).get(`${env.template.rootName}.ManagementServer.ConnectionRequestUsername`) ?? '';
    const last = cwmp?.eventLog.lastOf(l);
    return {
      id: cpe,
      serial: env.serial(cpe),
      lifecycleState: this.t.lifecycle(l),
      retryCount: cwmp?.retryCount(l) ?? 0,
      crUrl: env.crUrl(cpe),
      crUsername,
      lastEvent: last?.code ?? null,
      lastEventAt: last ? new Date(last.at).toISOString() : null,
    };
  }

  /** One CPE: its summary, its 32 most recent events, a sample of leaves, its USP agent. */
  detail(cpe: number): CpeDetail | null {
    const summary = this.summary(cpe);
    if (!summary) return null;
    const l = cpe - this.t.lo;
    const v = this.t.view(l);
    const root = this.t.env.template.rootName;
    const sample = [`${root}.DeviceInfo.SerialNumber`, `${root}.DeviceInfo.UpTime`, `${root}.ManagementServer.URL`, `${root}.ManagementServer.PeriodicInformInterval`];
    const extra = getParameterValues(v, sample.filter((n) => v.resolve(n)));
    const leaves = [...forcedInform(v), ...(extra.ok ? extra.value : [])].map((p) => ({ name: p.name, value: p.value, type: p.type ?? 'string' }));
    const { cwmp, usp } = this.t;
    return {
      ...summary,
      recentEvents: (cwmp?.eventLog.recent(l, 32) ?? []).map((e) => ({ code: e.code, at: new Date(e.at).toISOString() })),
      leaves,
      ...(usp ? { usp: { endpointId: usp.endpointId(l), mqtt: usp.connections.state(l) } } : {}),
      uspSubscriptions: (usp?.subs.subscriptions(l) ?? []).map((s) => ({ path: s.path, id: s.id, notifType: s.notifType, referenceList: s.referenceList, enabled: s.enabled, recipient: s.recipient })),
    };
  }

  /** A page of CPEs in index order, optionally of one lifecycle state. */
  list(state: LifecycleState | undefined, offset: number, limit: number): CpePage {
    const items: CpeSummary[] = [];
    let skipped = 0;
    for (let l = 0; l < this.t.size && items.length < limit; l++) {
      if (state !== undefined && this.t.lifecycle(l) !== state) continue;
      if (skipped < offset) {
        skipped++;
        continue;
      }
      items.push(this.summary(this.t.lo + l)!);
    }
    return { items, skipped };
  }

  /** A synthetic connection request: a session with 6 CONNECTION REQUEST, no Digest. */
  triggerConnectionRequest(cpe: number): { crUrl: string; accepted: boolean; reason?: string } {
    const l = this.owned(cpe);
    const crUrl = this.t.env.crUrl(cpe);
    const cwmp = this.t.cwmp;
    if (!cwmp) return { crUrl, accepted: false, reason: NO_CWMP };
    if (!this.t.isPoweredOn(l)) return { crUrl, accepted: false, reason: this.t.lifecycle(l) === 'new' ? 'not powered on yet' : 'rebooting' };
    cwmp.raise(l, EV.CONNECTION_REQUEST);
    return { crUrl, accepted: true };
  }

  /** The fault hook: answer the CPE's next ACS request with this CWMP fault (TR-069 A.5.1: 9000-9899). */
  queueFault(cpe: number, code: number): { queued: number } {
    const l = this.owned(cpe);
    const cwmp = this.t.cwmp;
    if (!cwmp) throw new CpeSimError('CONFLICT', `CPE ${cpe} cannot take a CWMP fault: ${NO_CWMP}`);
    return { queued: cwmp.faultHook.queue(l, cpe, code) };
  }

  stats(): ShardStats {
    const { cwmp, usp } = this.t;
    return {
      states: this.t.stateCountsByName(),
      ...(cwmp?.counters ?? { bootstraps: 0, sessionsOk: 0, sessionsFailed: 0, periodicTicks: 0 }),
      faultsInjected: cwmp?.faultHook.total ?? 0,
      // Failed CWMP sessions by reason, and failed or lost USP MQTT connections as usp-<cause>.
      failReasons: { ...cwmp?.failures.reasons, ...(usp ? prefixed('usp-', usp.connections.failures.reasons) : {}) },
      failStatuses: { ...cwmp?.failures.statuses },
      retryAfterHonored: cwmp?.failures.retryAfterHonored ?? 0,
      injectedFaults: { ...cwmp?.faultHook.answered },
      activeSessions: cwmp?.activeSessions ?? 0,
      queuedSessions: cwmp?.queuedSessions ?? 0,
      ...(usp ? { uspConnections: usp.connections.countsByState() } : {}),
      ...(this.t.xmpp?.fleetWide ? { xmppConnections: this.t.xmpp.countsByState() } : {}),
    };
  }
}

const prefixed = (prefix: string, counts: Record<string, number>): Record<string, number> =>
  Object.fromEntries(Object.entries(counts).map(([k, n]) => [`${prefix}${k}`, n]));
