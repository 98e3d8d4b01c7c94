// The CWMP side's per-CPE state: a few typed-array slots per CPE, and a sparse map for the
// CPEs whose HeartbeatPolicy is on. Read and written by the side (queue, planning) and by
// one session at a time per CPE.

export const enum CwmpFlag {
  /** Waiting in the session queue. */
  Queued = 1,
  InSession = 2,
  /** A trigger arrived during the session: go again when it ends. */
  Again = 4,
  /** An ACS has acknowledged 0 BOOTSTRAP (TR-069 Amendment 6 3.7.1.5). */
  Bootstrapped = 8,
}

export interface Heartbeat {
  /** Epoch ms the next heartbeat is due. */
  at: number;
  /** Due and not yet delivered. */
  pending: boolean;
}

import { DueTimes, type TimeBase } from '../scheduler/times.js';

export class CwmpState {
  readonly flags: Uint8Array;
  /** Pending single event codes, as EV bits (src/cwmp/events.ts). */
  readonly events: Uint16Array;
  /** RetryCount: failed sessions since the last success. */
  readonly retries: Uint8Array;
  /** Epoch ms of the scheduled periodic Inform / retry; 0 when none (a stale timer entry is ignored). */
  readonly periodicAt: DueTimes;
  readonly retryAt: DueTimes;
  readonly heartbeats = new Map<number, Heartbeat>();

  constructor(size: number, base: TimeBase) {
    this.flags = new Uint8Array(size);
    this.events = new Uint16Array(size);
    this.retries = new Uint8Array(size);
    this.periodicAt = new DueTimes(size, base);
    this.retryAt = new DueTimes(size, base);
  }

  /** Bytes of the per-CPE arrays. */
  get byteLength(): number {
    return this.flags.byteLength + this.events.byteLength + this.retries.byteLength + this.periodicAt.byteLength + this.retryAt.byteLength;
  }
}
