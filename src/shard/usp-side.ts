// The USP side of a shard's CPEs: every CPE is also a TR-369 agent over its own MQTT
// connection. On each connection: the MQTTConnect Record, Notifies that waited, the
// OnBoardRequest until a controller acknowledged one, and Boot! once per power-on
// (docs/usp-behaviour.md "Boot sequence of an agent"). Then
// requests (through src/usp/inbound.ts), subscriptions checked after every write and by a
// sliced scan, Periodic!, and the effects of a request (ManagementServer settings,
// deferred reboots). Per-agent state is a flag byte plus sparse maps for agents that
// have something; connections are usp-connections.ts'.
import type { UspInit } from '../threads/messages.js';
import { absoluteTime } from '../datamodel/datetime.js';
import type { CpeView } from '../datamodel/view.js';
import { nextOnPhase } from '../scheduler/phase.js';
import { wholeMs } from '../scheduler/times.js';
import { UspCommands, type BootCause, type CommandsHost } from '../usp/commands.js';
import { publishUspDrop, publishUspRequest } from '../usp/diagnostics.js';
import { DuplicateFilter, receive, type Inbound, type InboundAgents } from '../usp/inbound.js';
import { bootParameterMap, UspNotifier } from '../usp/notifier.js';
import { uniqueKeysOfRow } from '../usp/paths-glue.js';
import { connectRecord, disconnectRecord, stompConnectRecord, websocketConnectRecord, type Ends } from '../usp/records.js';
import { SubscriptionWatch } from '../usp/subscriptions.js';
import type { CpeTable } from './table.js';
import { TimerKind, type UspTimer } from './timer-kind.js';
import { UspConnections } from './usp-connections.js';
import { testOfCommand } from './diag-tests.js';
import { uspOutputs } from './diagnostics.js';

/** How often agents with subscriptions are checked for changes (TR-369 R-NOT.0a: within 10 s). */
const SCAN_MS = 5000;
/** The scan visits the agents with subscriptions in this many slices per SCAN_MS. */
const SCAN_SLICES = 10;
/** Every this many scans, a full re-expansion of the reference lists. */
const FULL_SCAN_EVERY = 12;
/** The controller's row the agent answers and writes as Recipient / Originator. */
const CONTROLLER_REF = 'Device.LocalAgent.Controller.1';

const enum Flag {
  Onboarded = 1,
  /** Boot! not yet sent since the last power-on. */
  BootPending = 2,
}

export interface UspSideOptions {
  /** A write over USP landed: ManagementServer settings and CWMP notification baselines follow. */
  afterWrite(l: number, paths: string[]): void;
  /** The agent's MQTT connection came up or went down (a USP-only fleet's lifecycle follows it). */
  connectionChanged(l: number, up: boolean): void;
  commands: Pick<CommandsHost, 'transfer'>;
}

export class UspSide {
  readonly controllerRef = CONTROLLER_REF;
  readonly connections: UspConnections;
  readonly subs: SubscriptionWatch;
  readonly commands: UspCommands;
  private readonly notifier: UspNotifier;
  private readonly flags: Uint8Array;
  private readonly recent = new DuplicateFilter();
  /** The agents as the inbound pipeline sees them (one object for the shard). */
  private readonly inbound: InboundAgents;
  private readonly periodicAt = new Map<number, number>();
  private readonly bootInfo = new Map<number, { cause: BootCause; commandKey: string }>();
  /** Agents whose current boot runs a new firmware image (Boot! FirmwareUpdated). */
  private readonly newFirmware = new Set<number>();
  private scanSlice = 0;
  private stopping = false;

