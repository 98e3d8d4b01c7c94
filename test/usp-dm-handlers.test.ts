// The USP data-model handlers (src/usp/handlers/*) as pure functions over one CPE's
// view: every error code they give, allow_partial both ways with nothing applied on
// failure, Subscription rows filled in by the agent, unique keys, and responses that
// survive the codec.
import { describe, expect, it } from '@jest/globals';
import { CpeView } from '../src/datamodel/view.js';
import { compileProfile } from '../src/profile/compile.js';
import { loadProfile } from '../src/profile/load.js';
import { FleetEnv } from '../src/shard/fleet-env.js';
import { decodeMsg, encodeMsg } from '../src/usp/codec.js';
import type { HandlerResult, UspContext } from '../src/usp/handlers/handler.js';
import { handleRequest } from '../src/usp/handlers/index.js';
import type { Add, Delete, Get, GetInstances, GetSupportedDM, Request, Response, UspError, UspSet } from '../src/usp/types.js';
import { exampleProfile } from './helpers/harness.js';

const spec = loadProfile(exampleProfile);
const template = compileProfile(spec);
const env = new FleetEnv(spec, template, 7, 'http://127.0.0.1:7548', 'dm-secret', { url: 'http://acs.example/cwmp', username: 'u', password: 'p' });
const NOW = Date.UTC(2025, 0, 15, 9, 0, 0);
const CONTROLLER = 'Device.LocalAgent.Controller.1';

function agent() {
  const view = new CpeView(template, env.context(3, NOW, NOW - 3_600_000), undefined);
  const changes: string[] = [];
  const ctx: UspContext = {
    view,
    controllerId: 'self::usp-controller',
    controllerRef: CONTROLLER,
    now: NOW,
    changes: {
      valueSet: (p, v) => changes.push(`set ${p}=${v}`),
      objectCreated: (p, k) => changes.push(`created ${p} ${JSON.stringify(k)}`),
      objectDeleted: (p) => changes.push(`deleted ${p}`),
    },
    commands: { run: () => ({ kind: 'failure', errCode: 7022, errMsg: 'not in this test' }) },
  };
  const send = (req: Request): HandlerResult => handleRequest(req, ctx);
  const resp = (req: Request): Response => {
    const r = send(req);
    if (r.kind !== 'response') throw new Error(`expected a response, got error ${r.error.err_code} ${r.error.err_msg}`);
    return r.response;
  };
  const error = (req: Request): UspError => {
    const r = send(req);
    if (r.kind !== 'error') throw new Error(`expected an error, got ${JSON.stringify(r.response)}`);
    return r.error;
  };
  return { view, changes, send, resp, error };
}

const get = (param_paths: string[], max_depth = 0): Request => ({ req_type: 'get', get: { param_paths, max_depth } satisfies Get });
const getInstances = (obj_paths: string[], first_level_only: boolean): Request => ({ req_type: 'get_instances', get_instances: { obj_paths, first_level_only } satisfies GetInstances });
const gsdm = (obj_paths: string[], o: Partial<GetSupportedDM> = {}): Request => ({
  req_type: 'get_supported_dm',
  get_supported_dm: { obj_paths, first_level_only: false, return_commands: true, return_events: true, return_params: true, return_unique_key_sets: true, ...o },
});
type Setting = [param: string, value: string, required?: boolean];
const settings = (s: Setting[]) => s.map(([param, value, required = false]) => ({ param, value, required }));
const set = (allow_partial: boolean, objs: Array<[string, Setting[]]>): Request => ({
  req_type: 'set',
  set: { allow_partial, update_objs: objs.map(([obj_path, s]) => ({ obj_path, param_settings: settings(s) })) } satisfies UspSet,
});
const add = (allow_partial: boolean, objs: Array<[string, Setting[]]>): Request => ({
  req_type: 'add',
  add: { allow_partial, create_objs: objs.map(([obj_path, s]) => ({ obj_path, param_settings: settings(s) })) } satisfies Add,
});
const del = (allow_partial: boolean, obj_paths: string[]): Request => ({ req_type: 'delete', delete: { allow_partial, obj_paths } satisfies Delete });

function getResults(r: Response) {
  if (r.resp_type !== 'get_resp') throw new Error(r.resp_type);
  return r.get_resp.req_path_results;
}

