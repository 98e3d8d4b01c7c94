// The CWMP client side of a shard's CPEs (TR-069 Amendment 6): pending events, the bounded
// session queue and its pump, when the next periodic Inform, heartbeat and retry are due,
// and what a SetParameterValues changes at once. One session's state is a CwmpSession;
// the CPEs' trees, power and lifecycle are the table's (CpeTable).
import { publishSession, publishTick } from '../cwmp/diagnostics.js';
import { DISCARD_ON_FAILURE, EV, eventsOf, KEEP_ON_REBOOT } from '../cwmp/events.js';
import { retryAfterAt } from '../cwmp/retry-after.js';
import type { SessionOutcome } from '../cwmp/session.js';
import { ConnectionPool } from '../cwmp/transport.js';
import type { ShardInit } from '../threads/messages.js';
import { retryDelayMs } from '../scheduler/backoff.js';
import { wholeMs } from '../scheduler/times.js';
import { CwmpSession, type SessionDeps } from './cwmp-session.js';
import { CwmpFlag, CwmpState } from './cwmp-state.js';
import { EventLog } from './event-log.js';
import { FailureLog } from './failure-log.js';
import { FaultHook } from './fault-hook.js';
import { Notifications } from './notifications.js';
import { PeriodicPlanner } from './periodic.js';
import { Life, type CpeTable } from './table.js';
import { TimerKind, type CwmpTimer } from './timer-kind.js';

/** How often CPEs with active notification are checked for changed values. */
const NOTIFY_SCAN_MS = 5000;

export interface CwmpSideOptions {
  acs: ShardInit['acs'];
  /** Sessions at once in this shard; the rest wait in the queue. */
  maxSessions: number;
  /** How long stop() waits for the sessions in flight before it cuts them ('stopped'). */
  stopGraceMs: number;
  /** The tree changed over CWMP (Set/Add/Delete): the USP side looks for subscribed changes. */
  treeChanged(l: number): void;
  /** After a write of these parameters (CWMP or USP): the table's other parts that obey ManagementServer. */
  afterWrite?(l: number, names: readonly string[]): void;
}

export class CwmpSide {
  private readonly state: CwmpState;
  readonly notifications: Notifications;
  readonly eventLog: EventLog;
  readonly faultHook = new FaultHook();
  readonly failures: FailureLog;
  readonly counters = { bootstraps: 0, sessionsOk: 0, sessionsFailed: 0, periodicTicks: 0 };
  private readonly pool: ConnectionPool;
  private readonly periodic: PeriodicPlanner;
  /** The template turns HeartbeatPolicy on: every CPE plans heartbeats. */
  private readonly heartbeatByDefault: boolean;
  private readonly ms: string;
  /** What every session shares (one object for the shard, not one per session). */
  private readonly sessionDeps: SessionDeps;
  /** Sessions running now, by CPE (at most maxSessions): a power loss cuts its CPE's. */
  private readonly running = new Map<number, CwmpSession>();
  private queue: number[] = [];
  private qHead = 0;
  private active = 0;
  private stopping = false;
  private idleWaiters: Array<() => void> = [];

  constructor(
    private readonly table: CpeTable,
    private readonly opts: CwmpSideOptions,
  ) {
    this.state = new CwmpState(table.size, table.timeBase);
    this.ms = `${table.template.rootName}.ManagementServer.`;
    this.pool = new ConnectionPool({ maxIdlePerOrigin: opts.maxSessions, caFile: opts.acs.caFile, certFile: opts.acs.certFile, keyFile: opts.acs.keyFile, fdRefusal: () => table.fdRefusal('acs'), fdReleased: () => table.fdReleased('acs') });
    this.periodic = new PeriodicPlanner(table.profile.settings.periodicInformInterval, table.random);
    this.failures = new FailureLog((msg, extra) => table.log('warn', msg, extra));
    this.eventLog = new EventLog(table.size);
    this.notifications = new Notifications({
      now: () => table.clock.now(),
      view: (l) => table.view(l),
      raiseValueChange: (l) => this.raise(l, EV.VALUE_CHANGE),
      wakeAt: (at, l) => table.schedule(at, l, TimerKind.NotifyWake),
    });
    this.sessionDeps = {
      table,
      state: this.state,
      notifications: this.notifications,
      eventLog: this.eventLog,
      faultHook: this.faultHook,
      pool: this.pool,
      acs: opts.acs,
      afterSet: (l, names, urlBefore) => this.afterSet(l, names, urlBefore),
      treeChanged: (l) => opts.treeChanged(l),
      bootstrapped: () => this.counters.bootstraps++,
    };
    // An ACS turning heartbeats on for one CPE is handled in afterSet.
    this.heartbeatByDefault = table.view(0).get(`${this.ms}HeartbeatPolicy.Enable`) === 'true';
  }

