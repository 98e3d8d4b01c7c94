import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { AcsOutgoingRequest, CpeMessage, ParsedCpeEnvelope } from '../src/cwmp/types.js';
import { atBootstrap, startHarness, until, type Harness } from './helpers/harness.js';

// One bootstrap session carries every RPC in turn; each test reads its own answer.
const requests: Array<[string, AcsOutgoingRequest]> = [
  ['rpc-methods', { method: 'GetRPCMethods' }],
  ['gpv-full', { method: 'GetParameterValues', names: ['Device.DeviceInfo.SerialNumber', 'Device.ManagementServer.PeriodicInformInterval'] }],
  ['gpv-partial', { method: 'GetParameterValues', names: ['Device.DeviceInfo.'] }],
  ['gpv-all', { method: 'GetParameterValues', names: [''] }],
  ['gpv-bad', { method: 'GetParameterValues', names: ['Device.DeviceInfo.SerialNumber', 'Device.NoSuchThing.X'] }],
  ['gpv-secret', { method: 'GetParameterValues', names: ['Device.ManagementServer.ConnectionRequestPassword'] }],
  ['gpn-next', { method: 'GetParameterNames', path: 'Device.WiFi.', nextLevel: true }],
  ['gpn-table', { method: 'GetParameterNames', path: 'Device.WiFi.Radio.', nextLevel: true }],
  ['gpn-all', { method: 'GetParameterNames', path: 'Device.WiFi.Radio.1.', nextLevel: false }],
  ['gpn-root', { method: 'GetParameterNames', path: '', nextLevel: true }],
  ['gpn-param-next', { method: 'GetParameterNames', path: 'Device.DeviceInfo.SerialNumber', nextLevel: true }],
  ['gpn-bad', { method: 'GetParameterNames', path: 'Device.Nope.', nextLevel: false }],
  [
    'spv-ok',
    {
      method: 'SetParameterValues',
      params: [
        { name: 'Device.WiFi.SSID.1.SSID', value: 'lab-ssid', type: 'string' },
        { name: 'Device.ManagementServer.PeriodicInformInterval', value: '600', type: 'unsignedInt' },
      ],
      parameterKey: 'key-1',
    },
  ],
  ['gpv-after-spv', { method: 'GetParameterValues', names: ['Device.WiFi.SSID.1.SSID', 'Device.ManagementServer.PeriodicInformInterval', 'Device.ManagementServer.ParameterKey'] }],
  [
    'spv-bad',
    {
      method: 'SetParameterValues',
      params: [
        { name: 'Device.WiFi.SSID.1.SSID', value: 'must-not-apply', type: 'string' },
        { name: 'Device.NoSuch.Param', value: '1', type: 'string' },
        { name: 'Device.ManagementServer.PeriodicInformInterval', value: 'abc', type: 'unsignedInt' },
        { name: 'Device.NAT.PortMapping.1.Protocol', value: 'SCTP', type: 'string' },
        { name: 'Device.DeviceInfo.SerialNumber', value: 'X', type: 'string' },
      ],
      parameterKey: 'key-2',
    },
  ],
  ['gpv-after-bad-spv', { method: 'GetParameterValues', names: ['Device.WiFi.SSID.1.SSID', 'Device.ManagementServer.ParameterKey'] }],
  ['spa', { method: 'SetParameterAttributes', params: [{ name: 'Device.WiFi.SSID.1.SSID', notificationChange: true, notification: 2, accessListChange: true, accessList: ['Subscriber'] }] }],
  ['gpa', { method: 'GetParameterAttributes', names: ['Device.WiFi.SSID.1.SSID', 'Device.WiFi.SSID.2.SSID'] }],
  ['spa-deny', { method: 'SetParameterAttributes', params: [{ name: 'Device.DeviceInfo.UpTime', notificationChange: true, notification: 2, accessListChange: false, accessList: [] }] }],
  ['add', { method: 'AddObject', objectName: 'Device.NAT.PortMapping.', parameterKey: 'key-3' }],
  ['gpv-added', { method: 'GetParameterValues', names: ['Device.NAT.PortMapping.2.Protocol', 'Device.NAT.PortMappingNumberOfEntries', 'Device.ManagementServer.ParameterKey'] }],
  ['add-readonly', { method: 'AddObject', objectName: 'Device.WiFi.Radio.', parameterKey: 'key-x' }],
  ['delete', { method: 'DeleteObject', objectName: 'Device.NAT.PortMapping.2.', parameterKey: 'key-4' }],
  ['gpv-deleted', { method: 'GetParameterValues', names: ['Device.NAT.PortMapping.2.Protocol'] }],
  ['delete-again', { method: 'DeleteObject', objectName: 'Device.NAT.PortMapping.2.', parameterKey: 'key-5' }],
  ['unknown', { method: 'Raw', name: 'X_ACME_SelfDestruct', bodyXml: '<When>now</When>' }],
  ['invalid', { method: 'Raw', name: 'GetParameterValues', bodyXml: '' }],
];

