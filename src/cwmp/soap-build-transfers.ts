// CWMP -> SOAP for Reboot, FactoryReset, the file-transfer RPCs and ChangeDUState
// (TR-069 A.3.2.8, A.3.2.9, A.3.3.2, A.4.1, A.4.2.3), on both sides; dispatched from
// soap-build.ts. Children in schema order, arrays with soap-enc:arrayType (TR-069 A.3.1).
import { FAULT_STRINGS } from './faults.js';
import { bool, el } from './soap-elements.js';
import type { AcsOutgoingRequest, CpeMessage, DuOperation, TransferFault } from './types.js';

type Cpe<M extends CpeMessage['method']> = Extract<CpeMessage, { method: M }>;
type AcsOut<M extends AcsOutgoingRequest['method']> = Extract<AcsOutgoingRequest, { method: M }>;

/** FaultStruct content; 0 with "" is success (TR-069 A.3.3.2), other codes get their meaning if empty. */
const faultStruct = (f: TransferFault): string =>
  `<FaultCode>${f.code}</FaultCode>` + el('FaultString', f.message || (f.code === 0 ? '' : (FAULT_STRINGS[f.code] ?? '')));

// ---- CPE -> ACS ----

/** Responses with no arguments (Reboot, FactoryReset, ScheduleInform, ScheduleDownload, CancelTransfer, ChangeDUState). */
export function buildEmptyResponse(method: string): string {
  return `<cwmp:${method}></cwmp:${method}>`;
}

/** DownloadResponse and UploadResponse: Status 1 = pending, both times then 0001-01-01T00:00:00Z. */
export function buildTransferResponse(msg: Cpe<'DownloadResponse'> | Cpe<'UploadResponse'>): string {
  return (
    `<cwmp:${msg.method}><Status>${msg.status}</Status>${el('StartTime', msg.startTime)}` +
    `${el('CompleteTime', msg.completeTime)}</cwmp:${msg.method}>`
  );
}

export function buildGetQueuedTransfersResponse(msg: Cpe<'GetQueuedTransfersResponse'>): string {
  let x = `<cwmp:GetQueuedTransfersResponse><TransferList soap-enc:arrayType="cwmp:QueuedTransferStruct[${msg.transfers.length}]">`;
  for (const t of msg.transfers) x += `<QueuedTransferStruct>${el('CommandKey', t.commandKey)}<State>${t.state}</State></QueuedTransferStruct>`;
  return x + '</TransferList></cwmp:GetQueuedTransfersResponse>';
}

export function buildGetAllQueuedTransfersResponse(msg: Cpe<'GetAllQueuedTransfersResponse'>): string {
  let x =
    '<cwmp:GetAllQueuedTransfersResponse>' +
    `<TransferList soap-enc:arrayType="cwmp:AllQueuedTransferStruct[${msg.transfers.length}]">`;
  for (const t of msg.transfers) {
    x +=
      `<AllQueuedTransferStruct>${el('CommandKey', t.commandKey)}<State>${t.state}</State>` +
      `<IsDownload>${bool(t.isDownload)}</IsDownload>${el('FileType', t.fileType)}<FileSize>${t.fileSize}</FileSize>` +
      `${el('TargetFileName', t.targetFileName)}</AllQueuedTransferStruct>`;
  }
  return x + '</TransferList></cwmp:GetAllQueuedTransfersResponse>';
}

/** TR-069 A.3.3.2: CommandKey, FaultStruct, StartTime, CompleteTime. */
export function buildTransferComplete(msg: Cpe<'TransferComplete'>): string {
  return (
    `<cwmp:TransferComplete>${el('CommandKey', msg.commandKey)}<FaultStruct>${faultStruct(msg.fault)}</FaultStruct>` +
    `${el('StartTime', msg.startTime)}${el('CompleteTime', msg.completeTime)}</cwmp:TransferComplete>`
  );
}

/** TR-069 A.4.2.3: Results of OpResultStruct, then CommandKey. */
export function buildDUStateChangeComplete(msg: Cpe<'DUStateChangeComplete'>): string {
  let x = `<cwmp:DUStateChangeComplete><Results soap-enc:arrayType="cwmp:OpResultStruct[${msg.results.length}]">`;
  for (const r of msg.results) {
    x +=
      `<OpResultStruct>${el('UUID', r.uuid)}${el('DeploymentUnitRef', r.deploymentUnitRef)}${el('Version', r.version)}` +
      `${el('CurrentState', r.currentState)}<Resolved>${bool(r.resolved)}</Resolved>` +
      `${el('ExecutionUnitRefList', r.executionUnitRefList)}${el('StartTime', r.startTime)}${el('CompleteTime', r.completeTime)}` +
      `<Fault>${faultStruct(r.fault)}</Fault></OpResultStruct>`;
  }
  return x + `</Results>${el('CommandKey', msg.commandKey)}</cwmp:DUStateChangeComplete>`;
}

// ---- ACS -> CPE (mock ACS and tests) ----

