// CWMP messages -> SOAP. Plain string building (a CPE answers thousands of RPCs a second;
// an XML library would cost more than the rest of the session).
//
// build<Method>() returns the Body's one child element; buildCpeEnvelope() and
// buildAcsEnvelope() wrap it in the envelope.
import {
  NS,
  type AcsOutgoingRequest,
  type AcsResponse,
  type CpeMessage,
  type CwmpFault,
  type Inform,
  type ParameterValue,
} from './types.js';
import {
  buildChangeDUState,
  buildCommandKeyRequest,
  buildDUStateChangeComplete,
  buildDUStateChangeCompleteResponse,
  buildDownload,
  buildEmptyRequest,
  buildEmptyResponse,
  buildGetAllQueuedTransfersResponse,
  buildGetQueuedTransfersResponse,
  buildScheduleDownload,
  buildScheduleInform,
  buildTransferComplete,
  buildTransferResponse,
  buildUpload,
} from './soap-build-transfers.js';
import { bool, escapeXml } from './soap-elements.js';
import { FAULT_STRINGS, faultType } from './faults.js';

type Cpe<M extends CpeMessage['method']> = Extract<CpeMessage, { method: M }>;
type AcsOut<M extends AcsOutgoingRequest['method']> = Extract<AcsOutgoingRequest, { method: M }>;

// ---- faults (TR-069 3.5, A.5.1) ----

/** TR-069 3.5, A.5.1: soap-env:Fault > faultcode · faultstring · detail > cwmp:Fault. */
export function buildFault(fault: CwmpFault): string {
  if (fault.soap === 'MustUnderstand') {
    // SOAP 1.1 sections 4.4 and 4.4.1: faultcode MustUnderstand, no detail (errors about
    // header entries never go in detail).
    return (
      `<soap-env:Fault><faultcode>soap-env:MustUnderstand</faultcode>` +
      `<faultstring>${escapeXml(fault.message || 'SOAP Must Understand Error')}</faultstring></soap-env:Fault>`
    );
  }
  let x =
    `<soap-env:Fault><faultcode>${faultType(fault.code)}</faultcode><faultstring>CWMP fault</faultstring>` +
    `<detail><cwmp:Fault><FaultCode>${fault.code}</FaultCode>` +
    `<FaultString>${escapeXml(fault.message || (FAULT_STRINGS[fault.code] ?? ''))}</FaultString>`;
  for (const f of fault.setParameterValuesFaults ?? []) {
    x +=
      `<SetParameterValuesFault><ParameterName>${escapeXml(f.name)}</ParameterName>` +
      `<FaultCode>${f.code}</FaultCode>` +
      `<FaultString>${escapeXml(f.message || (FAULT_STRINGS[f.code] ?? ''))}</FaultString></SetParameterValuesFault>`;
  }
  return x + '</cwmp:Fault></detail></soap-env:Fault>';
}

// ---- shared pieces ----

/** `xsd:string[n]` array (TR-069 A.3.1 arrays carry soap-enc:arrayType). */
function stringArray(tag: string, values: readonly string[]): string {
  let x = `<${tag} soap-enc:arrayType="xsd:string[${values.length}]">`;
  for (const v of values) x += `<string>${escapeXml(v)}</string>`;
  return x + `</${tag}>`;
}

/** ParameterList of ParameterValueStruct; every Value carries xsi:type (TR-069 A.2.1). */
function valueList(params: readonly ParameterValue[]): string {
  let x = `<ParameterList soap-enc:arrayType="cwmp:ParameterValueStruct[${params.length}]">`;
  for (const p of params) {
    x +=
      `<ParameterValueStruct><Name>${escapeXml(p.name)}</Name>` +
      `<Value xsi:type="xsd:${p.type ?? 'string'}">${escapeXml(p.value)}</Value></ParameterValueStruct>`;
  }
  return x + '</ParameterList>';
}

function envelope(body: string, headers: string, cwmpNamespace: string | undefined): string {
  return (
    '<?xml version="1.0" encoding="UTF-8"?>' +
    `<soap-env:Envelope xmlns:soap-env="${NS.soapEnv}" xmlns:soap-enc="${NS.soapEnc}" xmlns:xsd="${NS.xsd}"` +
    ` xmlns:xsi="${NS.xsi}" xmlns:cwmp="${escapeXml(cwmpNamespace ?? NS.cwmp)}">` +
    (headers === '' ? '' : `<soap-env:Header>${headers}</soap-env:Header>`) +
    `<soap-env:Body>${body}</soap-env:Body></soap-env:Envelope>`
  );
}

