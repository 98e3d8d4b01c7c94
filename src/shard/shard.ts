// A shard owns CPEs [lo, hi): a table of CPEs with two protocol sides. The table holds
// what every CPE has whichever protocol speaks for it: lifecycle and power in typed
// arrays, an overlay only for CPEs whose tree was changed, the device's behaviours, and
// one scheduler whose timer kinds it routes. The CWMP side (cwmp-side.ts) and the USP
// side (usp-side.ts) each keep their own per-CPE state and see the table through
// CpeTable; the admin API's questions are admin.ts'.
import type { Agent } from 'undici';
import type { LifecycleState, ShardInit, ShardSample, ShardStats, StateCounts } from '../threads/messages.js';
import type { FleetEvent, LinkFaultSpec } from '../scenario/model.js';
import { basename } from 'node:path';
import { LIFECYCLE_STATES, USP_MTP_NAMES } from '../threads/messages.js';
import { publishTick } from '../cwmp/diagnostics.js';
import { EV } from '../cwmp/events.js';
import type { Overlay } from '../datamodel/overlay.js';
import type { Template } from '../datamodel/schema.js';
import { CpeView } from '../datamodel/view.js';
import type { ProfileSpec } from '../profile/types.js';
import type { Random } from '../scheduler/backoff.js';
import type { Clock } from '../scheduler/clock.js';
import { MAX_SCHEDULED_CPES, Scheduler } from '../scheduler/scheduler.js';
import { Stamps, type TimeBase } from '../scheduler/times.js';
import { CpeSimError } from '../util/errors.js';
import { overlayOf, toRecord } from '../persist/record.js';
import type { StateStore } from '../persist/store.js';
import { publishStateRestore, publishStateWrite } from '../persist/diagnostics.js';
import { FD_RESERVE, FdGate } from '../util/fds.js';
import { ShardAdmin, type AdminTable } from './admin.js';
import { ConnectionRequests } from './connection-request.js';
import { CwmpSide } from './cwmp-side.js';
import { Device } from './device.js';
import { Diagnostics } from './diagnostics.js';
import { FleetEnv } from './fleet-env.js';
import { FleetEvents } from './fleet-events.js';
import { Recorder } from './recorder.js';
import { Life, type BootReason, type CpeTable, type LogFn } from './table.js';
import { TimerKind } from './timer-kind.js';
import { transfer } from './transfers.js';
import { tlsMaterial } from '../cwmp/transport.js';
import { uploadBody } from './upload-body.js';
import { UdpCrEndpoint } from './udp-cr.js';
import type { UspSide } from './usp-side.js';
import type { ShardFeatures } from './features.js';
import { XmppSide } from './xmpp-side.js';

export interface ShardDeps {
  clock: Clock;
  profile: ProfileSpec;
  template: Template;
  /** [0, 1) for retry windows and jitter; Math.random unless a test pins it. */
  random?: Random;
  log?: LogFn;
  /** The optional parts this shard's init needs, from loadShardFeatures(init) (./features.ts). */
  features?: ShardFeatures;
}

/** A bit of the lifecycle byte: rebooting or resetting (no sessions, no connection requests, no agent). */
const DARK = 0x80;
/** A bit of the lifecycle byte: ready at least once since this power-on (power-on-to-ready is measured once a boot, failed sessions first or not). */
const REACHED = 0x40;
const LIFE = 0x3f;

/** A part `init` asks for must have been loaded by loadShardFeatures(init). */
function needFeature<T>(loaded: T | undefined, what: string): T {
  if (loaded === undefined) throw new CpeSimError('INTERNAL', `shard: the ${what} was not loaded (build the Shard with deps.features = await loadShardFeatures(init))`);
  return loaded;
}

/** TR-181 LocalAgent.MTP.{i}.Protocol and Controller.{i}.MTP.{i}.Protocol of each --usp-mtp. */

