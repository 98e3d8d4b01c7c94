// SOAP -> CWMP messages. Pure functions: every oddity we can live with comes back in
// `warnings`, everything else as a 'malformed' / 'Invalid' / 'Unknown' message; nothing
// throws and nothing is kept between calls.
//
// Elements are matched by local name whatever their prefix: real ACSs write soap-env,
// SOAP-ENV, soapenv, s, env or no prefix at all, and the reader (xml-read.ts) keeps
// prefixes as literal keys.
import { XSD_TYPES } from '../datamodel/values.js';
import type {
  AcsMessage,
  AcsRequest,
  CpeMessage,
  CwmpFault,
  ParameterValue,
  ParsedAcsEnvelope,
  ParsedCpeEnvelope,
  XsdType,
} from './types.js';
import {
  ArgError,
  attr,
  elements,
  items,
  kid,
  kids,
  localName,
  optText,
  parseBool,
  parseStatus,
  prefixOf,
  req,
  reqBool,
  reqStrings,
  reqText,
  reqUInt,
  resolvePrefix,
  text,
  type XNode,
} from './soap-elements.js';
import { parseTransferCpeMessage, parseTransferRequest } from './soap-parse-transfers.js';
import { readXml } from './xml-read.js';

/** The three cwmp namespaces that exist on the wire (docs/cwmp-behaviour.md). */
const KNOWN_CWMP_NS = new Set(['urn:dslforum-org:cwmp-1-0', 'urn:dslforum-org:cwmp-1-1', 'urn:dslforum-org:cwmp-1-2']);
const CWMP_NS_PREFIX = 'urn:dslforum-org:cwmp-';

function parseValueStructs(list: XNode, warnings: string[]): ParameterValue[] {
  return items(list).map((s) => {
    const name = reqText(s, 'Name');
    const valueNode = req(s, 'Value');
    const p: ParameterValue = { name, value: text(valueNode) };
    const type = xsdType(attr(valueNode, 'type'), name, warnings);
    if (type !== undefined) p.type = type;
    return p;
  });
}

/** TR-069 A.3.2.1: every Value carries xsi:type; without one, GenieACS warns and reads a string. */
function xsdType(raw: string | undefined, name: string, warnings: string[]): XsdType | undefined {
  if (raw === undefined) {
    warnings.push(`${name}: Value has no xsi:type`);
    return undefined;
  }
  const local = localName(raw.trim());
  if ((XSD_TYPES as readonly string[]).includes(local)) return local as XsdType;
  warnings.push(`${name}: unknown xsi:type "${raw}"`);
  return undefined;
}

/** TR-069 3.5, A.5.1: the CWMP fault sits in detail > cwmp:Fault. */
function parseFault(node: XNode, warnings: string[]): CwmpFault {
  const f = kid(kid(node, 'detail'), 'Fault');
  if (f === undefined) {
    warnings.push('SOAP Fault without detail/cwmp:Fault');
    return { code: 0, message: optText(node, 'faultstring') };
  }
  const fault: CwmpFault = { code: reqUInt(f, 'FaultCode'), message: optText(f, 'FaultString') };
  const spv = kids(f, 'SetParameterValuesFault').map((s) => ({
    name: reqText(s, 'ParameterName'),
    code: reqUInt(s, 'FaultCode'),
    message: optText(s, 'FaultString'),
  }));
  if (spv.length > 0) fault.setParameterValuesFaults = spv;
  return fault;
}

// ---- envelope ----

type Envelope =
  | { kind: 'empty' }
  | { kind: 'malformed'; reason: string }
  | { kind: 'ok'; header: XNode | undefined; rpcName: string | undefined; rpc: XNode | undefined; cwmpNamespace: string | undefined };

/** Whether the prolog (XML declaration, processing instructions, comments, space) leads to a <!DOCTYPE. */
function hasDoctype(s: string): boolean {
  let i = 0;
  for (;;) {
    while (i < s.length && (s[i] === ' ' || s[i] === '\t' || s[i] === '\r' || s[i] === '\n')) i++;
    if (s.startsWith('<?', i)) {
      const end = s.indexOf('?>', i + 2);
      if (end < 0) return false;
      i = end + 2;
    } else if (s.startsWith('<!--', i)) {
      const end = s.indexOf('-->', i + 4);
      if (end < 0) return false;
      i = end + 3;
    } else {
      return s.startsWith('<!DOCTYPE', i) || s.startsWith('<!doctype', i);
    }
  }
}