/** TR-069 3.5: the ID header, mustUnderstand. */
const idHeader = (id: string | undefined): string =>
  id === undefined ? '' : `<cwmp:ID soap-env:mustUnderstand="1">${escapeXml(id)}</cwmp:ID>`;

// ---- CPE -> ACS ----

/** TR-069 A.3.3.1; children in schema order. */
export function buildInform(msg: Inform): string {
  const d = msg.deviceId;
  let x =
    `<cwmp:Inform><DeviceId><Manufacturer>${escapeXml(d.manufacturer)}</Manufacturer><OUI>${escapeXml(d.oui)}</OUI>` +
    `<ProductClass>${escapeXml(d.productClass)}</ProductClass><SerialNumber>${escapeXml(d.serialNumber)}</SerialNumber></DeviceId>` +
    `<Event soap-enc:arrayType="cwmp:EventStruct[${msg.events.length}]">`;
  for (const e of msg.events) {
    x += `<EventStruct><EventCode>${escapeXml(e.code)}</EventCode><CommandKey>${escapeXml(e.commandKey)}</CommandKey></EventStruct>`;
  }
  return (
    x +
    `</Event><MaxEnvelopes>${msg.maxEnvelopes}</MaxEnvelopes><CurrentTime>${escapeXml(msg.currentTime)}</CurrentTime>` +
    `<RetryCount>${msg.retryCount}</RetryCount>${valueList(msg.params)}</cwmp:Inform>`
  );
}

/** Shared by the CPE (answering the ACS) and the mock ACS (answering the CPE). */
export function buildGetRPCMethodsResponse(msg: { methods: readonly string[] }): string {
  return `<cwmp:GetRPCMethodsResponse>${stringArray('MethodList', msg.methods)}</cwmp:GetRPCMethodsResponse>`;
}

export function buildGetParameterValuesResponse(msg: Cpe<'GetParameterValuesResponse'>): string {
  return `<cwmp:GetParameterValuesResponse>${valueList(msg.params)}</cwmp:GetParameterValuesResponse>`;
}

export function buildGetParameterNamesResponse(msg: Cpe<'GetParameterNamesResponse'>): string {
  let x = `<cwmp:GetParameterNamesResponse><ParameterList soap-enc:arrayType="cwmp:ParameterInfoStruct[${msg.params.length}]">`;
  for (const p of msg.params) {
    x += `<ParameterInfoStruct><Name>${escapeXml(p.name)}</Name><Writable>${bool(p.writable)}</Writable></ParameterInfoStruct>`;
  }
  return x + '</ParameterList></cwmp:GetParameterNamesResponse>';
}

export function buildSetParameterValuesResponse(msg: Cpe<'SetParameterValuesResponse'>): string {
  return `<cwmp:SetParameterValuesResponse><Status>${msg.status}</Status></cwmp:SetParameterValuesResponse>`;
}

export function buildGetParameterAttributesResponse(msg: Cpe<'GetParameterAttributesResponse'>): string {
  let x =
    '<cwmp:GetParameterAttributesResponse>' +
    `<ParameterList soap-enc:arrayType="cwmp:ParameterAttributeStruct[${msg.params.length}]">`;
  for (const p of msg.params) {
    x +=
      `<ParameterAttributeStruct><Name>${escapeXml(p.name)}</Name><Notification>${p.notification}</Notification>` +
      `${stringArray('AccessList', p.accessList)}</ParameterAttributeStruct>`;
  }
  return x + '</ParameterList></cwmp:GetParameterAttributesResponse>';
}

export function buildSetParameterAttributesResponse(): string {
  return '<cwmp:SetParameterAttributesResponse></cwmp:SetParameterAttributesResponse>';
}

export function buildAddObjectResponse(msg: Cpe<'AddObjectResponse'>): string {
  return (
    `<cwmp:AddObjectResponse><InstanceNumber>${msg.instanceNumber}</InstanceNumber>` +
    `<Status>${msg.status}</Status></cwmp:AddObjectResponse>`
  );
}

