// CWMP message shapes, as discriminated unions on `method`. The codec (soap-parse.ts,
// soap-build.ts) turns these into and out of SOAP; nothing else touches XML.

import type { XsdType } from '../datamodel/values.js';

/** The data model's xsd types (src/datamodel/values.ts), as CWMP values carry them in xsi:type. */
export type { XsdType };

export interface ParameterValue {
  name: string;
  value: string;
  /** xsd type without prefix; on parse, undefined when the sender gave no xsi:type. */
  type?: XsdType;
}

export interface ParameterInfo {
  name: string;
  writable: boolean;
}

export interface ParameterAttribute {
  name: string;
  notification: number;
  accessList: string[];
}

export interface SetParameterAttributesStruct {
  name: string;
  notificationChange: boolean;
  notification: number;
  accessListChange: boolean;
  accessList: string[];
}

export interface EventStruct {
  code: string;
  commandKey: string;
}

export interface DeviceId {
  manufacturer: string;
  oui: string;
  productClass: string;
  serialNumber: string;
}

export interface SetParameterValuesFault {
  name: string;
  code: number;
  message: string;
}

/** A CWMP fault as plain data (TR-069 A.5.1). Never thrown. */
export interface CwmpFault {
  code: number;
  message: string;
  setParameterValuesFaults?: SetParameterValuesFault[];
  /**
   * A SOAP-level fault with no CWMP detail: 'MustUnderstand' for a mandatory header the CPE
   * does not understand (SOAP 1.1 sections 4.2.3, 4.4.1; section 4.4 keeps header errors out
   * of `detail`). Absent: the ordinary CWMP fault (TR-069 A.5.1).
   */
  soap?: 'MustUnderstand';
}

// ---- ACS -> CPE requests (the RPCs a CPE serves) ----
export type AcsRequest =
  | { method: 'GetRPCMethods' }
  | { method: 'GetParameterValues'; names: string[] }
  | { method: 'GetParameterNames'; path: string; nextLevel: boolean }
  | { method: 'SetParameterValues'; params: ParameterValue[]; parameterKey: string }
  | { method: 'GetParameterAttributes'; names: string[] }
  | { method: 'SetParameterAttributes'; params: SetParameterAttributesStruct[] }
  | { method: 'AddObject'; objectName: string; parameterKey: string }
  | { method: 'DeleteObject'; objectName: string; parameterKey: string }
  | { method: 'Reboot'; commandKey: string }
  | { method: 'FactoryReset' }
  | { method: 'Download'; commandKey: string; fileType: string; url: string; username: string; password: string; fileSize: number; targetFileName: string; delaySeconds: number; successUrl: string; failureUrl: string }
  | { method: 'Upload'; commandKey: string; fileType: string; url: string; username: string; password: string; delaySeconds: number }
  | { method: 'ScheduleInform'; delaySeconds: number; commandKey: string }
  | { method: 'ScheduleDownload'; commandKey: string; fileType: string; url: string; username: string; password: string; fileSize: number; targetFileName: string; timeWindows: TimeWindow[] }
  | { method: 'CancelTransfer'; commandKey: string }
  | { method: 'GetQueuedTransfers' }
  | { method: 'GetAllQueuedTransfers' }
  | { method: 'ChangeDUState'; commandKey: string; operations: DuOperation[] }
  /** Any RPC this codec does not model; answered with 9000. */
  | { method: 'Unsupported'; name: string }
  /** A known RPC whose arguments could not be read; answered with 9003. */
  | { method: 'Invalid'; name: string; reason: string }
  /** A request carrying a mustUnderstand="1" SOAP header the CPE does not understand; answered with the SOAP MustUnderstand fault (SOAP 1.1 section 4.2.3). */
  | { method: 'NotUnderstood'; name: string; headers: string[] };

export type AcsRequestMethod = AcsRequest['method'];

/** TR-069 A.4.1.8 TimeWindowStruct; WindowStart/End in seconds from receipt. */
export interface TimeWindow {
  windowStart: number;
  windowEnd: number;
  windowMode: string;
  userMessage: string;
  maxRetries: number;
}

/** TR-069 A.4.1.10 ChangeDUState operations, by xsi:type. */
export type DuOperation =
  | { op: 'Install'; url: string; uuid: string; username: string; password: string; executionEnvRef: string }
  | { op: 'Update'; uuid: string; version: string; url: string; username: string; password: string }
  | { op: 'Uninstall'; uuid: string; version: string; executionEnvRef: string };

/** FaultStruct of TransferComplete; code 0 and "" on success (TR-069 A.3.3.2). */
export interface TransferFault {
  code: number;
  message: string;
}

export interface QueuedTransfer {
  commandKey: string;
  /** 1 not started, 2 in progress, 3 completed */
  state: 1 | 2 | 3;
  isDownload: boolean;
  fileType: string;
  fileSize: number;
  targetFileName: string;
}

/** OpResultStruct of DUStateChangeComplete (TR-069 A.4.2.3). */
export interface DuOpResult {
  uuid: string;
  deploymentUnitRef: string;
  version: string;
  currentState: 'Installed' | 'Uninstalled' | 'Failed';
  resolved: boolean;
  executionUnitRefList: string;
  startTime: string;
  completeTime: string;
  fault: TransferFault;
}