export class Shard implements CpeTable, AdminTable {
  readonly shardId: number;
  readonly lo: number;
  readonly size: number;
  readonly clock: Clock;
  readonly random: Random;
  readonly env: FleetEnv;
  readonly template: Template;
  readonly profile: ProfileSpec;
  readonly device: Device;
  /** TR-143 tests (docs/diagnostics.md): only CPEs with one in flight hold anything. */
  readonly diagnostics: Diagnostics;
  /** The CWMP client side; absent in a USP-only fleet (no --acs-url). */
  readonly cwmp: CwmpSide | undefined;
  /** Every CPE as a USP agent too (--usp-broker). */
  readonly usp: UspSide | undefined;
  /** XMPP connection requests (TR-069 Annex K), when the template has Device.XMPP and CWMP runs. */
  readonly xmpp: XmppSide | undefined;
  readonly admin: ShardAdmin;
  readonly cr: ConnectionRequests;
  /** The shard's one UDP socket for STUN and UDP connection requests (TR-069 Annex G), when the fleet and profile have it. */
  readonly udp: UdpCrEndpoint | undefined;
  /** Fleet events (scenario stages, POST /admin/events) on this shard's CPEs. */
  readonly events: FleetEvents;
  /** Latencies since the last sample (scenario summary, report, live page). */
  readonly recorder = new Recorder();
  readonly log: LogFn;
  /** Life in the low bits, REACHED and DARK on top: one byte a CPE. */
  private readonly life: Uint8Array;
  /** When each CPE last powered on (0 never): 6 bytes a CPE. */
  private readonly bootAt: Stamps;
  private readonly overlays = new Map<number, Overlay>();
  /** CPEs per lifecycle state, indexed like Life (no O(N) walk per scrape). */
  private readonly stateCounts = [0, 0, 0, 0];
  /** CPEs with the DARK bit set. */
  private darkCount = 0;
  private readonly scheduler: Scheduler;
  /** File transfers to https servers signed by --acs-ca-file's CA. */
  private readonly transferAgent: Agent | undefined;
  /** State dir writes not yet on disk. */
  private readonly writing = new Set<Promise<boolean>>();
  private stopping = false;
  /** The state dir's store (--state-dir), when the fleet keeps state across restarts. */
  private readonly store: StateStore | undefined;
  /** The process's descriptor gate (ShardInit.fds). */
  private readonly fdGate: FdGate | undefined;

