// The commands and events this simulator's USP agent supports (docs/usp-behaviour.md "Commands"), by the
// schema path of the object that carries them. One is offered only when that object is
// in the profile's template, so a profile without FirmwareImage rows has no Download().
import type { ObjectNode, Template } from '../datamodel/schema.js';

export type CommandType = 'sync' | 'async';

export interface CommandDef {
  /** Schema path of the owning object, rows as `{i}`: "Device.DeviceInfo.FirmwareImage.{i}." */
  objPath: string;
  /** Relative name with its parentheses: "Download()". */
  name: string;
  type: CommandType;
  /** Input argument names, relative, in Supported Data Model notation (TR-369 GetSupportedDM). */
  input: readonly string[];
  output: readonly string[];
}

export interface EventDef {
  objPath: string;
  /** Relative name with its bang: "Boot!". */
  name: string;
  args: readonly string[];
}

const IPD = 'Device.IP.Diagnostics.';
export const DIAGNOSTIC_COMMANDS: readonly CommandDef[] = [
  { objPath: IPD, name: 'IPPing()', type: 'async', input: ['Interface', 'ProtocolVersion', 'Host', 'NumberOfRepetitions', 'Timeout', 'DataBlockSize', 'DSCP'], output: ['Status', 'IPAddressUsed', 'SuccessCount', 'FailureCount', 'AverageResponseTime', 'MinimumResponseTime', 'MaximumResponseTime', 'AverageResponseTimeDetailed', 'MinimumResponseTimeDetailed', 'MaximumResponseTimeDetailed'] },
  { objPath: IPD, name: 'TraceRoute()', type: 'async', input: ['Interface', 'ProtocolVersion', 'Host', 'NumberOfTries', 'Timeout', 'DataBlockSize', 'DSCP', 'MaxHopCount'], output: ['Status', 'IPAddressUsed', 'ResponseTime', 'RouteHops.{i}.Host', 'RouteHops.{i}.HostAddress', 'RouteHops.{i}.ErrorCode', 'RouteHops.{i}.RTTimes'] },
  {
    objPath: IPD,
    name: 'DownloadDiagnostics()',
    type: 'async',
    input: ['Interface', 'DownloadURL', 'DSCP', 'EthernetPriority', 'TimeBasedTestDuration', 'TimeBasedTestMeasurementInterval', 'TimeBasedTestMeasurementOffset', 'ProtocolVersion', 'NumberOfConnections', 'EnablePerConnectionResults'],
    output: ['Status', 'IPAddressUsed', 'ROMTime', 'BOMTime', 'EOMTime', 'TestBytesReceived', 'TotalBytesReceived', 'TotalBytesSent', 'TestBytesReceivedUnderFullLoading', 'TotalBytesReceivedUnderFullLoading', 'TotalBytesSentUnderFullLoading', 'PeriodOfFullLoading', 'TCPOpenRequestTime', 'TCPOpenResponseTime'],
  },
  {
    objPath: IPD,
    name: 'UploadDiagnostics()',
    type: 'async',
    input: ['Interface', 'UploadURL', 'DSCP', 'EthernetPriority', 'TestFileLength', 'TimeBasedTestDuration', 'TimeBasedTestMeasurementInterval', 'TimeBasedTestMeasurementOffset', 'ProtocolVersion', 'NumberOfConnections', 'EnablePerConnectionResults'],
    output: ['Status', 'IPAddressUsed', 'ROMTime', 'BOMTime', 'EOMTime', 'TestBytesSent', 'TotalBytesReceived', 'TotalBytesSent', 'TestBytesSentUnderFullLoading', 'TotalBytesReceivedUnderFullLoading', 'TotalBytesSentUnderFullLoading', 'PeriodOfFullLoading', 'TCPOpenRequestTime', 'TCPOpenResponseTime'],
  },
  { objPath: IPD, name: 'UDPEchoDiagnostics()', type: 'async', input: ['Interface', 'Host', 'Port', 'NumberOfRepetitions', 'Timeout', 'DataBlockSize', 'DSCP', 'InterTransmissionTime', 'ProtocolVersion', 'EnableIndividualPacketResults'], output: ['Status', 'IPAddressUsed', 'SuccessCount', 'FailureCount', 'AverageResponseTime', 'MinimumResponseTime', 'MaximumResponseTime'] },
  { objPath: IPD, name: 'ServerSelectionDiagnostics()', type: 'async', input: ['Interface', 'ProtocolVersion', 'Protocol', 'HostList', 'NumberOfRepetitions', 'Timeout'], output: ['Status', 'FastestHost', 'MinimumResponseTime', 'AverageResponseTime', 'MaximumResponseTime', 'IPAddressUsed'] },
];

