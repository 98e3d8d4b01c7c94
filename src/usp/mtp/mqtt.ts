// The MQTT MTP of one simulated USP agent: one MQTT connection (TR-369 "MQTT Binding",
// as obuspa src/core/mqtt.c implements it; docs/usp-behaviour.md "The MQTT connection").
//
// What this class owns: CONNECT (v5: usp-endpoint-id user property, Request Response
// Information), CONNACK discovery (Response Information, subscribe-topic), SUBSCRIBE,
// the reply-to of every PUBLISH (v5 Response Topic / 3.1.1 topic suffix) and the
// reply-to of every incoming Record. What it leaves to the caller: backoff and
// reconnect (connect() is one attempt), the mqtt_connect / disconnect Records, and
// decoding the payload.
//
// It runs 10,000+ times in one process, so a connection holds no store persistence, no
// resubscribe list and no timer besides mqtt.js's keepalive (and one connect-timeout
// timer while connecting). Listeners are module-level functions that find their
// MqttMtp through the client's `my` option, so an attempt allocates no closures; TLS
// contexts are shared per CA.
import { isIP } from 'node:net';
import type { SecureContext } from 'node:tls';
import {
  connect as mqttConnect, type IClientOptions, type IClientPublishOptions, type IConnackPacket,
  type ClientSubscribeCallback, type IDisconnectPacket, type IPublishPacket, type MqttClient,
} from 'mqtt';

import { isFdExhaustion } from '../../util/fds.js';
import type { MqttFailCause } from '../diagnostics.js';
import { secureContextOf } from './tls.js';
import {
  ACCEPTED_CONTENT_TYPES, MQTT_MAX_PACKET_BYTES, MqttMtpError, SUBACK_FAILURE, USP_CONTENT_TYPE, replyToOf, subscriptionPlan,
  topicWithReplyTo, userPropertyValues, type MqttMtpEvents, type MqttMtpOptions, type MqttMtpState, type ReplyTopicSource,
} from './mqtt-common.js';

export {
  MQTT_MAX_PACKET_BYTES, MqttMtpError, USP_CONTENT_TYPE, filterMatches, replyToOf, subscriptionPlan, topicWithReplyTo,
  type MqttMtpEvents, type MqttMtpOptions, type MqttMtpState, type MqttMtpUpInfo, type ReplyTopicSource,
} from './mqtt-common.js';

type SubackPacket = NonNullable<Parameters<ClientSubscribeCallback>[2]>;


export class MqttMtp {
  private st: MqttMtpState = 'idle';
  /** The client of the current attempt; events from any other client are stale. */
  private client: MqttClient | undefined;
  private connectTimer: NodeJS.Timeout | undefined;
  private ownTopic: string;
  private source: ReplyTopicSource = 'configured';
  /** v5 Assigned Client Identifier, reused on the next CONNECT when no ClientID is configured (R-MQTT.9). */
  private assignedClientId: string | undefined;
  /** Reason of a broker DISCONNECT (v5), reported when the socket then closes. */
  private disconnectReason: string | undefined;
  /** MQTT_MAX_PACKET_BYTES, or the broker's smaller Maximum Packet Size (v5 CONNACK). */
  private maxPacket = MQTT_MAX_PACKET_BYTES;
  /** A cut link (cut()): its close is counted as cause 'link'. */
  private linkCut = false;

  constructor(
    private readonly opts: MqttMtpOptions,
    private readonly events: MqttMtpEvents,
  ) {
    let protocol: string;
    try {
      protocol = new URL(opts.url).protocol;
    } catch {
      throw new MqttMtpError(`mqtt mtp: not a URL: ${opts.url}`);
    }
    if (protocol !== 'mqtt:' && protocol !== 'mqtts:') throw new MqttMtpError(`mqtt mtp: ${opts.url}: only mqtt:// and mqtts:// are supported`);
    this.ownTopic = opts.subscribeTopic;
  }

  get state(): MqttMtpState {
    return this.st;
  }

  /** The largest PUBLISH this connection sends, in bytes on the wire. */
  get maxPacketBytes(): number {
    return this.maxPacket;
  }

  /**
   * The most bytes a Record PUBLISHed to `topic` may have so that the whole packet
   * (fixed header, topic with the 3.1.1 reply-to, packet id, v5 properties) stays within
   * maxPacketBytes. Counted at the largest encoding of each length.
   */
  maxPayloadTo(topic: string): number {
    const v5 = this.opts.protocolVersion === 5;
    const dest = v5 ? topic : topicWithReplyTo(topic, this.ownTopic);
    // 1 type byte + 4 remaining-length bytes, 2 + topic, 2 packet id;
    // v5: 4 property-length bytes, content type (1 + 2 + 7), response topic (1 + 2 + topic).
    let overhead = 5 + 2 + Buffer.byteLength(dest) + 2;
    if (v5) overhead += 4 + 3 + USP_CONTENT_TYPE.length + 3 + Buffer.byteLength(this.ownTopic);
    return this.maxPacket - overhead;
  }

