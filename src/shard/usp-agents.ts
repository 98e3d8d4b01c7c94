// Every CPE of a shard as a USP agent (TR-369, docs/usp-behaviour.md) over its own MQTT
// connection: connect along the boot ramp, announce with an MQTTConnect Record, OnBoardRequest
// on first start, Boot! on every start, answer requests, notify subscribers, reconnect
// with the MQTT client's backoff. Per-agent state is typed arrays plus sparse maps for
// what only some agents have (pending notifies, async commands, subscriptions).
import { retryDelayMs } from '../cwmp/backoff.js';
import type { UspInit } from '../coordinator/messages.js';
import type { CpeView } from '../datamodel/view.js';
import type { Clock } from '../scheduler/clock.js';
import { UspCommands, type BootCause, type CommandsHost } from '../usp/commands.js';
import { publishUspDrop, publishUspRequest } from '../usp/diagnostics.js';
import { MqttMtp } from '../usp/mtp/mqtt.js';
import { bootParameterMap, UspNotifier } from '../usp/notifier.js';
import { classify, connectRecord, disconnectRecord, errorRecord, type Ends } from '../usp/records.js';
import { DuplicateFilter, serveRequest } from '../usp/serve.js';
import { SubscriptionWatch } from '../usp/subscriptions.js';
import { uniqueKeysOfRow } from '../usp/paths-glue.js';
import type { FleetEnv } from './fleet-env.js';

/** Scheduler kinds the agents use; the shard routes them here. */
export const UspKind = { Connect: 9, NotifyRetry: 10, Periodic: 11, Scan: 12 } as const;

/** How often agents with subscriptions are checked for changes (TR-369 R-NOT.0a: within 10 s). */
const SCAN_MS = 5000;
/** The scan visits the agents with subscriptions in this many slices per SCAN_MS. */
const SCAN_SLICES = 10;
/** Every this many scans, a full re-expansion of the reference lists. */
const FULL_SCAN_EVERY = 12;

export const MQTT_STATES = ['disconnected', 'connecting', 'connected', 'backoff'] as const;
const enum Conn {
  Off = 0,
  Connecting = 1,
  Up = 2,
  Backoff = 3,
}

const enum Flag {
  Onboarded = 1,
  /** Boot! not yet sent since the last power-on. */
  BootPending = 2,
}


export interface UspAgentsHost {
  clock: Clock;
  env: FleetEnv;
  schedule(at: number, l: number, kind: number): void;
  view(l: number): CpeView;
  keep(l: number, view: CpeView): void;
  /** Go dark and boot again; `why` is the Boot! Cause and CommandKey a USP command gives. */
  powerCycle(l: number, factoryReset: boolean, why?: { cause: BootCause; commandKey: string }): void;
  /** True when this boot runs an image other than the last boot's (peek; the shard consumes it). */
  firmwareChanged(l: number): boolean;
  /** A write over USP landed: ManagementServer settings and CWMP notification baselines follow. */
  afterWrite(l: number, paths: string[]): void;
  /** USP-only fleets: the agent's lifecycle follows its MQTT connection. */
  connectionChanged(l: number, up: boolean): void;
  commands: Pick<CommandsHost, 'firmware' | 'transfer' | 'poweredOn'>;
  log(level: 'info' | 'warn' | 'debug', msg: string, extra?: Record<string, unknown>): void;
}

export class UspAgents {
  private readonly conn: Uint8Array;
  private readonly retries: Uint8Array;
  private readonly connectAt: Float64Array;
  private readonly flags: Uint8Array;
  private readonly counts = [0, 0, 0, 0];
  private readonly mtps = new Map<number, MqttMtp>();
  private readonly recent = new DuplicateFilter();
  private readonly periodicAt = new Map<number, number>();
  private readonly bootInfo = new Map<number, { cause: BootCause; commandKey: string }>();
  /** Agents whose current boot runs a new firmware image (Boot! FirmwareUpdated). */
  private readonly newFirmware = new Set<number>();
  readonly subs: SubscriptionWatch;
  readonly commands: UspCommands;
  private readonly notifier: UspNotifier;
  private scanSlice = 0;
  private stopping = false;

