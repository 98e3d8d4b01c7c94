// The MQTT MTP of one simulated USP agent on a client of our own: one TCP/TLS socket per
// agent and nothing else that grows with the fleet (TR-369 "MQTT Binding"; MQTT 3.1.1 and
// MQTT 5; docs/usp-behaviour.md "The MQTT connection"). It does what the mqtt.js client it
// replaces did, packet for packet: CONNECT (v5: usp-endpoint-id user property,
// Request Response Information, Maximum Packet Size), CONNACK discovery (Response
// Information, subscribe-topic), SUBSCRIBE at QoS 1, PUBLISH with the reply-to (v5 Content
// Type and Response Topic, 3.1.1 topic suffix), QoS 1 and 2 both ways, PINGREQ at the
// keepalive interval, DISCONNECT on a clean stop.
//
// Why not mqtt.js: one mqtt.js client holds ~14 KB of heap (its stores, its Writable and
// the parser's BufferList, its options copied and defaulted, a keepalive manager and
// timers, listeners bound per client), against ~900 bytes for the net.Socket under it; a
// fleet of 20,000 agents spent nearly all of its heap there. Here:
// - packets are generated and decoded by mqtt-packet (the codec mqtt.js itself uses); we cut
//   the byte stream into whole packets and hand each to one parser per protocol version
//   shared by every connection of the thread, so a connection holds no parser, only the
//   bytes of a packet not yet complete;
// - the keepalive is a check in the shard's scheduler (LinkEvents.keepAliveAt): no timer
//   per connection while it is up (a standalone connection arms one of its own);
// - the socket's listeners are module-level functions that find their connection through
//   one symbol-keyed slot on the socket: an attempt allocates no closures.
// Backoff and reconnect (connect() is one attempt), the MQTTConnect / disconnect Records and
// decoding the payload are the caller's.
import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect, type SecureContext } from 'node:tls';
import { generate, parser as packetParser, type IConnackPacket, type IConnectPacket, type IDisconnectPacket, type IPublishPacket, type ISubackPacket, type Packet, type Parser } from 'mqtt-packet';

import type { MqttFailCause } from '../diagnostics.js';
import { causeOf } from './cause.js';
import type { AgentLink } from './link.js';
import {
  ACCEPTED_CONTENT_TYPES, MQTT_MAX_PACKET_BYTES, MqttMtpError, SUBACK_FAILURE, USP_CONTENT_TYPE, replyToOf, subscriptionPlan,
  topicWithReplyTo, userPropertyValues, type MqttMtpEvents, type MqttMtpOptions, type MqttMtpState, type ReplyTopicSource,
} from './mqtt-common.js';
import { secureContextOf } from './tls.js';

export {
  MQTT_MAX_PACKET_BYTES, MqttMtpError, USP_CONTENT_TYPE, filterMatches, replyToOf, subscriptionPlan, topicWithReplyTo,
  type MqttMtpEvents, type MqttMtpOptions, type MqttMtpState, type MqttMtpUpInfo, type ReplyTopicSource,
} from './mqtt-common.js';

/** MQTT 3.1.1 3.1 and MQTT 5 3.2.2.2: CONNACK return / reason codes, as mqtt.js words them. */
const REFUSALS: Readonly<Record<number, string>> = {
  1: 'Unacceptable protocol version', 2: 'Identifier rejected', 3: 'Server unavailable', 4: 'Bad username or password', 5: 'Not authorized',
  128: 'Unspecified error', 129: 'Malformed Packet', 130: 'Protocol Error', 131: 'Implementation specific error', 132: 'Unsupported Protocol Version',
  133: 'Client Identifier not valid', 134: 'Bad User Name or Password', 135: 'Not authorized', 136: 'Server unavailable', 137: 'Server busy',
  138: 'Banned', 140: 'Bad authentication method', 144: 'Topic Name invalid', 149: 'Packet too large', 151: 'Quota exceeded',
  153: 'Payload format invalid', 154: 'Retain not supported', 155: 'QoS not supported', 156: 'Use another server', 157: 'Server moved',
  159: 'Connection rate exceeded',
};
/** MQTT 5 reason code 0x95: a packet over our Maximum Packet Size (3.1.2.11.4). */
const PACKET_TOO_LARGE = 0x95;
/** MQTT 5 reason code 0x82: Protocol Error (a packet mqtt-packet cannot decode, a second CONNACK). */
const PROTOCOL_ERROR = 0x82;
/** 3.1.1 has no Maximum Packet Size: bound what one incoming packet may take all the same. */
const MAX_INCOMING_311 = 16 * 1024 * 1024;
/** The one packet identifier of the SUBSCRIBE (the only one a connection sends). */
const SUBSCRIBE_ID = 1;