export function buildDeleteObjectResponse(msg: Cpe<'DeleteObjectResponse'>): string {
  return `<cwmp:DeleteObjectResponse><Status>${msg.status}</Status></cwmp:DeleteObjectResponse>`;
}

/**
 * A CPE message as a full envelope. `id` echoes the ACS request's cwmp:ID (TR-069 3.5);
 * `cwmpNamespace` is the one the ACS used, NS.cwmp otherwise (docs/cwmp-behaviour.md).
 */
export function buildCpeEnvelope(msg: CpeMessage, opts: { id?: string; cwmpNamespace?: string }): string {
  return envelope(cpeBody(msg), idHeader(opts.id), opts.cwmpNamespace);
}

function cpeBody(msg: CpeMessage): string {
  switch (msg.method) {
    case 'Inform':
      return buildInform(msg);
    case 'GetRPCMethodsResponse':
      return buildGetRPCMethodsResponse(msg);
    case 'GetParameterValuesResponse':
      return buildGetParameterValuesResponse(msg);
    case 'GetParameterNamesResponse':
      return buildGetParameterNamesResponse(msg);
    case 'SetParameterValuesResponse':
      return buildSetParameterValuesResponse(msg);
    case 'GetParameterAttributesResponse':
      return buildGetParameterAttributesResponse(msg);
    case 'SetParameterAttributesResponse':
      return buildSetParameterAttributesResponse();
    case 'AddObjectResponse':
      return buildAddObjectResponse(msg);
    case 'DeleteObjectResponse':
      return buildDeleteObjectResponse(msg);
    case 'RebootResponse':
    case 'FactoryResetResponse':
    case 'ScheduleInformResponse':
    case 'ScheduleDownloadResponse':
    case 'CancelTransferResponse':
    case 'ChangeDUStateResponse':
      return buildEmptyResponse(msg.method);
    case 'DownloadResponse':
    case 'UploadResponse':
      return buildTransferResponse(msg);
    case 'GetQueuedTransfersResponse':
      return buildGetQueuedTransfersResponse(msg);
    case 'GetAllQueuedTransfersResponse':
      return buildGetAllQueuedTransfersResponse(msg);
    case 'GetRPCMethods':
      return buildGetRPCMethods();
    case 'TransferComplete':
      return buildTransferComplete(msg);
    case 'DUStateChangeComplete':
      return buildDUStateChangeComplete(msg);
    case 'Fault':
      return buildFault(msg.fault);
    default: {
      const never: never = msg;
      throw new Error(`unhandled CPE message ${(never as { method: string }).method}`);
    }
  }
}

// ---- ACS -> CPE (mock ACS and tests) ----

export function buildInformResponse(msg: { maxEnvelopes: number }): string {
  return `<cwmp:InformResponse><MaxEnvelopes>${msg.maxEnvelopes}</MaxEnvelopes></cwmp:InformResponse>`;
}

export function buildTransferCompleteResponse(): string {
  return '<cwmp:TransferCompleteResponse></cwmp:TransferCompleteResponse>';
}

export function buildGetRPCMethods(): string {
  return '<cwmp:GetRPCMethods></cwmp:GetRPCMethods>';
}

export function buildGetParameterValues(msg: AcsOut<'GetParameterValues'>): string {
  return `<cwmp:GetParameterValues>${stringArray('ParameterNames', msg.names)}</cwmp:GetParameterValues>`;
}

export function buildGetParameterNames(msg: AcsOut<'GetParameterNames'>): string {
  return (
    `<cwmp:GetParameterNames><ParameterPath>${escapeXml(msg.path)}</ParameterPath>` +
    `<NextLevel>${bool(msg.nextLevel)}</NextLevel></cwmp:GetParameterNames>`
  );
}

export function buildSetParameterValues(msg: AcsOut<'SetParameterValues'>): string {
  return (
    `<cwmp:SetParameterValues>${valueList(msg.params)}` +
    `<ParameterKey>${escapeXml(msg.parameterKey)}</ParameterKey></cwmp:SetParameterValues>`
  );
}

export function buildGetParameterAttributes(msg: AcsOut<'GetParameterAttributes'>): string {
  return `<cwmp:GetParameterAttributes>${stringArray('ParameterNames', msg.names)}</cwmp:GetParameterAttributes>`;
}

