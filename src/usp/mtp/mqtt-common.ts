// What both MQTT clients of an agent share (TR-369 "MQTT Binding"): the options and
// events of one agent's MQTT connection, the 3.1.1 reply-to in the topic, and the R-MQTT.15 /
// R-MQTT.21 choice of what to subscribe to and answer on after a CONNACK.
import type { MqttFailCause } from '../diagnostics.js';

export type MqttMtpState = 'idle' | 'connecting' | 'up' | 'down' | 'closed';

export interface MqttMtpOptions {
  /** mqtt://host:port or mqtts://host:port. */
  url: string;
  protocolVersion: 4 | 5;
  /** Device.MQTT.Client.{i}.ClientID; '' applies R-MQTT.8 (v5: broker-assigned, 3.1.1: the Endpoint ID). */
  clientId: string;
  endpointId: string;
  username?: string | undefined;
  password?: string | undefined;
  /** PEM CA bundle for mqtts (the broker's certificate must chain to it). */
  ca?: string | undefined;
  /** PEM client certificate and key presented to a broker that asks for one. */
  cert?: string | undefined;
  key?: string | undefined;
  keepaliveSec: number;
  /** The agent's own topic (ResponseTopicConfigured), e.g. "/usp/agent/os::0C5A9E-CS00000001". */
  subscribeTopic: string;
  /** Bound on one attempt: TCP/TLS connect, CONNACK and SUBACK. */
  connectTimeoutMs: number;
  /** The clock keepalive times are told in (the shard's; default Date.now). */
  now?: (() => number) | undefined;
}

export interface MqttMtpUpInfo {
  /** The topic this agent receives on and advertises as reply-to. */
  replyTopic: string;
  /** True if replyTopic came from the v5 CONNACK (Response Information or a subscribe-topic User Property). */
  discovered: boolean;
  /** Where replyTopic came from (docs/usp-behaviour.md "The MQTT connection"). */
  source: ReplyTopicSource;
}

/**
 * Where an agent's reply-to topic came from: its configured ResponseTopicConfigured, the v5
 * CONNACK's Response Information (R-MQTT.21), or the CONNACK's first `subscribe-topic` User
 * Property that is a topic name, not a filter (R-MQTT.15; a broker-assigned topic).
 */
export type ReplyTopicSource = 'configured' | 'response-information' | 'subscribe-topic';

export interface MqttMtpEvents {
  /** Connected and subscribed (after SUBACK). */
  onUp(info: MqttMtpUpInfo): void;
  /** The attempt failed or the connection was lost: fires once per attempt, never after close(). */
  onDown(reason: string, cause: MqttFailCause): void;
  /** A PUBLISH arrived; payload is the Record bytes (a view, copy it to keep it past the call). */
  onRecord(payload: Uint8Array, replyTo: string | undefined): void;
  /** The socket of an attempt closed (each attempt's socket once): its descriptor is free again. */
  onSocketClosed?(): void;
  /**
   * The connection's next keepalive check is due at `at` (opts.now's clock): the owner calls
   * keepAliveDue(at) then (the shard's scheduler: no timer per connection). Without this
   * hook the connection arms a timer of its own.
   */
  keepAliveAt?(at: number): void;
}

export class MqttMtpError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MqttMtpError';
  }
}

/** TR-369 MQTT binding: Content Type of a USP Record PUBLISH (v5). */
export const USP_CONTENT_TYPE = 'usp.msg';
/** Content types accepted on receipt (R-MQTT.27a: the registered one too); none at all is accepted too. */
export const ACCEPTED_CONTENT_TYPES: ReadonlySet<string> = new Set([USP_CONTENT_TYPE, 'application/vnd.bbf.usp.msg']);
const REPLY_TO_MARK = '/reply-to=';
/**
 * The agent's MQTT Maximum Packet Size: announced in a v5 CONNECT (MQTT 5 3.1.2.11.4) and
 * the most any PUBLISH of the agent takes on the wire (lowered by a v5 CONNACK's Maximum
 * Packet Size, 3.2.2.3.6). A USP answer that would not fit is answered 7005 instead
 * (docs/usp-behaviour.md "Limits").
 */
export const MQTT_MAX_PACKET_BYTES = 1024 * 1024;
/** SUBACK return codes with the top bit set are failures (3.1.1: 0x80; v5: reason codes >= 0x80). */
export const SUBACK_FAILURE = 0x80;

/** 3.1.1 reply-to: `<dest>/reply-to=<own topic with "/" as "%2F">` (TR-369 R-MQTT.24). */
export function topicWithReplyTo(dest: string, own: string): string {
  return `${dest}${REPLY_TO_MARK}${own.replaceAll('/', '%2F')}`;
}

/** 3.1.1 reply-to of a received topic: text after the last "/reply-to=", "%2F" back to "/" (R-MQTT.25). */
export function replyToOf(topic: string): string | undefined {
  const at = topic.lastIndexOf(REPLY_TO_MARK);
  if (at < 0) return undefined;
  const encoded = topic.slice(at + REPLY_TO_MARK.length);
  // An empty suffix is an empty reply-to, which the agent refuses (never answered elsewhere).
  return encoded.replace(/%2F/gi, '/');
}

/** True if the MQTT topic filter `filter` matches the topic name `topic` (MQTT 5 4.7: `+` one level, `#` the rest). */
export function filterMatches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return i < t.length || (i === t.length && i > 0); // "a/#" matches "a" too
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}

const isFilter = (t: string): boolean => /[+#]/.test(t);

/**
 * What an agent subscribes to and answers on after a CONNACK (TR-369 R-MQTT.15, R-MQTT.21):
 * - the reply-to is the Response Information if there is one; else the first
 *   `subscribe-topic` that is a topic name (a broker-assigned topic, as Oktopus-style brokers
 *   hand out); else the configured topic (ResponseTopicConfigured);
 * - the filters are every `subscribe-topic`, then the Response Information unless one of
 *   them covers it, then, without Response Information, the configured topic unless a
 *   `subscribe-topic` covers it (a broker-assigned topic becomes the reply-to, but the
 *   configured topic is still listened on).
 */
export function subscriptionPlan(
  configured: string,
  responseInformation: string | undefined,
  subscribeTopics: readonly string[],
): { replyTopic: string; source: ReplyTopicSource; filters: string[] } {
  const assigned = subscribeTopics.find((t) => t !== '' && !isFilter(t));
  const source: ReplyTopicSource = responseInformation ? 'response-information' : assigned !== undefined ? 'subscribe-topic' : 'configured';
  const replyTopic = responseInformation || (assigned ?? configured);
  const filters = [...new Set(subscribeTopics.filter((t) => t !== ''))];
  const covered = (topic: string): boolean => filters.some((f) => filterMatches(f, topic));
  if (responseInformation && !covered(responseInformation)) filters.push(responseInformation);
  // R-MQTT.15, last bullet: without Response Information the configured topic is subscribed
  // too unless a subscribe-topic filter covers it (an assigned topic stays the reply-to).
  if (!responseInformation && !covered(configured)) filters.push(configured);
  return { replyTopic, source, filters };
}

export function userPropertyValues(props: { [k: string]: string | string[] } | undefined, name: string): string[] {
  const v = props?.[name];
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}
