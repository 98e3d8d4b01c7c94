// Protocol code publishes what happened on named channels (STYLE 8); metrics and logs
// subscribe, so nothing here imports either. Publishing costs nothing without subscribers.
import diagnostics_channel from 'node:diagnostics_channel';

export interface MessageEvent {
  /** Method the CPE sent ('Empty' for the empty POST). */
  sent: string;
  status: number;
  seconds: number;
}

export interface SessionEvent {
  cpe: number;
  ok: boolean;
  events: string[];
  reason?: string;
  seconds: number;
}

export const messageChannel = diagnostics_channel.channel('cpe-sim:cwmp:message');
export const sessionChannel = diagnostics_channel.channel('cpe-sim:cwmp:session');

export function publishMessage(e: MessageEvent): void {
  if (messageChannel.hasSubscribers) messageChannel.publish(e);
}

export function publishSession(e: SessionEvent): void {
  if (sessionChannel.hasSubscribers) sessionChannel.publish(e);
}
