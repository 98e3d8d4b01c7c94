// A shard owns CPEs [lo, hi): per-CPE state in typed arrays, overlays only for CPEs
// an ACS changed, one scheduler, a bounded session queue (ARCHITECTURE.md, "A CPE's state").
import { readFileSync } from 'node:fs';
import { Agent } from 'undici';
import { retryDelayMs } from '../cwmp/backoff.js';
import { publishSession, publishTick } from '../cwmp/diagnostics.js';
import { DISCARD_ON_FAILURE, EV, eventsOf, KEEP_ON_REBOOT, TIED_TO_REQUEST } from '../cwmp/events.js';
import { buildInform, MAX_INFORM_EVENTS } from '../cwmp/inform.js';
import { serveRpc } from '../cwmp/rpc/index.js';
import { CpeSimError } from '../util/errors.js';
import { runSession, type SessionHost, type SessionOutcome } from '../cwmp/session.js';
import { AcsHttpSession, ConnectionPool } from '../cwmp/transport.js';
import type { CpeRequest, EventStruct, Inform, ParameterValue } from '../cwmp/types.js';
import type { Overlay } from '../datamodel/overlay.js';
import type { Template } from '../datamodel/schema.js';
import { CpeView } from '../datamodel/view.js';
import type { CpeDetail, CpePage, CpeSummary, CrReply, CrRequest, LifecycleState, ShardInit, ShardStats } from '../coordinator/messages.js';
import { LIFECYCLE_STATES } from '../coordinator/messages.js';
import type { ProfileSpec } from '../profile/types.js';
import type { Clock } from '../scheduler/clock.js';
import { Scheduler } from '../scheduler/scheduler.js';
import { ConnectionRequests } from './connection-request.js';
import { Device } from './device.js';
import { EventLog } from './event-log.js';
import { FailureLog } from './failure-log.js';
import { FaultHook } from './fault-hook.js';
import { FleetEnv } from './fleet-env.js';
import { Notifications } from './notifications.js';
import { PeriodicPlanner } from './periodic.js';
import { transfer } from './transfers.js';
import { uploadBody } from './upload-body.js';
import type { BootCause } from '../usp/commands.js';
import { UspAgents } from './usp-agents.js';

const enum Kind {
  Boot = 1,
  Periodic = 2,
  Retry = 3,
  Transfer = 4,
  ScheduledInform = 5,
  NotifyWake = 6,
  NotifyScan = 7,
  Heartbeat = 8,
}


/** How often CPEs with active notification are checked for changed values. */
const NOTIFY_SCAN_MS = 5000;

const enum Flag {
  Queued = 1,
  InSession = 2,
  Again = 4,
  Bootstrapped = 8,
  /** Rebooting or resetting: no sessions, connection requests refused. */
  Dark = 16,
}

const enum Life {
  New = 0,
  Bootstrapping = 1,
  Ready = 2,
  Failed = 3,
}

export interface ShardDeps {
  clock: Clock;
  profile: ProfileSpec;
  template: Template;
  log?: (level: 'info' | 'warn' | 'debug', msg: string, extra?: Record<string, unknown>) => void;
}

export class Shard {
  readonly env: FleetEnv;
  readonly size: number;
  private readonly life: Uint8Array;
  private readonly flags: Uint8Array;
  private readonly events: Uint16Array;
  private readonly retries: Uint8Array;
  private readonly bootAt: Float64Array;
  private readonly periodicAt: Float64Array;
  private readonly retryAt: Float64Array;
  private readonly overlays = new Map<number, Overlay>();
  /** CPEs per lifecycle state, indexed like Life. */
  private readonly stateCounts = [0, 0, 0, 0];
  private readonly scheduler: Scheduler;
  private readonly pool: ConnectionPool;
  private readonly periodic: PeriodicPlanner;
  readonly cr: ConnectionRequests;
  readonly device: Device;
  readonly notifications: Notifications;
  private readonly eventLog: EventLog;
  /** File transfers to https servers signed by --acs-ca-file's CA. */
  private readonly transferAgent: Agent | undefined;
  private queue: number[] = [];
  private qHead = 0;
  private active = 0;
  private stopping = false;
  private idleWaiters: Array<() => void> = [];
  private readonly counters = { bootstraps: 0, sessionsOk: 0, sessionsFailed: 0, periodicTicks: 0 };
  private readonly failures: FailureLog;
  private readonly faultHook = new FaultHook();
  /** CPEs whose HeartbeatPolicy is enabled: next due time, and whether one waits to be sent. */
  private readonly heartbeats = new Map<number, { at: number; pending: boolean }>();
  private readonly heartbeatByDefault: boolean;
  /** Every CPE is also a USP agent (--usp-broker). */
  readonly usp: UspAgents | undefined;