/** One QoS 1/2 PUBLISH of ours waiting for its PUBACK / PUBCOMP. */
interface Pending {
  resolve(): void;
  reject(e: Error): void;
}

const OWNER = Symbol('mqtt-mtp');
type Owned = Socket & { [OWNER]?: MqttMtp };

export class MqttMtp implements AgentLink {
  private st: MqttMtpState = 'idle';
  private sock: Owned | undefined;
  /** The connect bound while connecting; the keepalive timer of a standalone connection once up. */
  private timer: NodeJS.Timeout | undefined;
  /** Bytes of a packet not yet complete. */
  private pending: Buffer | undefined;
  /** Why the current attempt ends, set before its socket goes. */
  private ending: { reason: string; cause: MqttFailCause } | undefined;
  private ownTopic: string;
  private source: ReplyTopicSource = 'configured';
  /** v5 Assigned Client Identifier, reused on the next CONNECT when no ClientID is configured (R-MQTT.9). */
  private assignedClientId: string | undefined;
  /** MQTT_MAX_PACKET_BYTES, or the broker's smaller Maximum Packet Size (v5 CONNACK). */
  private maxPacket = MQTT_MAX_PACKET_BYTES;
  private connacked = false;
  /** Time (opts.now) of the last packet written; a PINGREQ goes when keepalive passed since. */
  private lastTx = 0;
  /** A PINGREQ went out and nothing came back since. */
  private pingOut = false;
  /** Due time of the keepalive check in effect; an older one that fires is stale. */
  private keepAliveAtMs = 0;
  private nextId = 0;
  /** The SUBSCRIBE's filters while its SUBACK is awaited (for the reason of a refusal). */
  private filters: string[] | undefined;
  /** QoS 1/2 PUBLISHes of ours by packet identifier, created on the first one. */
  private inflight: Map<number, Pending> | undefined;
  /** What connections with the same URL, version, TLS files, bound and clock share. */
  private readonly conf: Conf;
  // The per-agent options, kept as fields rather than the options object (~140 bytes less).
  private readonly clientId: string;
  private readonly endpointId: string;
  private readonly subscribeTopic: string;
  private readonly keepaliveSec: number;
  private readonly username: string | undefined;
  private readonly password: string | undefined;

  constructor(opts: MqttMtpOptions, private readonly events: MqttMtpEvents) {
    this.conf = confOf(opts);
    this.clientId = opts.clientId;
    this.endpointId = opts.endpointId;
    this.subscribeTopic = opts.subscribeTopic;
    this.keepaliveSec = opts.keepaliveSec;
    this.username = opts.username;
    this.password = opts.password;
    this.ownTopic = opts.subscribeTopic;
  }

  get state(): MqttMtpState {
    return this.st;
  }

  /** The largest PUBLISH this connection sends, in bytes on the wire. */
  get maxPacketBytes(): number {
    return this.maxPacket;
  }

  /** The reply-to topic in effect (the mqtt_connect Record's subscribed_topic). */
  get replyTopic(): string {
    return this.ownTopic;
  }