  start(startAt: number): void {
    this.table.schedule(startAt + NOTIFY_SCAN_MS, 0, TimerKind.NotifyScan);
  }

  /**
   * No new sessions; the running ones get --stop-grace to end, then are cut and counted
   * 'stopped' (docs/cwmp-behaviour.md "Sessions"); close the ACS connections.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    this.queue = [];
    this.qHead = 0;
    if (this.active > 0) {
      const idle = new Promise<void>((r) => this.idleWaiters.push(r));
      let grace: NodeJS.Timeout | undefined;
      const graceOver = new Promise<boolean>((r) => {
        grace = setTimeout(() => r(true), this.opts.stopGraceMs);
      });
      if (await Promise.race([idle.then(() => false), graceOver])) {
        for (const s of this.running.values()) s.cut('stopped', `the fleet stopped and the session outlasted --stop-grace (${this.opts.stopGraceMs / 1000} s)`);
        await idle;
      }
      clearTimeout(grace);
    }
    await this.pool.close();
  }

  fire(l: number, kind: CwmpTimer, at: number): void {
    const s = this.state;
    switch (kind) {
      case TimerKind.Periodic:
        if (s.periodicAt.get(l) !== at) return; // superseded
        this.counters.periodicTicks++;
        publishTick({ kind: 'periodic' });
        this.raise(l, EV.PERIODIC);
        this.schedulePeriodic(l);
        return;
      case TimerKind.Retry:
        if (s.retryAt.get(l) !== at) return;
        s.retryAt.set(l, 0);
        this.requestSession(l);
        return;
      case TimerKind.Heartbeat: {
        const hb = s.heartbeats.get(l);
        if (!hb || wholeMs(hb.at) !== at) return;
        hb.pending = true;
        publishTick({ kind: 'scheduled' });
        this.scheduleHeartbeat(l);
        // The heartbeat waits while a failed session is retried (docs/cwmp-behaviour.md "Heartbeat").
        if (!s.retryAt.get(l)) this.requestSession(l);
        return;
      }
      case TimerKind.NotifyWake:
        if (this.table.isPoweredOn(l)) this.notifications.recheck(l);
        return;
      case TimerKind.NotifyScan:
        this.notifications.scan();
        this.table.schedule(this.table.clock.now() + NOTIFY_SCAN_MS, 0, TimerKind.NotifyScan);
        return;
      default: {
        const never: never = kind;
        throw new Error(`not a CWMP timer: ${String(never)}`);
      }
    }
  }

  // ---- power ----

  /** Power-on: the boot Inform (0 BOOTSTRAP until an ACS acknowledged one), periodic and heartbeat plans. */
  powerOn(l: number, newImage: boolean): void {
    const s = this.state;
    // TR-069 3.7.1.5: 0 BOOTSTRAP only until the ACS has acknowledged one
    const boot = s.flags[l]! & CwmpFlag.Bootstrapped ? EV.BOOT : EV.BOOT | EV.BOOTSTRAP;
    s.events[l]! |= boot;
    // A new image announces its SoftwareVersion (forced active notification) in the boot Inform.
    if (newImage) this.notifications.deviceChanged(l, [`${this.table.template.rootName}.DeviceInfo.SoftwareVersion`]);
    this.raise(l, boot);
    this.schedulePeriodic(l);
    // Only CPEs whose HeartbeatPolicy is on pay for a look at it (the profile may turn it on for all).
    if (s.heartbeats.has(l) || this.heartbeatByDefault) this.scheduleHeartbeat(l);
    this.table.device.startDueTransfers(l, true);
  }