  constructor(
    readonly init: ShardInit,
    private readonly deps: ShardDeps,
  ) {
    this.size = init.hi - init.lo;
    const u = init.usp;
    this.env = new FleetEnv(deps.profile, deps.template, init.seed, init.cr.baseUrl, init.cr.secret, init.acs, { username: init.cr.username, password: init.cr.password },
      u ? { patterns: { endpointId: u.endpointId, agentTopic: u.agentTopic, username: u.username, password: u.password, secret: u.secret }, controllerId: u.controllerId, controllerTopic: u.controllerTopic } : undefined);
    this.life = new Uint8Array(this.size);
    this.stateCounts[Life.New] = this.size;
    this.flags = new Uint8Array(this.size);
    this.events = new Uint16Array(this.size);
    this.retries = new Uint8Array(this.size);
    this.bootAt = new Float64Array(this.size);
    this.periodicAt = new Float64Array(this.size);
    this.retryAt = new Float64Array(this.size);
    this.scheduler = new Scheduler(
      deps.clock,
      (l, kind, at) => this.fire(l, kind, at),
      (e, l, kind) => deps.log?.('warn', 'scheduled work failed', { cpe: init.lo + l, kind, error: (e as Error).message }),
    );
    this.pool = new ConnectionPool({ maxIdlePerOrigin: init.maxSessions, caFile: init.acs.caFile });
    this.periodic = new PeriodicPlanner(deps.profile.settings.periodicInformInterval);
    this.cr = new ConnectionRequests(this, init.cr, deps.clock);
    this.failures = new FailureLog((msg, extra) => deps.log?.('warn', msg, extra));
    this.eventLog = new EventLog(this.size);
    this.transferAgent = init.acs.caFile ? new Agent({ connect: { ca: readFileSync(init.acs.caFile, 'utf8') } }) : undefined;
    this.notifications = new Notifications({
      now: () => deps.clock.now(),
      view: (l) => this.view(l),
      raiseValueChange: (l) => this.raise(l, EV.VALUE_CHANGE),
      wakeAt: (at, l) => this.scheduler.schedule(at, l, Kind.NotifyWake),
    });
    this.device = new Device(
      {
        clock: deps.clock,
        raise: (l, mask) => this.raise(l, mask),
        scheduleTransfer: (at, l) => this.scheduler.schedule(at, l, Kind.Transfer),
        scheduleInformAt: (at, l) => this.scheduler.schedule(at, l, Kind.ScheduledInform),
        powerCycle: (l, factoryReset) => this.powerCycle(l, factoryReset),
        uploadBody: (l, fileType) => uploadBody(this.view(l), fileType, this.deps.clock.now()),
        view: (l) => this.view(l),
        keep: (l, v) => this.keep(l, v),
        log: (level, msg, extra) => deps.log?.(level, msg, { ...extra, cpe: init.lo + (extra['cpe'] as number) }),
      },
      deps.profile,
      {
        transferTimeoutMs: init.acs.timeoutMs * 2,
        transfers: init.transfers ?? 'fetch',
        dispatcher: this.transferAgent,
      },
    );
    this.usp = u ? this.createUsp(u) : undefined;
    // A template default; an ACS turning heartbeats on for one CPE is handled in afterSet.
    this.heartbeatByDefault = this.view(0).get(`${deps.template.rootName}.ManagementServer.HeartbeatPolicy.Enable`) === 'true';
  }

