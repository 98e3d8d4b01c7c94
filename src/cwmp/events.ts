// Event codes (TR-069 3.7.1.5). Single codes live in a per-CPE bitmask.

export const EVENT_CODES = [
  '0 BOOTSTRAP',
  '1 BOOT',
  '2 PERIODIC',
  '3 SCHEDULED',
  '4 VALUE CHANGE',
  '5 KICKED',
  '6 CONNECTION REQUEST',
  '7 TRANSFER COMPLETE',
  '8 DIAGNOSTICS COMPLETE',
  '9 REQUEST DOWNLOAD',
  '10 AUTONOMOUS TRANSFER COMPLETE',
  '11 DU STATE CHANGE COMPLETE',
  '12 AUTONOMOUS DU STATE CHANGE COMPLETE',
  '13 WAKEUP',
  '14 HEARTBEAT',
] as const;

export type EventCode = (typeof EVENT_CODES)[number];

export const EV = {
  BOOTSTRAP: 1 << 0,
  BOOT: 1 << 1,
  PERIODIC: 1 << 2,
  SCHEDULED: 1 << 3,
  VALUE_CHANGE: 1 << 4,
  KICKED: 1 << 5,
  CONNECTION_REQUEST: 1 << 6,
  TRANSFER_COMPLETE: 1 << 7,
  DIAGNOSTICS_COMPLETE: 1 << 8,
  REQUEST_DOWNLOAD: 1 << 9,
  AUTONOMOUS_TRANSFER_COMPLETE: 1 << 10,
  DU_STATE_CHANGE_COMPLETE: 1 << 11,
  AUTONOMOUS_DU_STATE_CHANGE_COMPLETE: 1 << 12,
  WAKEUP: 1 << 13,
  HEARTBEAT: 1 << 14,
} as const;

// The delivery rules of docs/cwmp-behaviour.md ("Events across a failed session",
// "Events across reboots", "Events tied to a CPE request"), as masks over the single codes.

/** Dropped when the session fails; every other code is retried. */
export const DISCARD_ON_FAILURE = EV.CONNECTION_REQUEST;

/** Kept across a reboot (iopsys icwmp's table); 1 BOOT is replaced by the new boot's own. */
export const KEEP_ON_REBOOT =
  EV.BOOTSTRAP | EV.PERIODIC | EV.SCHEDULED | EV.KICKED | EV.TRANSFER_COMPLETE | EV.REQUEST_DOWNLOAD | EV.AUTONOMOUS_TRANSFER_COMPLETE | EV.DU_STATE_CHANGE_COMPLETE | EV.AUTONOMOUS_DU_STATE_CHANGE_COMPLETE | EV.WAKEUP;

/** Tied to a CPE request: cleared when that request's response arrives, not by the InformResponse. */
export const TIED_TO_REQUEST = EV.TRANSFER_COMPLETE | EV.REQUEST_DOWNLOAD | EV.AUTONOMOUS_TRANSFER_COMPLETE | EV.DU_STATE_CHANGE_COMPLETE | EV.AUTONOMOUS_DU_STATE_CHANGE_COMPLETE;

/** `M` codes tied to a CPE request the same way (sent with 7 or 11). */
export const TIED_M_CODES: ReadonlySet<string> = new Set(['M Download', 'M ScheduleDownload', 'M Upload', 'M ChangeDUState']);

export function eventsOf(mask: number): string[] {
  const out: string[] = [];
  for (let b = 0; b < EVENT_CODES.length; b++) if (mask & (1 << b)) out.push(EVENT_CODES[b]!);
  return out;
}