let h: Harness;
const answers = new Map<string, ParsedCpeEnvelope>();
const raws = new Map<string, string>();

beforeAll(async () => {
  h = await startHarness({ cpes: 1, acs: { script: atBootstrap(...requests.map(([, r]) => r)) } });
  h.tick();
  await h.acs.waitFor(() => h.acs.sessions[0]?.ended === true, 15_000, 'the RPC session');
  const s = h.acs.sessions[0]!;
  // messages: GetRPCMethods (the CPE's request), the empty POST, then one answer per ACS request.
  expect(s.messages.slice(0, 2).map((m) => m.message.method)).toEqual(['GetRPCMethods', 'Empty']);
  const replies = s.messages.slice(2);
  requests.forEach(([name], i) => {
    answers.set(name, replies[i]!);
    raws.set(name, s.raw[i + 3]!);
  });
  // Each answer echoes the cwmp:ID of its request.
  expect(replies.slice(0, requests.length).map((m) => m.id)).toEqual(s.sentIds);
});

afterAll(async () => {
  await h.stop();
});

function msg<M extends CpeMessage['method']>(name: string, method: M): Extract<CpeMessage, { method: M }> {
  const m = answers.get(name)?.message;
  expect(m?.method).toBe(method);
  return m as Extract<CpeMessage, { method: M }>;
}
const faultOf = (name: string) => msg(name, 'Fault').fault;
const values = (name: string) => Object.fromEntries(msg(name, 'GetParameterValuesResponse').params.map((p) => [p.name, p.value]));