  constructor(
    readonly init: ShardInit,
    deps: ShardDeps,
  ) {
    this.shardId = init.shardId;
    this.lo = init.lo;
    this.size = init.hi - init.lo;
    this.clock = deps.clock;
    this.random = deps.random ?? Math.random;
    this.template = deps.template;
    this.profile = deps.profile;
    this.log = deps.log ?? (() => undefined);
    this.fdGate = init.fds ? new FdGate(init.fds.gate) : undefined;
    const u = init.usp;
    this.env = new FleetEnv(deps.profile, deps.template, init.seed, init.cr.baseUrl, init.cr.secret, init.acs, { username: init.cr.username, password: init.cr.password },
      u ? { patterns: { endpointId: u.endpointId, agentTopic: u.agentTopic, username: u.username, password: u.password, secret: u.secret }, controllerId: u.controllerId, controllerTopic: u.controllerTopic, mtpProtocol: USP_MTP_NAMES[u.mtp] } : undefined, init.xmpp);
    if (u && deps.template.rootName !== 'Device') {
      throw new CpeSimError('CONFIG_INVALID', `config: uspBroker: USP needs a TR-181 Device:2 profile (root "Device"); profile ${deps.profile.name} has root "${deps.template.rootName}"`);
    }
    if (this.size > MAX_SCHEDULED_CPES) throw new CpeSimError('CONFIG_INVALID', `config: a shard holds at most ${MAX_SCHEDULED_CPES} CPEs; shard ${init.shardId} has ${this.size}: run more shards`);
    this.life = new Uint8Array(this.size);
    this.stateCounts[Life.New] = this.size;
    this.bootAt = new Stamps(this.size);
    // Sized for one pending entry per CPE: a boot, then a periodic Inform.
    this.scheduler = new Scheduler(
      deps.clock,
      (l, kind, at) => this.fire(l, kind, at),
      (e, l, kind) => this.log('warn', 'scheduled work failed', { cpe: init.lo + l, kind, error: (e as Error).message }),
      this.size,
      // A phase on the clock's slack grid of its own (src/scheduler/clock.ts).
      Math.floor(Math.random() * 1000),
    );
    // Before the sides: their constructors read CPE views, which consult the events' value rules.
    this.events = new FleetEvents(
      {
        lo: this.lo,
        size: this.size,
        seed: init.seed,
        fleet: { lo: init.fleetOffset, hi: init.fleetOffset + init.fleetSize },
        profile: { name: deps.profile.name, dir: basename(init.profileDir) },
        now: () => this.clock.now(),
        isPoweredOn: (l) => this.isPoweredOn(l),
        isNew: (l) => this.life[l] === Life.New,
        schedule: (at, l, kind) => this.schedule(at, l, kind),
        powerCut: (l, bootAt) => this.powerCut(l, bootAt),
        // A link that goes down drops the agent's MQTT connection now; connects then fail until it ends.
        linkFaultApplied: (l, fault) => {
          if (fault.down) {
            this.usp?.connections.cut(l, 'link down');
            this.xmpp?.cut(l, 'link down');
          }
        },
        // The fleet's new interval is the newest write: it replaces one the ACS made before (a later ACS write wins again).
        intervalChanged: (l) => {
          this.overlays.get(l)?.values?.delete(`${deps.template.rootName}.ManagementServer.PeriodicInformInterval`);
          this.cwmp?.intervalChanged(l);
        },
      },
      `${deps.template.rootName}.ManagementServer.PeriodicInformInterval`,
    );
    const tls = tlsMaterial(init.acs);
    const features = deps.features ?? {};
    this.transferAgent = Object.keys(tls).length > 0 ? new (needFeature(features.Agent, 'undici Agent (acs TLS material)'))({ connect: tls }) : undefined;
    const transfers = init.transfers ?? 'fetch';
    this.device = new Device(
      {
        clock: deps.clock,
        raise: (l, mask) => this.cwmp?.raise(l, mask),
        scheduleTransfer: (at, l) => this.schedule(at, l, TimerKind.Transfer),
        scheduleInformAt: (at, l) => this.schedule(at, l, TimerKind.ScheduledInform),
        changed: (l) => void this.durable(l),
        powerCycle: (l, factoryReset) => this.powerCycle(l, factoryReset),
        uploadBody: (l, fileType) => uploadBody(this.view(l), fileType, this.clock.now()),
        linkFault: (l) => this.events.linkFault(l),
        random: this.random,
        view: (l) => this.view(l),
        keep: (l, v) => this.keep(l, v),
        log: (level, msg, extra) => this.log(level, msg, { ...extra, cpe: init.lo + (extra['cpe'] as number) }),
      },
      deps.profile,
      { transferTimeoutMs: init.acs.timeoutMs * 2, transfers, dispatcher: this.transferAgent },
    );
    this.diagnostics = new Diagnostics({
      clock: deps.clock,
      seed: init.seed,
      lo: init.lo,
      profile: deps.profile,
      view: (l) => this.view(l),
      keep: (l, v) => this.keep(l, v),
      durable: (l) => void this.durable(l),
      completed: (l) => this.cwmp?.raise(l, EV.DIAGNOSTICS_COMPLETE),
      schedule: (at, l) => this.schedule(at, l, TimerKind.Diagnostic),
      transferTimeoutMs: init.acs.timeoutMs * 2,
      tls,
      log: (level, msg, extra) => this.log(level, msg, { ...extra, cpe: init.lo + (extra['cpe'] as number) }),
    });
    this.cwmp = init.cwmp
      ? new CwmpSide(this, {
          acs: init.acs,
          maxSessions: init.maxSessions,
          stopGraceMs: init.stopGraceMs ?? 10_000,
          treeChanged: (l) => {
            this.usp?.recheck(l);
            this.xmpp?.recheck(l);
          },
          afterWrite: (l, names) => this.udp?.afterSet(l, names),
        })
      : undefined;
    if (init.xmpp?.server && !(this.cwmp && XmppSide.supported(this))) {
      throw new CpeSimError('CONFIG_INVALID', `config: xmppServer: XMPP connection requests need a CWMP fleet and a TR-181 profile with Device.XMPP.Connection.{i}; profile ${deps.profile.name} has ${XmppSide.supported(this) ? 'it, but the fleet runs no CWMP' : 'none'}`);
    }
    // An XMPP connection only serves connection requests: it needs a CWMP side to ask for sessions.
    this.xmpp =
      this.cwmp && XmppSide.supported(this)
        ? new XmppSide(init.xmpp, this, {
            connectionRequest: (l) => this.cwmp?.raise(l, EV.CONNECTION_REQUEST),
            deviceChanged: (l, paths) => this.cwmp?.notifications.deviceChanged(l, paths),
          })
        : undefined;
    this.usp = u
      ? new (needFeature(features.UspSide, 'USP side (usp)'))(u, this, {
          afterWrite: (l, paths) => {
            this.cwmp?.afterSet(l, paths, '');
            this.xmpp?.recheck(l);
            // A test's inputs changed over USP: its CWMP DiagnosticsState goes back to None too.
            this.diagnostics.written(l, paths);
          },
          // A USP-only fleet's lifecycle follows the agent's MQTT connection.
          connectionChanged: (l, up) => {
            if (!this.cwmp && !(this.life[l]! & DARK)) this.setLife(l, up ? Life.Ready : Life.Failed);
          },
          commands: {
            transfer: async (spec) =>
              transfers === 'skip' ? { ok: true, bytes: 0 } : transfer({ ...spec, timeoutMs: init.acs.timeoutMs * 2, maxBytes: deps.profile.settings.maxDownloadBytes, ...(this.transferAgent ? { dispatcher: this.transferAgent } : {}) }),
          },
        })
      : undefined;
    this.store = init.stateDir ? new (needFeature(features.StateStore, 'state store (stateDir)'))(init.stateDir) : undefined;
    this.admin = new ShardAdmin(this);
    this.cr = new ConnectionRequests(
      {
        local: (cpe) => this.local(cpe),
        crPath: (cpe) => `/cr/${cpe}/${this.env.crToken(cpe)}`,
        isPoweredOn: (l) => this.isPoweredOn(l),
        view: (l) => this.view(l),
        requested: (l) => this.cwmp?.raise(l, EV.CONNECTION_REQUEST),
      },
      init.cr,
      deps.clock,
    );
    const ms = `${deps.template.rootName}.ManagementServer.`;
    // CWMP only, and only where the profile has the parameter it publishes (a profile without it has no UDP CR).
    const withUdp = init.udpCr !== undefined && this.cwmp !== undefined && this.size > 0 && new CpeView(deps.template, this.env.context(this.lo, 0, 0), undefined).resolve(`${ms}UDPConnectionRequestAddress`)?.kind === 'param';
    this.udp = withUdp
      ? new UdpCrEndpoint(
          {
            lo: this.lo,
            size: this.size,
            clock: deps.clock,
            timeBase: this.scheduler.base,
            ms,
            view: (l) => this.view(l),
            isPoweredOn: (l) => this.isPoweredOn(l),
            schedule: (at, l, kind) => this.schedule(at, l, kind),
            connectionRequest: (l) => {
              if (!this.cr.admitUdp(l)) return false;
              this.cwmp?.raise(l, EV.CONNECTION_REQUEST);
              return true;
            },
            addressChanged: (l, path) => this.cwmp?.notifications.deviceChanged(l, [path]),
            log: (level, msg, extra) => this.log(level, msg, extra),
          },
          init.udpCr!,
          init.shardId,
        )
      : undefined;
  }