  private createUsp(u: NonNullable<ShardInit['usp']>): UspAgents {
    if (this.deps.template.rootName !== 'Device') {
      throw new CpeSimError('CONFIG_INVALID', `config: uspBroker: USP needs a TR-181 Device:2 profile (root "Device"); profile ${this.deps.profile.name} has root "${this.deps.template.rootName}"`);
    }
    return new UspAgents(u, this.init.lo, this.size, {
      clock: this.deps.clock,
      env: this.env,
      schedule: (at, l, kind) => this.scheduler.schedule(at, l, kind),
      view: (l) => this.view(l),
      keep: (l, v) => this.keep(l, v),
      powerCycle: (l, factoryReset, why) => this.powerCycle(l, factoryReset, why),
      firmwareChanged: (l) => this.device.extras.get(l)?.firmwareChanged === true,
      afterWrite: (l, paths) => {
        if (this.init.cwmp) this.afterSet(l, paths, '');
      },
      connectionChanged: (l, up) => {
        if (!this.init.cwmp && !(this.flags[l]! & Flag.Dark)) this.setLife(l, up ? Life.Ready : Life.Failed);
      },
      commands: {
        poweredOn: (l) => this.isPoweredOn(l),
        firmware: this.device,
        transfer: async (spec) =>
          (this.init.transfers ?? 'fetch') === 'skip' ? { ok: true, bytes: 0 } : transfer({ ...spec, timeoutMs: this.init.acs.timeoutMs * 2, ...(this.transferAgent ? { dispatcher: this.transferAgent } : {}) }),
      },
      log: (level, msg, extra) => this.deps.log?.(level, msg, extra),
    });
  }

  // ---- lifecycle ----

  /** Schedule every CPE's power-on along the fleet-wide boot ramp. */
  start(): void {
    const { bootRamp, startAt, fleetOffset, fleetSize } = this.init;
    for (let l = 0; l < this.size; l++) {
      const pos = this.init.lo + l - fleetOffset;
      let at = startAt;
      if (bootRamp.mode === 'rate') at += (pos / bootRamp.perSecond) * 1000;
      else if (bootRamp.mode === 'window') at += (pos / fleetSize) * bootRamp.seconds * 1000;
      this.scheduler.schedule(at, l, Kind.Boot);
    }
    this.scheduler.schedule(startAt + NOTIFY_SCAN_MS, 0, Kind.NotifyScan);
    this.usp?.start(startAt);
  }

  /** Stop scheduling, let running sessions end, close connections. */
  async stop(): Promise<ShardStats> {
    this.stopping = true;
    this.scheduler.stop();
    this.queue = [];
    this.qHead = 0;
    if (this.active > 0) await new Promise<void>((r) => this.idleWaiters.push(r));
    await this.usp?.stop();
    await this.pool.close();
    await this.transferAgent?.close();
    return this.stats();
  }

  // ---- per-CPE access ----

  local(cpe: number): number | undefined {
    const l = cpe - this.init.lo;
    return l >= 0 && l < this.size ? l : undefined;
  }

  view(l: number): CpeView {
    const now = this.deps.clock.now();
    const ctx = this.env.context(this.init.lo + l, now, this.bootAt[l] || now, this.device.firmware(l));
    return new CpeView(this.deps.template, ctx, this.overlays.get(l));
  }

  /** Keep the overlay a write produced (a view creates one lazily on the first write). */
  private keep(l: number, view: CpeView): void {
    if (view.overlay) this.overlays.set(l, view.overlay);
  }

  lifecycle(l: number): LifecycleState {
    return LIFECYCLE_STATES[this.life[l]!]!;
  }

  /** Powered and not in a reboot's dark window. */
  isPoweredOn(l: number): boolean {
    return this.life[l] !== Life.New && !(this.flags[l]! & Flag.Dark);
  }

  summary(cpe: number): CpeSummary | null {
    const l = this.local(cpe);
    if (l === undefined) return null;
    const crUsername = this.view(l).get(`${this.deps.template.rootName}.ManagementServer.ConnectionRequestUsername`) ?? '';
    const last = this.eventLog.lastOf(l);
    return {
      id: cpe,
      serial: this.env.serial(cpe),
      lifecycleState: this.lifecycle(l),
      retryCount: this.retries[l]!,
      crUrl: this.env.crUrl(cpe),
      crUsername,
      lastEvent: last?.code ?? null,
      lastEventAt: last ? new Date(last.at).toISOString() : null,
    };
  }