  /**
   * The most bytes a Record PUBLISHed to `topic` may have so that the whole packet
   * (fixed header, topic with the 3.1.1 reply-to, packet id, v5 properties) stays within
   * maxPacketBytes. Counted at the largest encoding of each length.
   */
  maxPayloadTo(topic: string): number {
    const v5 = this.conf.version === 5;
    const dest = v5 ? topic : topicWithReplyTo(topic, this.ownTopic);
    let overhead = 5 + 2 + Buffer.byteLength(dest) + 2;
    if (v5) overhead += 4 + 3 + USP_CONTENT_TYPE.length + 3 + Buffer.byteLength(this.ownTopic);
    return this.maxPacket - overhead;
  }

  /** One connection attempt; the outcome is onUp or onDown. Allowed from 'idle' and 'down'. */
  connect(): void {
    if (this.st !== 'idle' && this.st !== 'down') throw new MqttMtpError(`mqtt mtp: connect() in state ${this.st}`);
    this.st = 'connecting';
    this.ownTopic = this.subscribeTopic;
    this.source = 'configured';
    this.maxPacket = MQTT_MAX_PACKET_BYTES;
    this.pending = undefined;
    this.ending = undefined;
    this.connacked = false;
    this.filters = undefined;
    this.pingOut = false;
    this.keepAliveAtMs = 0;
    const t = this.conf;
    const host = t.host;
    const sock: Owned = t.tls
      ? tlsConnect({ host, port: t.port, secureContext: this.conf.secure, servername: isIP(host) === 0 ? host : undefined, rejectUnauthorized: true })
      : netConnect({ host, port: t.port });
    sock[OWNER] = this;
    this.sock = sock;
    // A USP exchange is one small PUBLISH each way: Nagle's algorithm against the peer's
    // delayed ACK would hold answers back by up to 40 ms.
    sock.setNoDelay(true);
    // on(), not once(): a once() wrapper costs ~200 bytes per socket; each fires once anyway.
    sock.on(t.tls ? 'secureConnect' : 'connect', onSocketConnect);
    sock.on('data', onSocketData);
    sock.on('error', onSocketError);
    sock.on('close', onSocketClose);
    this.timer = setTimeout(onConnectTimeout, this.conf.timeoutMs, this, sock);
  }

  /**
   * PUBLISH a Record to `topic` with this agent's reply-to (TR-369 R-MQTT.22). Resolves when
   * written (QoS 0) or acknowledged (QoS 1: PUBACK, QoS 2: PUBCOMP); rejects when not up or
   * when the connection drops first. The payload is not copied.
   */
  publish(topic: string, payload: Uint8Array, qos: 0 | 1 | 2 = 0): Promise<void> {
    const sock = this.sock;
    if (this.st !== 'up' || sock === undefined) return Promise.reject(new MqttMtpError(`mqtt mtp: publish in state ${this.st}`));
    return this.send(sock, topic, payload, qos);
  }

  /**
   * Publish `finalPayload` (the caller's disconnect Record) if up, then DISCONNECT and
   * resolve once the socket is closed. Terminal: no onDown, no further connect().
   */
  async close(finalPayload?: { topic: string; payload: Uint8Array }): Promise<void> {
    if (this.st === 'closed') return;
    const sock = this.sock;
    const wasUp = this.st === 'up';
    this.st = 'closed';
    this.sock = undefined;
    this.clearTimer();
    this.failInflight('mqtt mtp: closed');
    if (sock === undefined || sock.destroyed) return;
    if (!wasUp) {
      sock.destroy();
      return;
    }
    const gone = new Promise<void>((resolve) => sock.once('close', () => resolve()));
    if (finalPayload !== undefined) await this.send(sock, finalPayload.topic, finalPayload.payload, 0).catch(() => undefined);
    this.write(sock, generate(DISCONNECT_PACKET, this.genOpts()));
    sock.end();
    const guard = setTimeout(() => sock.destroy(), this.conf.timeoutMs);
    await gone;
    clearTimeout(guard);
  }

  /**
   * The link is cut (a fleet event's link fault): the socket is reset under the connection,
   * no DISCONNECT, so the broker sees it die. onDown(reason, 'link') follows.
   */
  cut(reason: string): void {
    const sock = this.sock;
    if (sock === undefined || (this.st !== 'up' && this.st !== 'connecting')) return;
    this.ending = { reason, cause: 'link' };
    reset(sock);
  }

