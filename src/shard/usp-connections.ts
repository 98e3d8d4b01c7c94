// The USP agents' MQTT connections, one per agent (TR-369 MQTT binding): connect along
// the boot ramp, up, down, reconnect after a backoff in the TR-181
// Device.MQTT.Client.{i}.ConnectRetry* windows (docs/usp-behaviour.md "Reconnecting"), and
// the count of agents per state. Per
// agent it keeps a state byte, a retry count and the due time of its reconnect; the one
// object an idle agent holds is its connection.
import { retryDelayMs } from '../scheduler/backoff.js';
import { type MqttConnectionState, type UspInit, USP_MTP_NAMES } from '../threads/messages.js';
import type { AgentLink, LinkEvents, LinkUpInfo } from '../usp/mtp/link.js';
import { MQTT_MAX_PACKET_BYTES, MqttMtp } from '../usp/mtp/mqtt.js';
import { StompMtp } from '../usp/mtp/stomp.js';
import { WsMtp } from '../usp/mtp/websocket.js';
import { WsAgentServer, type WsServerLink } from '../usp/mtp/ws-server.js';
import { publishUspConnectionFailure, type MqttFailCause } from '../usp/diagnostics.js';
import { FailureLog } from './failure-log.js';
import type { CpeTable } from './table.js';
import { TimerKind } from './timer-kind.js';
import { Conn, ConnStates } from './conn-states.js';
import { DueTimes } from '../scheduler/times.js';

/** The controller's MTP row the agents connect with. */
const CONTROLLER_MTP = 'Device.LocalAgent.Controller.1.MTP.1';

/** `value`, or `fallback` when empty or equal to it (one string kept per agent, not two equal ones). */
const sameOr = (value: string, fallback: string): string => (value === '' || value === fallback ? fallback : value);

/** How long a connection a reset link fault picked stays up before it is cut. */
const CUT_AFTER_UP_MS = 100;

/** What the USP side hears of an agent's connection; only its current connection speaks for it. */
export interface ConnectionEvents {
  /** Connected and subscribed; replyTopic is the agent's own topic (discovered: from the v5 CONNACK). */
  up(l: number, replyTopic: string, discovered: boolean): void;
  /** Lost or failed; a reconnect is planned. */
  down(l: number, reason: string): void;
  record(l: number, payload: Uint8Array, replyTo: string | undefined): void;
  /** The goodbye Record a connection that is up sends before it closes. */
  goodbye(l: number, reason: string): { topic: string; payload: Uint8Array };
}

export class UspConnections {
  private readonly states: ConnStates;
  private readonly retries: Uint8Array;
  /** Epoch ms of the planned reconnect; 0 when none (a stale timer entry is ignored). */
  private readonly connectAt: DueTimes;
  /** @internal (LinkSink) */
  readonly mtps = new Map<number, AgentLink>();
  private stopping = false;
  /** The shard's clock, shared by every connection's keepalive. */
  private readonly now: () => number;
  /** Failed attempts and lost connections by cause, with a rate-limited warning per cause. */
  readonly failures: FailureLog;
  /** --usp-ws-listen: this shard's listener, its agents WebSocket servers (no reconnect: the controller connects). */
  private readonly server: WsAgentServer | undefined;
  /** The listener's port once it listens (rejects if it cannot). */
  readonly serverPort: Promise<number> | undefined;
  /** Endpoint ID -> shard-local index, for the listener's paths (built on its first use). */
  private byEndpointId: Map<string, number> | undefined;

  constructor(
    private readonly init: UspInit,
    /** @internal (LinkSink) */
    readonly table: CpeTable,
    /** @internal (LinkSink) */
    readonly events: ConnectionEvents,
  ) {
    this.states = new ConnStates(table.size);
    this.retries = new Uint8Array(table.size);
    this.connectAt = new DueTimes(table.size, table.timeBase);
    this.now = () => table.clock.now();
    this.failures = new FailureLog((msg, extra) => table.log('warn', msg, extra), `USP ${USP_MTP_NAMES[init.mtp]} connection failed`);
    if (init.mtp === 'websocket' && init.wsListen) {
      const server = new WsAgentServer({
        agentOf: (eid) => this.agentOf(eid),
        refusal: (l) =>
          this.stopping || this.states.get(l) === Conn.Off
            ? { status: 503, error: 'the agent is powered off' }
            : this.states.get(l) === Conn.Up
              ? { status: 409, error: 'the agent has a WebSocket session already (TR-369 R-WS.4: at most one)' }
              : undefined,
        controllerId: (l) => table.view(l).get('Device.LocalAgent.Controller.1.EndpointID') || init.controllerId,
        keepAliveSec: (l) => Number(table.view(l).get('Device.LocalAgent.MTP.1.WebSocket.KeepAliveInterval')) || 0,
        accepted: (l, link) => this.accepted(l, link),
      });
      this.server = server;
      const port = init.wsListen.port === 0 ? 0 : init.wsListen.port + table.shardId;
      this.serverPort = server.listen(init.wsListen.host, port);
      this.serverPort.then(
        (p) => table.log('info', 'USP WebSocket listener up: the controller connects to each agent at /usp/<Endpoint ID>', { shard: table.shardId, host: init.wsListen!.host, port: p }),
        (e: Error) => table.log('warn', 'USP WebSocket listener failed', { shard: table.shardId, host: init.wsListen!.host, port, error: e.message }),
      );
    }
  }