describe('Get', () => {
  it('a parameter path resolves to its parent object holding only that parameter; hidden values read ""', () => {
    const [status, password] = getResults(agent().resp(get(['Device.IP.Interface.*.Status', 'Device.ManagementServer.Password'])));
    expect(status).toEqual({
      requested_path: 'Device.IP.Interface.*.Status',
      err_code: 0,
      err_msg: '',
      resolved_path_results: [
        { resolved_path: 'Device.IP.Interface.1.', result_params: { Status: 'Up' } },
        { resolved_path: 'Device.IP.Interface.2.', result_params: { Status: 'Up' } },
      ],
    });
    expect(password!.resolved_path_results).toEqual([{ resolved_path: 'Device.ManagementServer.', result_params: { Password: '' } }]);
  });

  it('each object and sub-object is its own result, keys relative; max_depth limits the levels', () => {
    const a = agent();
    const paths = (depth: number) => getResults(a.resp(get(['Device.IP.Interface.[Name=="wan"].'], depth)))[0]!.resolved_path_results.map((r) => r.resolved_path);
    expect(paths(0)).toEqual(['Device.IP.Interface.1.', 'Device.IP.Interface.1.IPv4Address.1.', 'Device.IP.Interface.1.IPv6Address.1.', 'Device.IP.Interface.1.Stats.']);
    expect(paths(1)).toEqual(['Device.IP.Interface.1.']);
    expect(paths(2)).toEqual(paths(0));
    const [wan] = getResults(a.resp(get(['Device.IP.Interface.1.'])))[0]!.resolved_path_results;
    expect(wan!.result_params).toMatchObject({ Name: 'wan', Alias: 'cpe-wan', MaxMTUSize: '1500' });
    expect(Object.keys(wan!.result_params).some((k) => k.includes('.'))).toBe(false);
    // A table path reads every row; max_depth counts a table's rows as one level.
    const tables = getResults(a.resp(get(['Device.DeviceInfo.'], 2)))[0]!.resolved_path_results.map((r) => r.resolved_path);
    expect(tables).toContain('Device.DeviceInfo.FirmwareImage.2.');
    expect(tables).toContain('Device.DeviceInfo.MemoryStatus.');
    expect(tables).not.toContain('Device.DeviceInfo.TemperatureStatus.TemperatureSensor.1.');
  });

  it('bad paths are errors inside their own result; an empty search and an empty table are not errors', () => {
    const results = getResults(agent().resp(get([
      'Device.DeviceInfo.SerialNumber',
      'Device.NoSuch.',
      'Device.IP.Interface.9.',
      'Device.IP.Interface.[Enable=="true"].',
      'Device.IP.Interface.[Name=="eth9"].',
      'Device.LocalAgent.Subscription.',
      'Device.Reboot()',
    ])));
    expect(results.map((r) => [r.err_code, r.resolved_path_results.length])).toEqual([[0, 1], [7026, 0], [7026, 0], [7008, 0], [0, 0], [0, 0], [7026, 0]]);
    expect(results[0]!.resolved_path_results[0]!.result_params).toEqual({ SerialNumber: 'CS00000003' });
  });
});

describe('GetInstances', () => {
  it('rows with unique keys; nested tables unless first_level_only', () => {
    const a = agent();
    const [ip] = (a.resp(getInstances(['Device.IP.Interface.'], true)) as Extract<Response, { resp_type: 'get_instances_resp' }>).get_instances_resp.req_path_results;
    expect(ip!.curr_insts).toEqual([
      { instantiated_obj_path: 'Device.IP.Interface.1.', unique_keys: { Name: 'wan', Alias: 'cpe-wan' } },
      { instantiated_obj_path: 'Device.IP.Interface.2.', unique_keys: { Name: 'br-lan', Alias: 'cpe-lan' } },
    ]);
    const deep = (a.resp(getInstances(['Device.IP.Interface.*.', 'Device.DeviceInfo.', 'Device.IP.Interface.5.', 'Device.Nope.'], false)) as Extract<Response, { resp_type: 'get_instances_resp' }>).get_instances_resp.req_path_results;
    expect(deep[0]!.curr_insts.map((c) => c.instantiated_obj_path)).toEqual([
      'Device.IP.Interface.1.', 'Device.IP.Interface.1.IPv4Address.1.', 'Device.IP.Interface.1.IPv6Address.1.',
      'Device.IP.Interface.2.', 'Device.IP.Interface.2.IPv4Address.1.', 'Device.IP.Interface.2.IPv6Address.1.',
    ]);
    expect(deep[0]!.curr_insts[1]!.unique_keys).toEqual({ Alias: 'cpe-wan-v4' });
    expect(deep.slice(1).map((r) => r.err_code)).toEqual([0, 7026, 7026]);
    // A single-instance object: the rows of the tables below it (obuspa's answer; not 7018).
    expect(deep[1]!.curr_insts.length).toBeGreaterThan(0);
    expect(deep[1]!.curr_insts.every((c) => c.instantiated_obj_path.startsWith('Device.DeviceInfo.'))).toBe(true);
  });

  it('on a single-instance object path: the instances of the tables below it, only those directly under it with first_level_only', () => {
    const a = agent();
    const paths = (first: boolean) =>
      (a.resp(getInstances(['Device.LocalAgent.'], first)) as Extract<Response, { resp_type: 'get_instances_resp' }>).get_instances_resp.req_path_results[0]!.curr_insts.map((c) => c.instantiated_obj_path);
    const top = paths(true);
    const all = paths(false);
    // Directly under LocalAgent: Controller.{i}, Subscription.{i}, ... rows, and nothing deeper.
    expect(top).toContain('Device.LocalAgent.Controller.1.');
    expect(top.every((p) => /^Device\.LocalAgent\.[A-Za-z]+\.\d+\.$/.test(p))).toBe(true);
    // Without first_level_only: the nested rows too (Controller.1.MTP.1. ...), a superset.
    expect(all).toEqual(expect.arrayContaining(top));
    expect(all.some((p) => /^Device\.LocalAgent\.Controller\.1\.MTP\.\d+\.$/.test(p))).toBe(true);
    expect(all.length).toBeGreaterThan(top.length);
  });
});