  /** Terminal, as a power cut: no goodbye Record, no DISCONNECT, the socket is reset. No onDown. */
  abort(): void {
    if (this.st === 'closed') return;
    const sock = this.sock;
    this.st = 'closed';
    this.sock = undefined;
    this.clearTimer();
    this.failInflight('mqtt mtp: aborted');
    if (sock !== undefined) reset(sock);
  }

  /** The keepalive check told through events.keepAliveAt is due (MQTT 3.1.1 3.1.2.10, MQTT 5 3.1.2.10). */
  keepAliveDue(at: number): void {
    const sock = this.sock;
    // The shard's scheduler fires at the next whole ms (Math.ceil): compare in whole ms.
    if (sock === undefined || epoch === undefined || Math.ceil(at) !== Math.ceil(this.keepAliveAtMs + epoch) || !this.connacked) return;
    const period = this.keepaliveSec * 1000;
    const now = this.now();
    if (this.pingOut) {
      // A whole period without PINGRESP (nor anything else) since the PINGREQ: the link is dead.
      this.end(sock, 'mqtt: Keepalive timeout', 'timeout');
      return;
    }
    if (now - this.lastTx >= period) {
      this.pingOut = true;
      this.write(sock, PINGREQ_BYTES);
      this.armKeepAlive(now + period);
    } else {
      this.armKeepAlive(this.lastTx + period);
    }
  }

  // ---- socket events: called by the module-level listeners below --------------------------

  /** @internal Connected (TLS done): CONNECT. */
  greet(sock: Owned): void {
    if (sock !== this.sock) return;
    const version = this.conf.version;
    const v5 = version === 5;
    // R-MQTT.8 ClientId: configured, else v5 sends '' (then reuses the assigned one), 3.1.1 the Endpoint ID.
    const clientId = this.clientId !== '' ? this.clientId : v5 ? (this.assignedClientId ?? '') : this.endpointId;
    const connect: IConnectPacket = { cmd: 'connect', protocolId: 'MQTT', protocolVersion: version, clean: true, clientId, keepalive: this.keepaliveSec };
    if (this.username !== undefined) connect.username = this.username;
    if (this.password !== undefined) connect.password = Buffer.from(this.password);
    // TR-369 MQTT binding: v5 CONNECT carries usp-endpoint-id and requests Response Information.
    if (v5) connect.properties = { requestResponseInformation: true, maximumPacketSize: MQTT_MAX_PACKET_BYTES, userProperties: { 'usp-endpoint-id': this.endpointId } };
    this.write(sock, generate(connect, this.genOpts()));
  }

  /** @internal Bytes from the broker: cut them into whole packets, decode and handle each. */
  data(sock: Owned, d: Buffer): void {
    if (sock !== this.sock) return;
    const buf = this.pending === undefined ? d : Buffer.concat([this.pending, d]);
    this.pending = undefined;
    const limit = this.conf.version === 5 ? MQTT_MAX_PACKET_BYTES : MAX_INCOMING_311;
    let at = 0;
    while (at < buf.length && sock === this.sock) {
      // Fixed header: one type byte, then the Remaining Length in 1 to 4 bytes (MQTT 2.2.3).
      let len = 0;
      let mul = 1;
      let i = at + 1;
      let done = false;
      for (; i < buf.length && i < at + 5; i++) {
        const b = buf[i]!;
        len += (b & 0x7f) * mul;
        mul *= 128;
        if ((b & 0x80) === 0) {
          done = true;
          i++;
          break;
        }
      }
      if (!done) {
        if (i >= at + 5) {
          this.protocolError(sock, 'mqtt: malformed Remaining Length');
          return;
        }
        break; // the length itself is not complete yet
      }
      const end = i + len;
      if (end - at > limit) {
        this.protocolError(sock, `mqtt: a packet of ${end - at} bytes is over the Maximum Packet Size of ${limit}`, PACKET_TOO_LARGE);
        return;
      }
      if (end > buf.length) break;
      const packet = decode(this.conf.version, buf.subarray(at, end));
      at = end;
      if (typeof packet === 'string') {
        this.protocolError(sock, `mqtt: ${packet}`);
        return;
      }
      this.pingOut = false;
      this.handle(sock, packet);
    }
    // Keep a copy of a partial packet, not a view that holds the whole chunk.
    if (at < buf.length && sock === this.sock) this.pending = Buffer.from(buf.subarray(at));
  }