  /**
   * Open the shard's listening sockets before start(): the UDP connection-request socket and,
   * with agents as WebSocket servers, their listener. One that cannot open stops the start
   * with a message naming the flag to change.
   */
  async openSockets(): Promise<void> {
    const named = (flag: string) => (e: unknown) => {
      throw new CpeSimError('CONFIG_INVALID', `config: ${flag}: shard ${this.shardId} cannot listen: ${(e as Error).message}`);
    };
    await this.udp?.open().catch(named('udpCrBindAddr (--udp-cr-bind-addr)'));
    await this.usp?.connections.serverPort?.catch(named('uspWsListen (--usp-ws-listen)'));
  }

  // ---- lifecycle ----

  /** Put back what the state dir kept, then schedule every CPE's power-on along the fleet-wide boot ramp. */
  start(): void {
    const { bootRamp, startAt, fleetOffset, fleetSize } = this.init;
    // What the state dir kept comes back before any CPE powers on (and after the thread's metrics subscribed).
    if (this.store) this.restore();
    // Under a scenario the CPEs stay off until a stage powers them on.
    for (let l = 0; l < this.size && !this.init.holdPower; l++) {
      const pos = this.lo + l - fleetOffset;
      let at = startAt;
      if (bootRamp.mode === 'rate') at += (pos / bootRamp.perSecond) * 1000;
      else if (bootRamp.mode === 'window') at += (pos / fleetSize) * bootRamp.seconds * 1000;
      this.schedule(at, l, TimerKind.Boot);
    }
    this.cwmp?.start(startAt);
    this.usp?.start(startAt);
  }

