// Phase-anchored schedules: PeriodicInformTime (TR-069 Amendment 6 3.2.1.2),
// HeartbeatPolicy.InitiationTime and LocalAgent.Controller.PeriodicNotifTime (TR-181) set
// only the phase of a repeating time, never its first occurrence.

/**
 * The first anchor + k·interval strictly after now, for any integer k: an anchor in the
 * future still only sets the phase, so the next instant may come before it.
 */
export function nextOnPhase(anchorMs: number, intervalMs: number, now: number): number {
  const k = Math.floor((now - anchorMs) / intervalMs) + 1;
  return anchorMs + k * intervalMs;
}
