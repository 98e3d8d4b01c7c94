// Every kind of timer a shard's scheduler holds, CWMP and USP, in one enum. The table
// (shard.ts) routes each kind by name to the side that owns it; the scheduler stores the
// kind in one byte per entry.

export const enum TimerKind {
  // ---- the device (either protocol) ----
  /** Power-on along the boot ramp, or the end of a reboot's dark window. */
  Boot = 1,
  /** A Download/Upload's DelaySeconds or a ScheduleDownload window opened. */
  Transfer = 2,
  /** A ScheduleInform's DelaySeconds ran out. */
  ScheduledInform = 3,
  /** A fleet event's reboot wave reached this CPE (M Reboot, as an ACS's Reboot would). */
  WaveReboot = 13,
  /** A fleet event's factory-reset wave reached this CPE. */
  WaveReset = 14,
  /** A fleet event's power-on ramp reached this CPE. */
  WavePowerOn = 15,
  /** A modelled TR-143 test's result is due (docs/diagnostics.md). */
  Diagnostic = 16,

  // ---- the CWMP side ----
  /** The next periodic Inform (PeriodicInformInterval / PeriodicInformTime). */
  Periodic = 4,
  /** The end of a failed session's retry wait. */
  Retry = 5,
  /** The next HeartbeatPolicy session. */
  Heartbeat = 6,
  /** A throttled active notification may go out now. */
  NotifyWake = 7,
  /** The shard-wide look for changed values under active notification. */
  NotifyScan = 8,

  // ---- the USP side ----
  /** An agent's MQTT reconnect after its backoff. */
  UspConnect = 9,
  /** A send_resp Notify is due to be sent again. */
  UspNotifyRetry = 10,
  /** Device.LocalAgent.Periodic! is due. */
  UspPeriodic = 11,
  /** A slice of the shard-wide subscription scan. */
  UspScan = 12,
  /** An agent's MQTT keepalive check: PINGREQ if nothing went out for KeepAliveTime, or a dead link. */
  UspKeepAlive = 21,

  // ---- the UDP connection-request endpoint (TR-069 Annex G, TR-111) ----
  /** The next STUN Binding Request: a keepalive, a retransmission or the timeout of one. */
  StunKeepAlive = 17,
  /** A changed UDPConnectionRequestAddress may be notified now (UDPConnectionRequestAddressNotificationLimit). */
  UdpCrNotify = 18,
  // ---- XMPP connection requests (TR-069 Annex K) ----
  /** A CPE's XMPP reconnect after its backoff. */
  XmppConnect = 19,
  /** A CPE's XMPP whitespace keepalive is due (KeepAliveInterval). */
  XmppKeepAlive = 20,
}

export type CwmpTimer = TimerKind.Periodic | TimerKind.Retry | TimerKind.Heartbeat | TimerKind.NotifyWake | TimerKind.NotifyScan;
export type UspTimer = TimerKind.UspConnect | TimerKind.UspNotifyRetry | TimerKind.UspPeriodic | TimerKind.UspScan | TimerKind.UspKeepAlive;