  /** Stop scheduling, let running sessions end, close connections. */
  async stop(): Promise<ShardStats> {
    this.stopping = true;
    this.scheduler.stop();
    await this.cwmp?.stop();
    await this.usp?.stop();
    this.udp?.close();
    await this.xmpp?.stop();
    await this.transferAgent?.close();
    this.recorder.close();
    await Promise.all([...this.writing]);
    return this.admin.stats();
  }

  /** Apply a fleet event from epoch ms `at`; how many of this shard's CPEs it reached. */
  applyEvent(event: FleetEvent, at: number): number {
    return this.events.apply(event, at);
  }

  /** The link fault on CPE `l`'s links now (a fleet event's), if any. */
  linkFault(l: number): LinkFaultSpec | undefined {
    return this.events.linkFault(l);
  }

  fdRefusal(kind: 'mqtt' | 'acs' | 'xmpp'): string | undefined {
    const f = this.init.fds;
    if (!f || !this.fdGate) return undefined;
    if (this.fdGate.tryOpen(kind === 'mqtt' ? f.perMqtt : kind === 'acs' ? f.perAcs : 1)) return undefined;
    return `not opened: the process is within ${FD_RESERVE} file descriptors of its limit (about ${this.fdGate.estimate} open, ceiling ${this.fdGate.ceiling})`;
  }

  fdReleased(kind: 'mqtt' | 'acs' | 'xmpp'): void {
    const f = this.init.fds;
    if (f && this.fdGate) this.fdGate.release(kind === 'mqtt' ? f.perMqtt : kind === 'acs' ? f.perAcs : 1);
  }

  /** Counters so far and latencies since the last sample. */
  sample(): ShardSample {
    const stats = this.admin.stats();
    const h = this.recorder.drain();
    const failures = this.cwmp?.failures;
    return {
      states: stats.states,
      dark: this.darkCount,
      pendingEvents: this.events.pending,
      sessionsOk: stats.sessionsOk,
      sessionsFailed: stats.sessionsFailed,
      failReasons: stats.failReasons,
      failStatuses: { ...failures?.statuses },
      retryAfterHonored: failures?.retryAfterHonored ?? 0,
      activeSessions: stats.activeSessions,
      queuedSessions: stats.queuedSessions,
      acsResponseMs: h.acsResponseMs,
      sessionMs: h.sessionMs,
      readyMs: h.readyMs,
      usp: this.usp ? { requestsOk: this.recorder.uspOk, requestsError: this.recorder.uspError, rttMs: h.uspRttMs, connections: this.usp.connections.countsByState() } : undefined,
    };
  }

  // ---- the table ----

  local(cpe: number): number | undefined {
    const l = cpe - this.lo;
    return l >= 0 && l < this.size ? l : undefined;
  }

  view(l: number): CpeView {
    const now = this.clock.now();
    const ctx = this.env.context(this.lo + l, now, this.bootAt.get(l) || now, this.device.firmware(l), this.udp?.facts(l));
    return new CpeView(this.template, ctx, this.overlays.get(l), this.fixedValues(l));
  }

  /** Values fixed for CPE `l` under its overlay: a fleet event's rules, and what its XMPP connection shows. */
  private fixedValues(l: number): ReadonlyMap<string, string> | undefined {
    const ev = this.events.valuesFor(l);
    const xv = this.xmpp?.values(l);
    if (!xv) return ev;
    return ev ? new Map([...ev, ...xv]) : xv;
  }

  keep(l: number, view: CpeView): void {
    if (view.overlay) this.overlays.set(l, view.overlay);
  }

  // ---- the state dir (--state-dir, docs/persistence.md) ----

  get persisting(): boolean {
    return this.store !== undefined;
  }