  /**
   * Going dark (TR-069 A.3.2.9 Reboot, A.4.1.6 FactoryReset): no retry or periodic Inform
   * is pending across the dark window. Events that survive a reboot are kept (KEEP_ON_REBOOT);
   * a reset forgets everything, 0 BOOTSTRAP included (docs/cwmp-behaviour.md "Events across reboots").
   */
  powerOff(l: number, factoryReset: boolean): void {
    const s = this.state;
    // A session in flight dies with the power (docs/cwmp-behaviour.md "Events across reboots").
    this.running.get(l)?.cut('power-off');
    s.retryAt.set(l, 0);
    s.periodicAt.set(l, 0);
    this.notifications.rebooted(l);
    if (factoryReset) {
      this.notifications.reset(l);
      this.faultHook.clear(l);
      s.flags[l]! &= ~CwmpFlag.Bootstrapped;
      s.events[l] = 0;
    } else {
      s.events[l]! &= KEEP_ON_REBOOT;
    }
  }

  // ---- what the state dir keeps (--state-dir) ----

  /** Whether an ACS acknowledged 0 BOOTSTRAP, and the pending single events. */
  kept(l: number): { bootstrapped: boolean; events: number } {
    return { bootstrapped: (this.state.flags[l]! & CwmpFlag.Bootstrapped) !== 0, events: this.state.events[l]! };
  }

  /** Put back what was kept: a restart is a power cycle, so only events that survive a reboot stay. */
  restore(l: number, bootstrapped: boolean, events: number): void {
    if (bootstrapped) this.state.flags[l]! |= CwmpFlag.Bootstrapped;
    this.state.events[l]! |= events & KEEP_ON_REBOOT;
  }

  // ---- events and the session queue ----

  /** Queue an event and ask for a session. */
  raise(l: number, eventMask: number): void {
    const s = this.state;
    s.events[l]! |= eventMask;
    if (eventMask & EV.CONNECTION_REQUEST && s.retryAt.get(l)) {
      // The ACS asked for this session now: don't sit out the retry window.
      s.retryAt.set(l, 0);
    }
    if (s.retryAt.get(l) && !(s.flags[l]! & CwmpFlag.InSession)) return; // rides along with the retry
    this.requestSession(l);
  }

  /** One session at a time per CPE: a trigger during a session is deferred, never dropped. */
  private requestSession(l: number): void {
    const flags = this.state.flags;
    const f = flags[l]!;
    if (f & CwmpFlag.InSession) {
      flags[l] = f | CwmpFlag.Again;
      return;
    }
    if (f & CwmpFlag.Queued || !this.table.isPoweredOn(l) || this.stopping) return;
    flags[l] = f | CwmpFlag.Queued;
    this.queue.push(l);
    this.pump();
  }