  /** @internal End the attempt now with this reason (a socket error, the connect bound). */
  end(sock: Owned, reason: string, cause: MqttFailCause): void {
    if (sock !== this.sock) return;
    this.ending ??= { reason, cause };
    sock.destroy();
    this.closed(sock);
  }

  /** @internal A socket of ours closed (each attempt's once): its descriptor is free; onDown if it was the current one. */
  socketGone(sock: Owned): void {
    this.events.onSocketClosed?.();
    this.closed(sock);
  }

  /** @internal The socket of the current attempt is gone: report onDown once. */
  closed(sock: Owned): void {
    if (sock !== this.sock) return;
    this.sock = undefined;
    this.pending = undefined;
    this.clearTimer();
    this.failInflight('mqtt mtp: connection lost');
    const wasUp = this.st === 'up';
    this.st = 'down';
    const e = this.ending ?? { reason: wasUp ? 'connection closed by broker' : 'connection closed before subscribe', cause: 'closed' as const };
    this.events.onDown(e.reason, e.cause);
  }

  // ---- packets ------------------------------------------------------------------------------

  private handle(sock: Owned, p: Packet): void {
    switch (p.cmd) {
      case 'connack':
        this.handleConnack(sock, p);
        return;
      case 'suback':
        this.handleSuback(sock, p);
        return;
      case 'publish':
        this.handlePublish(sock, p);
        return;
      case 'puback':
      case 'pubcomp': {
        const rc = p.reasonCode ?? 0;
        this.settle(p.messageId, rc >= 0x80 ? new Error(`Publish error: ${REFUSALS[rc] ?? `reason code ${rc}`}`) : undefined);
        return;
      }
      case 'pubrec': {
        const rc = p.reasonCode ?? 0;
        if (rc >= 0x80) this.settle(p.messageId, new Error(`Publish error: ${REFUSALS[rc] ?? `reason code ${rc}`}`));
        else if (p.messageId !== undefined) this.write(sock, generate({ cmd: 'pubrel', messageId: p.messageId }, this.genOpts()));
        return;
      }
      case 'pubrel':
        // An incoming QoS 2 PUBLISH's release (our SUBSCRIBE asks QoS 1, so only a broker that upgrades sends one).
        if (p.messageId !== undefined) this.write(sock, generate({ cmd: 'pubcomp', messageId: p.messageId }, this.genOpts()));
        return;
      case 'disconnect':
        this.handleDisconnect(p);
        return;
      default:
        return; // PINGRESP (pingOut was cleared with any packet), anything a client ignores
    }
  }

