// A module of its own, without session.ts's imports (the HTTP client, the SOAP parser), so
// the metrics catalog can name the label values without loading them (the main thread
// runs no session).
/** Every reason a session fails for, fixed (metrics label values). */
export const FAIL_REASONS = [
  'connect', 'timeout', 'auth', 'http-status', 'no-inform-response', 'acs-fault', 'malformed', 'protocol', 'io', 'redirect', 'too-long',
  // an ACS reply body over MAX_ACS_REPLY_BYTES (docs/cwmp-behaviour.md "Sessions")
  'too-large',
  // a fleet event's link fault (docs/cwmp-behaviour.md "Link faults")
  'reset', 'stall', 'link-down',
  // the CPE lost power mid-session (a fleet event's power cut, reboot or reset wave)
  'power-off',
  // the fleet stopped and the session outlasted --stop-grace
  'stopped',
  // EMFILE/ENFILE, or a connection not opened to keep the process's descriptor reserve (README "Descriptors")
  'descriptors',
] as const;
export type FailReason = (typeof FAIL_REASONS)[number];