function readEnvelope(xml: string, warnings: string[]): Envelope {
  const s = xml.replace(/^\uFEFF/, '').trim();
  if (s === '') return { kind: 'empty' };
  // SOAP 1.1 section 3: a SOAP message MUST NOT contain a Document Type Declaration. Refused
  // before any parsing: no entity is declared, expanded or fetched (billion laughs, XXE).
  if (hasDoctype(s)) return { kind: 'malformed', reason: 'a Document Type Declaration is not allowed in a SOAP message (SOAP 1.1 section 3)' };
  // One pass checks well-formedness and builds the tree (xml-read.ts).
  const read = readXml(s);
  if ('error' in read) return { kind: 'malformed', reason: `bad XML at ${read.error.line}:${read.error.col}: ${read.error.msg}` };
  const doc = read.doc;
  const env = kid(doc, 'Envelope');
  if (env === undefined) return { kind: 'malformed', reason: 'no SOAP Envelope' };
  const body = kid(env, 'Body');
  if (body === undefined) return { kind: 'malformed', reason: 'no SOAP Body' };
  const header = kid(env, 'Header');
  const rpcs = elements(body);
  if (rpcs.length > 1) warnings.push(`SOAP Body holds ${rpcs.length} elements; only the first is read`);
  const [rpcKey, rpc] = rpcs[0] ?? [undefined, undefined];

  // The namespace the RPC element is in; else the one cwmp:ID is in; else any declared.
  const scopes: XNode[] = [env, body];
  let ns = rpcKey !== undefined && rpc !== undefined ? resolvePrefix(prefixOf(rpcKey), [...scopes, rpc]) : undefined;
  if (!ns?.startsWith(CWMP_NS_PREFIX)) {
    const [idKey, idNode] = elements(header).find(([k]) => localName(k) === 'ID') ?? [];
    ns = idKey !== undefined && idNode !== undefined ? resolvePrefix(prefixOf(idKey), [env, header!, idNode]) : undefined;
  }
  if (!ns?.startsWith(CWMP_NS_PREFIX)) {
    ns = [env, header, body, rpc]
      .flatMap((n) => (n === undefined || typeof n === 'string' ? [] : Object.entries(n)))
      .find(([k, v]) => k.startsWith('@_xmlns') && typeof v === 'string' && v.startsWith(CWMP_NS_PREFIX))?.[1] as string | undefined;
  }
  if (ns === undefined) warnings.push('no cwmp namespace declared');
  else if (!KNOWN_CWMP_NS.has(ns)) warnings.push(`unknown cwmp namespace ${ns}`); // still answered
  return { kind: 'ok', header, rpcName: rpcKey === undefined ? undefined : localName(rpcKey), rpc, cwmpNamespace: ns };
}

// ---- ACS -> CPE ----

/** Headers a CPE may see and needs no action for (TR-069 3.5). */
const QUIET_HEADERS = new Set(['NoMoreRequests', 'SessionTimeout', 'SupportedCWMPVersions', 'UseCWMPVersion']);

/** Parse what the ACS sent in an HTTP response body (CPE side). Never throws. */
export function parseAcsEnvelope(xml: string): ParsedAcsEnvelope {
  const warnings: string[] = [];
  const out: ParsedAcsEnvelope = { id: undefined, holdRequests: false, cwmpNamespace: undefined, message: { kind: 'empty' }, warnings };
  try {
    const env = readEnvelope(xml, warnings);
    if (env.kind !== 'ok') {
      out.message = env;
      return out;
    }
    out.cwmpNamespace = env.cwmpNamespace;
    /** Mandatory header entries for us that the CPE does not understand (SOAP 1.1 section 4.2.3). */
    const notUnderstood: string[] = [];
    for (const [key, h] of elements(env.header)) {
      const name = localName(key);
      if (name === 'ID') out.id = text(h).trim(); // TR-069 3.5: echoed in the answer
      else if (name === 'HoldRequests') out.holdRequests = orWarn(() => parseBool(text(h), name), false, warnings); // TR-069 3.5
      else if (!QUIET_HEADERS.has(name)) {
        if (mandatoryForUs(h)) notUnderstood.push(key);
        else warnings.push(`ignored SOAP header ${name}`);
      }
    }
    if (env.rpcName === undefined || env.rpc === undefined) {
      warnings.push('SOAP Body is empty');
      if (notUnderstood.length > 0) out.message = { kind: 'malformed', reason: `SOAP header not understood: ${notUnderstood.join(', ')}` };
      return out;
    }
    out.message = acsBody(env.rpcName, env.rpc, warnings);
    if (notUnderstood.length > 0) {
      // SOAP 1.1 section 4.2.3: the message is not processed. A request is answered with the
      // MustUnderstand fault; a response or fault cannot be answered, so the session ends.
      out.message =
        out.message.kind === 'request'
          ? { kind: 'request', request: { method: 'NotUnderstood', name: env.rpcName, headers: notUnderstood } }
          : { kind: 'malformed', reason: `SOAP header not understood: ${notUnderstood.join(', ')}` };
    }
  } catch (e) {
    // An ArgError here comes from a response or fault we cannot read.
    out.message = { kind: 'malformed', reason: `${e instanceof ArgError ? 'unreadable message' : 'parser error'}: ${(e as Error).message}` };
  }
  return out;
}

