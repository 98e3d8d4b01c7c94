import type { CpeView, WriteRule } from '../../datamodel/view.js';
import type { AcsRequest, CpeMessage, CwmpFault, DuOperation, QueuedTransfer } from '../types.js';

/** A Download, Upload or ScheduleDownload as an RPC hands it to the device. */
export interface TransferRequest {
  isDownload: boolean;
  commandKey: string;
  fileType: string;
  url: string;
  username: string;
  password: string;
  fileSize: number;
  targetFileName: string;
  delaySeconds: number;
  /** ScheduleDownload windows, in seconds from receipt. */
  windows?: Array<{ start: number; end: number; mode: string }>;
}

/** What an RPC may do to the device beyond its data model; the shard implements it. */
export interface DeviceActions {
  /** Reboot once the session ends (TR-069 A.3.2.9). */
  reboot(commandKey: string): void;
  /** Factory reset once the session ends (TR-069 A.4.1.6). */
  factoryReset(): void;
  scheduleInform(delaySeconds: number, commandKey: string): void;
  /** Queue a Download or Upload; a fault when it cannot be queued. */
  queueTransfer(t: TransferRequest): CwmpFault | undefined;
  queuedTransfers(): QueuedTransfer[];
  /** Queue a ChangeDUState to run once the session ends. */
  changeDuState(commandKey: string, operations: DuOperation[]): void;
  cancelTransfer(commandKey: string): CwmpFault | undefined;
}

export interface RpcContext {
  view: CpeView;
  device: DeviceActions;
  /** The device's own write rules (TR-143 DiagnosticsState), checked with the rest before any write. */
  writeRule?: WriteRule | undefined;
}

/** Every RPC handler has this shape: the request narrowed to its method. */
export type RpcHandler<M extends AcsRequest['method']> = (req: Extract<AcsRequest, { method: M }>, ctx: RpcContext) => CpeMessage;

export const fault = (code: number, message: string): CpeMessage => ({ method: 'Fault', fault: { code, message } });

