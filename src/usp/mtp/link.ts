// What the agents' connection bookkeeping (src/shard/usp-connections.ts) needs of any MTP
// connection of one agent: MQTT (mqtt.ts), WebSocket (websocket.ts, ws-server.ts), STOMP
// (stomp.ts). One attempt per connect(), the outcome reported once as onUp or onDown;
// backoff, reconnect and the MTP's Connect/Disconnect Records are the caller's.
import type { MqttFailCause } from '../diagnostics.js';

export type LinkState = 'idle' | 'connecting' | 'up' | 'down' | 'closed';

export interface LinkUpInfo {
  /** Where this agent is reached: its MQTT topic or STOMP destination ('' for WebSocket). */
  replyTopic: string;
  /** True if replyTopic came from the peer (an MQTT 5 CONNACK, a STOMP CONNECTED subscribe-dest). */
  discovered: boolean;
}

export interface LinkEvents {
  /** Connected (and subscribed, where the MTP subscribes). */
  onUp(info: LinkUpInfo): void;
  /** The attempt failed or the connection was lost: once per attempt, never after close(). */
  onDown(reason: string, cause: MqttFailCause): void;
  /** A Record arrived; payload is a view (copy it to keep it past the call). */
  onRecord(payload: Uint8Array, replyTo: string | undefined): void;
  /** The socket of an attempt closed (each attempt's socket once): its descriptor is free again. */
  onSocketClosed?(): void;
  /** MQTT: the next keepalive check is due at `at`; the owner calls keepAliveDue(at) then. */
  keepAliveAt?(at: number): void;
}

/** One agent's connection over some MTP. */
export interface AgentLink {
  readonly state: LinkState;
  /** One attempt; allowed from 'idle' and 'down'. */
  connect(): void;
  /** Send a Record to `dest` (a topic or destination; ignored by WebSocket). Rejects when not up. */
  publish(dest: string, payload: Uint8Array, qos: 0 | 1 | 2): Promise<void>;
  /** Send `final` (the disconnect Record) if up, then close; terminal, no onDown. */
  close(final?: { topic: string; payload: Uint8Array }): Promise<void>;
  /** Reset the socket as a broken link does: onDown(reason, 'link') follows. */
  cut(reason: string): void;
  /** Terminal, as a power cut: no goodbye, no onDown. */
  abort(): void;
  /** The largest Record that may be sent to `dest`. */
  maxPayloadTo(dest: string): number;
  /** MQTT: a keepalive check told through LinkEvents.keepAliveAt is due (a stale `at` is ignored). */
  keepAliveDue?(at: number): void;
}
