// The point after which a test may say that something did NOT happen. A fixed sleep
// proves nothing (a slow machine has not got round to the wrong behaviour yet); settle()
// waits until the harness has nothing left to do, so whatever was going to happen has.
import type { Harness } from './harness.js';

/**
 * What the in-process shard or the mock ACS is still doing, or undefined when idle. The
 * one place that reads shard internals for settle().
 */
function busyWith(h: Harness): string | undefined {
  const { activeSessions, queuedSessions } = h.shard.admin.stats();
  if (activeSessions > 0) return `${activeSessions} CWMP session(s) running`;
  if (queuedSessions > 0) return `${queuedSessions} CWMP session(s) queued`;
  const due = h.clock.nextAt();
  if (due !== undefined && due <= h.clock.now()) return 'work due on the fake clock';
  if (h.acs.requestsInFlight > 0) return `${h.acs.requestsInFlight} request(s) in flight at the mock ACS`;
  for (let l = 0; l < h.shard.size; l++) {
    const e = h.shard.device.extras.get(l);
    if (e?.transfers.some((t) => t.state === 2)) return `a transfer of CPE ${l} running`;
    if (e?.duChanges.some((c) => c.state === 2)) return `a ChangeDUState of CPE ${l} running`;
    if (h.shard.diagnostics.working(l) > 0) return `a diagnostic test of CPE ${l} running`;
  }
  return undefined;
}

/**
 * Settle the harness at the fake clock's present: fire what is due now (a real clock
 * would have), then wait until no CWMP session runs or waits in the queue, nothing is
 * due, the mock ACS has no request in flight and no transfer is running, twice in a row
 * across a turn of the event loop. Throws when it does not settle within timeoutMs (a
 * CPE that never stops talking is a failure too).
 */
export async function settle(h: Harness, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let idle = 0;
  for (;;) {
    h.tick(0);
    const busy = busyWith(h);
    idle = busy === undefined ? idle + 1 : 0;
    if (idle >= 2) return;
    if (Date.now() > deadline) throw new Error(`settle: still busy after ${timeoutMs} ms: ${busy ?? 'idle only once'}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