  /** The admin API's view of one CPE: summary, its 32 most recent events, a sample of leaves. */
  detail(cpe: number): CpeDetail | null {
    const summary = this.summary(cpe);
    if (!summary) return null;
    const l = cpe - this.init.lo;
    const v = this.view(l);
    const root = this.deps.template.rootName;
    const sample = [`${root}.DeviceInfo.SerialNumber`, `${root}.DeviceInfo.UpTime`, `${root}.ManagementServer.URL`, `${root}.ManagementServer.PeriodicInformInterval`];
    const extra = v.getParameterValues(sample.filter((n) => v.resolve(n)));
    const leaves = [...v.forcedInform(), ...(extra.ok ? extra.value : [])].map((p) => ({ name: p.name, value: p.value, type: p.type ?? 'string' }));
    return {
      ...summary,
      recentEvents: this.eventLog.recent(l, 32).map((e) => ({ code: e.code, at: new Date(e.at).toISOString() })),
      leaves,
      ...(this.usp ? { usp: { endpointId: this.usp.endpointId(l), mqtt: this.usp.connectionState(l) } } : {}),
      uspSubscriptions: (this.usp?.subs.subscriptions(l) ?? []).map((s) => ({ path: s.path, id: s.id, notifType: s.notifType, referenceList: s.referenceList, enabled: s.enabled, recipient: s.recipient })),
    };
  }

  /** A page of CPEs in index order, optionally of one lifecycle state. */
  list(state: LifecycleState | undefined, offset: number, limit: number): CpePage {
    const want = state === undefined ? -1 : LIFECYCLE_STATES.indexOf(state);
    const items: CpeSummary[] = [];
    let skipped = 0;
    for (let l = 0; l < this.size && items.length < limit; l++) {
      if (want >= 0 && this.life[l] !== want) continue;
      if (skipped < offset) {
        skipped++;
        continue;
      }
      items.push(this.summary(this.init.lo + l)!);
    }
    return { items, skipped };
  }

  /** The admin API's synthetic connection request: a session with 6 CONNECTION REQUEST, no Digest. */
  triggerConnectionRequest(cpe: number): { crUrl: string; accepted: boolean; reason?: string } {
    const l = this.local(cpe);
    if (l === undefined) throw new CpeSimError('NOT_FOUND', `CPE ${cpe} is not in shard ${this.init.shardId}`);
    const crUrl = this.env.crUrl(cpe);
    if (!this.init.cwmp) return { crUrl, accepted: false, reason: 'a USP-only fleet (no --acs-url) runs no CWMP sessions' };
    if (!this.isPoweredOn(l)) return { crUrl, accepted: false, reason: this.life[l] === Life.New ? 'not powered on yet' : 'rebooting' };
    this.raise(l, EV.CONNECTION_REQUEST);
    return { crUrl, accepted: true };
  }

  /** Lifecycle changes go through here so the per-state counts stay current (no O(N) scrape). */
  private setLife(l: number, to: Life): void {
    this.stateCounts[this.life[l]!]!--;
    this.stateCounts[to]!++;
    this.life[l] = to;
  }

  stateCountsByName(): Record<LifecycleState, number> {
    return { new: this.stateCounts[0]!, bootstrapping: this.stateCounts[1]!, ready: this.stateCounts[2]!, failed: this.stateCounts[3]! };
  }

  stats(): ShardStats {
    const states = this.stateCountsByName();
    return { states, ...this.counters, faultsInjected: this.faultHook.total, failReasons: { ...this.failures.reasons }, injectedFaults: { ...this.faultHook.answered }, activeSessions: this.active, queuedSessions: this.queue.length - this.qHead, ...(this.usp ? { uspConnections: this.usp.connectionCounts() } : {}) };
  }