  /** CONNACK: refused, or note what the broker told us (v5, R-MQTT.15/21), then SUBSCRIBE. */
  private handleConnack(sock: Owned, connack: IConnackPacket): void {
    if (this.connacked) {
      this.protocolError(sock, 'mqtt: Protocol error: duplicate CONNACK on the same network connection');
      return;
    }
    this.connacked = true;
    const v5 = this.conf.version === 5;
    const rc = (v5 ? connack.reasonCode : connack.returnCode) ?? 0;
    if (rc !== 0) {
      this.end(sock, `mqtt: Connection refused: ${REFUSALS[rc] ?? `code ${rc}`}`, 'rejected');
      return;
    }
    const props = v5 ? connack.properties : undefined;
    if (this.clientId === '' && props?.assignedClientIdentifier) this.assignedClientId = props.assignedClientIdentifier;
    if (props?.maximumPacketSize) this.maxPacket = Math.min(MQTT_MAX_PACKET_BYTES, props.maximumPacketSize);
    const plan = subscriptionPlan(this.subscribeTopic, props?.responseInformation, userPropertyValues(props?.userProperties, 'subscribe-topic'));
    this.ownTopic = plan.replyTopic;
    this.source = plan.source;
    // 3.1.1 carries the reply-to in the topic, so also subscribe <topic>/# (obuspa does).
    const filters = v5 ? plan.filters : plan.filters.flatMap((t) => [t, `${t}/#`]);
    this.filters = filters;
    this.write(sock, generate({ cmd: 'subscribe', messageId: SUBSCRIBE_ID, subscriptions: filters.map((topic) => ({ topic, qos: 1 as const })) }, this.genOpts()));
    // MQTT 3.1.2.10: the keepalive runs from CONNECT; the first check is a period after it.
    if (this.keepaliveSec > 0) this.armKeepAlive(this.lastTx + this.keepaliveSec * 1000);
  }

  private handleSuback(sock: Owned, suback: ISubackPacket): void {
    if (this.st !== 'connecting' || suback.messageId !== SUBSCRIBE_ID) return;
    // TR-369 R-MQTT.17: if all subscriptions fail, send DISCONNECT and treat the MTP as down.
    const codes = suback.granted as number[];
    if (!codes.some((code) => (code & SUBACK_FAILURE) === 0)) {
      this.ending = { reason: `mqtt subscribe refused for all of ${(this.filters ?? []).join(', ')} (codes ${codes.join(',')})`, cause: 'subscribe' };
      this.write(sock, generate(DISCONNECT_PACKET, this.genOpts()));
      // The attempt is over now; the socket goes once the DISCONNECT is flushed, whatever the broker does.
      sock.end(() => sock.destroy());
      this.closed(sock);
      return;
    }
    this.clearTimer();
    this.filters = undefined;
    this.st = 'up';
    // Standalone: the keepalive timer takes over from the connect bound (hosted: scheduled at CONNACK).
    if (this.events.keepAliveAt === undefined && this.keepAliveAtMs !== 0) this.armKeepAlive(this.keepAliveAtMs);
    this.events.onUp({ replyTopic: this.ownTopic, discovered: this.source !== 'configured', source: this.source });
  }

  private handlePublish(sock: Owned, p: IPublishPacket): void {
    if (p.qos === 1 && p.messageId !== undefined) this.write(sock, generate({ cmd: 'puback', messageId: p.messageId }, this.genOpts()));
    else if (p.qos === 2 && p.messageId !== undefined) this.write(sock, generate({ cmd: 'pubrec', messageId: p.messageId }, this.genOpts()));
    if (this.st !== 'up') return;
    let replyTo: string | undefined;
    if (this.conf.version === 5) {
      const ct = p.properties?.contentType;
      if (ct !== undefined && !ACCEPTED_CONTENT_TYPES.has(ct)) return; // not a USP Record
      // TR-369 MQTT binding: the reply-to is the Response Topic. A 3.1.1-style topic
      // suffix is honoured as a fallback (a bridged 3.1.1 controller).
      replyTo = p.properties?.responseTopic ?? replyToOf(p.topic);
    } else {
      replyTo = replyToOf(p.topic);
    }
    const payload = typeof p.payload === 'string' ? Buffer.from(p.payload) : p.payload;
    this.events.onRecord(payload, replyTo);
  }

  private handleDisconnect(p: IDisconnectPacket): void {
    const rc = p.reasonCode ?? 0;
    const text = p.properties?.reasonString;
    this.ending ??= { reason: `broker sent DISCONNECT (reason code ${rc}${text ? `: ${text}` : ''})`, cause: 'closed' };
  }