describe('GetSupportedDM', () => {
  const objs = (r: Response) => {
    if (r.resp_type !== 'get_supported_dm_resp') throw new Error(r.resp_type);
    return r.get_supported_dm_resp.req_obj_results;
  };

  it('{i} paths, object access, params with types and value_change, unique key sets', () => {
    const [radio] = objs(agent().resp(gsdm(['Device.WiFi.Radio.{i}.'])));
    expect(radio!.data_model_inst_uri).toBe('urn:broadband-forum-org:tr-181-2-16-0');
    expect(radio!.supported_objs.map((o) => [o.supported_obj_path, o.access, o.is_multi_instance])).toEqual([
      ['Device.WiFi.Radio.{i}.', 'OBJ_READ_ONLY', true],
      ['Device.WiFi.Radio.{i}.Stats.', 'OBJ_READ_ONLY', false],
    ]);
    const top = radio!.supported_objs[0]!;
    expect(top.unique_key_sets).toEqual([{ key_names: ['Name'] }, { key_names: ['Alias'] }]);
    expect(top.supported_params.find((p) => p.param_name === 'Channel')).toEqual({ param_name: 'Channel', access: 'PARAM_READ_WRITE', value_type: 'PARAM_UNSIGNED_INT', value_change: 'VALUE_CHANGE_ALLOWED' });
    expect(top.supported_params.find((p) => p.param_name === 'LastChange')).toMatchObject({ access: 'PARAM_READ_ONLY', value_change: 'VALUE_CHANGE_WILL_IGNORE' });
    expect(radio!.supported_objs[1]!.supported_params.find((p) => p.param_name === 'BytesSent')).toMatchObject({ value_type: 'PARAM_UNSIGNED_LONG', value_change: 'VALUE_CHANGE_WILL_IGNORE' });
  });

  it('the same object by {i}, by omitted {i}., by instance; commands and events; first_level_only', () => {
    const a = agent();
    const [x, y, z] = objs(a.resp(gsdm(['Device.WiFi.Radio.{i}.', 'Device.WiFi.Radio.', 'Device.WiFi.Radio.2.'])));
    expect(y!.supported_objs).toEqual(x!.supported_objs);
    expect(z!.supported_objs).toEqual(x!.supported_objs);
    const [root] = objs(a.resp(gsdm(['Device.'], { first_level_only: true })));
    const self = root!.supported_objs[0]!;
    expect(self.supported_commands.map((c) => [c.command_name, c.command_type, c.input_arg_names])).toEqual([['Reboot()', 'CMD_SYNC', ['Cause']], ['FactoryReset()', 'CMD_SYNC', ['Cause']]]);
    expect(self.supported_events).toEqual([{ event_name: 'Boot!', arg_names: ['CommandKey', 'Cause', 'FirmwareUpdated', 'ParameterMap'] }]);
    const children = root!.supported_objs.slice(1);
    expect(children.map((o) => o.supported_obj_path)).toContain('Device.LocalAgent.');
    expect(children.every((o) => o.supported_params.length === 0 && o.supported_commands.length === 0 && o.supported_events.length === 0)).toBe(true);
    const [fw] = objs(a.resp(gsdm(['Device.DeviceInfo.FirmwareImage.{i}.'])));
    expect(fw!.supported_objs[0]!.supported_commands.map((c) => [c.command_name, c.command_type])).toEqual([['Download()', 'CMD_ASYNC'], ['Activate()', 'CMD_ASYNC']]);
    const [sub] = objs(a.resp(gsdm(['Device.LocalAgent.Subscription.'], { return_params: false })));
    expect(sub!.supported_objs[0]).toMatchObject({ access: 'OBJ_ADD_DELETE', supported_params: [], unique_key_sets: [{ key_names: ['Recipient', 'ID'] }, { key_names: ['Alias'] }] });
  });

  it('7026 outside the supported model, 7016 for an instance that does not exist, 7008 for {i} then a number', () => {
    const r = objs(agent().resp(gsdm(['Device.Nope.', 'Device.WiFi.Radio.{i}.Channel', 'Device.WiFi.Radio.7.', 'Device.IP.Interface.{i}.IPv4Address.1.', 'Device.DeviceInfo.{i}.'])));
    expect(r.map((x) => x.err_code)).toEqual([7026, 7026, 7016, 7008, 7026]);
  });

  it('GetSupportedProtocol', () => {
    expect(agent().resp({ req_type: 'get_supported_protocol', get_supported_protocol: { controller_supported_protocol_versions: '1.3' } })).toEqual({
      resp_type: 'get_supported_protocol_resp',
      get_supported_protocol_resp: { agent_supported_protocol_versions: '1.0,1.1,1.2,1.3' },
    });
  });
});

