// Event codes (TR-069 3.7.1.5, PROTOCOLS A.4). Single codes live in a per-CPE bitmask.

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
  CONNECTION_REQUEST: 1 << 6,
} as const;

/** PROTOCOLS A.4: 6 CONNECTION REQUEST is discarded when the session fails; the rest are retried. */
export const DISCARD_ON_FAILURE = EV.CONNECTION_REQUEST;

export function eventsOf(mask: number): string[] {
  const out: string[] = [];
  for (let b = 0; b < EVENT_CODES.length; b++) if (mask & (1 << b)) out.push(EVENT_CODES[b]!);
  return out;
}