  /**
   * Fault hook: answer the CPE's next ACS request, in its next session, with this CWMP
   * fault (TR-069 A.5.1 codes 9000-9899 only).
   */
  queueFault(cpe: number, code: number): { queued: number } {
    const l = this.local(cpe);
    if (l === undefined) throw new CpeSimError('NOT_FOUND', `CPE ${cpe} is not in shard ${this.init.shardId}`);
    return { queued: this.faultHook.queue(l, cpe, code) };
  }

  connectionRequest(cpe: number, req: CrRequest): CrReply {
    return this.cr.handle(cpe, req);
  }

  // ---- triggers ----

  private fire(l: number, kind: number, at: number): void {
    if (this.stopping) return;
    switch (kind) {
      case Kind.Boot:
        // Two power-ons queued for one dark window (two reboots asked at once) boot once.
        if (this.isPoweredOn(l)) return;
        this.powerOn(l);
        return;
      case Kind.Periodic:
        if (this.periodicAt[l] !== at) return; // superseded
        this.counters.periodicTicks++;
        publishTick({ kind: 'periodic' });
        this.raise(l, EV.PERIODIC);
        this.schedulePeriodic(l);
        return;
      case Kind.Retry:
        if (this.retryAt[l] !== at) return;
        this.retryAt[l] = 0;
        this.requestSession(l);
        return;
      case Kind.Transfer:
        publishTick({ kind: 'scheduled' });
        this.device.startDueTransfers(l, this.isPoweredOn(l));
        return;
      case Kind.ScheduledInform:
        publishTick({ kind: 'scheduled' });
        this.device.fireScheduledInforms(l);
        return;
      case Kind.NotifyWake:
        if (this.isPoweredOn(l)) this.notifications.recheck(l);
        return;
      case Kind.Heartbeat: {
        const hb = this.heartbeats.get(l);
        if (!hb || hb.at !== at) return;
        hb.pending = true;
        publishTick({ kind: 'scheduled' });
        this.scheduleHeartbeat(l);
        // The heartbeat waits while a failed session is retried (docs/cwmp-behaviour.md "Heartbeat").
        if (!this.retryAt[l]) this.requestSession(l);
        return;
      }
      case Kind.NotifyScan:
        this.notifications.scan();
        this.scheduler.schedule(this.deps.clock.now() + NOTIFY_SCAN_MS, 0, Kind.NotifyScan);
        return;
      default:
        this.usp?.fire(l, kind, at);
    }
  }

  private powerOn(l: number): void {
    const now = this.deps.clock.now();
    this.flags[l]! &= ~Flag.Dark;
    this.bootAt[l] = now;
    this.setLife(l, Life.Bootstrapping);
    this.usp?.powerOn(l);
    if (!this.init.cwmp) {
      this.device.takeFirmwareChange(l);
      return;
    }
    // TR-069 3.7.1.5: 0 BOOTSTRAP only until the ACS has acknowledged one
    const boot = this.flags[l]! & Flag.Bootstrapped ? EV.BOOT : EV.BOOT | EV.BOOTSTRAP;
    this.events[l]! |= boot;
    // A new image announces its SoftwareVersion (forced active notification) in the boot Inform.
    if (this.device.takeFirmwareChange(l)) this.notifications.deviceChanged(l, [`${this.deps.template.rootName}.DeviceInfo.SoftwareVersion`]);
    this.raise(l, boot);
    this.schedulePeriodic(l);
    // Only CPEs whose HeartbeatPolicy is on pay for a look at it (the profile may turn it on for all).
    if (this.heartbeats.has(l) || this.heartbeatByDefault) this.scheduleHeartbeat(l);
    this.device.startDueTransfers(l, true);
  }