// ---- ACS -> CPE responses (to requests the CPE made) ----
export type AcsResponse =
  | { method: 'InformResponse'; maxEnvelopes: number }
  | { method: 'TransferCompleteResponse' }
  | { method: 'DUStateChangeCompleteResponse' }
  | { method: 'GetRPCMethodsResponse'; methods: string[] };

/** What one HTTP response body from the ACS carried. */
export type AcsMessage =
  | { kind: 'request'; request: AcsRequest }
  | { kind: 'response'; response: AcsResponse }
  | { kind: 'fault'; fault: CwmpFault }
  | { kind: 'empty' }
  /** Not a SOAP envelope we can read at all (bad XML, no Body). The session ends. */
  | { kind: 'malformed'; reason: string };

export interface ParsedAcsEnvelope {
  /** cwmp:ID header, echoed in the CPE's answer. */
  id: string | undefined;
  /** cwmp:HoldRequests header (TR-069 3.5). */
  holdRequests: boolean;
  /** The cwmp namespace URI the ACS used. */
  cwmpNamespace: string | undefined;
  message: AcsMessage;
  /** Recoverable oddities (missing xsi:type, unknown header...). */
  warnings: string[];
}

// ---- CPE -> ACS messages ----
export interface Inform {
  method: 'Inform';
  deviceId: DeviceId;
  events: EventStruct[];
  maxEnvelopes: number;
  currentTime: string;
  retryCount: number;
  params: ParameterValue[];
}

export type CpeResponse =
  | { method: 'GetRPCMethodsResponse'; methods: string[] }
  | { method: 'GetParameterValuesResponse'; params: ParameterValue[] }
  | { method: 'GetParameterNamesResponse'; params: ParameterInfo[] }
  | { method: 'SetParameterValuesResponse'; status: 0 | 1 }
  | { method: 'GetParameterAttributesResponse'; params: ParameterAttribute[] }
  | { method: 'SetParameterAttributesResponse' }
  | { method: 'AddObjectResponse'; instanceNumber: number; status: 0 | 1 }
  | { method: 'DeleteObjectResponse'; status: 0 | 1 }
  | { method: 'RebootResponse' }
  | { method: 'FactoryResetResponse' }
  | { method: 'DownloadResponse'; status: 0 | 1; startTime: string; completeTime: string }
  | { method: 'UploadResponse'; status: 0 | 1; startTime: string; completeTime: string }
  | { method: 'ScheduleInformResponse' }
  | { method: 'ScheduleDownloadResponse' }
  | { method: 'CancelTransferResponse' }
  | { method: 'GetQueuedTransfersResponse'; transfers: Array<{ commandKey: string; state: 1 | 2 | 3 }> }
  | { method: 'GetAllQueuedTransfersResponse'; transfers: QueuedTransfer[] }
  | { method: 'ChangeDUStateResponse' };

/** Requests a CPE makes of the ACS besides Inform (TR-069 A.3.1). */
export type CpeRequest =
  | { method: 'GetRPCMethods' }
  | { method: 'TransferComplete'; commandKey: string; fault: TransferFault; startTime: string; completeTime: string }
  | { method: 'DUStateChangeComplete'; commandKey: string; results: DuOpResult[] };

export type CpeMessage = Inform | CpeRequest | CpeResponse | { method: 'Fault'; fault: CwmpFault };

/** What one HTTP request body from a CPE carried (used by the mock ACS). */
export type ParsedCpeEnvelope = {
  id: string | undefined;
  cwmpNamespace: string | undefined;
  message: CpeMessage | { method: 'Empty' } | { method: 'Unknown'; name: string };
  warnings: string[];
};

/** Requests a (mock) ACS can send; same shapes as AcsRequest minus the catch-all. */
export type AcsOutgoingRequest = Exclude<AcsRequest, { method: 'Unsupported' } | { method: 'Invalid' } | { method: 'NotUnderstood' }> | { method: 'Raw'; name: string; bodyXml: string };

/** TR-069 A.3.1 default namespaces. */
export const NS = {
  soapEnv: 'http://schemas.xmlsoap.org/soap/envelope/',
  soapEnc: 'http://schemas.xmlsoap.org/soap/encoding/',
  xsd: 'http://www.w3.org/2001/XMLSchema',
  xsi: 'http://www.w3.org/2001/XMLSchema-instance',
  /** cwmp-1-3/1-4 XSDs keep this target namespace; GenieACS accepts it (docs/cwmp-behaviour.md). */
  cwmp: 'urn:dslforum-org:cwmp-1-2',
} as const;

/** Methods a simulated CPE answers in GetRPCMethodsResponse. */
export const SUPPORTED_METHODS: readonly string[] = [
  'GetRPCMethods',
  'SetParameterValues',
  'GetParameterValues',
  'GetParameterNames',
  'SetParameterAttributes',
  'GetParameterAttributes',
  'AddObject',
  'DeleteObject',
  'Reboot',
  'FactoryReset',
  'Download',
  'Upload',
  'ScheduleInform',
  'ScheduleDownload',
  'GetQueuedTransfers',
  'GetAllQueuedTransfers',
  'CancelTransfer',
  'ChangeDUState',
];