  constructor(
    private readonly init: UspInit,
    private readonly table: CpeTable,
    private readonly opts: UspSideOptions,
  ) {
    this.flags = new Uint8Array(table.size);
    this.subs = new SubscriptionWatch(uniqueKeysOfRow);
    this.connections = new UspConnections(init, table, {
      up: (l, replyTopic, discovered) => this.connected(l, replyTopic, discovered),
      down: (l, reason) => this.disconnected(l, reason),
      record: (l, payload, replyTo) => this.received(l, payload, replyTo),
      goodbye: (l, reason) => ({ topic: this.controllerTopic(l), payload: disconnectRecord(this.ends(l), reason) }),
    });
    this.notifier = new UspNotifier({
      clock: table.clock,
      random: table.random,
      view: (l) => table.view(l),
      ends: (l) => this.ends(l),
      index: (l) => table.lo + l,
      publish: (l, bytes) => this.publish(l, bytes),
      connected: (l) => this.connections.isUp(l),
      wakeAt: (at, l) => table.schedule(at, l, TimerKind.UspNotifyRetry),
      subs: this.subs,
      controllerRef: CONTROLLER_REF,
    });
    this.inbound = {
      endpointId: (l) => this.endpointId(l),
      view: (l) => table.view(l),
      controllerId: (v) => this.controllerId(v),
      controllerTopic: (l, v) => this.controllerTopic(l, v),
      now: () => table.clock.now(),
      context: (l) => ({ controllerRef: CONTROLLER_REF, commands: this.commands.hostFor(l, CONTROLLER_REF) }),
      onBug: (l, e, type) => table.log('warn', 'internal error serving a USP request', { cpe: table.lo + l, type, error: e.message }),
      maxRecordBytes: (l, topic) => this.connections.maxRecordBytes(l, topic),
    };
    this.commands = new UspCommands({
      transfer: opts.commands.transfer,
      diagnostic: (l, command, args, done) => {
        const test = testOfCommand(command);
        if (!test) return { ok: false, errCode: 7026, errMsg: `Unsupported command ${command}` };
        return table.diagnostics.startUsp(l, test, args, (r) => done(uspOutputs(r)));
      },
      firmware: table.device,
      poweredOn: (l) => table.isPoweredOn(l),
      clock: table.clock,
      view: (l) => table.view(l),
      keep: (l, v) => table.keep(l, v),
      reboot: (l, factoryReset, cause, commandKey) => table.powerCycle(l, factoryReset, { cause, commandKey }),
      emitEvent: (l, objPath, name, params) => this.notifier.event(l, objPath, name, params),
      emitOperationComplete: (l, oc) => {
        this.notifier.operationComplete(l, oc);
        // The command's Request row has ended: subscribers of that table hear of it now.
        this.recheck(l);
      },
      sendOnBoardRequest: (l) => this.onBoardRequest(l),
    });
  }

  start(startAt: number): void {
    this.table.schedule(startAt + SCAN_MS / SCAN_SLICES, 0, TimerKind.UspScan);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.connections.stop();
  }

  // ---- identity ----

  endpointId(l: number): string {
    return this.table.env.endpointId(this.table.lo + l);
  }

  private ends(l: number, view?: CpeView): Ends {
    return { agent: this.endpointId(l), controller: this.controllerId(view ?? this.table.view(l)) };
  }

  /** Controller.1.EndpointID (--usp-controller-id by default): a controller may move it. */
  private controllerId(view: CpeView): string {
    return view.get(`${CONTROLLER_REF}.EndpointID`) || this.init.controllerId;
  }

  /** Where Notifies go: the controller's MQTT topic or STOMP destination (unused by WebSocket). */
  private controllerTopic(l: number, view: CpeView = this.table.view(l)): string {
    return view.get(`${CONTROLLER_REF}.MTP.1.${this.init.mtp === 'stomp' ? 'STOMP.Destination' : 'MQTT.Topic'}`) || this.init.controllerTopic;
  }

  /** LocalAgent.MTP.1.MQTT.PublishQoS (obuspa publishes at 0 by default). */
  private qos(view: CpeView): 0 | 1 | 2 {
    const q = Number(view.get('Device.LocalAgent.MTP.1.MQTT.PublishQoS'));
    return q === 1 || q === 2 ? q : 0;
  }

  // ---- what the state dir keeps (--state-dir) ----

  onboarded(l: number): boolean {
    return (this.flags[l]! & Flag.Onboarded) !== 0;
  }

  restoreOnboarded(l: number): void {
    this.flags[l]! |= Flag.Onboarded;
  }

  // ---- power ----

  /** Power-on (along the boot ramp, or after a reboot): Boot! is due, and the agent connects. */
  powerOn(l: number, newImage: boolean): void {
    this.flags[l]! |= Flag.BootPending;
    if (newImage) this.newFirmware.add(l);
    else this.newFirmware.delete(l);
    this.subs.reload(l, this.table.view(l), CONTROLLER_REF);
    this.connections.connect(l, true);
  }