  /** The reply-to topic in effect (the mqtt_connect Record's subscribed_topic). */
  get replyTopic(): string {
    return this.ownTopic;
  }

  /** One connection attempt; the outcome is onUp or onDown. Allowed from 'idle' and 'down'. */
  connect(): void {
    if (this.st !== 'idle' && this.st !== 'down') throw new MqttMtpError(`mqtt mtp: connect() in state ${this.st}`);
    this.st = 'connecting';
    this.ownTopic = this.opts.subscribeTopic;
    this.source = 'configured';
    this.disconnectReason = undefined;
    this.maxPacket = MQTT_MAX_PACKET_BYTES;
    this.linkCut = false;
    const client = mqttConnect(this.clientOptions());
    this.client = client;
    // A USP exchange is one small PUBLISH each way: Nagle's algorithm against the peer's
    // delayed ACK would hold answers back by up to 40 ms.
    const stream = client.stream as { setNoDelay?: (on: boolean) => void; once?: (ev: 'close', fn: () => void) => void } | undefined;
    stream?.setNoDelay?.(true);
    const events = this.events;
    if (events.onSocketClosed) {
      if (stream?.once) stream.once('close', () => events.onSocketClosed!());
      else events.onSocketClosed();
    }
    client.on('connect', onClientConnect);
    client.on('message', onClientMessage);
    client.on('error', onClientError);
    client.on('disconnect', onClientDisconnect);
    client.on('close', onClientClose);
    this.connectTimer = setTimeout(onConnectTimeout, this.opts.connectTimeoutMs, this, client);
  }

  /**
   * PUBLISH a Record to `topic` with this agent's reply-to (TR-369 R-MQTT.22). Resolves when written
   * (QoS 0) or acknowledged (QoS 1); rejects when not up or when the connection drops
   * first (the caller catches: onDown reports the loss). The payload is not copied.
   */
  publish(topic: string, payload: Uint8Array, qos: 0 | 1 | 2 = 0): Promise<void> {
    const client = this.client;
    if (this.st !== 'up' || client === undefined) {
      return Promise.reject(new MqttMtpError(`mqtt mtp: publish in state ${this.st}`));
    }
    return this.send(client, topic, payload, qos);
  }

  /**
   * Publish `finalPayload` (the caller's disconnect Record) if up, then DISCONNECT and
   * resolve once the socket is closed. Terminal: no onDown, no further connect().
   */
  async close(finalPayload?: { topic: string; payload: Uint8Array }): Promise<void> {
    if (this.st === 'closed') return;
    const client = this.client;
    const wasUp = this.st === 'up';
    this.st = 'closed';
    this.client = undefined;
    this.clearConnectTimer();
    if (client === undefined) return;
    if (wasUp && finalPayload !== undefined) {
      await this.send(client, finalPayload.topic, finalPayload.payload, 0).catch(() => undefined);
    }
    await endClient(client, !wasUp, this.opts.connectTimeoutMs);
  }

  /**
   * The link is cut (a fleet event's link fault): the socket is reset under the connection,
   * no DISCONNECT, so the broker sees it die (and publishes a Will if one was set). The
   * attempt ends through the usual socket close: onDown(reason), and the caller's backoff.
   */
  cut(reason: string): void {
    const client = this.client;
    if (client === undefined || (this.st !== 'up' && this.st !== 'connecting')) return;
    this.disconnectReason = reason;
    this.linkCut = true;
    destroyStream(client);
  }

  /**
   * Terminal, like close(), but the way a power cut ends it: no goodbye Record, no
   * DISCONNECT, the socket just goes away. No onDown follows.
   */
  abort(): void {
    if (this.st === 'closed') return;
    const client = this.client;
    this.st = 'closed';
    this.client = undefined;
    this.clearConnectTimer();
    if (client === undefined) return;
    destroyStream(client);
    client.end(true);
  }

  // ---- client events: called by the module-level listeners below, not by callers ------------

  /** @internal CONNACK accepted: note what the broker told us (v5, R-MQTT.15/21), then SUBSCRIBE. */
  handleConnack(client: MqttClient, connack: IConnackPacket): void {
    if (client !== this.client) return;
    const props = this.opts.protocolVersion === 5 ? connack.properties : undefined;
    if (this.opts.clientId === '' && props?.assignedClientIdentifier) this.assignedClientId = props.assignedClientIdentifier;
    if (props?.maximumPacketSize) this.maxPacket = Math.min(MQTT_MAX_PACKET_BYTES, props.maximumPacketSize);
    const plan = subscriptionPlan(this.opts.subscribeTopic, props?.responseInformation, userPropertyValues(props?.userProperties, 'subscribe-topic'));
    this.ownTopic = plan.replyTopic;
    this.source = plan.source;
    // 3.1.1 carries the reply-to in the topic, so also subscribe <topic>/# (obuspa does).
    const filters = this.opts.protocolVersion === 5 ? plan.filters : plan.filters.flatMap((t) => [t, `${t}/#`]);
    client.subscribe(filters, { qos: 1 }, (err, _granted, suback?: SubackPacket) => this.handleSuback(client, filters, err, suback));
  }

