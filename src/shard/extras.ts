// What a CPE has only while it is doing something: pending M events, transfers,
// scheduled informs, actions deferred to the session's end, a firmware other than the
// profile's. A CPE with none of these has no entry (ARCHITECTURE.md, "A CPE's state").
import type { TransferRequest } from '../cwmp/rpc/handler.js';
import type { CpeRequest, DuOperation, EventStruct, TransferFault } from '../cwmp/types.js';

/** A queued transfer: the request plus where it stands. */
export interface Transfer extends Omit<TransferRequest, 'windows'> {
  /** 1 not started, 2 in progress, 3 completed (TransferComplete not yet acknowledged). */
  state: 1 | 2 | 3;
  /** Epoch ms when it may start; set when the session that asked for it ends. */
  startAt: number;
  /** ScheduleDownload: absolute time windows (epoch ms) in which it may run. */
  windows?: Array<{ start: number; end: number; mode: string }>;
  /** The TransferComplete request, once the transfer has finished. */
  complete?: Extract<CpeRequest, { method: 'TransferComplete' }>;
}

/** A ChangeDUState (TR-069 A.4.1.10): run after the session, reported by DUStateChangeComplete. */
export interface DuChange {
  commandKey: string;
  operations: DuOperation[];
  state: 1 | 2 | 3;
  complete?: Extract<CpeRequest, { method: 'DUStateChangeComplete' }>;
}

export interface Firmware {
  /** Active bank, 1 or 2 (DeviceInfo.FirmwareImage.{i}). */
  active: 1 | 2;
  versions: [string, string];
}

export interface CpeExtra {
  mEvents: EventStruct[];
  transfers: Transfer[];
  duChanges: DuChange[];
  scheduledInforms: Array<{ at: number; commandKey: string }>;
  /** Reboot or factory reset accepted in this session, run when it ends. */
  deferred: 'reboot' | 'factoryReset' | undefined;
  firmware: Firmware | undefined;
  /** A new image was installed: announce SoftwareVersion at the next boot. */
  firmwareChanged: boolean;
}

export type { TransferFault };

export class ExtraStore {
  private readonly map = new Map<number, CpeExtra>();

  get(l: number): CpeExtra | undefined {
    return this.map.get(l);
  }

  ensure(l: number): CpeExtra {
    let e = this.map.get(l);
    if (!e) {
      e = { mEvents: [], transfers: [], duChanges: [], scheduledInforms: [], deferred: undefined, firmware: undefined, firmwareChanged: false };
      this.map.set(l, e);
    }
    return e;
  }

  /** Put back an entry read from the state dir. */
  set(l: number, e: CpeExtra): void {
    this.map.set(l, e);
  }

  /** Drop the entry once nothing is left in it. */
  prune(l: number): void {
    const e = this.map.get(l);
    if (e && e.mEvents.length === 0 && e.transfers.length === 0 && e.duChanges.length === 0 && e.scheduledInforms.length === 0 && !e.deferred && !e.firmware) this.map.delete(l);
  }

  delete(l: number): void {
    this.map.delete(l);
  }

  get size(): number {
    return this.map.size;
  }
}
