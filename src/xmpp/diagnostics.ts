// The CPEs' XMPP connections publish what happened on named channels; the shard's
// metrics subscribe (cpe_sim_xmpp_*). One instrumentation point each.
import diagnostics_channel from 'node:diagnostics_channel';
import type { XmppFailCause } from './client.js';
import type { XmppCrResult } from './conn-req.js';

export const xmppLoginChannel = diagnostics_channel.channel('cpe-sim:xmpp:login');
export const xmppConnectionFailureChannel = diagnostics_channel.channel('cpe-sim:xmpp:connection-failure');
export const xmppConnectionRequestChannel = diagnostics_channel.channel('cpe-sim:xmpp:connection-request');

/** A CPE logged in to its XMPP server (bound and present). */
export interface XmppLoginEvent {
  tls: boolean;
}

export interface XmppConnectionFailureEvent {
  cause: XmppFailCause;
}

export interface XmppConnectionRequestEvent {
  result: XmppCrResult;
}

export function publishXmppLogin(e: XmppLoginEvent): void {
  if (xmppLoginChannel.hasSubscribers) xmppLoginChannel.publish(e);
}

export function publishXmppConnectionFailure(e: XmppConnectionFailureEvent): void {
  if (xmppConnectionFailureChannel.hasSubscribers) xmppConnectionFailureChannel.publish(e);
}

export function publishXmppConnectionRequest(e: XmppConnectionRequestEvent): void {
  if (xmppConnectionRequestChannel.hasSubscribers) xmppConnectionRequestChannel.publish(e);
}