// Schema paths are written for the TR-181 root "Device."; USP has no other root.
const COMMANDS: readonly CommandDef[] = [
  { objPath: 'Device.', name: 'Reboot()', type: 'sync', input: ['Cause'], output: [] },
  { objPath: 'Device.', name: 'FactoryReset()', type: 'sync', input: ['Cause'], output: [] },
  {
    objPath: 'Device.DeviceInfo.FirmwareImage.{i}.',
    name: 'Download()',
    type: 'async',
    input: ['URL', 'AutoActivate', 'Username', 'Password', 'FileSize', 'CheckSumAlgorithm', 'CheckSum'],
    output: [],
  },
  {
    objPath: 'Device.DeviceInfo.FirmwareImage.{i}.',
    name: 'Activate()',
    type: 'async',
    input: ['TimeWindow.{i}.Start', 'TimeWindow.{i}.End', 'TimeWindow.{i}.Mode', 'TimeWindow.{i}.UserMessage', 'TimeWindow.{i}.MaxRetries'],
    output: [],
  },
  // TR-143 tests (TR-181 2.12+ Device.IP.Diagnostics; docs/diagnostics.md), their arguments as TR-181 names them.
  ...DIAGNOSTIC_COMMANDS,
  { objPath: 'Device.LocalAgent.Request.{i}.', name: 'Cancel()', type: 'sync', input: [], output: [] },
  { objPath: 'Device.LocalAgent.Controller.{i}.', name: 'SendOnBoardRequest()', type: 'sync', input: [], output: [] },
];

const EVENTS: readonly EventDef[] = [
  // Reason (TR-181 2.18+) is left out: this agent reports the 2.16 model.
  { objPath: 'Device.', name: 'Boot!', args: ['CommandKey', 'Cause', 'FirmwareUpdated', 'ParameterMap'] },
  { objPath: 'Device.LocalAgent.', name: 'Periodic!', args: [] },
  {
    objPath: 'Device.LocalAgent.',
    name: 'TransferComplete!',
    args: ['Command', 'CommandKey', 'Requestor', 'TransferType', 'Affected', 'TransferURL', 'StartTime', 'CompleteTime', 'FaultCode', 'FaultString'],
  },
  { objPath: 'Device.LocalAgent.', name: 'WakeUp!', args: [] },
];

/** The object node at a schema path (rows as `{i}`), or undefined. */
export function schemaObject(template: Template, schemaPath: string): ObjectNode | undefined {
  if (!schemaPath.endsWith('.')) return undefined;
  const segs = schemaPath.slice(0, -1).split('.');
  if (segs[0] !== template.root.name) return undefined;
  let cur = template.root;
  for (let k = 1; k < segs.length; k++) {
    const seg = segs[k]!;
    if (seg === '{i}') {
      if (!cur.multi || segs[k - 1] !== cur.name) return undefined;
      continue;
    }
    // A table's children are reached only through its `{i}` segment.
    if (cur.multi && segs[k - 1] !== '{i}') return undefined;
    const c = cur.children.get(seg);
    if (!c || c.kind !== 'object') return undefined;
    cur = c;
  }
  if (cur.multi && segs[segs.length - 1] !== '{i}') return undefined;
  return cur;
}

/** Commands of the object at `schemaPath`, when that object exists in the template. */
export function commandsOf(template: Template, schemaPath: string): CommandDef[] {
  if (!schemaObject(template, schemaPath)) return [];
  return COMMANDS.filter((c) => c.objPath === schemaPath);
}

export function eventsOf(template: Template, schemaPath: string): EventDef[] {
  if (!schemaObject(template, schemaPath)) return [];
  return EVENTS.filter((e) => e.objPath === schemaPath);
}

/** A concrete path with its instance numbers replaced by `{i}`: names never start with a digit (TR-106). */
export function schemaPathOf(concrete: string): string {
  return concrete.replace(/\.\d+(?=\.)/g, '.{i}');
}

/**
 * The command a concrete command path names ("Device.DeviceInfo.FirmwareImage.2.Download()"),
 * or undefined when this agent does not support it. Checks the schema only: whether row 2
 * exists is the caller's question (CpeView.resolve of the object part).
 */
export function lookupCommand(template: Template, commandPath: string): CommandDef | undefined {
  const m = /^(.*\.)([A-Za-z_][A-Za-z0-9_-]*\(\))$/.exec(commandPath);
  if (!m) return undefined;
  return commandsOf(template, schemaPathOf(m[1]!)).find((c) => c.name === m[2]);
}

export function lookupEvent(template: Template, eventPath: string): EventDef | undefined {
  const m = /^(.*\.)([A-Za-z_][A-Za-z0-9_-]*!)$/.exec(eventPath);
  if (!m) return undefined;
  return eventsOf(template, schemaPathOf(m[1]!)).find((e) => e.name === m[2]);
}