describe('Set', () => {
  it('a search updates every instance it matches; only real changes reach the sink; ParameterKey untouched', () => {
    const a = agent();
    const r = a.resp(set(false, [['Device.IP.Interface.[Type=="Normal"].', [['MaxMTUSize', '1400', true], ['Enable', 'true']]]]));
    expect(r).toEqual({
      resp_type: 'set_resp',
      set_resp: {
        updated_obj_results: [{
          requested_path: 'Device.IP.Interface.[Type=="Normal"].',
          oper_status: {
            oper_status: 'oper_success',
            oper_success: {
              updated_inst_results: [
                { affected_path: 'Device.IP.Interface.1.', param_errs: [], updated_params: { MaxMTUSize: '1400', Enable: 'true' } },
                { affected_path: 'Device.IP.Interface.2.', param_errs: [], updated_params: { MaxMTUSize: '1400', Enable: 'true' } },
              ],
            },
          },
        }],
      },
    });
    expect(a.changes).toEqual(['set Device.IP.Interface.1.MaxMTUSize=1400', 'set Device.IP.Interface.2.MaxMTUSize=1400']);
    expect(a.view.get('Device.IP.Interface.2.MaxMTUSize')).toBe('1400');
    expect(a.view.overlay?.values?.has('Device.ManagementServer.ParameterKey')).toBe(false);
  });

  it('non-required failures (7010, 7011, 7012, 7013) go to param_errs of a successful instance', () => {
    const a = agent();
    const r = a.resp(set(false, [['Device.DeviceInfo.', [['ProvisioningCode', 'lab'], ['NoSuch', 'x'], ['UpTime', '5'], ['Serial.Number', 'x']]], ['Device.WiFi.Radio.1.', [['Channel', 'six'], ['Channel', '999'], ['Enable', 'yes']]]]));
    if (r.resp_type !== 'set_resp') throw new Error(r.resp_type);
    const [info, radio] = r.set_resp.updated_obj_results.map((o) => (o.oper_status.oper_status === 'oper_success' ? o.oper_status.oper_success.updated_inst_results[0]! : undefined));
    expect(info!.updated_params).toEqual({ ProvisioningCode: 'lab' });
    expect(info!.param_errs.map((e) => [e.param, e.err_code])).toEqual([['NoSuch', 7010], ['UpTime', 7013], ['Serial.Number', 7010]]);
    expect(radio!.updated_params).toEqual({});
    expect(radio!.param_errs.map((e) => [e.param, e.err_code])).toEqual([['Channel', 7011], ['Channel', 7012], ['Enable', 7011]]);
    expect(a.view.get('Device.DeviceInfo.ProvisioningCode')).toBe('lab');
  });

  it('allow_partial=false: a failed required parameter is an Error with param_errs, and nothing is applied', () => {
    const a = agent();
    const e = a.error(set(false, [['Device.DeviceInfo.', [['ProvisioningCode', 'must-not-apply', true]]], ['Device.WiFi.Radio.1.', [['Channel', '999', true]]]]));
    expect(e.err_code).toBe(7004);
    expect(e.param_errs).toEqual([{ param_path: 'Device.WiFi.Radio.1.Channel', err_code: 7012, err_msg: expect.stringMatching(/outside \[1, 255\]/) }]);
    expect(a.view.get('Device.DeviceInfo.ProvisioningCode')).toBe('');
    expect(a.changes).toEqual([]);
    expect(a.error(set(false, [['Device.NAT.PortMapping.7.', [['Enable', 'false']]]])).param_errs).toMatchObject([{ param_path: 'Device.NAT.PortMapping.7.', err_code: 7016 }]);
    expect(a.error(set(false, [['Device.NAT.PortMapping.[Enable==yes].', [['Enable', 'false']]]])).param_errs).toMatchObject([{ err_code: 7008 }]);
    // A table has no parameters of its own, and a parameter path is not an obj_path.
    expect(a.error(set(false, [['Device.NAT.PortMapping.', [['Enable', 'false']]], ['Device.NAT.PortMapping.1.Enable', [['Enable', 'false']]]])).param_errs.map((p) => p.err_code)).toEqual([7026, 7026]);
    // A search that matches nothing updates nothing and is not an error.
    const none = a.resp(set(false, [['Device.NAT.PortMapping.[Protocol=="UDP"].', [['Enable', 'false', true]]]]));
    expect(none.resp_type === 'set_resp' && none.set_resp.updated_obj_results[0]!.oper_status).toEqual({ oper_status: 'oper_success', oper_success: { updated_inst_results: [] } });
  });

  it('allow_partial=true: the failed object gets oper_failure 7021 with instance failures; the others apply', () => {
    const a = agent();
    const r = a.resp(set(true, [['Device.DeviceInfo.', [['ProvisioningCode', 'applied', true]]], ['Device.WiFi.Radio.1.', [['Channel', '999', true]]], ['Device.Nope.', [['X', '1']]]]));
    if (r.resp_type !== 'set_resp') throw new Error(r.resp_type);
    const [ok, bad, nope] = r.set_resp.updated_obj_results;
    expect(ok!.oper_status.oper_status).toBe('oper_success');
    expect(bad!.oper_status).toEqual({
      oper_status: 'oper_failure',
      oper_failure: {
        err_code: 7021,
        err_msg: expect.any(String),
        updated_inst_failures: [{ affected_path: 'Device.WiFi.Radio.1.', param_errs: [{ param: 'Channel', err_code: 7012, err_msg: expect.any(String) }] }],
      },
    });
    expect(nope!.oper_status).toMatchObject({ oper_failure: { err_code: 7026 } });
    expect(a.view.get('Device.DeviceInfo.ProvisioningCode')).toBe('applied');
    expect(a.view.get('Device.WiFi.Radio.1.Channel')).toBe('6');
  });

  it('7025 for a key set to another row\'s value; a search path fails as a whole (R-SET.2a)', () => {
    const a = agent();
    const r = a.resp(set(true, [['Device.DNS.Client.Server.*.', [['Alias', 'same']]]]));
    if (r.resp_type !== 'set_resp') throw new Error(r.resp_type);
    expect(r.set_resp.updated_obj_results[0]!.oper_status).toMatchObject({
      oper_failure: { err_code: 7021, updated_inst_failures: [{ affected_path: 'Device.DNS.Client.Server.2.', param_errs: [{ param: 'Alias', err_code: 7025 }] }] },
    });
    expect(a.view.get('Device.DNS.Client.Server.1.Alias')).toBe('cpe-dns-1');
    expect(a.error(set(false, [['Device.DNS.Client.Server.2.', [['Alias', 'cpe-dns-1']]]])).param_errs).toMatchObject([{ param_path: 'Device.DNS.Client.Server.2.Alias', err_code: 7025 }]);
  });
});

