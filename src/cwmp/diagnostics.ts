// Protocol code publishes what happened on named channels; metrics and logs
// subscribe, so nothing here imports either. Publishing costs nothing without subscribers.
// Channels are per thread: each shard's metrics subscribe in the shard.
import diagnostics_channel from 'node:diagnostics_channel';

/** One CPE message and the ACS's reply to it: the one place every CWMP exchange passes. */
export interface MessageEvent {
  /** Method the CPE sent ('Empty' for the empty POST, 'Fault' for a SOAP fault). */
  sent: string;
  /** CWMP fault code when `sent` is 'Fault'. */
  faultCode?: number;
  status: number;
  seconds: number;
}

/** An Inform's fate: accepted (InformResponse) or failed. */
export interface InformEvent {
  events: string[];
  result: 'accepted' | 'failed';
}

export interface SessionEvent {
  cpe: number;
  ok: boolean;
  events: string[];
  reason?: string;
  /** The ACS's HTTP status when the session failed on one (reason http-status, or auth on a 401). */
  status?: number;
  /** The ACS's Retry-After moved this CPE's retry later (docs/cwmp-behaviour.md "Retry-After"). */
  retryAfterHonored?: boolean;
  seconds: number;
}

/** Timers of the fleet that fired: periodic informs, scheduled events (ScheduleInform, transfers, heartbeats). */
export interface TickEvent {
  kind: 'periodic' | 'scheduled';
}

export const messageChannel = diagnostics_channel.channel('cpe-sim:cwmp:message');
export const informChannel = diagnostics_channel.channel('cpe-sim:cwmp:inform');
export const sessionChannel = diagnostics_channel.channel('cpe-sim:cwmp:session');
export const tickChannel = diagnostics_channel.channel('cpe-sim:fleet:tick');

export function publishMessage(e: MessageEvent): void {
  if (messageChannel.hasSubscribers) messageChannel.publish(e);
}

export function publishInform(e: InformEvent): void {
  if (informChannel.hasSubscribers) informChannel.publish(e);
}

export function publishSession(e: SessionEvent): void {
  if (sessionChannel.hasSubscribers) sessionChannel.publish(e);
}

export function publishTick(e: TickEvent): void {
  if (tickChannel.hasSubscribers) tickChannel.publish(e);
}