  /**
   * Reboot (TR-069 A.3.2.9) or factory reset (A.4.1.6): dark for the profile's window,
   * then a fresh boot. Events: docs/cwmp-behaviour.md "Events across reboots"; a reset also wipes the
   * overlay (ACS-set values, rows, attributes, ParameterKey) and starts over at BOOTSTRAP.
   */
  private powerCycle(l: number, factoryReset: boolean, why?: { cause: BootCause; commandKey: string }): void {
    this.flags[l]! |= Flag.Dark;
    this.setLife(l, Life.Bootstrapping);
    this.retryAt[l] = 0;
    this.periodicAt[l] = 0;
    this.notifications.rebooted(l);
    this.usp?.powerOff(l, factoryReset, why?.cause ?? (factoryReset ? 'RemoteFactoryReset' : 'RemoteReboot'), why?.commandKey ?? '');
    if (factoryReset) {
      this.overlays.delete(l);
      this.device.reset(l);
      this.notifications.reset(l);
      this.faultHook.clear(l);
      this.flags[l]! &= ~Flag.Bootstrapped;
      this.events[l] = 0;
    } else {
      this.events[l]! &= KEEP_ON_REBOOT;
    }
    this.scheduler.schedule(this.deps.clock.now() + this.deps.profile.settings.rebootSeconds * 1000, l, Kind.Boot);
  }

  private scheduleHeartbeat(l: number): void {
    const next = this.periodic.nextHeartbeat(this.view(l), this.deps.clock.now());
    const hb = this.heartbeats.get(l);
    if (next === undefined) {
      this.heartbeats.delete(l);
      return;
    }
    if (hb) hb.at = next;
    else this.heartbeats.set(l, { at: next, pending: false });
    this.scheduler.schedule(next, l, Kind.Heartbeat);
  }

  private schedulePeriodic(l: number): void {
    const next = this.periodic.next(this.view(l), this.deps.clock.now());
    this.periodicAt[l] = next ?? 0;
    if (next !== undefined) this.scheduler.schedule(next, l, Kind.Periodic);
  }

  /** Queue an event and ask for a session. */
  raise(l: number, eventMask: number): void {
    if (!this.init.cwmp) return; // a USP-only fleet has no ACS to tell
    this.events[l]! |= eventMask;
    if (eventMask & EV.CONNECTION_REQUEST && this.retryAt[l]) {
      // The ACS asked for this session now: don't sit out the retry window.
      this.retryAt[l] = 0;
    }
    if (this.retryAt[l] && !(this.flags[l]! & Flag.InSession)) return; // rides along with the retry
    this.requestSession(l);
  }

  /** One session at a time per CPE: a trigger during a session is deferred, never dropped. */
  private requestSession(l: number): void {
    const f = this.flags[l]!;
    if (f & Flag.InSession) {
      this.flags[l] = f | Flag.Again;
      return;
    }
    if (f & Flag.Queued || f & Flag.Dark || this.stopping) return;
    this.flags[l] = f | Flag.Queued;
    this.queue.push(l);
    this.pump();
  }