describe('Add', () => {
  it('creates a row with the table\'s next number, its settings, its unique keys, and tells the sink', () => {
    const a = agent();
    const r = a.resp(add(false, [['Device.NAT.PortMapping.', [['ExternalPort', '8443', true], ['InternalPort', '443'], ['Description', 'https']]]]));
    expect(r).toEqual({
      resp_type: 'add_resp',
      add_resp: {
        created_obj_results: [{
          requested_path: 'Device.NAT.PortMapping.',
          oper_status: {
            oper_status: 'oper_success',
            oper_success: {
              instantiated_path: 'Device.NAT.PortMapping.2.',
              param_errs: [],
              unique_keys: { RemoteHost: '', ExternalPort: '8443', Protocol: 'TCP', Alias: 'cpe-pm-2' },
            },
          },
        }],
      },
    });
    expect(a.view.get('Device.NAT.PortMapping.2.InternalPort')).toBe('443');
    expect(a.view.get('Device.NAT.PortMappingNumberOfEntries')).toBe('2');
    expect(a.changes).toEqual(['created Device.NAT.PortMapping.2. {"RemoteHost":"","ExternalPort":"8443","Protocol":"TCP","Alias":"cpe-pm-2"}']);
    expect(a.view.overlay?.values?.has('Device.ManagementServer.ParameterKey')).toBe(false);
  });

  it('7025 when the new row would repeat a key; unique-key params count as required', () => {
    const a = agent();
    // Defaults repeat row 1's (RemoteHost, ExternalPort, Protocol).
    expect(a.error(add(false, [['Device.NAT.PortMapping.', []]])).param_errs).toMatchObject([{ param_path: 'Device.NAT.PortMapping.', err_code: 7025 }]);
    // Two rows in one message may not collide with each other either.
    expect(a.error(add(false, [['Device.NAT.PortMapping.', [['ExternalPort', '81']]], ['Device.NAT.PortMapping.', [['ExternalPort', '81']]]])).param_errs).toMatchObject([{ err_code: 7025 }]);
    const r = a.resp(add(true, [['Device.NAT.PortMapping.', [['ExternalPort', 'eighty']]]]));
    expect(r.resp_type === 'add_resp' && r.add_resp.created_obj_results[0]!.oper_status).toMatchObject({ oper_failure: { err_code: 7021 } });
    expect(a.view.get('Device.NAT.PortMappingNumberOfEntries')).toBe('1');
  });

  it('7018 not a table, 7019 not creatable, 7026 unknown, 7016 parent missing; non-required failures are param_errs', () => {
    const a = agent();
    const r = a.resp(add(true, [
      ['Device.NAT.PortMapping.1.', []],
      ['Device.DeviceInfo.', []],
      ['Device.WiFi.Radio.', []],
      ['Device.Nope.', []],
      ['Device.DHCPv4.Server.Pool.9.StaticAddress.', []],
      ['Device.DHCPv4.Server.Pool.1.StaticAddress.', [['Chaddr', '02:00:00:00:00:01'], ['Yiaddr', 'not checked'], ['Bogus', 'x'], ['Enable', 'maybe']]],
    ]));
    if (r.resp_type !== 'add_resp') throw new Error(r.resp_type);
    const st = r.add_resp.created_obj_results.map((c) => c.oper_status);
    expect(st.slice(0, 5).map((s) => (s.oper_status === 'oper_failure' ? s.oper_failure.err_code : 0))).toEqual([7018, 7018, 7019, 7026, 7016]);
    expect(st[5]).toMatchObject({ oper_success: { instantiated_path: 'Device.DHCPv4.Server.Pool.1.StaticAddress.1.', param_errs: [{ param: 'Bogus', err_code: 7010 }, { param: 'Enable', err_code: 7011 }] } });
    // Settings may reach into single-instance sub-objects of the new row, not into its tables.
    const mtp = a.resp(add(false, [['Device.LocalAgent.MTP.', [['Alias', 'second'], ['MQTT.ResponseTopicConfigured', '/usp/agent/two'], ['MQTT.Nope', 'x']]]]));
    expect(mtp.resp_type === 'add_resp' && mtp.add_resp.created_obj_results[0]!.oper_status).toMatchObject({ oper_success: { instantiated_path: 'Device.LocalAgent.MTP.2.', param_errs: [{ param: 'MQTT.Nope', err_code: 7010 }] } });
    expect(a.view.get('Device.LocalAgent.MTP.2.MQTT.ResponseTopicConfigured')).toBe('/usp/agent/two');
  });

  it('allow_partial=false: one failure creates nothing and uses no row number', () => {
    const a = agent();
    const e = a.error(add(false, [['Device.DNS.Client.Server.', [['DNSServer', '192.0.2.1']]], ['Device.DNS.Client.Server.', [['Port', '0', true]]]]));
    expect(e).toMatchObject({ err_code: 7004, param_errs: [{ param_path: 'Device.DNS.Client.Server.Port', err_code: 7012 }] });
    expect(a.view.get('Device.DNS.Client.ServerNumberOfEntries')).toBe('2');
    expect(a.changes).toEqual([]);
    const r = a.resp(add(false, [['Device.DNS.Client.Server.', [['DNSServer', '192.0.2.1']]], ['Device.DNS.Client.Server.', [['DNSServer', '192.0.2.2']]]]));
    expect(r.resp_type === 'add_resp' && r.add_resp.created_obj_results.map((c) => c.oper_status.oper_status === 'oper_success' && c.oper_status.oper_success.instantiated_path)).toEqual([
      'Device.DNS.Client.Server.3.', 'Device.DNS.Client.Server.4.',
    ]);
    a.resp(del(false, ['Device.DNS.Client.Server.4.']));
    const again = a.resp(add(false, [['Device.DNS.Client.Server.', [['DNSServer', '192.0.2.3']]]]));
    // Instance numbers are never reused (TR-369 R-ARC.8).
    expect(again.resp_type === 'add_resp' && again.add_resp.created_obj_results[0]!.oper_status).toMatchObject({ oper_success: { instantiated_path: 'Device.DNS.Client.Server.5.' } });
  });

  it('Subscription rows: Recipient and CreationDate from the agent, an ID made up when missing, (Recipient, ID) unique', () => {
    const a = agent();
    const r = a.resp(add(false, [
      ['Device.LocalAgent.Subscription.', [['ID', 'boot-1'], ['NotifType', 'Event'], ['ReferenceList', 'Device.Boot!'], ['Enable', 'true']]],
      ['Device.LocalAgent.Subscription.', [['NotifType', 'ValueChange'], ['ReferenceList', 'Device.DeviceInfo.ProvisioningCode']]],
    ]));
    if (r.resp_type !== 'add_resp') throw new Error(r.resp_type);
    const keys = r.add_resp.created_obj_results.map((c) => (c.oper_status.oper_status === 'oper_success' ? c.oper_status.oper_success.unique_keys : {}));
    expect(keys).toEqual([
      { Recipient: CONTROLLER, ID: 'boot-1', Alias: 'cpe-sub-1' },
      { Recipient: CONTROLLER, ID: `2-${NOW.toString(16)}`, Alias: 'cpe-sub-2' },
    ]);
    expect(a.view.get('Device.LocalAgent.Subscription.1.CreationDate')).toBe('2025-01-15T09:00:00Z');
    expect(a.view.get('Device.LocalAgent.Subscription.1.Enable')).toBe('true');
    expect(a.error(add(false, [['Device.LocalAgent.Subscription.', [['ID', 'boot-1']]]])).param_errs).toMatchObject([{ err_code: 7025 }]);
    expect(a.error(add(false, [['Device.LocalAgent.Subscription.', [['Recipient', 'Device.LocalAgent.Controller.9', true]]]])).param_errs).toMatchObject([{ err_code: 7013 }]);
    // ReferenceList is immutable once set; setting it to the value it has is no change.
    expect(a.error(set(false, [['Device.LocalAgent.Subscription.1.', [['ReferenceList', 'Device.LocalAgent.Periodic!', true]]]])).param_errs).toMatchObject([{ param_path: 'Device.LocalAgent.Subscription.1.ReferenceList', err_code: 7013 }]);
    expect(a.resp(set(false, [['Device.LocalAgent.Subscription.1.', [['ReferenceList', 'Device.Boot!', true], ['Enable', 'false']]]])).resp_type).toBe('set_resp');
    expect(a.error(set(false, [['Device.LocalAgent.Subscription.2.', [['ID', '', true]]]])).param_errs).toMatchObject([{ err_code: 7012 }]);
  });

  it('Subscription rows: a ReferenceList entry outside the data model is 7012; more than 64 subscriptions is 7005', () => {
    const a = agent();
    const bad = a.error(add(false, [['Device.LocalAgent.Subscription.', [['ID', 'x'], ['ReferenceList', 'Device.DeviceInfo.SerialNumber,Device.NoSuchThing.', true]]]]));
    expect(bad.param_errs).toMatchObject([{ param_path: 'Device.LocalAgent.Subscription.ReferenceList', err_code: 7012 }]);
    for (let i = 0; i < 64; i++) a.resp(add(false, [['Device.LocalAgent.Subscription.', [['ID', `s${i}`]]]]));
    const full = a.error(add(false, [['Device.LocalAgent.Subscription.', [['ID', 's64']]]]));
    expect(full.param_errs).toMatchObject([{ err_code: 7005 }]);
  });
});

