// SOAP -> CWMP for Reboot, FactoryReset, the file-transfer RPCs and ChangeDUState
// (TR-069 A.3.2.8, A.3.2.9, A.3.3.2, A.4.1, A.4.2.3), on both sides. Same rules and
// element helpers (soap-elements.ts) as soap-parse.ts: an ArgError thrown here becomes
// 'Invalid' (CPE side) or 'Unknown' (ACS side).
//
// CPE side, what is lenient and what is not: a missing optional string reads as "" (real
// ACSs drop empty CommandKey, Username, TargetFileName...); FileType and URL have no
// sensible default and are required; a missing FileSize is a hint we can do without
// (0 + warning); a missing DelaySeconds or window bound is not, and any number that is
// present but unreadable makes the request Invalid. The mock ACS side reads strictly.
import {
  ArgError,
  attr,
  elements,
  items,
  kid,
  localName,
  optText,
  parseBool,
  parseStatus,
  req,
  reqText,
  reqUInt,
  text,
  type XNode,
} from './soap-elements.js';
import type { AcsRequest, CpeMessage, DuOpResult, DuOperation, QueuedTransfer, TimeWindow, TransferFault } from './types.js';

// ---- ACS -> CPE requests ----

/** The requests of this file; undefined when `name` is none of them. */
export function parseTransferRequest(name: string, node: XNode, warnings: string[]): AcsRequest | undefined {
  switch (name) {
    case 'Reboot':
    case 'CancelTransfer':
      return { method: name, commandKey: optText(node, 'CommandKey') };
    case 'FactoryReset':
    case 'GetQueuedTransfers':
    case 'GetAllQueuedTransfers':
      return { method: name };
    case 'Download':
      // TR-069 A.3.2.8; GenieACS sends every argument, FileSize and DelaySeconds as "0" when unset
      return {
        method: 'Download',
        ...fileArgs(node, warnings),
        delaySeconds: reqUInt(node, 'DelaySeconds'),
        successUrl: optText(node, 'SuccessURL'),
        failureUrl: optText(node, 'FailureURL'),
      };
    case 'Upload':
      return {
        method: 'Upload',
        commandKey: optText(node, 'CommandKey'),
        fileType: reqText(node, 'FileType'),
        url: reqText(node, 'URL'),
        username: optText(node, 'Username'),
        password: optText(node, 'Password'),
        delaySeconds: reqUInt(node, 'DelaySeconds'),
      };
    case 'ScheduleInform':
      return { method: 'ScheduleInform', delaySeconds: reqUInt(node, 'DelaySeconds'), commandKey: optText(node, 'CommandKey') };
    case 'ScheduleDownload':
      return {
        method: 'ScheduleDownload',
        ...fileArgs(node, warnings),
        timeWindows: items(req(node, 'TimeWindowList')).map(timeWindow),
      };
    case 'ChangeDUState': {
      // TR-069 A.4.1.10: at least one operation
      const ops = elements(req(node, 'Operations'));
      if (ops.length === 0) throw new ArgError('Operations is empty');
      return {
        method: 'ChangeDUState',
        operations: ops.map(([key, op], i) => duOperation(key, op, i, warnings)),
        commandKey: optText(node, 'CommandKey'),
      };
    }
    default:
      return undefined;
  }
}

/** FileSize is only a hint for the CPE: absent reads as 0, unreadable is still Invalid. */
function fileSize(node: XNode, warnings: string[]): number {
  if (kid(node, 'FileSize') !== undefined) return reqUInt(node, 'FileSize');
  warnings.push('missing FileSize, read as 0');
  return 0;
}

function reqInt(node: XNode, name: string): number {
  const t = reqText(node, name).trim();
  const n = Number(t);
  // xsd:int is -2147483648..2147483647
  if (!/^[-+]?\d+$/.test(t) || n < -0x80000000 || n > 0x7fffffff) throw new ArgError(`${name} is not an int: "${t}"`);
  return n;
}

/** TR-069 A.4.1.8 TimeWindowStruct; MaxRetries is an int (-1: no limit). */
function timeWindow(w: XNode): TimeWindow {
  return {
    windowStart: reqUInt(w, 'WindowStart'),
    windowEnd: reqUInt(w, 'WindowEnd'),
    windowMode: reqText(w, 'WindowMode'),
    userMessage: optText(w, 'UserMessage'),
    maxRetries: reqInt(w, 'MaxRetries'),
  };
}

const OP_TYPES = new Map<string, DuOperation['op']>([
  ['InstallOpStruct', 'Install'],
  ['UpdateOpStruct', 'Update'],
  ['UninstallOpStruct', 'Uninstall'],
]);

/**
 * TR-069 A.4.1.10: the operation kind is the item's xsi:type, whatever its prefix. An
 * item without one is still read when its element name says the kind (with a warning).
 */
