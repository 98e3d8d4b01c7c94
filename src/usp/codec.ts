// USP Record and Msg binary codec (TR-369 1.3, proto3) on protobufjs runtime reflection.
//
// The schemas are the .proto files in ./proto, embedded as string constants (tsc does
// not copy .proto files into dist/) and parsed once at module load with
// `keepCase: true`: every field name here is the proto's snake_case wire name.
// The plain shapes and their conventions are in ./types.ts.
//
// decodeRecord / decodeMsg never throw: malformed input gives { ok: false, error }
// with the USP error code to use, the field path at fault and whatever identity could
// still be read (salvaged to_id/from_id, msg_id/msg_type) so the caller can apply
// TR-369 R-MTP.5 (answer with an Error only if the request's msg_id is readable...).
// encodeRecord / encodeMsg throw a UspEncodeError on input that would put an invalid
// USP message on the wire (a oneof with no or several members, a missing
// header/body/oper_status, an unknown enum name, msg_type not matching the body): that
// is a programming error in the caller, never a peer's fault.
//
// Decoded bytes fields (a Record's payload) are views into the input buffer, not
// copies: copy them if the input buffer is reused.
import { readFileSync } from 'node:fs';
import protobuf from 'protobufjs';
import type { Enum, IConversionOptions, Root, Type } from 'protobufjs';
import type {
  Body, DeepPartial, MsgInput, MsgTypeName, RecordInput, RequestType, ResponseType,
  UspMsg, UspRecord,
} from './types.js';

export * from './types.js';

// ---- schema ---------------------------------------------------------------------------

/**
 * The .proto files are read from the source tree (tsc does not copy them into dist/):
 * from src/usp/ when run by a TS loader, from dist/src/usp/ three levels up.
 */
function protoText(name: string): string {
  const here = import.meta.url.endsWith('.ts') ? `./proto/${name}` : `../../../src/usp/proto/${name}`;
  return readFileSync(new URL(here, import.meta.url), 'utf8');
}

function loadRoot(): Root {
  const root = new protobuf.Root();
  protobuf.parse(protoText('usp-record-1-3.proto'), root, { keepCase: true });
  protobuf.parse(protoText('usp-msg-1-3.proto'), root, { keepCase: true });
  root.resolveAll();
  return root;
}

/** The protobufjs root holding packages usp_record and usp (for tests and tools). */
export const USP_ROOT = loadRoot();
const RecordT = USP_ROOT.lookupType('usp_record.Record');
const MsgT = USP_ROOT.lookupType('usp.Msg');
const HeaderT = USP_ROOT.lookupType('usp.Header');
const MsgTypeEnum = USP_ROOT.lookupEnum('usp.Header.MsgType');

const MSG_TYPE_LIST: readonly MsgTypeName[] = [
  'ERROR', 'GET', 'GET_RESP', 'NOTIFY', 'SET', 'SET_RESP', 'OPERATE', 'OPERATE_RESP',
  'ADD', 'ADD_RESP', 'DELETE', 'DELETE_RESP', 'GET_SUPPORTED_DM', 'GET_SUPPORTED_DM_RESP',
  'GET_INSTANCES', 'GET_INSTANCES_RESP', 'NOTIFY_RESP', 'GET_SUPPORTED_PROTO',
  'GET_SUPPORTED_PROTO_RESP', 'REGISTER', 'REGISTER_RESP', 'DEREGISTER', 'DEREGISTER_RESP',
];

/**
 * USP MsgType name <-> number (usp-msg-1-3.proto). `byNumber[n]` is the name of value n;
 * `names` lists all 23 in numeric order (e.g. to pre-create metric label sets).
 */
export const MSG_TYPES: {
  readonly byName: Readonly<Record<MsgTypeName, number>>;
  readonly byNumber: readonly MsgTypeName[];
  readonly names: readonly MsgTypeName[];
} = {
  byName: Object.fromEntries(MSG_TYPE_LIST.map((n, i) => [n, i])) as Record<MsgTypeName, number>,
  byNumber: MSG_TYPE_LIST,
  names: MSG_TYPE_LIST,
};
for (const [name, id] of Object.entries(MsgTypeEnum.values)) {
  if (MSG_TYPES.byName[name as MsgTypeName] !== id) throw new Error(`usp codec: MSG_TYPES disagrees with the schema on ${name}`);
}