  /**
   * Store CPE `l`'s record as it is now; resolves once it is on disk (at once without a
   * state dir). Writes of one event turn share a transaction. A failed write is logged at
   * error level and counted; it resolves false.
   */
  durable(l: number): Promise<boolean> {
    const store = this.store;
    if (!store) return Promise.resolve(true);
    const cw = this.cwmp?.kept(l);
    const record = toRecord({
      overlay: this.overlays.get(l),
      bootstrapped: cw?.bootstrapped ?? false,
      events: cw?.events ?? 0,
      extra: this.device.extras.get(l),
      onboarded: this.usp?.onboarded(l) ?? false,
    });
    const done = store.save(this.lo + l, record).then(
      () => {
        publishStateWrite({ result: 'stored' });
        return true;
      },
      (e: unknown) => {
        publishStateWrite({ result: 'failed' });
        this.log('warn', 'state dir write failed: this change is not stored', { cpe: this.lo + l, error: (e as Error).message });
        return false;
      },
    );
    // A stop waits for writes still on their way to disk (a reset's, a finished transfer's).
    this.writing.add(done);
    void done.then(() => this.writing.delete(done));
    return done;
  }

  /** Put back every stored CPE of this shard (a restart of the process or of this thread). */
  private restore(): void {
    let n = 0;
    for (const [index, r] of this.store!.load(this.lo, this.lo + this.size, (i, why) => this.log('warn', 'state dir record unreadable: that CPE starts afresh', { cpe: i, why }))) {
      const l = index - this.lo;
      const overlay = overlayOf(r);
      if (overlay) this.overlays.set(l, overlay);
      this.cwmp?.restore(l, r.bootstrapped === 1, r.events ?? 0);
      if (r.extra) this.device.restore(l, r.extra);
      // A test in flight did not survive the restart (docs/diagnostics.md "Reboots and restarts").
      if (overlay && this.diagnostics.restored(l)) void this.durable(l);
      if (r.onboarded) this.usp?.restoreOnboarded(l);
      n++;
    }
    if (n > 0) this.log('info', 'CPEs restored from the state dir', { shard: this.shardId, cpes: n });
    publishStateRestore({ cpes: n });
  }

  lifecycle(l: number): LifecycleState {
    return LIFECYCLE_STATES[this.life[l]! & LIFE]!;
  }

  isPoweredOn(l: number): boolean {
    const b = this.life[l]!;
    return b !== Life.New && !(b & DARK);
  }

  /** Lifecycle changes go through here so the per-state counts stay current. */
  setLife(l: number, to: Life): void {
    const b = this.life[l]!;
    let keep = b & (DARK | REACHED);
    if (to === Life.Ready && !(b & (REACHED | DARK))) {
      this.recorder.readyAfter(this.clock.now() - this.bootAt.get(l));
      keep |= REACHED;
    }
    this.stateCounts[b & LIFE]!--;
    this.stateCounts[to]!++;
    this.life[l] = keep | to;
  }

  stateCountsByName(): StateCounts {
    const [fresh, bootstrapping, ready, failed] = this.stateCounts as [number, number, number, number];
    return { new: fresh, bootstrapping, ready, failed };
  }

  schedule(at: number, l: number, kind: TimerKind): void {
    this.scheduler.schedule(at, l, kind);
  }

  get timeBase(): TimeBase {
    return this.scheduler.base;
  }

  /**
   * Bytes of the shard's typed arrays: the per-CPE state of the table and every side, the
   * scheduler's heap and the event ring (test/held-bytes.test.ts pins the per-CPE share).
   */
  heldBytes(): number {
    return (
      this.life.byteLength +
      this.bootAt.byteLength +
      this.scheduler.byteLength +
      (this.cwmp?.heldBytes() ?? 0) +
      (this.xmpp?.heldBytes() ?? 0) +
      (this.usp?.heldBytes() ?? 0) +
      (this.udp?.heldBytes() ?? 0)
    );
  }

  // ---- timers ----