  /** A packet we cannot take: v5 says why in a DISCONNECT (MQTT 5 4.13), then the connection ends. */
  private protocolError(sock: Owned, reason: string, code = PROTOCOL_ERROR): void {
    if (this.conf.version === 5 && this.connacked) {
      this.write(sock, generate({ cmd: 'disconnect', reasonCode: code }, this.genOpts()));
      this.ending ??= { reason, cause: 'error' };
      // The attempt is over now; the socket goes once the DISCONNECT is flushed.
      sock.end(() => sock.destroy());
      this.closed(sock);
      return;
    }
    this.end(sock, reason, 'error');
  }

  // ---- internals -----------------------------------------------------------------------------

  private send(sock: Owned, topic: string, payload: Uint8Array, qos: 0 | 1 | 2): Promise<void> {
    // Never PUBLISH to a wildcard or empty topic: the broker would disconnect the agent (MQTT 3.1.1 4.7.1).
    if (topic === '' || /[+#\u0000]/.test(topic)) return Promise.reject(new Error(`refusing to publish to "${topic}": not a topic name`));
    const v5 = this.conf.version === 5;
    const packet: IPublishPacket = {
      cmd: 'publish',
      // TR-369 MQTT binding: v5 names the reply-to in the Response Topic, 3.1.1 in the topic.
      topic: v5 ? topic : topicWithReplyTo(topic, this.ownTopic),
      payload: Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength),
      qos,
      dup: false,
      retain: false,
    };
    // TR-369 MQTT binding: Content Type "usp.msg".
    if (v5) packet.properties = { contentType: USP_CONTENT_TYPE, responseTopic: this.ownTopic };
    if (qos === 0) {
      const bytes = generate(packet, this.genOpts());
      return new Promise((resolve, reject) => this.write(sock, bytes, (err) => (err ? reject(err) : resolve())));
    }
    const inflight = (this.inflight ??= new Map());
    let id = this.nextId;
    do id = (id % 0xffff) + 1;
    while (inflight.has(id) || id === SUBSCRIBE_ID);
    this.nextId = id;
    packet.messageId = id;
    const bytes = generate(packet, this.genOpts());
    return new Promise((resolve, reject) => {
      inflight.set(id, { resolve, reject });
      this.write(sock, bytes);
    });
  }

  private settle(id: number | undefined, err: Error | undefined): void {
    const p = id === undefined ? undefined : this.inflight?.get(id);
    if (p === undefined) return;
    this.inflight!.delete(id!);
    if (err) p.reject(err);
    else p.resolve();
  }

  private failInflight(message: string): void {
    const inflight = this.inflight;
    if (inflight === undefined) return;
    this.inflight = undefined;
    for (const p of inflight.values()) p.reject(new MqttMtpError(message));
  }

  private write(sock: Owned, bytes: Buffer, cb?: (err?: Error | null) => void): void {
    this.lastTx = this.now();
    sock.write(bytes, cb);
  }

  /** opts.now's time in ms since the thread's first reading: a small integer field, no heap number per connection. */
  private now(): number {
    const t = this.conf.now();
    epoch ??= t;
    return Math.round(t - epoch);
  }

  private genOpts(): { protocolVersion: 4 | 5 } {
    return this.conf.version === 5 ? GEN_V5 : GEN_V4;
  }

  private armKeepAlive(at: number): void {
    this.keepAliveAtMs = at;
    if (this.events.keepAliveAt !== undefined) {
      this.events.keepAliveAt(at + epoch!);
      return;
    }
    if (this.st !== 'up') return; // standalone: armed at SUBACK, once the connect bound is cleared
    this.clearTimer();
    this.timer = setTimeout(onKeepAliveTimer, Math.max(0, at - this.now()), this, at + epoch!);
  }

  private clearTimer(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
  }
}

/** Where and how connections go, shared by every connection with the same settings. */
interface Conf {
  tls: boolean;
  host: string;
  port: number;
  version: 4 | 5;
  timeoutMs: number;
  secure: SecureContext | undefined;
  now: () => number;
}
const confs = new Map<(() => number) | undefined, Map<string, Conf>>();

function confOf(o: MqttMtpOptions): Conf {
  let byKey = confs.get(o.now);
  if (byKey === undefined) confs.set(o.now, (byKey = new Map()));
  const key = `${o.url}\u0000${o.protocolVersion}\u0000${o.connectTimeoutMs}\u0000${o.ca ?? ''}\u0000${o.cert ?? ''}\u0000${o.key ?? ''}`;
  let c = byKey.get(key);
  if (c !== undefined) return c;
  let u: URL;
  try {
    u = new URL(o.url);
  } catch {
    throw new MqttMtpError(`mqtt mtp: not a URL: ${o.url}`);
  }
  if (u.protocol !== 'mqtt:' && u.protocol !== 'mqtts:') throw new MqttMtpError(`mqtt mtp: ${o.url}: only mqtt:// and mqtts:// are supported`);
  const tls = u.protocol === 'mqtts:';
  c = {
    tls,
    host: u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname,
    port: u.port === '' ? (tls ? 8883 : 1883) : Number(u.port),
    version: o.protocolVersion,
    timeoutMs: o.connectTimeoutMs,
    secure: tls ? secureContextOf(o) : undefined,
    now: o.now ?? Date.now,
  };
  byKey.set(key, c);
  return c;
}

/** The clock reading keepalive times count from (per thread). */
let epoch: number | undefined;

// ---- shared: codec options, fixed packets, one parser per version ------------------------------

const GEN_V4 = { protocolVersion: 4 as const };
const GEN_V5 = { protocolVersion: 5 as const };
const DISCONNECT_PACKET: Packet = { cmd: 'disconnect' };
const PINGREQ_BYTES = generate({ cmd: 'pingreq' });

/** The packet a parser emitted during one parse() call, or why it could not. */
let decoded: Packet | string | undefined;
const parsers = new Map<4 | 5, Parser>();

function parserFor(version: 4 | 5): Parser {
  let p = parsers.get(version);
  if (p === undefined) {
    p = packetParser({ protocolVersion: version });
    p.on('packet', (packet: Packet) => (decoded = packet));
    p.on('error', (e: Error) => (decoded = e.message));
    parsers.set(version, p);
  }
  return p;
}

/** Decode one whole packet (`bytes` is exactly one); a string says why it is not a packet. */
function decode(version: 4 | 5, bytes: Buffer): Packet | string {
  decoded = undefined;
  const p = parserFor(version);
  const left = p.parse(bytes);
  const out = decoded as Packet | string | undefined;
  decoded = undefined;
  if (typeof out === 'string' || left !== 0) {
    // The parser's state is not to be trusted after a bad packet: the next one gets a fresh parser.
    parsers.delete(version);
    return typeof out === 'string' ? out : 'malformed packet';
  }
  return out ?? 'malformed packet';
}

/** Reset the socket (TCP RST where the platform allows), as a dead link does. */
function reset(sock: Socket): void {
  if (sock.destroyed) return;
  if (typeof sock.resetAndDestroy === 'function' && !(sock as { encrypted?: boolean }).encrypted) sock.resetAndDestroy();
  else sock.destroy();
}

// ---- socket listeners: `this` is the socket, its OWNER slot the connection ------------------------

function onSocketConnect(this: Owned): void {
  this[OWNER]?.greet(this);
}
function onSocketData(this: Owned, d: Buffer): void {
  this[OWNER]?.data(this, d);
}
function onSocketError(this: Owned, e: NodeJS.ErrnoException): void {
  this[OWNER]?.end(this, `mqtt: ${e.message}`, causeOf(e));
}
function onSocketClose(this: Owned): void {
  const mtp = this[OWNER];
  if (mtp === undefined) return;
  this[OWNER] = undefined;
  mtp.socketGone(this);
}
function onConnectTimeout(mtp: MqttMtp, sock: Owned): void {
  mtp.end(sock, 'mqtt connect timeout (no CONNACK/SUBACK in time)', 'timeout');
}
function onKeepAliveTimer(mtp: MqttMtp, at: number): void {
  mtp.keepAliveDue(at);
}