export function buildSetParameterAttributes(msg: AcsOut<'SetParameterAttributes'>): string {
  let x =
    '<cwmp:SetParameterAttributes>' +
    `<ParameterList soap-enc:arrayType="cwmp:SetParameterAttributesStruct[${msg.params.length}]">`;
  for (const p of msg.params) {
    x +=
      `<SetParameterAttributesStruct><Name>${escapeXml(p.name)}</Name>` +
      `<NotificationChange>${bool(p.notificationChange)}</NotificationChange><Notification>${p.notification}</Notification>` +
      `<AccessListChange>${bool(p.accessListChange)}</AccessListChange>${stringArray('AccessList', p.accessList)}` +
      '</SetParameterAttributesStruct>';
  }
  return x + '</ParameterList></cwmp:SetParameterAttributes>';
}

export function buildAddObject(msg: AcsOut<'AddObject'>): string {
  return (
    `<cwmp:AddObject><ObjectName>${escapeXml(msg.objectName)}</ObjectName>` +
    `<ParameterKey>${escapeXml(msg.parameterKey)}</ParameterKey></cwmp:AddObject>`
  );
}

export function buildDeleteObject(msg: AcsOut<'DeleteObject'>): string {
  return (
    `<cwmp:DeleteObject><ObjectName>${escapeXml(msg.objectName)}</ObjectName>` +
    `<ParameterKey>${escapeXml(msg.parameterKey)}</ParameterKey></cwmp:DeleteObject>`
  );
}

/** Any other RPC, for tests of the CPE's 9000 path; bodyXml goes in unescaped. */
export function buildRaw(msg: AcsOut<'Raw'>): string {
  return `<cwmp:${msg.name}>${msg.bodyXml}</cwmp:${msg.name}>`;
}

export type AcsOutgoingMessage = AcsOutgoingRequest | AcsResponse | { method: 'Fault'; fault: CwmpFault };

/** An ACS message as a full envelope; HoldRequests header (TR-069 3.5) when asked. */
export function buildAcsEnvelope(
  msg: AcsOutgoingMessage,
  opts: { id?: string; holdRequests?: boolean; cwmpNamespace?: string },
): string {
  const hold = opts.holdRequests === true ? '<cwmp:HoldRequests soap-env:mustUnderstand="1">true</cwmp:HoldRequests>' : '';
  return envelope(acsBody(msg), idHeader(opts.id) + hold, opts.cwmpNamespace);
}

function acsBody(msg: AcsOutgoingMessage): string {
  switch (msg.method) {
    case 'InformResponse':
      return buildInformResponse(msg);
    case 'TransferCompleteResponse':
      return buildTransferCompleteResponse();
    case 'DUStateChangeCompleteResponse':
      return buildDUStateChangeCompleteResponse();
    case 'GetRPCMethodsResponse':
      return buildGetRPCMethodsResponse(msg);
    case 'GetRPCMethods':
      return buildGetRPCMethods();
    case 'GetParameterValues':
      return buildGetParameterValues(msg);
    case 'GetParameterNames':
      return buildGetParameterNames(msg);
    case 'SetParameterValues':
      return buildSetParameterValues(msg);
    case 'GetParameterAttributes':
      return buildGetParameterAttributes(msg);
    case 'SetParameterAttributes':
      return buildSetParameterAttributes(msg);
    case 'AddObject':
      return buildAddObject(msg);
    case 'DeleteObject':
      return buildDeleteObject(msg);
    case 'Reboot':
    case 'CancelTransfer':
      return buildCommandKeyRequest(msg);
    case 'FactoryReset':
    case 'GetQueuedTransfers':
    case 'GetAllQueuedTransfers':
      return buildEmptyRequest(msg);
    case 'Download':
      return buildDownload(msg);
    case 'Upload':
      return buildUpload(msg);
    case 'ScheduleInform':
      return buildScheduleInform(msg);
    case 'ScheduleDownload':
      return buildScheduleDownload(msg);
    case 'ChangeDUState':
      return buildChangeDUState(msg);
    case 'Raw':
      return buildRaw(msg);
    case 'Fault':
      return buildFault(msg.fault);
    default: {
      const never: never = msg;
      throw new Error(`unhandled ACS message ${(never as { method: string }).method}`);
    }
  }
}