  private fire(l: number, kind: number, at: number): void {
    if (this.stopping) return;
    const k = kind as TimerKind;
    switch (k) {
      case TimerKind.Boot:
        // Two power-ons queued for one dark window (two reboots asked at once) boot once.
        if (!this.isPoweredOn(l)) this.powerOn(l);
        return;
      case TimerKind.Transfer:
        publishTick({ kind: 'scheduled' });
        this.device.startDueTransfers(l, this.isPoweredOn(l));
        return;
      case TimerKind.Diagnostic:
        this.diagnostics.fire(l, at);
        return;
      case TimerKind.ScheduledInform:
        publishTick({ kind: 'scheduled' });
        this.device.fireScheduledInforms(l);
        return;
      case TimerKind.WavePowerOn:
        this.events.fired();
        if (!this.isPoweredOn(l)) this.powerOn(l);
        return;
      case TimerKind.WaveReboot:
        this.events.fired();
        if (!this.isPoweredOn(l)) return;
        // M Reboot goes in the boot Inform, as after an ACS's Reboot; a USP-only fleet has no Inform to carry it.
        if (this.cwmp) this.device.rebootNow(l);
        else this.powerCycle(l, false);
        return;
      case TimerKind.WaveReset:
        this.events.fired();
        if (this.isPoweredOn(l)) this.powerCycle(l, true);
        return;
      case TimerKind.Periodic:
      case TimerKind.Retry:
      case TimerKind.Heartbeat:
      case TimerKind.NotifyWake:
      case TimerKind.NotifyScan:
        this.cwmp?.fire(l, k, at);
        return;
      case TimerKind.UspConnect:
      case TimerKind.UspNotifyRetry:
      case TimerKind.UspPeriodic:
      case TimerKind.UspScan:
      case TimerKind.UspKeepAlive:
        this.usp?.fire(l, k, at);
        return;
      case TimerKind.StunKeepAlive:
      case TimerKind.UdpCrNotify:
        this.udp?.fire(l, k, at);
        return;
      case TimerKind.XmppConnect:
      case TimerKind.XmppKeepAlive:
        this.xmpp?.fire(l, k, at);
        return;
      default: {
        const never: never = k;
        throw new Error(`unknown timer kind ${String(never)}`);
      }
    }
  }

  // ---- power ----

  private powerOn(l: number): void {
    if (this.life[l]! & DARK) this.darkCount--;
    this.life[l]! &= LIFE;
    this.bootAt.set(l, this.clock.now());
    this.setLife(l, Life.Bootstrapping);
    const newImage = this.device.takeFirmwareChange(l);
    this.usp?.powerOn(l, newImage);
    this.cwmp?.powerOn(l, newImage);
    this.udp?.powerOn(l);
    this.xmpp?.powerOn(l);
  }

  /**
   * Reboot (TR-069 A.3.2.9, USP Device.Reboot()) or factory reset (A.4.1.6,
   * Device.FactoryReset()): dark for the profile's window, then a fresh boot. A reset
   * also wipes the overlay (ACS- and controller-set values, rows, attributes); what each
   * side keeps is in docs/cwmp-behaviour.md "Events across reboots".
   */
  powerCycle(l: number, factoryReset: boolean, why?: BootReason): void {
    this.goDark(l);
    // TR-143: tests in flight and their results do not survive a reboot.
    if (this.diagnostics.powerOff(l) && !factoryReset) void this.durable(l);
    this.cwmp?.powerOff(l, factoryReset);
    this.usp?.powerOff(l, factoryReset, why?.cause ?? (factoryReset ? 'RemoteFactoryReset' : 'RemoteReboot'), why?.commandKey ?? '');
    this.xmpp?.powerOff(l, false);
    if (factoryReset) {
      this.overlays.delete(l);
      this.device.reset(l);
      // As on a real device, a reset clears what was kept (but the installed firmware).
      void this.durable(l);
    }
    this.schedule(this.clock.now() + this.profile.settings.rebootSeconds * 1000, l, TimerKind.Boot);
  }

  /**
   * Mains off (a fleet event's power cut): dark at once, sessions and the MQTT connection
   * dropped, and back at `bootAt` with 1 BOOT (USP Boot! LocalReboot). Nothing is wiped.
   */
  powerCut(l: number, bootAt: number): void {
    this.goDark(l);
    if (this.diagnostics.powerOff(l)) void this.durable(l);
    this.cwmp?.powerOff(l, false);
    // No goodbye: the broker sees the socket die (and would publish a Will).
    this.usp?.powerOff(l, false, undefined, '', true);
    this.xmpp?.powerOff(l, true);
    this.schedule(bootAt, l, TimerKind.Boot);
  }

  private goDark(l: number): void {
    this.udp?.powerOff(l);
    if (!(this.life[l]! & DARK)) this.darkCount++;
    this.life[l] = (this.life[l]! | DARK) & ~REACHED;
    this.setLife(l, Life.Bootstrapping);
  }
}