  private handleSuback(client: MqttClient, filters: string[], err: Error | null, suback: SubackPacket | undefined): void {
    if (client !== this.client) return;
    if (suback === undefined) {
      this.fail(client, `mqtt subscribe failed: ${err?.message ?? 'no SUBACK'}`, false, 'subscribe');
      return;
    }
    // TR-369 R-MQTT.17: if all subscriptions fail, send DISCONNECT and treat the MTP as down.
    // (mqtt-packet types `granted` loosely; on the wire it is one code per filter.)
    const codes = suback.granted as number[];
    if (!codes.some((code) => (code & SUBACK_FAILURE) === 0)) {
      this.fail(client, `mqtt subscribe refused for all of ${filters.join(', ')} (codes ${codes.join(',')})`, true, 'subscribe');
      return;
    }
    this.clearConnectTimer();
    this.st = 'up';
    this.events.onUp({ replyTopic: this.ownTopic, discovered: this.source !== 'configured', source: this.source });
  }

  /** @internal */
  handleMessage(client: MqttClient, topic: string, payload: Buffer, packet: IPublishPacket): void {
    if (client !== this.client) return;
    let replyTo: string | undefined;
    if (this.opts.protocolVersion === 5) {
      const ct = packet.properties?.contentType;
      if (ct !== undefined && !ACCEPTED_CONTENT_TYPES.has(ct)) return; // not a USP Record
      // TR-369 MQTT binding: the reply-to is the Response Topic. A 3.1.1-style topic
      // suffix is honoured as a fallback (a bridged 3.1.1 controller).
      replyTo = packet.properties?.responseTopic ?? replyToOf(topic);
    } else {
      replyTo = replyToOf(topic);
    }
    this.events.onRecord(payload, replyTo);
  }

  /** @internal */
  handleDisconnect(client: MqttClient, packet: IDisconnectPacket): void {
    if (client !== this.client) return;
    const rc = packet.reasonCode ?? 0;
    const text = packet.properties?.reasonString;
    this.disconnectReason = `broker sent DISCONNECT (reason code ${rc}${text ? `: ${text}` : ''})`;
  }

  /** @internal The attempt is over: tear the client down and report onDown once (none after close()). */
  fail(client: MqttClient, reason: string, graceful: boolean, cause: MqttFailCause): void {
    if (client !== this.client) return;
    this.client = undefined;
    this.clearConnectTimer();
    // mqtt.js attached an 'error' listener of its own in connect(), so late socket errors
    // of the dying client are swallowed; ours ignore it as stale from now on.
    void endClient(client, !graceful, this.opts.connectTimeoutMs);
    this.st = 'down';
    this.events.onDown(reason, cause);
  }

  /** @internal Reason for a socket that closed without an 'error' first. */
  closeReason(): string {
    return this.disconnectReason ?? (this.st === 'up' ? 'connection closed by broker' : 'connection closed before subscribe');
  }

  /** @internal Cause of a socket that closed without an 'error' first. */
  closeCause(): MqttFailCause {
    return this.linkCut ? 'link' : 'closed';
  }

  // ---- internals -----------------------------------------------------------------------------