describe('RPCs over a real session', () => {
  it('GetRPCMethods lists the methods the CPE serves', () => {
    expect(msg('rpc-methods', 'GetRPCMethodsResponse').methods).toEqual(
      expect.arrayContaining(['GetRPCMethods', 'GetParameterValues', 'SetParameterValues', 'GetParameterNames', 'GetParameterAttributes', 'SetParameterAttributes', 'AddObject', 'DeleteObject']),
    );
  });

  it('GetParameterValues answers full names, partial paths and "" with typed values', () => {
    const full = msg('gpv-full', 'GetParameterValuesResponse').params;
    expect(full.map((p) => p.name)).toEqual(['Device.DeviceInfo.SerialNumber', 'Device.ManagementServer.PeriodicInformInterval']);
    expect(full[0]!.value).toBe(h.shard.env.serial(0));
    expect(full[1]!.type).toBe('unsignedInt');
    const partial = msg('gpv-partial', 'GetParameterValuesResponse').params;
    expect(partial.length).toBeGreaterThan(10);
    expect(partial.every((p) => p.name.startsWith('Device.DeviceInfo.'))).toBe(true);
    expect(partial.map((p) => p.name)).toContain('Device.DeviceInfo.FirmwareImage.1.Version');
    expect(msg('gpv-all', 'GetParameterValuesResponse').params.length).toBeGreaterThanOrEqual(400);
    expect(raws.get('gpv-full')).toMatch(/<Value xsi:type="xsd:unsignedInt">\d+<\/Value>/);
  });

  it('GetParameterValues with an unknown name is fault 9005, a Client fault', () => {
    expect(faultOf('gpv-bad').code).toBe(9005);
    expect(raws.get('gpv-bad')).toMatch(/<faultcode>Client<\/faultcode>/);
    expect(raws.get('gpv-bad')).toMatch(/<FaultCode>9005<\/FaultCode>/);
  });

  it('reads a hidden secret as an empty string', () => {
    expect(values('gpv-secret')['Device.ManagementServer.ConnectionRequestPassword']).toBe('');
  });

  it('GetParameterNames: NextLevel true lists children, a table lists its rows, false lists the subtree', () => {
    const next = msg('gpn-next', 'GetParameterNamesResponse').params.map((p) => p.name);
    expect(next).toContain('Device.WiFi.Radio.');
    expect(next).toContain('Device.WiFi.RadioNumberOfEntries');
    expect(next.every((n) => n.slice('Device.WiFi.'.length).replace(/\.$/, '').split('.').length === 1)).toBe(true);
    expect(msg('gpn-table', 'GetParameterNamesResponse').params.map((p) => p.name)).toEqual(['Device.WiFi.Radio.1.', 'Device.WiFi.Radio.2.']);
    const all = msg('gpn-all', 'GetParameterNamesResponse').params;
    expect(all[0]).toEqual({ name: 'Device.WiFi.Radio.1.', writable: false });
    expect(all.map((p) => p.name)).toContain('Device.WiFi.Radio.1.Stats.BytesSent');
    expect(all.find((p) => p.name === 'Device.WiFi.Radio.1.Channel')?.writable).toBe(true);
    expect(msg('gpn-root', 'GetParameterNamesResponse').params).toEqual([{ name: 'Device.', writable: false }]);
  });

  it('GetParameterNames: NextLevel true on a parameter is 9003, an unknown path 9005', () => {
    expect(faultOf('gpn-param-next').code).toBe(9003);
    expect(faultOf('gpn-bad').code).toBe(9005);
  });

  it('SetParameterValues applies, answers Status 0 and sets ParameterKey', () => {
    expect(msg('spv-ok', 'SetParameterValuesResponse').status).toBe(0);
    expect(values('gpv-after-spv')).toEqual({
      'Device.WiFi.SSID.1.SSID': 'lab-ssid',
      'Device.ManagementServer.PeriodicInformInterval': '600',
      'Device.ManagementServer.ParameterKey': 'key-1',
    });
  });

  it('SetParameterValues is atomic: 9003 with one SetParameterValuesFault per bad parameter, nothing applied', () => {
    const f = faultOf('spv-bad');
    expect(f.code).toBe(9003);
    const byName = Object.fromEntries((f.setParameterValuesFaults ?? []).map((x) => [x.name, x.code]));
    expect(byName).toEqual({
      'Device.NoSuch.Param': 9005,
      'Device.ManagementServer.PeriodicInformInterval': 9006,
      'Device.NAT.PortMapping.1.Protocol': 9007,
      'Device.DeviceInfo.SerialNumber': 9008,
    });
    expect(values('gpv-after-bad-spv')).toEqual({ 'Device.WiFi.SSID.1.SSID': 'lab-ssid', 'Device.ManagementServer.ParameterKey': 'key-1' });
    expect(raws.get('spv-bad')).toMatch(/<SetParameterValuesFault>\s*<ParameterName>Device.NoSuch.Param<\/ParameterName>\s*<FaultCode>9005<\/FaultCode>/);
  });

  it('Set/GetParameterAttributes round-trip, and active notification on a canDeny parameter is 9009', () => {
    msg('spa', 'SetParameterAttributesResponse');
    expect(msg('gpa', 'GetParameterAttributesResponse').params).toEqual([
      { name: 'Device.WiFi.SSID.1.SSID', notification: 2, accessList: ['Subscriber'] },
      { name: 'Device.WiFi.SSID.2.SSID', notification: 0, accessList: [] },
    ]);
    expect(faultOf('spa-deny').code).toBe(9009);
  });

  it('AddObject creates the next row (new parameters, NumberOfEntries, ParameterKey); a read-only table is 9005', () => {
    expect(msg('add', 'AddObjectResponse')).toEqual({ method: 'AddObjectResponse', instanceNumber: 2, status: 0 });
    expect(values('gpv-added')).toEqual({
      'Device.NAT.PortMapping.2.Protocol': 'TCP',
      'Device.NAT.PortMappingNumberOfEntries': '2',
      'Device.ManagementServer.ParameterKey': 'key-3',
    });
    expect(faultOf('add-readonly').code).toBe(9005);
  });

  it('DeleteObject removes the row; deleting it again is 9005', () => {
    expect(msg('delete', 'DeleteObjectResponse').status).toBe(0);
    expect(faultOf('gpv-deleted').code).toBe(9005);
    expect(faultOf('delete-again').code).toBe(9005);
  });

  it('an unknown method is 9000 (Server); a known method with unreadable arguments is 9003', () => {
    expect(faultOf('unknown').code).toBe(9000);
    expect(raws.get('unknown')).toMatch(/<faultcode>Server<\/faultcode>/);
    expect(faultOf('invalid').code).toBe(9003);
  });

  it('keeps what the ACS set after the session: the next session sees it', async () => {
    await until(() => h.shard.lifecycle(0) === 'ready');
    expect(h.shard.view(0).get('Device.WiFi.SSID.1.SSID')).toBe('lab-ssid');
    expect(h.shard.view(0).get('Device.NAT.PortMappingNumberOfEntries')).toBe('1');
  });
});
