// Protocol code publishes what happened on named channels; metrics and logs
// subscribe, so nothing here imports either. Publishing costs nothing without subscribers.
// Channels are per thread: each shard's metrics subscribe in the shard.
import diagnostics_channel from 'node:diagnostics_channel';
import type { UdpCrResult } from './udp-cr.js';

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

/** A UDP connection request (TR-069 Annex G) a CPE accepted or ignored, and why. */
export interface UdpCrEvent {
  result: UdpCrResult;
}

/** What became of one STUN Binding transaction (TR-111 part 2). */
export interface StunEvent {
  result: StunResult;
}

/**
 * new: the answer gave the CPE a mapped address it did not have (its first, or a change);
 * same: a keepalive confirmed it; error-response: a Binding Error Response; timeout: no
 * answer after the retransmissions; send-failed: the datagram could not be sent.
 */
export const STUN_RESULTS = ['new', 'same', 'error-response', 'timeout', 'send-failed'] as const;
export type StunResult = (typeof STUN_RESULTS)[number];

export const udpCrChannel = diagnostics_channel.channel('cpe-sim:cwmp:udp-cr');
export const stunChannel = diagnostics_channel.channel('cpe-sim:cwmp:stun');

export function publishUdpCr(e: UdpCrEvent): void {
  if (udpCrChannel.hasSubscribers) udpCrChannel.publish(e);
}

export function publishStun(e: StunEvent): void {
  if (stunChannel.hasSubscribers) stunChannel.publish(e);
}
