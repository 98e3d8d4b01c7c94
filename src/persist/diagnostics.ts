// The state dir's writes and reads, published on named channels; the shard's metrics
// subscribe (cpe_sim_state_writes_total, cpe_sim_state_restored_cpes_total).
import diagnostics_channel from 'node:diagnostics_channel';

/** One CPE record stored (or removed) in the state dir, or a write that failed. */
export interface StateWriteEvent {
  result: 'stored' | 'failed';
}

/** CPEs read back from the state dir as a shard started (a process start or a shard restart). */
export interface StateRestoreEvent {
  cpes: number;
}

export const stateWriteChannel = diagnostics_channel.channel('cpe-sim:state-write');
export const stateRestoreChannel = diagnostics_channel.channel('cpe-sim:state-restore');

export function publishStateWrite(e: StateWriteEvent): void {
  if (stateWriteChannel.hasSubscribers) stateWriteChannel.publish(e);
}

export function publishStateRestore(e: StateRestoreEvent): void {
  if (stateRestoreChannel.hasSubscribers) stateRestoreChannel.publish(e);
}