function duOperation(key: string, node: XNode, i: number, warnings: string[]): DuOperation {
  const raw = attr(node, 'type');
  let op = raw === undefined ? undefined : OP_TYPES.get(localName(raw.trim()));
  if (raw !== undefined && op === undefined) throw new ArgError(`Operations item ${i + 1} has unknown xsi:type "${raw}"`);
  if (op === undefined) {
    op = OP_TYPES.get(localName(key));
    if (op === undefined) throw new ArgError(`Operations item ${i + 1} has no xsi:type`);
    warnings.push(`Operations item ${i + 1} has no xsi:type, read as ${localName(key)}`);
  }
  switch (op) {
    case 'Install':
      return {
        op,
        url: reqText(node, 'URL'),
        uuid: optText(node, 'UUID'),
        username: optText(node, 'Username'),
        password: optText(node, 'Password'),
        executionEnvRef: optText(node, 'ExecutionEnvRef'),
      };
    case 'Update':
      return {
        op,
        uuid: optText(node, 'UUID'),
        version: optText(node, 'Version'),
        url: optText(node, 'URL'),
        username: optText(node, 'Username'),
        password: optText(node, 'Password'),
      };
    case 'Uninstall':
      return { op, uuid: optText(node, 'UUID'), version: optText(node, 'Version'), executionEnvRef: optText(node, 'ExecutionEnvRef') };
    default: {
      const never: never = op;
      throw new Error(`unhandled operation ${String(never)}`);
    }
  }
}

// ---- CPE -> ACS (mock ACS and tests) ----

/** The arguments Download and ScheduleDownload share (TR-069 A.3.2.8, A.4.1.8). */
function fileArgs(node: XNode, warnings: string[]) {
  return {
    commandKey: optText(node, 'CommandKey'),
    fileType: reqText(node, 'FileType'),
    url: reqText(node, 'URL'),
    username: optText(node, 'Username'),
    password: optText(node, 'Password'),
    fileSize: fileSize(node, warnings),
    targetFileName: optText(node, 'TargetFileName'),
  };
}

/** The CPE responses and requests of this file; undefined when `name` is none of them. */
export function parseTransferCpeMessage(name: string, node: XNode): CpeMessage | undefined {
  switch (name) {
    case 'RebootResponse':
    case 'FactoryResetResponse':
    case 'ScheduleInformResponse':
    case 'ScheduleDownloadResponse':
    case 'CancelTransferResponse':
    case 'ChangeDUStateResponse':
      return { method: name };
    case 'DownloadResponse':
    case 'UploadResponse':
      return { method: name, status: parseStatus(node), startTime: time(node, 'StartTime'), completeTime: time(node, 'CompleteTime') };
    case 'GetQueuedTransfersResponse':
      return {
        method: name,
        transfers: items(req(node, 'TransferList')).map((t) => ({ commandKey: reqText(t, 'CommandKey'), state: transferState(t) })),
      };
    case 'GetAllQueuedTransfersResponse':
      return { method: name, transfers: items(req(node, 'TransferList')).map(queuedTransfer) };
    case 'TransferComplete':
      // TR-069 A.3.3.2
      return {
        method: name,
        commandKey: reqText(node, 'CommandKey'),
        fault: transferFault(req(node, 'FaultStruct')),
        startTime: time(node, 'StartTime'),
        completeTime: time(node, 'CompleteTime'),
      };
    case 'DUStateChangeComplete':
      return { method: name, results: items(req(node, 'Results')).map(opResult), commandKey: reqText(node, 'CommandKey') };
    default:
      return undefined;
  }
}

const time = (node: XNode, name: string): string => reqText(node, name).trim();

function transferFault(f: XNode): TransferFault {
  return { code: reqUInt(f, 'FaultCode'), message: reqText(f, 'FaultString') };
}

/** TR-069 A.4.1.1 transfer State: 1 not started, 2 in progress, 3 completed. */
function transferState(t: XNode): 1 | 2 | 3 {
  const s = reqUInt(t, 'State');
  if (s !== 1 && s !== 2 && s !== 3) throw new ArgError(`State must be 1, 2 or 3, got ${s}`);
  return s;
}

function queuedTransfer(t: XNode): QueuedTransfer {
  return {
    commandKey: reqText(t, 'CommandKey'),
    state: transferState(t),
    isDownload: parseBool(reqText(t, 'IsDownload'), 'IsDownload'),
    fileType: reqText(t, 'FileType'),
    fileSize: reqUInt(t, 'FileSize'),
    targetFileName: reqText(t, 'TargetFileName'),
  };
}

const DU_STATES: ReadonlySet<string> = new Set<DuOpResult['currentState']>(['Installed', 'Uninstalled', 'Failed']);

/** OpResultStruct of DUStateChangeComplete (TR-069 A.4.2.3). */
function opResult(r: XNode): DuOpResult {
  const currentState = text(req(r, 'CurrentState')).trim();
  if (!DU_STATES.has(currentState)) throw new ArgError(`CurrentState must be Installed, Uninstalled or Failed, got "${currentState}"`);
  return {
    uuid: reqText(r, 'UUID'),
    deploymentUnitRef: reqText(r, 'DeploymentUnitRef'),
    version: reqText(r, 'Version'),
    currentState: currentState as DuOpResult['currentState'],
    resolved: parseBool(reqText(r, 'Resolved'), 'Resolved'),
    executionUnitRefList: reqText(r, 'ExecutionUnitRefList'),
    startTime: time(r, 'StartTime'),
    completeTime: time(r, 'CompleteTime'),
    fault: transferFault(req(r, 'Fault')),
  };
}
