// USP Record/Msg codec (src/usp/codec.ts): the embedded schema text matches the .proto
// files, hand-built wire fixtures (test/fixtures/usp/*.hex) prove the field numbers,
// round trips of the message kinds the agent uses, and malformed input giving an error
// result (never a throw).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import protobuf from 'protobufjs';
import type { NamespaceBase } from 'protobufjs';
import {
  MSG_TYPES, USP_CODEC_ERR, USP_ROOT, UspEncodeError, decodeMsg, decodeRecord, encodeMsg, encodeRecord,
  msgTypeOfBody, type MsgInput, type UspMsg, type UspRecord,
} from '../src/usp/codec.js';

// Compiled to dist/test/: sources and fixtures are read from the repository tree.
const repoFile = (rel: string): string => readFileSync(new URL(`../../${rel}`, import.meta.url), 'utf8');
const hexFixture = (name: string): Uint8Array =>
  Uint8Array.from(
    repoFile(`test/fixtures/usp/${name}`)
      .split('\n')
      .flatMap((line) => line.replace(/#.*/, '').trim().split(/\s+/).filter(Boolean))
      .map((h) => parseInt(h, 16)),
  );
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function ok<T>(r: { ok: true; value: T } | { ok: false; error: { message: string } }): T {
  if (!r.ok) throw new Error(`expected ok, got ${r.error.message}`);
  return r.value;
}

const EMPTY = new Uint8Array(0);
const recordOf = (payload: Uint8Array): UspRecord => ({
  version: '1.3', to_id: 'os::012345-CPE0001', from_id: 'self::usp-controller', payload_security: 'PLAINTEXT',
  mac_signature: EMPTY, sender_cert: EMPTY, record_type: 'no_session_context', no_session_context: { payload },
});
const roundTrip = (msg: MsgInput): UspMsg => {
  const rec = ok(decodeRecord(encodeRecord(recordOf(encodeMsg(msg)))));
  if (rec.record_type !== 'no_session_context') throw new Error(rec.record_type);
  return ok(decodeMsg(rec.no_session_context.payload));
};

describe('schema', () => {
  it('every message, field number, type and oneof matches the reviewed listing', () => {
    // schema-fields.txt was checked against TR-369 and the BBF usp-*-1-3.proto
    // files: a change to a field number must change both on purpose.
    const lines: string[] = [];
    const walk = (ns: NamespaceBase): void => {
      for (const n of ns.nestedArray) {
        if (n instanceof protobuf.Type) {
          const fields = n.fieldsArray.map((f) => {
            const type = f instanceof protobuf.MapField ? `map<${f.keyType},${f.type}>` : f.repeated ? `repeated ${f.type}` : f.type;
            return `${f.id} ${f.name}: ${type}${f.partOf ? ` (oneof ${f.partOf.name})` : ''}`;
          });
          lines.push(`${n.fullName.slice(1)} { ${fields.join('; ')} }`);
          walk(n);
        } else if (n instanceof protobuf.Enum) {
          lines.push(`enum ${n.fullName.slice(1)} { ${Object.entries(n.values).map(([k, v]) => `${k}=${v}`).join(' ')} }`);
        } else if (n instanceof protobuf.Namespace) walk(n);
      }
    };
    walk(USP_ROOT);
    expect(lines.join('\n') + '\n').toBe(repoFile('test/fixtures/usp/schema-fields.txt'));
  });

  it('MSG_TYPES maps names and numbers both ways, as in the schema', () => {
    expect(MSG_TYPES.byName.ERROR).toBe(0);
    expect(MSG_TYPES.byName.GET_SUPPORTED_PROTO_RESP).toBe(18);
    expect(MSG_TYPES.byName.DEREGISTER_RESP).toBe(22);
    expect(MSG_TYPES.byNumber[16]).toBe('NOTIFY_RESP');
    expect(MSG_TYPES.names).toHaveLength(23);
    expect(MSG_TYPES.byName).toEqual(USP_ROOT.lookupEnum('usp.Header.MsgType').values);
    for (const [i, n] of MSG_TYPES.byNumber.entries()) expect(MSG_TYPES.byName[n]).toBe(i);
  });

  it('msgTypeOfBody names the msg_type each body requires', () => {
    expect(msgTypeOfBody({ request: { get_supported_protocol: {} } })).toBe('GET_SUPPORTED_PROTO');
    expect(msgTypeOfBody({ response: { notify_resp: {} } })).toBe('NOTIFY_RESP');
    expect(msgTypeOfBody({ error: {} })).toBe('ERROR');
    expect(msgTypeOfBody({})).toBeUndefined();
  });
});

describe('hand-built wire fixtures', () => {
  it('a Record with to_id "a", from_id "b" and a 2-byte payload', () => {
    const bytes = hexFixture('record-a-b-payload.hex');
    expect(ok(decodeRecord(bytes))).toEqual({
      version: '', to_id: 'a', from_id: 'b', payload_security: 'PLAINTEXT', mac_signature: EMPTY, sender_cert: EMPTY,
      record_type: 'no_session_context', no_session_context: { payload: Uint8Array.from([1, 2]) },
    });
    expect(hex(encodeRecord({ to_id: 'a', from_id: 'b', no_session_context: { payload: Uint8Array.from([1, 2]) } }))).toBe(hex(bytes));
  });

  it('a Get Msg (fixed32 max_depth)', () => {
    const bytes = hexFixture('msg-get.hex');
    const msg: UspMsg = {
      header: { msg_id: '1', msg_type: 'GET' },
      body: { msg_body: 'request', request: { req_type: 'get', get: { param_paths: ['Device.'], max_depth: 2 } } },
    };
    expect(ok(decodeMsg(bytes))).toEqual(msg);
    expect(hex(encodeMsg(msg))).toBe(hex(bytes));
  });

  it('an Error Msg whose fixed32 err_codes are 7000 and 7026', () => {
    const bytes = hexFixture('msg-error-7026.hex');
    const msg: UspMsg = {
      header: { msg_id: 'e', msg_type: 'ERROR' },
      body: { msg_body: 'error', error: { err_code: 7000, err_msg: '', param_errs: [{ param_path: 'Device.X', err_code: 7026, err_msg: '' }] } },
    };
    expect(ok(decodeMsg(bytes))).toEqual(msg);
    expect(hex(encodeMsg(msg))).toBe(hex(bytes));
  });
});

describe('round trips through a Record', () => {
  it('Get (msg_type derived from the body when omitted)', () => {
    const input: MsgInput = { header: { msg_id: 'g-1' }, body: { request: { get: { param_paths: ['Device.DeviceInfo.', 'Device.IP.Interface.*.Status'] } } } };
    expect(roundTrip(input)).toEqual({
      header: { msg_id: 'g-1', msg_type: 'GET' },
      body: { msg_body: 'request', request: { req_type: 'get', get: { param_paths: ['Device.DeviceInfo.', 'Device.IP.Interface.*.Status'], max_depth: 0 } } },
    });
  });

  it('GetResp with a 7026 path result and result_params', () => {
    const msg: UspMsg = {
      header: { msg_id: 'g-1', msg_type: 'GET_RESP' },
      body: { msg_body: 'response', response: { resp_type: 'get_resp', get_resp: { req_path_results: [
        { requested_path: 'Device.DeviceInfo.', err_code: 0, err_msg: '', resolved_path_results: [
          { resolved_path: 'Device.DeviceInfo.', result_params: { Manufacturer: 'ACME', SerialNumber: 'CPE0001', UpTime: '42' } },
        ] },
        { requested_path: 'Device.Nope.', err_code: 7026, err_msg: 'Invalid path', resolved_path_results: [] },
      ] } } },
    };
    expect(roundTrip(msg)).toEqual(msg);
  });

  it('Set with allow_partial and required params', () => {
    const msg: UspMsg = {
      header: { msg_id: 's-9', msg_type: 'SET' },
      body: { msg_body: 'request', request: { req_type: 'set', set: { allow_partial: true, update_objs: [
        { obj_path: 'Device.WiFi.SSID.1.', param_settings: [{ param: 'SSID', value: 'home', required: true }, { param: 'Enable', value: 'true', required: false }] },
        { obj_path: 'Device.WiFi.SSID.[Name=="x"].', param_settings: [{ param: 'Enable', value: 'false', required: true }] },
      ] } } },
    };
    expect(roundTrip(msg)).toEqual(msg);
  });

  it('SetResp with oper_failure and oper_success', () => {
    const msg: UspMsg = {
      header: { msg_id: 's-9', msg_type: 'SET_RESP' },
      body: { msg_body: 'response', response: { resp_type: 'set_resp', set_resp: { updated_obj_results: [
        { requested_path: 'Device.WiFi.SSID.1.', oper_status: { oper_status: 'oper_success', oper_success: { updated_inst_results: [
          { affected_path: 'Device.WiFi.SSID.1.', param_errs: [], updated_params: { SSID: 'home' } }] } } },
        { requested_path: 'Device.Nope.', oper_status: { oper_status: 'oper_failure', oper_failure: { err_code: 7026, err_msg: 'no', updated_inst_failures: [] } } },
      ] } } },
    };
    expect(roundTrip(msg)).toEqual(msg);
  });

  it('Error with param_errs (fixed32 err_code 7026 on the wire)', () => {
    const msg: UspMsg = {
      header: { msg_id: 's-10', msg_type: 'ERROR' },
      body: { msg_body: 'error', error: { err_code: 7004, err_msg: 'Invalid arguments', param_errs: [
        { param_path: 'Device.Foo.Bar', err_code: 7026, err_msg: 'Invalid path' },
      ] } },
    };
    const bytes = encodeMsg(msg);
    expect(hex(bytes)).toContain('15721b0000'); // ParamError field 2, wire type 5, 7026 little-endian
    expect(hex(bytes)).toContain('0d5c1b0000'); // Error field 1, wire type 5, 7004
    expect(roundTrip(msg)).toEqual(msg);
  });

  it('Notify value_change, Boot! event and OperationComplete', () => {
    const notifies: UspMsg['body'][] = [
      { msg_body: 'request', request: { req_type: 'notify', notify: { subscription_id: 'sub-1', send_resp: true, notification: 'value_change',
        value_change: { param_path: 'Device.WiFi.SSID.1.SSID', param_value: 'home' } } } },
      { msg_body: 'request', request: { req_type: 'notify', notify: { subscription_id: 'boot', send_resp: false, notification: 'event',
        event: { obj_path: 'Device.', event_name: 'Boot!', params: { Cause: 'LocalReboot', CommandKey: '', FirmwareUpdated: 'false', ParameterMap: '{}' } } } } },
      { msg_body: 'request', request: { req_type: 'notify', notify: { subscription_id: 'oc', send_resp: true, notification: 'oper_complete',
        oper_complete: { obj_path: 'Device.DeviceInfo.FirmwareImage.2.', command_name: 'Download()', command_key: 'k',
          operation_resp: 'cmd_failure', cmd_failure: { err_code: 7022, err_msg: 'download failed' } } } } },
    ];
    for (const [i, body] of notifies.entries()) {
      const msg: UspMsg = { header: { msg_id: `n-${i}`, msg_type: 'NOTIFY' }, body };
      expect(roundTrip(msg)).toEqual(msg);
    }
  });

  it('OperateResp with each operation_resp kind, GetSupportedDMResp enums', () => {
    const operate: UspMsg = {
      header: { msg_id: 'o', msg_type: 'OPERATE_RESP' },
      body: { msg_body: 'response', response: { resp_type: 'operate_resp', operate_resp: { operation_results: [
        { executed_command: 'Device.DeviceInfo.FirmwareImage.2.Download()', operation_resp: 'req_obj_path', req_obj_path: 'Device.LocalAgent.Request.1' },
        { executed_command: 'Device.Reboot()', operation_resp: 'req_output_args', req_output_args: { output_args: {} } },
        { executed_command: 'Device.X()', operation_resp: 'cmd_failure', cmd_failure: { err_code: 7022, err_msg: 'x' } },
      ] } } },
    };
    expect(roundTrip(operate)).toEqual(operate);
    const gsdm: UspMsg = {
      header: { msg_id: 'd', msg_type: 'GET_SUPPORTED_DM_RESP' },
      body: { msg_body: 'response', response: { resp_type: 'get_supported_dm_resp', get_supported_dm_resp: { req_obj_results: [
        { req_obj_path: 'Device.', err_code: 0, err_msg: '', data_model_inst_uri: 'urn:broadband-forum-org:tr-181-2-16-0', supported_objs: [
          { supported_obj_path: 'Device.IP.Interface.{i}.', access: 'OBJ_ADD_DELETE', is_multi_instance: true, divergent_paths: [], unique_key_sets: [{ key_names: ['Name'] }],
            supported_commands: [{ command_name: 'Reset()', input_arg_names: [], output_arg_names: [], command_type: 'CMD_SYNC' }],
            supported_events: [{ event_name: 'Boot!', arg_names: ['Cause'] }],
            supported_params: [{ param_name: 'Enable', access: 'PARAM_READ_WRITE', value_type: 'PARAM_BOOLEAN', value_change: 'VALUE_CHANGE_ALLOWED' }] },
        ] },
      ] } } },
    };
    expect(roundTrip(gsdm)).toEqual(gsdm);
  });

  it('an MQTTConnectRecord with V5, a DisconnectRecord and a SessionContextRecord', () => {
    const hdr = { version: '1.3', to_id: 'self::usp-controller', from_id: 'os::012345-CPE0001', payload_security: 'PLAINTEXT', mac_signature: EMPTY, sender_cert: EMPTY } as const;
    const connect: UspRecord = { ...hdr, record_type: 'mqtt_connect', mqtt_connect: { version: 'V5', subscribed_topic: 'usp/agent/os::012345-CPE0001' } };
    const bytes = encodeRecord(connect);
    expect(hex(bytes)).toContain('52200801'); // field 10 mqtt_connect, LEN 32, field 1 version = 1 (V5)
    expect(ok(decodeRecord(bytes))).toEqual(connect);
    const bye: UspRecord = { ...hdr, record_type: 'disconnect', disconnect: { reason: 'shutdown', reason_code: 7105 } };
    expect(ok(decodeRecord(encodeRecord(bye)))).toEqual(bye);
    const session = ok(decodeRecord(encodeRecord({ session_context: { session_id: '18446744073709551615', payload: [Uint8Array.from([9])] } })));
    expect(session.record_type === 'session_context' && session.session_context).toEqual({
      session_id: '18446744073709551615', sequence_id: '0', expected_id: '0', retransmit_id: '0',
      payload_sar_state: 'NONE', payloadrec_sar_state: 'NONE', payload: [Uint8Array.from([9])],
    });
  });
});

describe('malformed input gives an error result, never a throw', () => {
  const good = hexFixture('record-a-b-payload.hex');

  it('garbage and truncated Records: 7100, with to_id/from_id salvaged when readable', () => {
    const junk = decodeRecord(Uint8Array.from([0xff]));
    expect(junk).toMatchObject({ ok: false, error: { kind: 'wire', err_code: USP_CODEC_ERR.RECORD_PARSE }, salvaged: {} });
    const cut = decodeRecord(good.subarray(0, good.length - 1));
    expect(cut).toMatchObject({ ok: false, error: { kind: 'wire', err_code: 7100 }, salvaged: { to_id: 'a', from_id: 'b' } });
    if (!cut.ok) expect(cut.error.message).toMatch(/^usp_record\.Record: could not be parsed: /);
    expect(decodeRecord(Uint8Array.from([0x0f]))).toMatchObject({ ok: false, error: { kind: 'wire' } }); // wire type 7
    expect(decodeRecord('not bytes' as unknown as Uint8Array)).toMatchObject({ ok: false, error: { kind: 'wire', err_code: 7100 } });
  });

  it('a Record with no record_type or an unknown enum value: 7104 with the field path', () => {
    expect(decodeRecord(EMPTY)).toMatchObject({ ok: false, error: { kind: 'invalid', err_code: USP_CODEC_ERR.RECORD_INVALID, path: '' } });
    const r = decodeRecord(Uint8Array.from([...good, 0x20, 0x07])); // payload_security = 7
    expect(r).toMatchObject({ ok: false, error: { kind: 'invalid', err_code: 7104, path: 'payload_security' }, salvaged: { to_id: 'a', from_id: 'b' } });
    const v = decodeRecord(Uint8Array.from([0x52, 0x02, 0x08, 0x09])); // mqtt_connect.version = 9
    expect(v).toMatchObject({ ok: false, error: { kind: 'invalid', path: 'mqtt_connect.version' } });
  });

  it('a Msg with a damaged body keeps its readable msg_id and msg_type (7000)', () => {
    const get = hexFixture('msg-get.hex');
    const r = decodeMsg(get.subarray(0, get.length - 2));
    expect(r).toMatchObject({ ok: false, error: { kind: 'wire', err_code: USP_CODEC_ERR.MSG_PARSE }, salvaged: { msg_id: '1', msg_type: 'GET' } });
  });

  it('Msg schema violations: 7004 with the path at fault', () => {
    const cases: [number[], string, RegExp][] = [
      [[0x0a, 0x03, 0x0a, 0x01, 0x31], 'body', /Msg\.body is missing/], // header only
      [[0x0a, 0x03, 0x0a, 0x01, 0x31, 0x12, 0x02, 0x0a, 0x00], 'body.request', /req_type: no member set/],
      [[0x0a, 0x05, 0x0a, 0x01, 0x31, 0x10, 0x63, 0x12, 0x00], 'header.msg_type', /unknown MsgType value 99/],
      // header says GET, body is a get_resp
      [[0x0a, 0x05, 0x0a, 0x01, 0x31, 0x10, 0x01, 0x12, 0x04, 0x12, 0x02, 0x0a, 0x00], 'header.msg_type', /GET does not match a body that needs GET_RESP/],
      // set_resp with an updated_obj_result lacking oper_status
      [[0x0a, 0x05, 0x0a, 0x01, 0x31, 0x10, 0x05, 0x12, 0x08, 0x12, 0x06, 0x22, 0x04, 0x0a, 0x02, 0x0a, 0x00],
        'body.response.set_resp.updated_obj_results[0].oper_status', /oper_status is missing/],
    ];
    for (const [bytes, path, message] of cases) {
      const r = decodeMsg(Uint8Array.from(bytes));
      expect(r).toMatchObject({ ok: false, error: { kind: 'invalid', err_code: USP_CODEC_ERR.MSG_INVALID, path }, salvaged: { msg_id: '1' } });
      if (!r.ok) expect(r.error.message).toMatch(message);
    }
  });

  it('random bytes never throw', () => {
    let seed = 12345;
    const rnd = (): number => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
    const base = [...hexFixture('msg-get.hex'), ...hexFixture('msg-error-7026.hex')];
    for (let i = 0; i < 2000; i++) {
      const bytes = Uint8Array.from(i % 2 ? base.map((b) => (rnd() < 0.1 ? Math.floor(rnd() * 256) : b)) : Array.from({ length: Math.floor(rnd() * 40) }, () => Math.floor(rnd() * 256)));
      expect(() => { decodeMsg(bytes); decodeRecord(bytes); }).not.toThrow();
    }
  });
});

describe('encode refuses input that would be an invalid USP message', () => {
  it('throws UspEncodeError naming the path', () => {
    expect(() => encodeRecord({ to_id: 'a', no_session_context: { payload: EMPTY }, disconnect: {} })).toThrow(/record_type: several members set/);
    expect(() => encodeRecord({ to_id: 'a' })).toThrow(UspEncodeError);
    expect(() => encodeMsg({ header: { msg_id: '1', msg_type: 'SET' }, body: { request: { get: {} } } })).toThrow(/SET does not match a body that needs GET/);
    expect(() => encodeMsg({ body: { error: {} } })).toThrow(/Msg\.header is missing/);
    expect(() => encodeMsg({ header: { msg_id: '1' }, body: { request: { set: { update_objs: [{ obj_path: 'x' }] } }, error: {} } })).toThrow(/msg_body: several/);
    expect(() => encodeMsg({ header: { msg_id: '1' }, body: { response: { set_resp: { updated_obj_results: [{ requested_path: 'x' }] } } } }))
      .toThrow(/body\.response\.set_resp\.updated_obj_results\[0\]\.oper_status: .*missing/);
    expect(() => encodeMsg({ header: { msg_id: '1' }, body: { response: { get_supported_dm_resp: { req_obj_results: [{ supported_objs: [{ access: 'OBJ_NOPE' as 'OBJ_READ_ONLY' }] }] } } } }))
      .toThrow(/unknown ObjAccessType value "OBJ_NOPE"/);
  });
});