/**
 * SOAP 1.1 sections 4.2.2 and 4.2.3: a header entry is mandatory when mustUnderstand is "1"
 * ("true" too, as SOAP 1.2 spells it) and it is meant for this recipient: no actor, or the
 * "next" actor.
 */
function mandatoryForUs(h: XNode): boolean {
  const mu = attr(h, 'mustUnderstand')?.trim();
  if (mu !== '1' && mu !== 'true') return false;
  const actor = attr(h, 'actor')?.trim();
  return actor === undefined || actor === '' || actor === 'http://schemas.xmlsoap.org/soap/actor/next';
}

/** A recoverable oddity: keep going with the fallback and say so. */
function orWarn<T>(read: () => T, fallback: T, warnings: string[]): T {
  try {
    return read();
  } catch (e) {
    if (!(e instanceof ArgError)) throw e;
    warnings.push(e.message);
    return fallback;
  }
}

function acsBody(name: string, node: XNode, warnings: string[]): AcsMessage {
  switch (name) {
    case 'InformResponse': {
      const maxEnvelopes = orWarn(() => reqUInt(node, 'MaxEnvelopes'), 1, warnings);
      return { kind: 'response', response: { method: 'InformResponse', maxEnvelopes } };
    }
    case 'TransferCompleteResponse':
    case 'DUStateChangeCompleteResponse':
      return { kind: 'response', response: { method: name } };
    case 'GetRPCMethodsResponse':
      return { kind: 'response', response: { method: 'GetRPCMethodsResponse', methods: reqStrings(node, 'MethodList') } };
    case 'Fault':
      return { kind: 'fault', fault: parseFault(node, warnings) };
    default:
      try {
        return { kind: 'request', request: acsRequest(name, node, warnings) };
      } catch (e) {
        if (!(e instanceof ArgError)) throw e;
        // TR-069 A.5.1: a request whose arguments cannot be read is answered with 9003.
        return { kind: 'request', request: { method: 'Invalid', name, reason: e.message } };
      }
  }
}

function acsRequest(name: string, node: XNode, warnings: string[]): AcsRequest {
  switch (name) {
    case 'GetRPCMethods':
      return { method: 'GetRPCMethods' };
    case 'GetParameterValues':
      return { method: 'GetParameterValues', names: reqStrings(node, 'ParameterNames') };
    case 'GetParameterNames':
      return { method: 'GetParameterNames', path: reqText(node, 'ParameterPath'), nextLevel: reqBool(node, 'NextLevel') };
    case 'SetParameterValues':
      return {
        method: 'SetParameterValues',
        params: parseValueStructs(req(node, 'ParameterList'), warnings),
        parameterKey: reqText(node, 'ParameterKey'),
      };
    case 'GetParameterAttributes':
      return { method: 'GetParameterAttributes', names: reqStrings(node, 'ParameterNames') };
    case 'SetParameterAttributes':
      return {
        method: 'SetParameterAttributes',
        params: items(req(node, 'ParameterList')).map((s) => ({
          name: reqText(s, 'Name'),
          notificationChange: reqBool(s, 'NotificationChange'),
          notification: reqUInt(s, 'Notification'),
          accessListChange: reqBool(s, 'AccessListChange'),
          // Some ACSs drop AccessList when AccessListChange is false.
          accessList: kid(s, 'AccessList') === undefined ? [] : reqStrings(s, 'AccessList'),
        })),
      };
    case 'AddObject':
    case 'DeleteObject':
      return { method: name, objectName: reqText(node, 'ObjectName'), parameterKey: reqText(node, 'ParameterKey') };
    default:
      // undefined: answered with 9000
      return parseTransferRequest(name, node, warnings) ?? { method: 'Unsupported', name };
  }
}