export function buildDUStateChangeCompleteResponse(): string {
  return buildEmptyResponse('DUStateChangeCompleteResponse');
}

/** Reboot and CancelTransfer: CommandKey only. */
export function buildCommandKeyRequest(msg: AcsOut<'Reboot'> | AcsOut<'CancelTransfer'>): string {
  return `<cwmp:${msg.method}>${el('CommandKey', msg.commandKey)}</cwmp:${msg.method}>`;
}

/** TR-069 A.3.2.8 argument order (GenieACS writes the same). */
export function buildDownload(msg: AcsOut<'Download'>): string {
  return (
    `<cwmp:Download>${el('CommandKey', msg.commandKey)}${el('FileType', msg.fileType)}${el('URL', msg.url)}` +
    `${el('Username', msg.username)}${el('Password', msg.password)}<FileSize>${msg.fileSize}</FileSize>` +
    `${el('TargetFileName', msg.targetFileName)}<DelaySeconds>${msg.delaySeconds}</DelaySeconds>` +
    `${el('SuccessURL', msg.successUrl)}${el('FailureURL', msg.failureUrl)}</cwmp:Download>`
  );
}

export function buildUpload(msg: AcsOut<'Upload'>): string {
  return (
    `<cwmp:Upload>${el('CommandKey', msg.commandKey)}${el('FileType', msg.fileType)}${el('URL', msg.url)}` +
    `${el('Username', msg.username)}${el('Password', msg.password)}<DelaySeconds>${msg.delaySeconds}</DelaySeconds></cwmp:Upload>`
  );
}

export function buildScheduleInform(msg: AcsOut<'ScheduleInform'>): string {
  return `<cwmp:ScheduleInform><DelaySeconds>${msg.delaySeconds}</DelaySeconds>${el('CommandKey', msg.commandKey)}</cwmp:ScheduleInform>`;
}

/** TR-069 A.4.1.8. */
export function buildScheduleDownload(msg: AcsOut<'ScheduleDownload'>): string {
  let x =
    `<cwmp:ScheduleDownload>${el('CommandKey', msg.commandKey)}${el('FileType', msg.fileType)}${el('URL', msg.url)}` +
    `${el('Username', msg.username)}${el('Password', msg.password)}<FileSize>${msg.fileSize}</FileSize>` +
    `${el('TargetFileName', msg.targetFileName)}<TimeWindowList soap-enc:arrayType="cwmp:TimeWindowStruct[${msg.timeWindows.length}]">`;
  for (const w of msg.timeWindows) {
    x +=
      `<TimeWindowStruct><WindowStart>${w.windowStart}</WindowStart><WindowEnd>${w.windowEnd}</WindowEnd>` +
      `${el('WindowMode', w.windowMode)}${el('UserMessage', w.userMessage)}<MaxRetries>${w.maxRetries}</MaxRetries></TimeWindowStruct>`;
  }
  return x + '</TimeWindowList></cwmp:ScheduleDownload>';
}

/** FactoryReset, GetQueuedTransfers, GetAllQueuedTransfers: no arguments. */
export function buildEmptyRequest(msg: AcsOut<'FactoryReset'> | AcsOut<'GetQueuedTransfers'> | AcsOut<'GetAllQueuedTransfers'>): string {
  return `<cwmp:${msg.method}></cwmp:${msg.method}>`;
}

function operation(o: DuOperation): string {
  switch (o.op) {
    case 'Install':
      return (
        `<OperationStruct xsi:type="cwmp:InstallOpStruct">${el('URL', o.url)}${el('UUID', o.uuid)}` +
        `${el('Username', o.username)}${el('Password', o.password)}${el('ExecutionEnvRef', o.executionEnvRef)}</OperationStruct>`
      );
    case 'Update':
      return (
        `<OperationStruct xsi:type="cwmp:UpdateOpStruct">${el('UUID', o.uuid)}${el('Version', o.version)}` +
        `${el('URL', o.url)}${el('Username', o.username)}${el('Password', o.password)}</OperationStruct>`
      );
    case 'Uninstall':
      return (
        `<OperationStruct xsi:type="cwmp:UninstallOpStruct">${el('UUID', o.uuid)}${el('Version', o.version)}` +
        `${el('ExecutionEnvRef', o.executionEnvRef)}</OperationStruct>`
      );
    default: {
      const never: never = o;
      throw new Error(`unhandled operation ${(never as { op: string }).op}`);
    }
  }
}

/** TR-069 A.4.1.10: Operations (each typed by xsi:type), then CommandKey. */
export function buildChangeDUState(msg: AcsOut<'ChangeDUState'>): string {
  let x = `<cwmp:ChangeDUState><Operations soap-enc:arrayType="cwmp:OperationStruct[${msg.operations.length}]">`;
  for (const o of msg.operations) x += operation(o);
  return x + `</Operations>${el('CommandKey', msg.commandKey)}</cwmp:ChangeDUState>`;
}
