// TR-143 tests published on a named channel; the shard's metrics subscribe
// (cpe_sim_diagnostics_total, cpe_sim_diagnostics_bytes_total).
import diagnostics_channel from 'node:diagnostics_channel';
import type { DiagTest } from './diag-tests.js';

/** One test ended: completed (Complete, whatever it measured), failed with an Error_* state, or canceled (by the ACS, the controller, a new request or a reboot). */
export interface DiagnosticEvent {
  test: DiagTest;
  protocol: 'cwmp' | 'usp';
  result: 'complete' | 'error' | 'canceled';
  /** Download/Upload: body bytes moved. */
  bytes: number;
}

export const diagnosticChannel = diagnostics_channel.channel('cpe-sim:diagnostic');

export function publishDiagnostic(e: DiagnosticEvent): void {
  if (diagnosticChannel.hasSubscribers) diagnosticChannel.publish(e);
}