// ---- CPE -> ACS (mock ACS and tests) ----

/** Parse what a CPE POSTed (ACS side). Never throws. */
export function parseCpeEnvelope(xml: string): ParsedCpeEnvelope {
  const warnings: string[] = [];
  const out: ParsedCpeEnvelope = { id: undefined, cwmpNamespace: undefined, message: { method: 'Empty' }, warnings };
  try {
    const env = readEnvelope(xml, warnings);
    if (env.kind === 'empty') return out; // TR-069 3.7: the empty POST
    if (env.kind === 'malformed') {
      warnings.push(env.reason);
      out.message = { method: 'Unknown', name: '<malformed>' };
      return out;
    }
    out.cwmpNamespace = env.cwmpNamespace;
    const idNode = kid(env.header, 'ID');
    if (idNode !== undefined) out.id = text(idNode).trim();
    if (env.rpcName === undefined || env.rpc === undefined) {
      warnings.push('SOAP Body is empty');
      return out;
    }
    try {
      out.message = cpeBody(env.rpcName, env.rpc, warnings) ?? { method: 'Unknown', name: env.rpcName };
    } catch (e) {
      if (!(e instanceof ArgError)) throw e;
      warnings.push(`${env.rpcName}: ${e.message}`);
      out.message = { method: 'Unknown', name: env.rpcName };
    }
  } catch (e) {
    warnings.push(`parser error: ${(e as Error).message}`);
    out.message = { method: 'Unknown', name: '<malformed>' };
  }
  return out;
}

function cpeBody(name: string, node: XNode, warnings: string[]): CpeMessage | undefined {
  switch (name) {
    case 'Inform': {
      // TR-069 A.3.3.1
      const d = req(node, 'DeviceId');
      return {
        method: 'Inform',
        deviceId: {
          manufacturer: reqText(d, 'Manufacturer'),
          oui: reqText(d, 'OUI'),
          productClass: reqText(d, 'ProductClass'),
          serialNumber: reqText(d, 'SerialNumber'),
        },
        events: items(req(node, 'Event')).map((e) => ({ code: reqText(e, 'EventCode'), commandKey: optText(e, 'CommandKey') })),
        maxEnvelopes: reqUInt(node, 'MaxEnvelopes'),
        currentTime: reqText(node, 'CurrentTime').trim(),
        retryCount: reqUInt(node, 'RetryCount'),
        params: parseValueStructs(req(node, 'ParameterList'), warnings),
      };
    }
    case 'GetRPCMethods':
      return { method: 'GetRPCMethods' };
    case 'GetRPCMethodsResponse':
      return { method: name, methods: reqStrings(node, 'MethodList') };
    case 'GetParameterValuesResponse':
      return { method: name, params: parseValueStructs(req(node, 'ParameterList'), warnings) };
    case 'GetParameterNamesResponse':
      return {
        method: name,
        params: items(req(node, 'ParameterList')).map((s) => ({ name: reqText(s, 'Name'), writable: reqBool(s, 'Writable') })),
      };
    case 'SetParameterValuesResponse':
      return { method: name, status: parseStatus(node) };
    case 'GetParameterAttributesResponse':
      return {
        method: name,
        params: items(req(node, 'ParameterList')).map((s) => ({
          name: reqText(s, 'Name'),
          notification: reqUInt(s, 'Notification'),
          accessList: kid(s, 'AccessList') === undefined ? [] : reqStrings(s, 'AccessList'),
        })),
      };
    case 'SetParameterAttributesResponse':
      return { method: name };
    case 'AddObjectResponse':
      return { method: name, instanceNumber: reqUInt(node, 'InstanceNumber'), status: parseStatus(node) };
    case 'DeleteObjectResponse':
      return { method: name, status: parseStatus(node) };
    case 'Fault':
      return { method: 'Fault', fault: parseFault(node, warnings) };
    default:
      return parseTransferCpeMessage(name, node);
  }
}