  private agentOf(endpointId: string): number | undefined {
    if (this.byEndpointId === undefined) {
      this.byEndpointId = new Map();
      for (let l = 0; l < this.table.size; l++) this.byEndpointId.set(this.table.env.endpointId(this.table.lo + l), l);
    }
    return this.byEndpointId.get(endpointId);
  }

  /** A controller opened a session with agent l (agents as servers). */
  private accepted(l: number, link: WsServerLink): void {
    this.mtps.set(l, link);
    link.attach({
      onUp: () => undefined,
      onDown: (reason, cause) => {
        if (this.mtps.get(l) !== link) return;
        this.mtps.delete(l);
        this.down(l, reason, cause);
      },
      onRecord: (payload, replyTo) => this.mtps.get(l) === link && this.events.record(l, payload, replyTo),
    });
    this.up(l, '', false);
  }

  isUp(l: number): boolean {
    return this.states.get(l) === Conn.Up;
  }

  state(l: number): MqttConnectionState {
    return this.states.name(l);
  }

  countsByState(): Record<MqttConnectionState, number> {
    return this.states.countsByState();
  }


  /** One connection attempt (a fresh power-on starts with retry 0). */
  connect(l: number, fresh = false): void {
    if (fresh) this.retries[l] = 0;
    if (this.stopping) return;
    if (this.server) {
      // An agent that is a server waits for the controller: 'connecting' until it comes.
      if (this.states.get(l) === Conn.Off) this.states.set(l, Conn.Connecting);
      return;
    }
    const old = this.mtps.get(l);
    if (old && (old.state === 'connecting' || old.state === 'up')) return;
    const sink = new LinkSink(this, l);
    const mtp: AgentLink = this.makeLink(l, sink);
    sink.mtp = mtp;
    this.mtps.set(l, mtp);
    this.states.set(l, Conn.Connecting);
    // A fleet event's link fault (docs/usp-behaviour.md "Link faults"): a down link fails the
    // attempt at once (the reconnect backoff applies); latency delays the CONNECT; a reset
    // picks this connection to be cut shortly after it comes up.
    const fault = this.table.linkFault(l);
    if (fault?.down) {
      this.down(l, 'link down', 'link');
      return;
    }
    // The process's descriptor reserve (README "Descriptors"): no socket within it; the
    // attempt fails as after EMFILE and is retried in the backoff window.
    const refused = this.table.fdRefusal('mqtt');
    if (refused !== undefined) {
      this.down(l, refused, 'descriptors');
      return;
    }
    if (fault && fault.resetProbability > 0 && this.table.random() < fault.resetProbability) sink.cutAfterUp = true;
    const wait = fault ? fault.latencyMs + (fault.jitterMs > 0 ? this.table.random() * fault.jitterMs : 0) : 0;
    if (wait > 0) setTimeout(() => this.mtps.get(l) === mtp && mtp.state === 'idle' && mtp.connect(), wait);
    else mtp.connect();
  }