  /** Going dark (reboot, reset, firmware): say goodbye, drop the connection. */
  /** `abrupt`: the mains went (a power cut): the MQTT connection dies without a goodbye or DISCONNECT. */
  powerOff(l: number, factoryReset: boolean, cause: BootCause | undefined, commandKey: string, abrupt = false): void {
    // A power cut has no cause of its own: Boot! says LocalReboot, and nothing is kept per agent.
    if (cause) this.bootInfo.set(l, { cause, commandKey });
    else this.bootInfo.delete(l);
    this.notifier.forget(l);
    this.periodicAt.delete(l);
    this.recent.forget(l);
    this.commands.poweredOff(l, factoryReset);
    if (factoryReset) {
      this.flags[l]! &= ~Flag.Onboarded;
      this.subs.forget(l);
    } else {
      this.dropVolatileSubscriptions(l);
    }
    this.connections.disconnect(l, abrupt ? 'power cut' : factoryReset ? 'factory reset' : 'reboot', abrupt);
  }

  /** Only Persistent subscriptions survive a restart (TR-181 LocalAgent.Subscription.{i}.Persistent). */
  private dropVolatileSubscriptions(l: number): void {
    const v = this.table.view(l);
    let dropped = false;
    for (const s of this.subs.subscriptions(l)) {
      if (!s.persistent && v.deviceDeleteRow(s.path)) dropped = true;
    }
    if (dropped) this.table.keep(l, v);
    this.subs.forget(l);
  }

  // ---- the connection's events ----

  private connected(l: number, replyTopic: string, discovered: boolean): void {
    // R-MQTT.21: ResponseTopicDiscovered holds the topic the CONNACK gave (Response Information,
    // or a broker-assigned subscribe-topic), and nothing once a CONNACK gave none.
    // STOMP: DestinationFromServer holds CONNECTED's subscribe-dest (R-STOMP.6).
    const v = this.table.view(l);
    const discoveredTopic = discovered ? replyTopic : '';
    const param = this.init.mtp === 'stomp' ? 'Device.LocalAgent.MTP.1.STOMP.DestinationFromServer' : this.init.mtp === 'mqtt' ? 'Device.LocalAgent.MTP.1.MQTT.ResponseTopicDiscovered' : undefined;
    if (param !== undefined && v.get(param) !== discoveredTopic && v.deviceSet(param, discoveredTopic)) this.table.keep(l, v);
    // The MTP's Connect Record comes before any other Record on a connection (R-MTP.6).
    this.publish(l, this.connectRecordOf(l, replyTopic));
    // Notifies that waited for the connection go out again now.
    this.notifier.resend(l);
    // TR-369 R-NOT.5: OnBoardRequest until a controller has acknowledged one (first start, after a reset).
    if (!(this.flags[l]! & Flag.Onboarded) && !this.notifier.onBoardPending(l)) this.onBoardRequest(l);
    if (this.flags[l]! & Flag.BootPending) {
      this.flags[l]! &= ~Flag.BootPending;
      this.sendBoot(l);
      this.commands.booted(l);
      this.schedulePeriodic(l);
    }
    // Changes made while the connection was down (a CWMP write, the device) were not looked
    // for then (recheck skips an agent that is down, so its baseline kept the old values):
    // look now, so they are notified on the reconnect rather than at the next full scan.
    this.recheck(l);
    this.opts.connectionChanged(l, true);
  }

  private connectRecordOf(l: number, replyTopic: string): Uint8Array {
    switch (this.init.mtp) {
      case 'mqtt':
        return connectRecord(this.ends(l), this.init.protocolVersion === 5 ? 'V5' : 'V3_1_1', replyTopic);
      case 'websocket':
        return websocketConnectRecord(this.ends(l));
      case 'stomp':
        return stompConnectRecord(this.ends(l), replyTopic);
    }
  }

  private disconnected(l: number, reason: string): void {
    this.opts.connectionChanged(l, false);
    this.table.log('debug', 'USP MQTT connection down', { cpe: this.table.lo + l, reason });
  }

  // ---- scheduled work ----

  /** Bytes of the per-CPE arrays (flags and the agents' connection state). */
  heldBytes(): number {
    return this.flags.byteLength + this.connections.byteLength;
  }

