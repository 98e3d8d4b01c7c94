// USP agents publish what happened on named channels; the shard's metrics
// subscribe. One instrumentation point each: the agent's request path, its Notify path.
import diagnostics_channel from 'node:diagnostics_channel';
import type { MsgTypeName } from './types.js';

/** One controller request handled: decode through send. */
export interface UspRequestEvent {
  msgType: MsgTypeName;
  result: 'success' | 'error';
  seconds: number;
  /** The USP error code when result is 'error'. */
  errCode?: number;
}

/** An autonomous Notify the agent considered: sent when gated (a matching enabled subscription). */
export interface UspNotifyEvent {
  kind: 'ValueChange' | 'ObjectCreation' | 'ObjectDeletion' | 'Event' | 'OperationComplete' | 'OnBoardRequest';
  gated: boolean;
}

/** A Record or Msg the agent dropped without answering (docs/usp-behaviour.md). */
export interface UspDropEvent {
  reason: 'bad-record' | 'bad-msg' | 'not-for-me' | 'unknown-controller' | 'duplicate' | 'unexpected' | 'notify-backlog' | 'bad-reply-to';
}

/**
 * Why an agent's MQTT connection attempt failed or its connection was lost (README
 * "Descriptors", docs/usp-behaviour.md "Reconnecting"): out of file descriptors (EMFILE,
 * ENFILE, or not opened to keep the process's reserve), no TCP/TLS connection, CONNACK
 * refused by the broker, no CONNACK/SUBACK in time, closed by the broker or the network,
 * every SUBSCRIBE refused, a fleet event's link fault, anything else.
 */
export const MQTT_FAIL_CAUSES = ['descriptors', 'connect', 'rejected', 'timeout', 'closed', 'subscribe', 'link', 'error'] as const;
export type MqttFailCause = (typeof MQTT_FAIL_CAUSES)[number];

/** An agent's connection attempt failed or its connection went down. */
export interface UspConnectionFailureEvent {
  cause: MqttFailCause;
}

export const uspConnectionFailureChannel = diagnostics_channel.channel('cpe-sim:usp:connection-failure');

export function publishUspConnectionFailure(e: UspConnectionFailureEvent): void {
  if (uspConnectionFailureChannel.hasSubscribers) uspConnectionFailureChannel.publish(e);
}

export const uspRequestChannel = diagnostics_channel.channel('cpe-sim:usp:request');
export const uspNotifyChannel = diagnostics_channel.channel('cpe-sim:usp:notify');
export const uspDropChannel = diagnostics_channel.channel('cpe-sim:usp:drop');

export function publishUspRequest(e: UspRequestEvent): void {
  if (uspRequestChannel.hasSubscribers) uspRequestChannel.publish(e);
}

export function publishUspNotify(e: UspNotifyEvent): void {
  if (uspNotifyChannel.hasSubscribers) uspNotifyChannel.publish(e);
}

export function publishUspDrop(e: UspDropEvent): void {
  if (uspDropChannel.hasSubscribers) uspDropChannel.publish(e);
}