  private pump(): void {
    while (this.active < this.init.maxSessions && this.qHead < this.queue.length) {
      const l = this.queue[this.qHead++]!;
      this.flags[l]! &= ~Flag.Queued;
      this.active++;
      this.flags[l]! |= Flag.InSession;
      this.session(l)
        .catch((e: unknown) => this.deps.log?.('warn', 'session bookkeeping failed', { cpe: this.init.lo + l, error: (e as Error).message }))
        .finally(() => this.sessionEnded(l));
    }
    if (this.qHead > 1024 && this.qHead * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.qHead);
      this.qHead = 0;
    }
  }

  private sessionEnded(l: number): void {
    this.active--;
    const f = this.flags[l]!;
    this.flags[l] = f & ~(Flag.InSession | Flag.Again);
    // Go again only for something still to say: a deferred trigger may have been carried already.
    const more = this.events[l]! !== 0 || this.device.requests(l).length > 0 || this.device.mEvents(l).length > 0 || this.heartbeats.get(l)?.pending === true;
    if ((f & Flag.Again || this.heartbeats.get(l)?.pending) && !this.retryAt[l] && more) this.requestSession(l);
    if (this.stopping && this.active === 0) for (const w of this.idleWaiters.splice(0)) w();
    this.pump();
  }

  // ---- the session ----

  private async session(l: number): Promise<void> {
    const cpe = this.init.lo + l;
    const started = performance.now();
    const snapshot = this.events[l]!;
    let informMask = 0;
    let sentM: EventStruct[] = [];
    let changed: ParameterValue[] = [];
    let heartbeat = false;
    const getRpcMethods: CpeRequest = { method: 'GetRPCMethods' };
    const view = this.view(l);
    const url = view.get(`${this.deps.template.rootName}.ManagementServer.URL`) || this.init.acs.url;
    const urlBefore = url;
    const host: SessionHost = {
      inform: (): Inform => {
        const v = this.view(l);
        const now = this.deps.clock.now();
        const hb = this.heartbeats.get(l);
        // A failed session's retry goes first; the heartbeat waits (docs/cwmp-behaviour.md "Heartbeat").
        if (hb?.pending && this.retries[l] === 0) {
          // 14 HEARTBEAT goes alone in its own session (icwmp); anything else follows after.
          heartbeat = true;
          if (this.events[l]) this.flags[l]! |= Flag.Again;
          return buildInform(v, [{ code: '14 HEARTBEAT', commandKey: '' }], 0, now);
        }
        // TR-069 A.3.3.1: changed notified parameters ride in ParameterList with 4 VALUE CHANGE
        changed = this.notifications.forInform(l, v);
        if (changed.length > 0) this.events[l]! |= EV.VALUE_CHANGE;
        informMask = this.events[l]!;
        const singles = eventsOf(informMask).map((code) => ({ code, commandKey: '' }));
        // TR-069 A.3.3.1 allows 64 EventStructs: M events past that wait for the next session.
        sentM = this.device.mEvents(l).slice(0, Math.max(0, MAX_INFORM_EVENTS - singles.length));
        if (sentM.length < this.device.mEvents(l).length) this.flags[l]! |= Flag.Again;
        return buildInform(v, [...singles, ...sentM], this.retries[l]!, now, changed);
      },
      informAccepted: () => {
        if (heartbeat) {
          const hb = this.heartbeats.get(l);
          if (hb) hb.pending = false;
          this.eventLog.record(l, '14 HEARTBEAT', this.deps.clock.now());
          return;
        }
        // Codes tied to a CPE request (7 TRANSFER COMPLETE...) stay until its response.
        this.events[l]! &= ~(informMask & ~TIED_TO_REQUEST);
        this.device.informDelivered(l, sentM);
        const at = this.deps.clock.now();
        for (const code of eventsOf(informMask)) this.eventLog.record(l, code, at);
        for (const m of sentM) this.eventLog.record(l, m.code, at);
        if (changed.length > 0) this.notifications.delivered(l, changed, this.view(l));
        if (informMask & EV.BOOTSTRAP) {
          this.flags[l]! |= Flag.Bootstrapped;
          this.counters.bootstraps++;
        }
      },
      // TransferCompletes first; icwmp also asks the ACS for its methods in a bootstrap session.
      cpeRequests: () => (heartbeat ? [] : [...this.device.requests(l), ...(informMask & EV.BOOTSTRAP ? [getRpcMethods] : [])]),
      requestDone: (req, result) => {
        if (this.device.requestDone(l, req, result)) this.events[l]! &= ~EV.TRANSFER_COMPLETE;
        if (this.device.duRequestDone(l, req, result)) this.events[l]! &= ~EV.DU_STATE_CHANGE_COMPLETE;
      },
      serve: (req) => {
        const injected = this.faultHook.take(l);
        if (injected) return injected;
        const v = this.view(l);
        try {
          const out = serveRpc(req, { view: v, device: this.device.actions(l) });
          this.keep(l, v);
          if (req.method === 'SetParameterValues' && out.method !== 'Fault') {
            this.notifications.acsSet(l, req.params.map((p) => p.name));
            this.afterSet(l, req.params.map((p) => p.name), urlBefore);
          }
          if (req.method === 'SetParameterAttributes' && out.method !== 'Fault') this.notifications.attributesSet(l);
          // One tree, two protocols: a CWMP change is a USP ValueChange/ObjectCreation/Deletion.
          if (out.method !== 'Fault' && (req.method === 'SetParameterValues' || req.method === 'AddObject' || req.method === 'DeleteObject')) {
            this.keep(l, v);
            this.usp?.recheck(l);
          }
          return out;
        } catch (e) {
          // A bug serving one RPC costs that RPC (9002), not the shard.
          this.deps.log?.('warn', 'internal error serving an RPC', { cpe, method: req.method, error: (e as Error).message });
          return { method: 'Fault', fault: { code: 9002, message: 'Internal error' } };
        } finally {
          this.keep(l, v);
        }
      },
    };
    let outcome: SessionOutcome;
    let http: AcsHttpSession | undefined;
    try {
      http = new AcsHttpSession(this.pool, {
        url,
        username: view.get(`${this.deps.template.rootName}.ManagementServer.Username`) ?? this.init.acs.username,
        password: view.get(`${this.deps.template.rootName}.ManagementServer.Password`) ?? this.init.acs.password,
        timeoutMs: this.init.acs.timeoutMs,
      });
      outcome = await runSession(host, http);
    } catch (e) {
      // An unusable ManagementServer.URL lands here as well as bugs: a failed session, retried.
      this.deps.log?.('warn', 'session could not run', { cpe, url, error: (e as Error).message });
      outcome = { ok: false, reason: 'connect', detail: (e as Error).message, informDelivered: false };
    }
    http?.close(outcome.ok);
    const seconds = (performance.now() - started) / 1000;
    if (outcome.ok) {
      this.counters.sessionsOk++;
      this.notifications.sessionCompleted(l, this.deps.clock.now());
      this.retries[l] = 0;
      this.setLife(l, Life.Ready);
    } else {
      this.counters.sessionsFailed++;
      // A failed session drops 6 CONNECTION REQUEST, keeps the rest (docs/cwmp-behaviour.md)
      // (also when no Inform was built at all, or a bad URL plus a CR would loop forever)
      this.events[l]! &= ~((snapshot | informMask) & DISCARD_ON_FAILURE);
      this.retries[l] = Math.min(255, this.retries[l]! + 1);
      this.setLife(l, Life.Failed);
      // A connection request that arrived during the failed session is answered now,
      // with RetryCount stamped; anything else waits out the retry window.
      if (this.events[l]! & EV.CONNECTION_REQUEST) this.flags[l]! |= Flag.Again;
      else this.scheduleRetry(l);
      this.failures.record(this.deps.clock.now(), cpe, outcome.reason, outcome.detail);
    }
    // Deferred to the session's end (TR-069 3.7.2.4): reboot, reset, transfer delays.
    this.device.sessionEnded(l);
    publishSession({ cpe, ok: outcome.ok, events: eventsOf(snapshot | informMask), reason: outcome.ok ? undefined : outcome.reason, seconds });
  }

  /**
   * ManagementServer settings take effect at once: a new periodic interval, time or
   * enable reschedules the next periodic Inform (TR-069 3.2.1.2); a new ACS URL means
   * 0 BOOTSTRAP to the new ACS after this session (TR-069 3.7.1.5).
   */
  private afterSet(l: number, names: string[], urlBefore: string): void {
    const ms = `${this.deps.template.rootName}.ManagementServer.`;
    if (names.some((n) => n.startsWith(`${ms}PeriodicInform`))) this.schedulePeriodic(l);
    if (names.some((n) => n.startsWith(`${ms}HeartbeatPolicy.`))) this.scheduleHeartbeat(l);
    if (names.includes(`${ms}URL`)) {
      const now = this.view(l).get(`${ms}URL`) || this.init.acs.url;
      if (now !== urlBefore) {
        this.flags[l]! &= ~Flag.Bootstrapped;
        this.raise(l, EV.BOOTSTRAP);
      }
    }
  }

  private scheduleRetry(l: number): void {
    const v = this.view(l);
    const root = this.deps.template.rootName;
    const m = Number(v.get(`${root}.ManagementServer.CWMPRetryMinimumWaitInterval`)) || undefined;
    const k = Number(v.get(`${root}.ManagementServer.CWMPRetryIntervalMultiplier`)) || undefined;
    const at = this.deps.clock.now() + retryDelayMs(this.retries[l]!, Math.random(), m, k);
    this.retryAt[l] = at;
    this.scheduler.schedule(at, l, Kind.Retry);
  }

  /** Test and admin hook: when the CPE's pending retry is due (0 when none). */
  retryDueAt(l: number): number {
    return this.retryAt[l]!;
  }

  periodicDueAt(l: number): number {
    return this.periodicAt[l]!;
  }
}