  fire(l: number, kind: UspTimer, at: number): void {
    if (this.stopping) return;
    switch (kind) {
      case TimerKind.UspConnect:
        this.connections.reconnectDue(l, at);
        return;
      case TimerKind.UspNotifyRetry:
        this.notifier.retry(l);
        return;
      case TimerKind.UspPeriodic:
        if (wholeMs(this.periodicAt.get(l) ?? NaN) !== at) return;
        this.notifier.event(l, 'Device.LocalAgent.', 'Periodic!', {});
        this.schedulePeriodic(l);
        return;
      case TimerKind.UspScan:
        this.scan();
        return;
      case TimerKind.UspKeepAlive:
        this.connections.keepAliveDue(l, at);
        return;
      default: {
        const never: never = kind;
        throw new Error(`not a USP timer: ${String(never)}`);
      }
    }
  }

  /**
   * A slice of the agents with subscriptions each time, so a large fleet's scan never
   * holds the shard's thread for long; every agent is visited once per SCAN_MS.
   * Generator-driven values each pass; a full look (device-made changes) every minute.
   */
  private scan(): void {
    const slice = this.scanSlice % SCAN_SLICES;
    const full = Math.floor(this.scanSlice / SCAN_SLICES) % FULL_SCAN_EVERY === 0;
    this.scanSlice++;
    this.table.schedule(this.table.clock.now() + SCAN_MS / SCAN_SLICES, 0, TimerKind.UspScan);
    for (const a of [...this.subs.agents()]) {
      if (a % SCAN_SLICES !== slice) continue;
      try {
        this.expire(a);
        if (this.connections.isUp(a)) this.recheck(a, !full);
      } catch (e) {
        // One agent's bad subscription must not stop the scan for the others.
        this.table.log('warn', 'USP subscription check failed', { cpe: this.table.lo + a, error: (e as Error).message });
      }
    }
  }

  /** Periodic!: every Controller.PeriodicNotifInterval, on PeriodicNotifTime's phase. */
  private schedulePeriodic(l: number): void {
    if (this.subs.matching(l, 'Event', 'Device.LocalAgent.Periodic!', CONTROLLER_REF).length === 0) {
      this.periodicAt.delete(l);
      return;
    }
    const v = this.table.view(l);
    const interval = (Number(v.get(`${CONTROLLER_REF}.PeriodicNotifInterval`)) || 86400) * 1000;
    const anchor = absoluteTime(v.get(`${CONTROLLER_REF}.PeriodicNotifTime`));
    const now = this.table.clock.now();
    // No phase given: the first one an interval after the agent started sending them.
    const at = anchor !== undefined ? nextOnPhase(anchor, interval, now) : now + interval;
    this.periodicAt.set(l, at);
    this.table.schedule(at, l, TimerKind.UspPeriodic);
  }

  // ---- receiving ----

  private received(l: number, payload: Uint8Array, replyTo: string | undefined): void {
    const started = performance.now();
    const r = receive(l, payload, replyTo, this.inbound, this.recent);
    const seconds = () => (performance.now() - started) / 1000;
    switch (r.kind) {
      case 'dropped':
        this.dropped(l, r.reason, r.from);
        return;
      case 'notify-answered':
        if (this.notifier.answered(l, r.msgId)) this.flags[l]! |= Flag.Onboarded;
        return;
      case 'refused':
        this.connections.publish(l, r.to, r.bytes, this.qos(r.view));
        publishUspRequest({ msgType: 'ERROR', result: 'error', seconds: seconds(), errCode: r.errCode });
        return;
      case 'duplicate':
        this.dropped(l, 'duplicate', r.from);
        if (r.again) this.connections.publish(l, r.to, r.again, this.qos(r.view));
        return;
      case 'served':
        break;
    }
    this.table.keep(l, r.view);
    const { served } = r;
    // A write is stored before the controller hears it succeeded (docs/persistence.md "Durability").
    if (this.table.persisting && (served.written.length > 0 || served.subsTouched || served.rowsChanged)) void this.table.durable(l).then(() => this.answer(l, r, seconds));
    else this.answer(l, r, seconds);
  }