describe('Delete', () => {
  it('deletes every instance a search matches, reports them, and tells the sink innermost first', () => {
    const a = agent();
    const r = a.resp(del(false, ['Device.LocalAgent.Controller.[EndpointID=="self::usp-controller"].', 'Device.NAT.PortMapping.9.']));
    expect(r).toEqual({
      resp_type: 'delete_resp',
      delete_resp: {
        deleted_obj_results: [
          { requested_path: 'Device.LocalAgent.Controller.[EndpointID=="self::usp-controller"].', oper_status: { oper_status: 'oper_success', oper_success: { affected_paths: ['Device.LocalAgent.Controller.1.'], unaffected_path_errs: [] } } },
          // R-DEL.2a: a valid path that matches nothing is a success with no affected paths.
          { requested_path: 'Device.NAT.PortMapping.9.', oper_status: { oper_status: 'oper_success', oper_success: { affected_paths: [], unaffected_path_errs: [] } } },
        ],
      },
    });
    expect(a.changes).toEqual([
      'deleted Device.LocalAgent.Controller.1.MTP.1.',
      'deleted Device.LocalAgent.Controller.1.BootParameter.2.',
      'deleted Device.LocalAgent.Controller.1.BootParameter.1.',
      'deleted Device.LocalAgent.Controller.1.',
    ]);
    expect(a.view.get('Device.LocalAgent.ControllerNumberOfEntries')).toBe('0');
  });

  it('allow_partial=false: 7024 / 7018 / 7026 fail the message and nothing is deleted', () => {
    const a = agent();
    const e = a.error(del(false, ['Device.DNS.Client.Server.*.', 'Device.DeviceInfo.FirmwareImage.1.', 'Device.DNS.Relay.Forwarding.', 'Device.Nope.1.']));
    expect(e.err_code).toBe(7004);
    expect(e.param_errs.map((p) => [p.param_path, p.err_code])).toEqual([
      ['Device.DeviceInfo.FirmwareImage.1.', 7024],
      ['Device.DNS.Relay.Forwarding.', 7018],
      ['Device.Nope.1.', 7026],
    ]);
    expect(a.view.get('Device.DNS.Client.ServerNumberOfEntries')).toBe('2');
  });

  it('allow_partial=true: the bad path gets oper_failure, the others are deleted', () => {
    const a = agent();
    const r = a.resp(del(true, ['Device.DeviceInfo.FirmwareImage.*.', 'Device.DNS.Client.Server.[Port==53].']));
    if (r.resp_type !== 'delete_resp') throw new Error(r.resp_type);
    expect(r.delete_resp.deleted_obj_results.map((d) => d.oper_status)).toEqual([
      { oper_status: 'oper_failure', oper_failure: { err_code: 7024, err_msg: expect.any(String) } },
      { oper_status: 'oper_success', oper_success: { affected_paths: ['Device.DNS.Client.Server.1.', 'Device.DNS.Client.Server.2.'], unaffected_path_errs: [] } },
    ]);
    expect(a.view.get('Device.DNS.Client.ServerNumberOfEntries')).toBe('0');
    expect(a.view.get('Device.DeviceInfo.FirmwareImageNumberOfEntries')).toBe('2');
  });
});