  private send(client: MqttClient, topic: string, payload: Uint8Array, qos: 0 | 1 | 2): Promise<void> {
    const buf = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
    let dest = topic;
    let options: IClientPublishOptions;
    if (this.opts.protocolVersion === 5) {
      // TR-369 MQTT binding: Content Type "usp.msg", reply-to in the Response Topic.
      options = { qos, properties: { contentType: USP_CONTENT_TYPE, responseTopic: this.ownTopic } };
    } else {
      dest = topicWithReplyTo(topic, this.ownTopic);
      options = { qos };
    }
    // Never PUBLISH to a wildcard or empty topic: the broker would disconnect the agent (MQTT 3.1.1 4.7.1).
    if (topic === '' || /[+#\u0000]/.test(topic)) return Promise.reject(new Error(`refusing to publish to "${topic}": not a topic name`));
    return new Promise((resolve, reject) => {
      client.publish(dest, buf, options, (err) => (err ? reject(err) : resolve()));
    });
  }

  /**
   * Every option mqtt.js (and its TCP/TLS stream builders) reads or writes, in one
   * literal: mqtt.js would otherwise add the missing ones to this object one by one and
   * turn it into a dictionary-mode object (about 1.5 KB more per connection). No URL
   * string either: mqtt.connect() would url.parse() it and keep the parsed query object.
   */
  private clientOptions(): IClientOptions & { secureContext: SecureContext | undefined } {
    const o = this.opts;
    const v5 = o.protocolVersion === 5;
    const url = new URL(o.url);
    const tls = url.protocol === 'mqtts:';
    const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    // R-MQTT.8 ClientId: configured, else v5 sends '' (then reuses the assigned one), 3.1.1 the Endpoint ID.
    const clientId = o.clientId !== '' ? o.clientId : v5 ? (this.assignedClientId ?? '') : o.endpointId;
    return {
      protocol: tls ? 'mqtts' : 'mqtt',
      defaultProtocol: tls ? 'mqtts' : 'mqtt',
      host,
      hostname: host,
      port: url.port === '' ? (tls ? 8883 : 1883) : Number(url.port),
      unixSocket: false,
      socksProxy: undefined,
      protocolId: 'MQTT',
      protocolVersion: o.protocolVersion,
      clientId,
      clean: true,
      keepalive: o.keepaliveSec,
      reschedulePings: true,
      connectTimeout: o.connectTimeoutMs,
      reconnectPeriod: 0, // the caller owns backoff (TR-369 R-MQTT.10)
      resubscribe: false,
      subscribeBatchSize: undefined,
      writeCache: true,
      timerVariant: 'auto',
      queueQoSZero: false,
      customHandleAcks: undefined,
      username: o.username,
      password: o.password,
      // TR-369 MQTT binding: v5 CONNECT carries usp-endpoint-id and requests Response Information.
      properties: v5 ? { requestResponseInformation: true, maximumPacketSize: MQTT_MAX_PACKET_BYTES, userProperties: { 'usp-endpoint-id': o.endpointId } } : undefined,
      secureContext: secureContextOf(o),
      servername: tls && isIP(host) === 0 ? host : undefined,
      rejectUnauthorized: true,
      log: noop,
      my: this,
    };
  }

  private clearConnectTimer(): void {
    if (this.connectTimer !== undefined) {
      clearTimeout(this.connectTimer);
      this.connectTimer = undefined;
    }
  }
}

// ---- shared listeners: `this` is the emitting client, its `my` option the MqttMtp ------------

const noop = (): void => undefined;
const mtpOf = (client: MqttClient): MqttMtp => client.options.my as MqttMtp;

function onClientConnect(this: MqttClient, connack: IConnackPacket): void {
  mtpOf(this).handleConnack(this, connack);
}
function onClientMessage(this: MqttClient, topic: string, payload: Buffer, packet: IPublishPacket): void {
  mtpOf(this).handleMessage(this, topic, payload, packet);
}
function onClientError(this: MqttClient, err: Error): void {
  mtpOf(this).fail(this, `mqtt: ${err.message}`, false, causeOf(err));
}
function onClientDisconnect(this: MqttClient, packet: IDisconnectPacket): void {
  mtpOf(this).handleDisconnect(this, packet);
}
function onClientClose(this: MqttClient): void {
  const mtp = mtpOf(this);
  mtp.fail(this, mtp.closeReason(), false, mtp.closeCause());
}

const CONNECT_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EPIPE', 'EADDRNOTAVAIL']);

/** The failure cause of a client 'error': a socket errno, or a numeric CONNACK return/reason code (mqtt.js). */
function causeOf(err: Error): MqttFailCause {
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'number') return 'rejected';
  if (isFdExhaustion(code)) return 'descriptors';
  if (typeof code === 'string' && CONNECT_CODES.has(code)) return 'connect';
  return 'error';
}
function onConnectTimeout(mtp: MqttMtp, client: MqttClient): void {
  mtp.fail(client, 'mqtt connect timeout (no CONNACK/SUBACK in time)', false, 'timeout');
}

/** Reset the client's socket (TCP RST where the platform allows), as a dead link does. */
function destroyStream(client: MqttClient): void {
  const stream = client.stream as { resetAndDestroy?: () => void; destroy: () => void; destroyed?: boolean } | undefined;
  if (!stream || stream.destroyed) return;
  if (stream.resetAndDestroy) stream.resetAndDestroy();
  else stream.destroy();
}

/** end() the client (DISCONNECT first unless forced); resolve when its socket is closed, bounded by boundMs. */
function endClient(client: MqttClient, force: boolean, boundMs: number): Promise<void> {
  return new Promise((resolve) => {
    const guard = setTimeout(() => {
      client.stream?.destroy();
      resolve();
    }, boundMs);
    client.end(force, () => {
      clearTimeout(guard);
      resolve();
    });
  });
}