  private answer(l: number, r: Extract<Inbound, { kind: 'served' }>, seconds: () => number): void {
    const { served, view, msg, request, to } = r;
    // Everything below runs inside mqtt.js's socket read: a bug must cost this request, not the shard.
    try {
      const out = served.result;
      if (served.bytes) this.connections.publish(l, to, served.bytes, this.qos(view));
      publishUspRequest({
        msgType: msg.header.msg_type,
        result: out.kind === 'response' ? 'success' : 'error',
        seconds: seconds(),
        ...(out.kind === 'error' ? { errCode: out.error.err_code } : {}),
      });
      this.effects(l, served.written, served.subsTouched, served.rowsChanged || request.req_type === 'operate');
    } catch (e) {
      this.table.log('warn', 'internal error after a USP request', { cpe: this.table.lo + l, type: msg.header.msg_type, error: (e as Error).message });
    }
  }

  /** What a served request changes besides its answer; rowsChanged: Request rows may have come or gone. */
  private effects(l: number, written: string[], subsTouched: boolean, rowsChanged: boolean): void {
    if (written.length > 0) this.opts.afterWrite(l, written);
    if (subsTouched || written.some((p) => p.startsWith(`${CONTROLLER_REF}.PeriodicNotif`))) {
      this.subs.reload(l, this.table.view(l), CONTROLLER_REF);
      this.schedulePeriodic(l);
    }
    if (written.length > 0 || rowsChanged) this.recheck(l);
    // What a command deferred (a reboot must not beat its OperateResp) runs now.
    this.commands.flush(l);
  }

  /** Counted always; logged at debug level, since a drop otherwise looks like a timeout to the controller. */
  private dropped(l: number, reason: Parameters<typeof publishUspDrop>[0]['reason'], from: string | undefined): void {
    publishUspDrop({ reason });
    this.table.log('debug', 'USP record dropped', { cpe: this.table.lo + l, reason, ...(from !== undefined ? { from, expected: this.controllerId(this.table.view(l)) } : {}) });
  }

  // ---- notifying ----

  /** TR-181 Subscription.{i}.TimeToLive: a row lives that many seconds after its CreationDate. */
  private expire(l: number): void {
    const now = this.table.clock.now();
    const dead = this.subs.subscriptions(l).filter((s) => s.timeToLive > 0 && Number.isFinite(s.created) && s.created + s.timeToLive * 1000 <= now);
    if (dead.length === 0) return;
    const v = this.table.view(l);
    for (const s of dead) v.deviceDeleteRow(s.path);
    this.table.keep(l, v);
    this.subs.reload(l, this.table.view(l), CONTROLLER_REF);
    this.schedulePeriodic(l);
  }

  /** Look for changes now (after any write, USP or CWMP) and notify subscribers. */
  recheck(l: number, movingOnly = false): void {
    if (!this.subs.has(l) || !this.connections.isUp(l)) return;
    const v = this.table.view(l);
    for (const d of this.subs.detect(l, v, movingOnly)) {
      switch (d.kind) {
        case 'ValueChange':
          this.notifier.toSubscriber(l, d.sub, 'ValueChange', { value_change: { param_path: d.path, param_value: d.value } });
          break;
        case 'ObjectCreation':
          this.notifier.toSubscriber(l, d.sub, 'ObjectCreation', { obj_creation: { obj_path: d.path, unique_keys: d.uniqueKeys } });
          break;
        case 'ObjectDeletion':
          this.notifier.toSubscriber(l, d.sub, 'ObjectDeletion', { obj_deletion: { obj_path: d.path } });
          break;
      }
    }
  }

  /** Boot! to Event subscribers of Device.Boot!. */
  private sendBoot(l: number): void {
    const info = this.bootInfo.get(l);
    this.bootInfo.delete(l);
    this.notifier.event(l, 'Device.', 'Boot!', {
      CommandKey: info?.commandKey ?? '',
      Cause: info?.cause ?? 'LocalReboot',
      FirmwareUpdated: this.newFirmware.delete(l) ? 'true' : 'false',
      ParameterMap: bootParameterMap(this.table.view(l), CONTROLLER_REF),
    });
  }

  /** OnBoardRequest with this agent's identity (the CWMP Inform's DeviceId). */
  onBoardRequest(l: number): void {
    this.notifier.onBoardRequest(l, this.table.env.identity(this.table.lo + l));
  }

  pendingNotifies(l: number): number {
    return this.notifier.pendingCount(l);
  }

  private publish(l: number, bytes: Uint8Array): void {
    const v = this.table.view(l);
    this.connections.publish(l, this.controllerTopic(l, v), bytes, this.qos(v));
  }
}