  private pump(): void {
    const flags = this.state.flags;
    while (this.active < this.opts.maxSessions && this.qHead < this.queue.length) {
      const l = this.queue[this.qHead++]!;
      flags[l]! &= ~CwmpFlag.Queued;
      // Went dark while it waited: its boot asks for a session again.
      if (!this.table.isPoweredOn(l)) continue;
      this.active++;
      flags[l]! |= CwmpFlag.InSession;
      this.session(l)
        .catch((e: unknown) => this.table.log('warn', 'session bookkeeping failed', { cpe: this.table.lo + l, error: (e as Error).message }))
        .finally(() => this.sessionEnded(l));
    }
    if (this.qHead > 1024 && this.qHead * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.qHead);
      this.qHead = 0;
    }
  }

  private sessionEnded(l: number): void {
    const s = this.state;
    this.active--;
    const f = s.flags[l]!;
    s.flags[l] = f & ~(CwmpFlag.InSession | CwmpFlag.Again);
    // Go again only for something still to say: a deferred trigger may have been carried already.
    const device = this.table.device;
    const hbPending = s.heartbeats.get(l)?.pending === true;
    const more = s.events[l]! !== 0 || device.requests(l).length > 0 || device.mEvents(l).length > 0 || hbPending;
    if ((f & CwmpFlag.Again || hbPending) && !s.retryAt.get(l) && more) this.requestSession(l);
    if (this.stopping && this.active === 0) for (const w of this.idleWaiters.splice(0)) w();
    this.pump();
  }

  private async session(l: number): Promise<void> {
    const started = performance.now();
    const session = new CwmpSession(this.sessionDeps, l);
    this.running.set(l, session);
    const outcome = await session.run().finally(() => this.running.delete(l));
    const seconds = (performance.now() - started) / 1000;
    const honored = this.settle(session, outcome);
    // Deferred to the session's end (TR-069 3.7.2.4): reboot, reset, transfer delays.
    this.table.device.sessionEnded(l);
    // TR-143: a test the session requested starts once it is over.
    this.table.diagnostics.sessionEnded(l);
    const events = eventsOf(session.startEvents | session.informEvents);
    publishSession({
      cpe: this.table.lo + l,
      ok: outcome.ok,
      events,
      reason: outcome.ok ? undefined : outcome.reason,
      ...(!outcome.ok && outcome.status !== undefined ? { status: outcome.status } : {}),
      ...(honored ? { retryAfterHonored: true } : {}),
      seconds,
    });
  }

  /**
   * A session's outcome: RetryCount back to 0 and ready, or failed with a retry planned.
   * Returns whether the ACS's Retry-After moved the retry later.
   */
  private settle(session: CwmpSession, outcome: SessionOutcome): boolean {
    const s = this.state;
    const l = session.l;
    const now = this.table.clock.now();
    if (outcome.ok) {
      this.counters.sessionsOk++;
      this.notifications.sessionCompleted(l, now);
      s.retries[l] = 0;
      this.table.setLife(l, Life.Ready);
      return false;
    }
    this.counters.sessionsFailed++;
    // A failed session drops 6 CONNECTION REQUEST and keeps the rest (also when no Inform
    // was built at all, or a bad URL plus a CR would loop forever); docs/cwmp-behaviour.md
    // "Events across a failed session".
    s.events[l]! &= ~((session.startEvents | session.informEvents) & DISCARD_ON_FAILURE);
    s.retries[l] = Math.min(255, s.retries[l]! + 1);
    // Cut by a power loss: the CPE is dark (bootstrapping) and its boot brings it back; no
    // failed state and no retry timer over that (powerOff cleared the retry).
    const honored = this.table.isPoweredOn(l) && this.planAfterFailure(l, outcome, now);
    this.failures.record(now, this.table.lo + l, outcome.reason, outcome.detail, outcome.status);
    return honored;
  }

  /** A failed session of a powered CPE: failed, and its next attempt planned. Whether Retry-After moved it later. */
  private planAfterFailure(l: number, outcome: SessionOutcome & { ok: false }, now: number): boolean {
    const s = this.state;
    this.table.setLife(l, Life.Failed);
    // docs/cwmp-behaviour.md "Retry-After": a 503 or 429 that says when to come back holds
    // the next attempt until then, unless the profile models firmware that ignores it.
    const notBefore = this.table.profile.settings.honorRetryAfter ? retryAfterAt(outcome.retryAfter, now) : undefined;
    let honored = false;
    // A connection request that arrived during the failed session is answered now,
    // with RetryCount stamped; anything else waits out the retry window.
    if (s.events[l]! & EV.CONNECTION_REQUEST) {
      // ...and if the ACS asked for time, at the time it asked.
      if (notBefore === undefined || notBefore <= now) s.flags[l]! |= CwmpFlag.Again;
      else {
        this.retryAt(l, notBefore);
        honored = true;
      }
    } else honored = this.scheduleRetry(l, notBefore);
    if (honored) this.failures.retryAfterHonored++;
    return honored;
  }

  // ---- planning ----

  /**
   * ManagementServer settings take effect at once: a new periodic interval, time or
   * enable reschedules the next periodic Inform (TR-069 3.2.1.2); a new ACS URL means
   * 0 BOOTSTRAP to the new ACS after this session.
   */
  afterSet(l: number, names: string[], urlBefore: string): void {
    const ms = this.ms;
    if (names.some((n) => n.startsWith(`${ms}PeriodicInform`))) this.schedulePeriodic(l);
    if (names.some((n) => n.startsWith(`${ms}HeartbeatPolicy.`))) this.scheduleHeartbeat(l);
    if (names.includes(`${ms}URL`)) {
      const now = this.table.view(l).get(`${ms}URL`) || this.opts.acs.url;
      if (now !== urlBefore) {
        this.state.flags[l]! &= ~CwmpFlag.Bootstrapped;
        this.raise(l, EV.BOOTSTRAP);
      }
    }
    this.opts.afterWrite?.(l, names);
  }

  /** A fleet event changed the CPE's periodic interval: a fresh random phase in the new one (docs/scenarios.md "setInterval"). */
  intervalChanged(l: number): void {
    this.schedulePeriodic(l, true);
  }

  private schedulePeriodic(l: number, spread = false): void {
    const next = this.periodic.next(this.table.view(l), this.table.clock.now(), spread);
    this.state.periodicAt.set(l, next ?? 0);
    if (next !== undefined) this.table.schedule(next, l, TimerKind.Periodic);
  }

  private scheduleHeartbeat(l: number): void {
    const heartbeats = this.state.heartbeats;
    const next = this.periodic.nextHeartbeat(this.table.view(l), this.table.clock.now());
    if (next === undefined) {
      heartbeats.delete(l);
      return;
    }
    const hb = heartbeats.get(l);
    if (hb) hb.at = next;
    else heartbeats.set(l, { at: next, pending: false });
    this.table.schedule(next, l, TimerKind.Heartbeat);
  }

  /**
   * TR-069 3.2.1.1: retry n after a random wait in its window (CWMPRetryMinimumWaitInterval,
   * CWMPRetryIntervalMultiplier), and no sooner than `notBefore` (an ACS's Retry-After).
   * Returns whether `notBefore` moved the retry later.
   */
  private scheduleRetry(l: number, notBefore?: number): boolean {
    const v = this.table.view(l);
    const minWait = Number(v.get(`${this.ms}CWMPRetryMinimumWaitInterval`));
    const multiplier = Number(v.get(`${this.ms}CWMPRetryIntervalMultiplier`));
    const windowAt = this.table.clock.now() + retryDelayMs(this.state.retries[l]!, { minWait, multiplier }, this.table.random);
    const later = notBefore !== undefined && notBefore > windowAt;
    this.retryAt(l, later ? notBefore : windowAt);
    return later;
  }

  private retryAt(l: number, at: number): void {
    this.state.retryAt.set(l, at);
    this.table.schedule(at, l, TimerKind.Retry);
  }

  // ---- for the admin API and tests ----

  /** Bytes of the side's typed arrays: per-CPE state, the last event per CPE and the event ring. */
  heldBytes(): number {
    return this.state.byteLength + this.eventLog.perCpeBytes + this.eventLog.ringBytes;
  }

  retryCount(l: number): number {
    return this.state.retries[l]!;
  }

  /** When the CPE's pending retry is due (0 when none). */
  retryDueAt(l: number): number {
    return this.state.retryAt.get(l);
  }

  /** When its next periodic Inform is due (0 when none). */
  periodicDueAt(l: number): number {
    return this.state.periodicAt.get(l);
  }

  get activeSessions(): number {
    return this.active;
  }

  get queuedSessions(): number {
    return this.queue.length - this.qHead;
  }
}