const REQUEST_MSG_TYPES: Readonly<Record<RequestType, MsgTypeName>> = {
  get: 'GET', get_supported_dm: 'GET_SUPPORTED_DM', get_instances: 'GET_INSTANCES', set: 'SET',
  add: 'ADD', delete: 'DELETE', operate: 'OPERATE', notify: 'NOTIFY',
  get_supported_protocol: 'GET_SUPPORTED_PROTO', register: 'REGISTER', deregister: 'DEREGISTER',
};
const RESPONSE_MSG_TYPES: Readonly<Record<ResponseType, MsgTypeName>> = {
  get_resp: 'GET_RESP', get_supported_dm_resp: 'GET_SUPPORTED_DM_RESP', get_instances_resp: 'GET_INSTANCES_RESP',
  set_resp: 'SET_RESP', add_resp: 'ADD_RESP', delete_resp: 'DELETE_RESP', operate_resp: 'OPERATE_RESP',
  notify_resp: 'NOTIFY_RESP', get_supported_protocol_resp: 'GET_SUPPORTED_PROTO_RESP',
  register_resp: 'REGISTER_RESP', deregister_resp: 'DEREGISTER_RESP',
};

/** The msg_type a body requires (GET for request.get, ERROR for error, ...); undefined if the body has no member. */
export function msgTypeOfBody(body: DeepPartial<Body> | undefined): MsgTypeName | undefined {
  const b = body as Partial<Record<string, Record<string, unknown> | null>> | undefined;
  if (b?.error != null) return 'ERROR';
  const member = (o: Record<string, unknown> | null | undefined): string | undefined =>
    o == null ? undefined : Object.keys(o).find((k) => o[k] != null && k !== 'req_type' && k !== 'resp_type');
  const req = member(b?.request);
  if (req !== undefined) return REQUEST_MSG_TYPES[req as RequestType];
  const resp = member(b?.response);
  return resp === undefined ? undefined : RESPONSE_MSG_TYPES[resp as ResponseType];
}

// ---- results ----------------------------------------------------------------------------

/** USP error codes the codec reports (TR-369 "Error Codes", "USP Record Errors"). */
export const USP_CODEC_ERR = {
  /** Msg bytes are not a valid usp.Msg ("Message failed"). */
  MSG_PARSE: 7000,
  /** Msg parses but breaks a schema rule: bad oneof, unknown enum, msg_type/body mismatch ("Invalid arguments"). */
  MSG_INVALID: 7004,
  /** Record bytes are not a valid usp_record.Record ("Record could not be parsed"). */
  RECORD_PARSE: 7100,
  /** Record parses but a value is invalid: no record_type, unknown enum ("Invalid Record value"). */
  RECORD_INVALID: 7104,
} as const;

export interface UspDecodeError {
  /** 'wire': not valid protobuf for the schema; 'invalid': valid protobuf breaking a USP schema rule. */
  kind: 'wire' | 'invalid';
  /** The USP error code for this failure (USP_CODEC_ERR). */
  err_code: number;
  /** Field path at fault, e.g. 'body.request.set.update_objs[0]' ('' when unknown / top level). */
  path: string;
  /** Human-readable, names the schema type and the path. */
  message: string;
}

export type DecodeResult<T, S> = { ok: true; value: T } | { ok: false; error: UspDecodeError; salvaged: S };
export type RecordSalvage = Partial<Pick<UspRecord, 'version' | 'to_id' | 'from_id'>>;
export type MsgSalvage = { msg_id?: string; msg_type?: MsgTypeName };

export class UspEncodeError extends Error {
  constructor(readonly path: string, detail: string) {
    super(`usp encode: ${path || '(top)'}: ${detail}`);
    this.name = 'UspEncodeError';
  }
}

// ---- schema rule checks (shared by encode and decode) -----------------------------------------