  /**
   * A connection of the fleet's MTP (--usp-mtp). Each attempt reads the settings the tree
   * holds now (a controller may have changed ClientID, KeepAliveTime, ResponseTopicConfigured
   * or the WebSocket KeepAliveInterval since the last one).
   */
  private makeLink(l: number, events: LinkEvents): AgentLink {
    const index = this.table.lo + l;
    const env = this.table.env;
    const v = this.table.view(l);
    const endpointId = env.endpointId(index);
    const tls = { ...(this.init.ca ? { ca: this.init.ca } : {}), ...(this.init.cert ? { cert: this.init.cert } : {}), ...(this.init.key ? { key: this.init.key } : {}) };
    switch (this.init.mtp) {
      case 'websocket':
        return new WsMtp(
          {
            url: this.init.brokerUrl,
            endpointId,
            ...tls,
            keepAliveSec: Number(v.get(`${CONTROLLER_MTP}.WebSocket.KeepAliveInterval`)) || 0,
            connectTimeoutMs: 30_000,
          },
          events,
        );
      case 'stomp': {
        const conn = 'Device.STOMP.Connection.1';
        const creds = env.mqttCredentials(index);
        const heartbeats = v.get(`${conn}.EnableHeartbeats`) !== 'false';
        return new StompMtp(
          {
            url: this.init.brokerUrl,
            endpointId,
            ...tls,
            virtualHost: v.get(`${conn}.VirtualHost`) || '/',
            login: creds.username,
            passcode: creds.password,
            destination: v.get('Device.LocalAgent.MTP.1.STOMP.Destination') || env.agentTopic(index),
            heartbeat: heartbeats ? [Number(v.get(`${conn}.OutgoingHeartbeat`)) || 0, Number(v.get(`${conn}.IncomingHeartbeat`)) || 0] : undefined,
            connectTimeoutMs: 30_000,
          },
          events,
        );
      }
      case 'mqtt':
        return new MqttMtp(
          {
            url: this.init.brokerUrl,
            protocolVersion: this.init.protocolVersion,
            clientId: sameOr(v.get('Device.MQTT.Client.1.ClientID') ?? '', endpointId),
            endpointId,
            ...env.mqttCredentials(index),
            ...tls,
            keepaliveSec: Number(v.get('Device.MQTT.Client.1.KeepAliveTime')) || 60,
            subscribeTopic: v.get('Device.LocalAgent.MTP.1.MQTT.ResponseTopicConfigured') || env.agentTopic(index),
            // A broker busy with a connect storm answers late, not never.
            connectTimeoutMs: 30_000,
            now: this.now,
          },
          events,
        );
    }
  }

  /** The agent's link is cut now (a link fault's down): the connection dies without a DISCONNECT and backs off. */
  cut(l: number, reason: string): void {
    this.mtps.get(l)?.cut(reason);
  }

  /**
   * Close the agent's connection (saying goodbye when it is up); no reconnect follows.
   * `abrupt` (a power cut): no goodbye, no DISCONNECT, the socket just dies.
   */
  disconnect(l: number, reason: string, abrupt = false): void {
    this.connectAt.set(l, 0);
    const mtp = this.mtps.get(l);
    this.mtps.delete(l);
    if (this.states.get(l) !== Conn.Off) this.states.set(l, Conn.Off);
    if (!mtp) return;
    if (abrupt) {
      mtp.abort();
      return;
    }
    const final = mtp.state === 'up' ? this.events.goodbye(l, reason) : undefined;
    void mtp.close(final).catch(() => undefined);
  }

  /** @internal (LinkSink) */
  up(l: number, replyTopic: string, discovered: boolean): void {
    this.states.set(l, Conn.Up);
    this.retries[l] = 0;
    this.events.up(l, replyTopic, discovered);
  }

  /** @internal (LinkSink) */
  down(l: number, reason: string, cause: MqttFailCause): void {
    if (this.stopping) return;
    this.failures.record(this.table.clock.now(), this.table.lo + l, cause, reason);
    publishUspConnectionFailure({ cause });
    this.events.down(l, reason);
    if (this.server) {
      // The controller's session ended: the agent waits for the next one, no backoff of its own.
      this.states.set(l, Conn.Connecting);
      return;
    }
    const v = this.table.view(l);
    const policy =
      this.init.mtp === 'stomp'
        ? // TR-369 R-STOMP.7: STOMP.Connection.{i}.ServerRetryInitialInterval, IntervalMultiplier, MaxInterval.
          {
            minWait: Number(v.get('Device.STOMP.Connection.1.ServerRetryInitialInterval')),
            multiplier: Number(v.get('Device.STOMP.Connection.1.ServerRetryIntervalMultiplier')),
            maxMs: (Number(v.get('Device.STOMP.Connection.1.ServerRetryMaxInterval')) || 30720) * 1000,
          }
        : this.init.mtp === 'websocket'
        ? // TR-369 R-WS.19: Controller.{i}.MTP.{i}.WebSocket.SessionRetryMinimumWaitInterval / IntervalMultiplier.
          {
            minWait: Number(v.get(`${CONTROLLER_MTP}.WebSocket.SessionRetryMinimumWaitInterval`)),
            multiplier: Number(v.get(`${CONTROLLER_MTP}.WebSocket.SessionRetryIntervalMultiplier`)),
          }
        : // TR-181 MQTT.Client: ConnectRetryTime, ConnectRetryIntervalMultiplier, ConnectRetryMaxInterval.
          {
            minWait: Number(v.get('Device.MQTT.Client.1.ConnectRetryTime')),
            multiplier: Number(v.get('Device.MQTT.Client.1.ConnectRetryIntervalMultiplier')),
            maxMs: (Number(v.get('Device.MQTT.Client.1.ConnectRetryMaxInterval')) || 30720) * 1000,
          };
    this.retries[l] = Math.min(255, this.retries[l]! + 1);
    const at = this.table.clock.now() + retryDelayMs(this.retries[l]!, policy, this.table.random);
    this.connectAt.set(l, at);
    this.states.set(l, Conn.Backoff);
    this.table.schedule(at, l, TimerKind.UspConnect);
  }