  constructor(
    private readonly init: UspInit,
    readonly lo: number,
    readonly size: number,
    private readonly host: UspAgentsHost,
  ) {
    this.conn = new Uint8Array(size);
    this.counts[Conn.Off] = size;
    this.retries = new Uint8Array(size);
    this.connectAt = new Float64Array(size);
    this.flags = new Uint8Array(size);
    this.subs = new SubscriptionWatch(uniqueKeysOfRow);
    this.notifier = new UspNotifier({
      clock: host.clock,
      view: (l) => host.view(l),
      ends: (l) => this.ends(l),
      index: (l) => this.lo + l,
      publish: (l, bytes) => this.publish(l, bytes),
      connected: (l) => this.conn[l] === Conn.Up,
      wakeAt: (at, l) => host.schedule(at, l, UspKind.NotifyRetry),
      subs: this.subs,
      controllerRef: this.controllerRef,
    });
    this.commands = new UspCommands({
      ...host.commands,
      clock: host.clock,
      view: (l) => host.view(l),
      keep: (l, v) => host.keep(l, v),
      reboot: (l, factoryReset, cause, commandKey) => this.reboot(l, factoryReset, cause, commandKey),
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
    this.host.schedule(startAt + SCAN_MS / SCAN_SLICES, 0, UspKind.Scan);
  }

  // ---- identity ----

  endpointId(l: number): string {
    return this.host.env.endpointId(this.lo + l);
  }

  private ends(l: number): Ends {
    return { agent: this.endpointId(l), controller: this.controllerId(this.host.view(l)) };
  }

  /** Controller.1.EndpointID (--usp-controller-id by default): a controller may move it. */
  private controllerId(view: CpeView): string {
    return view.get(`${this.controllerRef}.EndpointID`) || this.init.controllerId;
  }

  /** The controller's row the agent writes as Recipient / Originator. */
  readonly controllerRef = 'Device.LocalAgent.Controller.1';

  private controllerTopic(l: number, view: CpeView = this.host.view(l)): string {
    return view.get(`${this.controllerRef}.MTP.1.MQTT.Topic`) || this.init.controllerTopic;
  }

  /** LocalAgent.MTP.1.MQTT.PublishQoS (obuspa publishes at 0 by default). */
  private qos(view: CpeView): 0 | 1 | 2 {
    const q = Number(view.get('Device.LocalAgent.MTP.1.MQTT.PublishQoS'));
    return q === 1 || q === 2 ? q : 0;
  }

  connectionState(l: number): string {
    return MQTT_STATES[this.conn[l]!]!;
  }

  connectionCounts(): Record<string, number> {
    const out: Record<string, number> = {};
    MQTT_STATES.forEach((s, i) => (out[s] = this.counts[i]!));
    return out;
  }

  private setConn(l: number, to: Conn): void {
    this.counts[this.conn[l]!]!--;
    this.counts[to]!++;
    this.conn[l] = to;
  }

  // ---- power ----

  /** Boot: connect (the shard calls this along the boot ramp). */
  powerOn(l: number): void {
    this.flags[l]! |= Flag.BootPending;
    this.retries[l] = 0;
    if (this.host.firmwareChanged(l)) this.newFirmware.add(l);
    else this.newFirmware.delete(l);
    this.subs.reload(l, this.host.view(l), this.controllerRef);
    this.connect(l);
  }

  /** Going dark (reboot, reset, firmware): say goodbye, drop the connection. */
  powerOff(l: number, factoryReset: boolean, cause: BootCause, commandKey: string): void {
    this.bootInfo.set(l, { cause, commandKey });
    this.connectAt[l] = 0;
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
    this.disconnect(l, factoryReset ? 'factory reset' : 'reboot');
  }

  /** TR-181 Subscription.{i}.Persistent: only persistent subscriptions survive a restart. */
  private dropVolatileSubscriptions(l: number): void {
    const v = this.host.view(l);
    let dropped = false;
    for (const s of this.subs.subscriptions(l)) {
      if (!s.persistent && v.deviceDeleteRow(s.path)) dropped = true;
    }
    if (dropped) this.host.keep(l, v);
    this.subs.forget(l);
  }

  private reboot(l: number, factoryReset: boolean, cause: BootCause, commandKey: string): void {
    this.host.powerCycle(l, factoryReset, { cause, commandKey });
  }

  // ---- the connection ----

  private connect(l: number): void {
    if (this.stopping) return;
    const old = this.mtps.get(l);
    if (old && (old.state === 'connecting' || old.state === 'up')) return;
    // Each attempt reads the MQTT settings the tree holds now (a controller may have
    // changed ClientID, KeepAliveTime or ResponseTopicConfigured since the last one).
    const index = this.lo + l;
    const v = this.host.view(l);
    const mtp: MqttMtp = new MqttMtp(
      {
        url: this.init.brokerUrl,
        protocolVersion: this.init.protocolVersion,
        clientId: v.get('Device.MQTT.Client.1.ClientID') || this.endpointId(l),
        endpointId: this.endpointId(l),
        ...this.host.env.mqttCredentials(index),
        ...(this.init.ca ? { ca: this.init.ca } : {}),
        keepaliveSec: Number(v.get('Device.MQTT.Client.1.KeepAliveTime')) || 60,
        subscribeTopic: v.get('Device.LocalAgent.MTP.1.MQTT.ResponseTopicConfigured') || this.host.env.agentTopic(index),
        // mqtt.js's default: a broker busy with a connect storm answers late, not never.
        connectTimeoutMs: 30_000,
      },
      {
        // Only the current connection of an agent speaks for it.
        onUp: (info) => this.mtps.get(l) === mtp && this.up(l, info.replyTopic, info.discovered),
        onDown: (reason) => this.mtps.get(l) === mtp && this.down(l, reason),
        onRecord: (payload, replyTo) => this.mtps.get(l) === mtp && this.received(l, payload, replyTo),
      },
    );
    this.mtps.set(l, mtp);
    this.setConn(l, Conn.Connecting);
    mtp.connect();
  }

  private disconnect(l: number, reason: string): void {
    const mtp = this.mtps.get(l);
    this.mtps.delete(l);
    if (this.conn[l] !== Conn.Off) this.setConn(l, Conn.Off);
    if (!mtp) return;
    const final = mtp.state === 'up' ? { topic: this.controllerTopic(l), payload: disconnectRecord(this.ends(l), reason) } : undefined;
    void mtp.close(final).catch(() => undefined);
  }

  private up(l: number, replyTopic: string, discovered: boolean): void {
    if (!this.mtps.has(l)) return;
    this.setConn(l, Conn.Up);
    this.retries[l] = 0;
    // R-MQTT.21: ResponseTopicDiscovered holds the CONNACK's Response Information, when there is one.
    if (discovered) {
      const v = this.host.view(l);
      if (v.deviceSet('Device.LocalAgent.MTP.1.MQTT.ResponseTopicDiscovered', replyTopic)) this.host.keep(l, v);
    }
    const ends = this.ends(l);
    // MQTT binding: the MQTTConnect Record comes before any other Record on a connection.
    this.publish(l, connectRecord(ends, this.init.protocolVersion === 5 ? 'V5' : 'V3_1_1', replyTopic));
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
    this.host.connectionChanged(l, true);
  }

  private down(l: number, reason: string): void {
    if (!this.mtps.has(l) || this.stopping) return;
    this.host.connectionChanged(l, false);
    this.host.log('debug', 'USP MQTT connection down', { cpe: this.lo + l, reason });
    // TR-181 MQTT.Client: ConnectRetryTime, ConnectRetryIntervalMultiplier, ConnectRetryMaxInterval.
    const v = this.host.view(l);
    const m = Number(v.get('Device.MQTT.Client.1.ConnectRetryTime')) || 5;
    const k = Number(v.get('Device.MQTT.Client.1.ConnectRetryIntervalMultiplier')) || 2000;
    const max = (Number(v.get('Device.MQTT.Client.1.ConnectRetryMaxInterval')) || 30720) * 1000;
    this.retries[l] = Math.min(255, this.retries[l]! + 1);
    const at = this.host.clock.now() + Math.min(max, retryDelayMs(this.retries[l]!, Math.random(), m, k));
    this.connectAt[l] = at;
    this.setConn(l, Conn.Backoff);
    this.host.schedule(at, l, UspKind.Connect);
  }

  // ---- scheduled work ----

  fire(l: number, kind: number, at: number): void {
    if (this.stopping) return;
    switch (kind) {
      case UspKind.Connect:
        if (this.connectAt[l] !== at || !this.mtps.has(l)) return;
        this.connectAt[l] = 0;
        this.connect(l);
        return;
      case UspKind.NotifyRetry:
        this.notifier.retry(l);
        return;
      case UspKind.Periodic:
        if (this.periodicAt.get(l) !== at) return;
        this.notifier.event(l, 'Device.LocalAgent.', 'Periodic!', {});
        this.schedulePeriodic(l);
        return;
      case UspKind.Scan: {
        // A slice of the agents with subscriptions each time, so a large fleet's scan never
        // holds the shard's thread for long; every agent is visited once per SCAN_MS.
        const slice = this.scanSlice % SCAN_SLICES;
        // Generator-driven values each pass; a full look (device-made changes) every minute.
        const full = Math.floor(this.scanSlice / SCAN_SLICES) % FULL_SCAN_EVERY === 0;
        this.scanSlice++;
        this.host.schedule(this.host.clock.now() + SCAN_MS / SCAN_SLICES, 0, UspKind.Scan);
        for (const a of [...this.subs.agents()]) {
          if (a % SCAN_SLICES !== slice) continue;
          try {
            this.expire(a);
            if (this.conn[a] === Conn.Up) this.recheck(a, !full);
          } catch (e) {
            // One agent's bad subscription must not stop the scan for the others.
            this.host.log('warn', 'USP subscription check failed', { cpe: this.lo + a, error: (e as Error).message });
          }
        }
        return;
      }
    }
  }

  /** Device.LocalAgent.Periodic!: every Controller.PeriodicNotifInterval, phased on PeriodicNotifTime. */
  private schedulePeriodic(l: number): void {
    if (this.subs.matching(l, 'Event', 'Device.LocalAgent.Periodic!', this.controllerRef).length === 0) {
      this.periodicAt.delete(l);
      return;
    }
    const v = this.host.view(l);
    const interval = (Number(v.get(`${this.controllerRef}.PeriodicNotifInterval`)) || 86400) * 1000;
    const phase = Date.parse(v.get(`${this.controllerRef}.PeriodicNotifTime`) ?? '');
    const now = this.host.clock.now();
    let at: number;
    if (Number.isFinite(phase) && phase > Date.parse('1970-01-02T00:00:00Z')) {
      at = phase + Math.ceil((now + 1 - phase) / interval) * interval;
    } else {
      at = now + interval;
    }
    this.periodicAt.set(l, at);
    this.host.schedule(at, l, UspKind.Periodic);
  }

  // ---- receiving ----

  private received(l: number, payload: Uint8Array, replyTo: string | undefined): void {
    const started = performance.now();
    const self = this.endpointId(l);
    const inc = classify(payload, self);
    if (inc.kind === 'drop') {
      this.dropped(l, inc.reason, undefined);
      return;
    }
    // Only the configured controller is answered (its Endpoint ID is in Controller.1).
    // One view serves the whole request: the checks, the handler and the answer's topic.
    const view = this.host.view(l);
    const controller = this.controllerId(view);
    if (inc.from !== controller) {
      this.dropped(l, 'unknown-controller', inc.from);
      return;
    }
    const ends: Ends = { agent: self, controller };
    const to = replyTo ?? this.controllerTopic(l, view);
    switch (inc.kind) {
      case 'notify-resp':
      case 'notify-error':
        if (this.notifier.answered(l, inc.msgId)) this.flags[l]! |= Flag.Onboarded;
        return;
      case 'bad-request': {
        this.publishTo(l, to, errorRecord(ends, inc.msgId, inc.error), this.qos(view));
        publishUspRequest({ msgType: 'ERROR', result: 'error', seconds: (performance.now() - started) / 1000, errCode: inc.error.err_code });
        return;
      }
      case 'request':
        break;
    }
    const dup = this.recent.seen(l, inc.msgId, this.host.clock.now());
    if (dup) {
      // Not run again; the first answer is sent again (a controller that re-sends after
      // losing it, or reuses msg_ids, still gets one). An answer too big to keep is not.
      this.dropped(l, 'duplicate', inc.from);
      if (dup !== true) this.publishTo(l, to, dup, this.qos(view));
      return;
    }
    const ctx = { view, controllerId: inc.from, controllerRef: this.controllerRef, now: this.host.clock.now(), commands: this.commands.hostFor(l, this.controllerRef) };
    const served = serveRequest(inc.request, inc.msgId, ends, ctx, (e) =>
      this.host.log('warn', 'internal error serving a USP request', { cpe: this.lo + l, type: inc.msg.header.msg_type, error: e.message }),
    );
    this.host.keep(l, view);
    if (served.bytes) this.recent.answered(l, inc.msgId, served.bytes);
    // Everything below runs inside mqtt.js's socket read: a bug must cost this request, not the shard.
    try {
      const out = served.result;
      if (served.bytes) this.publishTo(l, to, served.bytes, this.qos(view));
      publishUspRequest({
        msgType: inc.msg.header.msg_type,
        result: out.kind === 'response' ? 'success' : 'error',
        seconds: (performance.now() - started) / 1000,
        ...(out.kind === 'error' ? { errCode: out.error.err_code } : {}),
      });
      const { written } = served;
      if (written.length > 0) this.host.afterWrite(l, written);
      if (served.subsTouched || written.some((p) => p.startsWith(`${this.controllerRef}.PeriodicNotif`))) {
        this.subs.reload(l, this.host.view(l), this.controllerRef);
        this.schedulePeriodic(l);
      }
      // Operate may add or end Device.LocalAgent.Request rows.
      if (written.length > 0 || served.rowsChanged || inc.request.req_type === 'operate') this.recheck(l);
      this.commands.flush(l);
    } catch (e) {
      this.host.log('warn', 'internal error after a USP request', { cpe: this.lo + l, type: inc.msg.header.msg_type, error: (e as Error).message });
    }
  }

  /** Counted always; logged at debug level, since a drop otherwise looks like a timeout to the controller. */
  private dropped(l: number, reason: Parameters<typeof publishUspDrop>[0]['reason'], from: string | undefined): void {
    publishUspDrop({ reason });
    this.host.log('debug', 'USP record dropped', { cpe: this.lo + l, reason, ...(from !== undefined ? { from, expected: this.controllerId(this.host.view(l)) } : {}) });
  }

  // ---- notifying ----

  /** Subscription.{i}.TimeToLive: a subscription row lives that many seconds after its CreationDate. */
  private expire(l: number): void {
    const now = this.host.clock.now();
    const dead = this.subs.subscriptions(l).filter((s) => s.timeToLive > 0 && Number.isFinite(s.created) && s.created + s.timeToLive * 1000 <= now);
    if (dead.length === 0) return;
    const v = this.host.view(l);
    for (const s of dead) v.deviceDeleteRow(s.path);
    this.host.keep(l, v);
    this.subs.reload(l, this.host.view(l), this.controllerRef);
    this.schedulePeriodic(l);
  }

  /** Look for changes now (after any write, USP or CWMP) and notify subscribers. */
  recheck(l: number, movingOnly = false): void {
    if (!this.subs.has(l) || this.conn[l] !== Conn.Up) return;
    const v = this.host.view(l);
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

  /** Boot! to Event subscribers of Device.Boot! (TR-181 Device.Boot!; docs/usp-behaviour.md). */
  private sendBoot(l: number): void {
    const info = this.bootInfo.get(l);
    this.bootInfo.delete(l);
    this.notifier.event(l, 'Device.', 'Boot!', {
      CommandKey: info?.commandKey ?? '',
      Cause: info?.cause ?? 'LocalReboot',
      FirmwareUpdated: this.newFirmware.delete(l) ? 'true' : 'false',
      ParameterMap: bootParameterMap(this.host.view(l), this.controllerRef),
    });
  }

  /** OnBoardRequest with this agent's identity (the CWMP Inform's DeviceId). */
  onBoardRequest(l: number): void {
    this.notifier.onBoardRequest(l, this.host.env.identity(this.lo + l));
  }

  pendingNotifies(l: number): number {
    return this.notifier.pendingCount(l);
  }

  // ---- sending ----

  private publish(l: number, bytes: Uint8Array): void {
    const v = this.host.view(l);
    this.publishTo(l, this.controllerTopic(l, v), bytes, this.qos(v));
  }

  private publishTo(l: number, topic: string, bytes: Uint8Array, qos: 0 | 1 | 2): void {
    const mtp = this.mtps.get(l);
    if (!mtp || mtp.state !== 'up') return;
    // A publish that loses its connection is lost like on a real device: the Notify
    // retry (send_resp) or the controller's own timeout covers it.
    mtp.publish(topic, bytes, qos).catch(() => undefined);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    const closing: Array<Promise<void>> = [];
    for (const [l, mtp] of this.mtps) {
      const final = mtp.state === 'up' ? { topic: this.controllerTopic(l), payload: disconnectRecord(this.ends(l), 'shutdown') } : undefined;
      closing.push(mtp.close(final).catch(() => undefined));
    }
    this.mtps.clear();
    await Promise.all(closing);
  }
}