describe('dispatch', () => {
  it('Notify, Register and Deregister sent to an agent are 7001', () => {
    const a = agent();
    expect(a.error({ req_type: 'notify', notify: { subscription_id: 's', send_resp: false, notification: 'obj_deletion', obj_deletion: { obj_path: 'Device.X.1.' } } }).err_code).toBe(7001);
    expect(a.error({ req_type: 'register', register: { allow_partial: false, reg_paths: [{ path: 'Device.X.' }] } }).err_code).toBe(7001);
    expect(a.error({ req_type: 'deregister', deregister: { paths: [] } }).err_code).toBe(7001);
  });
});

describe('codec round trip', () => {
  const roundTrip = (r: HandlerResult): void => {
    const body = r.kind === 'response' ? { msg_body: 'response' as const, response: r.response } : { msg_body: 'error' as const, error: r.error };
    const decoded = decodeMsg(encodeMsg({ header: { msg_id: 'm-1' }, body }));
    if (!decoded.ok) throw new Error(decoded.error.message);
    expect(decoded.value.body).toEqual(body);
  };

  it('every response kind encodes and decodes to itself', () => {
    const a = agent();
    roundTrip(a.send(get(['Device.IP.Interface.*.', 'Device.Nope.'])));
    roundTrip(a.send(getInstances(['Device.IP.Interface.'], false)));
    roundTrip(a.send(gsdm(['Device.', 'Device.Nope.'])));
    roundTrip(a.send({ req_type: 'get_supported_protocol', get_supported_protocol: { controller_supported_protocol_versions: '1.3' } }));
    roundTrip(a.send(set(true, [['Device.WiFi.Radio.*.', [['Channel', '11'], ['Bogus', '1']]], ['Device.WiFi.Radio.1.', [['Channel', '0', true]]]])));
    roundTrip(a.send(add(true, [['Device.LocalAgent.Subscription.', [['NotifType', 'ObjectCreation']]], ['Device.WiFi.Radio.', []]])));
    roundTrip(a.send(del(true, ['Device.LocalAgent.Subscription.*.', 'Device.Nope.'])));
    roundTrip(a.send(set(false, [['Device.WiFi.Radio.1.', [['Channel', '0', true]]]])));
  });
});