  /** Bytes of the per-CPE arrays. */
  get byteLength(): number {
    return this.states.byteLength + this.retries.byteLength + this.connectAt.byteLength;
  }

  /** The reconnect timer: a new attempt unless the plan changed (reboot, newer backoff). */
  reconnectDue(l: number, at: number): void {
    if (this.stopping || this.connectAt.get(l) !== at || !this.mtps.has(l)) return;
    this.connectAt.set(l, 0);
    this.connect(l);
  }

  /** The agent's MQTT keepalive check (TimerKind.UspKeepAlive); a stale one is ignored by the connection. */
  keepAliveDue(l: number, at: number): void {
    this.mtps.get(l)?.keepAliveDue?.(at);
  }

  /** The largest Record agent l may PUBLISH to `topic` (its connection's MQTT Maximum Packet Size, less the packet's own bytes). */
  maxRecordBytes(l: number, topic: string): number {
    return this.mtps.get(l)?.maxPayloadTo(topic) ?? MQTT_MAX_PACKET_BYTES;
  }

  /** PUBLISH when the agent is up; otherwise the Record is lost, as on a real device. */
  publish(l: number, topic: string, bytes: Uint8Array, qos: 0 | 1 | 2): void {
    const mtp = this.mtps.get(l);
    if (!mtp || mtp.state !== 'up') return;
    // A publish that loses its connection is lost like on a real device: the Notify
    // retry (send_resp) or the controller's own timeout covers it.
    const fault = this.table.linkFault(l);
    const wait = fault ? fault.latencyMs + (fault.jitterMs > 0 ? this.table.random() * fault.jitterMs : 0) : 0;
    if (wait > 0) setTimeout(() => mtp.state === 'up' && mtp.publish(topic, bytes, qos).catch(() => undefined), wait);
    else mtp.publish(topic, bytes, qos).catch(() => undefined);
  }

  /** Close every connection, with a goodbye from those that are up. */
  async stop(): Promise<void> {
    this.stopping = true;
    const closing: Array<Promise<void>> = [];
    for (const [l, mtp] of this.mtps) {
      const final = mtp.state === 'up' ? this.events.goodbye(l, 'shutdown') : undefined;
      closing.push(mtp.close(final).catch(() => undefined));
    }
    this.mtps.clear();
    await Promise.all(closing);
    await this.server?.close();
  }
}

/**
 * What one connection of agent l tells its owner: one small object per connection with its
 * methods on the prototype (not five closures and their context: ~400 bytes per agent at
 * 10,000+ agents). Only the agent's current connection speaks for it.
 */
class LinkSink implements LinkEvents {
  mtp: AgentLink | undefined;
  /** A fleet event's reset picked this connection: cut it shortly after it comes up. */
  cutAfterUp = false;

  constructor(
    private readonly owner: UspConnections,
    private readonly l: number,
  ) {}

  private current(): boolean {
    return this.mtp !== undefined && this.owner.mtps.get(this.l) === this.mtp;
  }

  onUp(info: LinkUpInfo): void {
    if (!this.current()) return;
    this.owner.up(this.l, info.replyTopic, info.discovered);
    if (this.cutAfterUp) setTimeout(cutLink, CUT_AFTER_UP_MS, this.mtp!);
  }

  onDown(reason: string, cause: MqttFailCause): void {
    if (this.current()) this.owner.down(this.l, reason, cause);
  }

  onRecord(payload: Uint8Array, replyTo: string | undefined): void {
    if (this.current()) this.owner.events.record(this.l, payload, replyTo);
  }

  onSocketClosed(): void {
    this.owner.table.fdReleased('mqtt');
  }

  /** MQTT keepalive checks go in the shard's scheduler, not a timer per connection. */
  keepAliveAt(at: number): void {
    this.owner.table.schedule(at, this.l, TimerKind.UspKeepAlive);
  }
}

function cutLink(mtp: AgentLink): void {
  mtp.cut('link reset');
}