interface Plan {
  oneofs: { name: string; members: string[] }[];
  /** Singular message fields outside a oneof: required by USP (header, body, oper_status). */
  required: string[];
  children: { name: string; type: Type }[];
  enums: { name: string; e: Enum }[];
}
const plans = new Map<Type, Plan>();
function planOf(t: Type): Plan {
  let p = plans.get(t);
  if (p) return p;
  p = { oneofs: t.oneofsArray.map((o) => ({ name: o.name, members: o.fieldsArray.map((f) => f.name) })), required: [], children: [], enums: [] };
  for (const f of t.fieldsArray) {
    const rt = f.resolve().resolvedType;
    if (rt instanceof protobuf.Type && !f.map) {
      p.children.push({ name: f.name, type: rt });
      if (!f.repeated && !f.partOf) p.required.push(f.name);
    } else if (rt instanceof protobuf.Enum) {
      if (f.repeated) throw new Error(`usp codec: repeated enum ${t.name}.${f.name} is not supported by check()`);
      p.enums.push({ name: f.name, e: rt });
    }
  }
  plans.set(t, p);
  for (const c of p.children) planOf(c.type); // build every plan at load: schema surprises fail here
  return p;
}
planOf(RecordT);
planOf(MsgT);

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
const at = (path: string, name: string): string => (path ? `${path}.${name}` : name);

/**
 * Checks a plain object against the USP rules protobufjs does not enforce. `decoded`
 * objects come from toObject (enum names, unknown enum values left as numbers, oneof
 * discriminators set); encode inputs may omit fields. Returns [path, problem] or null.
 */
function check(t: Type, o: Obj, path: string, decoded: boolean): [string, string] | null {
  const p = planOf(t);
  for (const { name, members } of p.oneofs) {
    let first: string | undefined;
    let count = 0;
    for (const m of members) {
      if (o[m] !== undefined && o[m] !== null) {
        first ??= m;
        count++;
      }
    }
    if (count === 0) return [path, `${t.name}.${name}: no member set (one of ${members.join(', ')})`];
    if (count > 1) return [path, `${t.name}.${name}: several members set (${members.filter((m) => o[m] != null).join(', ')})`];
    const disc = o[name];
    if (disc !== undefined && disc !== first) return [path, `${t.name}.${name} says '${String(disc)}' but '${first}' is set`];
  }
  for (const name of p.required) {
    if (o[name] === undefined || o[name] === null) return [at(path, name), `${t.name}.${name} is missing`];
  }
  for (const { name, e } of p.enums) {
    // USP has no repeated enums. Decoded: toObject leaves a value the schema does not
    // name as a number. Encoding: undefined means the default; a name or a known number.
    const v = o[name];
    const known = typeof v === 'string' ? e.values[v] !== undefined
      : !decoded && (v === undefined || (typeof v === 'number' && e.valuesById[v] !== undefined));
    if (!known) return [at(path, name), `unknown ${e.name} value ${JSON.stringify(v)}`];
  }
  for (const { name, type } of p.children) {
    const v = o[name];
    if (v === undefined || v === null) continue;
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        const r = checkChild(type, v[i], `${at(path, name)}[${i}]`, decoded);
        if (r) return r;
      }
    } else {
      const r = checkChild(type, v, at(path, name), decoded);
      if (r) return r;
    }
  }
  return null;
}

function checkChild(type: Type, v: unknown, path: string, decoded: boolean): [string, string] | null {
  return isObj(v) ? check(type, v, path, decoded) : [path, `${type.name} expected, got ${typeof v}`];
}

const TO_OBJECT: IConversionOptions = { enums: String, longs: String, defaults: true, oneofs: true };

function decodeWith<T>(t: Type, bytes: unknown, codes: { parse: number; invalid: number }): { ok: true; value: T } | { ok: false; error: UspDecodeError } {
  const fail = (kind: 'wire' | 'invalid', path: string, detail: string): { ok: false; error: UspDecodeError } => ({
    ok: false,
    error: { kind, err_code: kind === 'wire' ? codes.parse : codes.invalid, path, message: `${t.fullName.slice(1)}: ${path ? `${path}: ` : ''}${detail}` },
  });
  if (!(bytes instanceof Uint8Array)) return fail('wire', '', `bytes expected, got ${bytes === null ? 'null' : typeof bytes}`);
  let obj: Obj;
  try {
    obj = t.toObject(t.decode(bytes), TO_OBJECT);
  } catch (e) {
    return fail('wire', '', `could not be parsed: ${e instanceof Error ? e.message : String(e)}`);
  }
  const bad = check(t, obj, '', true);
  return bad ? fail('invalid', bad[0], bad[1]) : { ok: true, value: obj as T };
}

/**
 * Reads top-level length-delimited fields `ids` (strings or embedded messages) up to
 * the first wire error, so a broken Record or Msg still yields its identity.
 */
function salvage(bytes: unknown, ids: number[]): Map<number, Uint8Array> {
  const got = new Map<number, Uint8Array>();
  if (!(bytes instanceof Uint8Array)) return got;
  try {
    const r = protobuf.Reader.create(bytes);
    while (r.pos < r.len) {
      const tag = r.uint32();
      if ((tag & 7) === 2 && ids.includes(tag >>> 3)) got.set(tag >>> 3, r.bytes());
      else r.skipType(tag & 7);
    }
  } catch {
    // keep what was read before the damage
  }
  return got;
}
const utf8 = (b: Uint8Array | undefined): string | undefined => (b === undefined ? undefined : Buffer.from(b).toString('utf8'));

// ---- Record ---------------------------------------------------------------------------------

/** Decodes a usp_record.Record. Never throws. */
export function decodeRecord(bytes: Uint8Array): DecodeResult<UspRecord, RecordSalvage> {
  const r = decodeWith<UspRecord>(RecordT, bytes, { parse: USP_CODEC_ERR.RECORD_PARSE, invalid: USP_CODEC_ERR.RECORD_INVALID });
  if (r.ok) return r;
  const f = salvage(bytes, [1, 2, 3]);
  const salvaged: RecordSalvage = {};
  for (const [id, key] of [[1, 'version'], [2, 'to_id'], [3, 'from_id']] as const) {
    const s = utf8(f.get(id));
    if (s !== undefined) salvaged[key] = s;
  }
  return { ...r, salvaged };
}

/** Encodes a usp_record.Record (exactly one record_type member must be set). Throws UspEncodeError on invalid input. */
export function encodeRecord(rec: RecordInput): Uint8Array {
  return encodeWith(RecordT, rec as Obj);
}

function encodeWith(t: Type, o: Obj): Uint8Array {
  if (!isObj(o)) throw new UspEncodeError('', `${t.name} object expected`);
  const bad = check(t, o, '', false);
  if (bad) throw new UspEncodeError(bad[0], bad[1]);
  return t.encode(t.fromObject(o)).finish();
}

// ---- Msg -------------------------------------------------------------------------------------

/** Decodes a usp.Msg (a Record's no_session_context payload). Never throws. */
export function decodeMsg(bytes: Uint8Array): DecodeResult<UspMsg, MsgSalvage> {
  const r = decodeWith<UspMsg>(MsgT, bytes, { parse: USP_CODEC_ERR.MSG_PARSE, invalid: USP_CODEC_ERR.MSG_INVALID });
  if (r.ok) {
    const want = msgTypeOfBody(r.value.body);
    if (want === r.value.header.msg_type) return r;
    const error: UspDecodeError = {
      kind: 'invalid', err_code: USP_CODEC_ERR.MSG_INVALID, path: 'header.msg_type',
      message: `usp.Msg: header.msg_type: ${r.value.header.msg_type} does not match a body that needs ${String(want)}`,
    };
    return { ok: false, error, salvaged: { msg_id: r.value.header.msg_id, msg_type: r.value.header.msg_type } };
  }
  const salvaged: MsgSalvage = {};
  const hb = salvage(bytes, [1]).get(1);
  if (hb) {
    try {
      const h = HeaderT.toObject(HeaderT.decode(hb), TO_OBJECT) as { msg_id: string; msg_type: unknown };
      salvaged.msg_id = h.msg_id;
      if (typeof h.msg_type === 'string') salvaged.msg_type = h.msg_type as MsgTypeName;
    } catch {
      // header itself is damaged: nothing to salvage
    }
  }
  return { ...r, salvaged };
}

/**
 * Encodes a usp.Msg. header.msg_type may be omitted (derived from the body); if given
 * it must match the body. Throws UspEncodeError on invalid input.
 */
export function encodeMsg(msg: MsgInput): Uint8Array {
  if (!isObj(msg)) throw new UspEncodeError('', 'Msg object expected');
  const bad = check(MsgT, msg as Obj, '', false);
  if (bad) throw new UspEncodeError(bad[0], bad[1]);
  const want = msgTypeOfBody(msg.body) as MsgTypeName; // the body passed the oneof checks
  const given: unknown = msg.header?.msg_type;
  const name = typeof given === 'number' ? MSG_TYPES.byNumber[given] : given;
  if (name !== undefined && name !== want) {
    throw new UspEncodeError('header.msg_type', `${String(given)} does not match a body that needs ${want}`);
  }
  return MsgT.encode(MsgT.fromObject({ ...msg, header: { ...msg.header, msg_type: want } })).finish();
}
