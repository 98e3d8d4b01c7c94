// The SOAP codec: build -> parse round trips both ways, and real-world ACS quirks read
// from wire fixtures (test/fixtures/cwmp).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { parseAcsEnvelope, parseCpeEnvelope } from '../src/cwmp/soap-parse.js';
import {
  FAULT_STRINGS,
  buildAcsEnvelope,
  buildCpeEnvelope,
  buildFault,
  escapeXml,
  faultType,
  type AcsOutgoingMessage,
} from '../src/cwmp/soap-build.js';
import { NS, type CpeMessage } from '../src/cwmp/types.js';

// Compiled to dist/test/, the fixtures stay in test/fixtures/.
const fixture = (name: string): string =>
  readFileSync(new URL(`../../test/fixtures/cwmp/${name}`, import.meta.url), 'utf8');

const CPE_MESSAGES: CpeMessage[] = [
  {
    method: 'Inform',
    deviceId: { manufacturer: 'ACME & Co', oui: '001122', productClass: 'HG<1>', serialNumber: '000042' },
    events: [
      { code: '1 BOOT', commandKey: '' },
      { code: 'M Reboot', commandKey: 'rb-"1"' },
    ],
    maxEnvelopes: 1,
    currentTime: '2024-05-01T12:00:00+02:00',
    retryCount: 3,
    params: [
      { name: 'Device.RootDataModelVersion', value: '2.15', type: 'string' },
      { name: 'Device.ManagementServer.ConnectionRequestURL', value: 'http://10.0.0.2:7547/cr?a=1&b=2', type: 'string' },
      { name: 'Device.X_TEST.Uptime', value: '0007', type: 'unsignedInt' },
    ],
  },
  { method: 'GetRPCMethodsResponse', methods: ['GetRPCMethods', 'GetParameterValues'] },
  { method: 'GetParameterValuesResponse', params: [{ name: 'Device.X.Enable', value: 'true', type: 'boolean' }] },
  { method: 'GetParameterValuesResponse', params: [] },
  {
    method: 'GetParameterNamesResponse',
    params: [
      { name: 'Device.NAT.', writable: false },
      { name: 'Device.NAT.PortMapping.', writable: true },
    ],
  },
  { method: 'SetParameterValuesResponse', status: 1 },
  {
    method: 'GetParameterAttributesResponse',
    params: [
      { name: 'Device.A', notification: 2, accessList: ['Subscriber'] },
      { name: 'Device.B', notification: 0, accessList: [] },
    ],
  },
  { method: 'SetParameterAttributesResponse' },
  { method: 'AddObjectResponse', instanceNumber: 7, status: 0 },
  { method: 'DeleteObjectResponse', status: 1 },
  { method: 'Fault', fault: { code: 9000, message: 'Method not supported' } },
  {
    method: 'Fault',
    fault: {
      code: 9003,
      message: 'Invalid arguments',
      setParameterValuesFaults: [
        { name: 'Device.A', code: 9007, message: 'Invalid parameter value' },
        { name: 'Device.B', code: 9008, message: 'Attempt to set a non-writable parameter' },
      ],
    },
  },
];

const ACS_MESSAGES: AcsOutgoingMessage[] = [
  { method: 'GetRPCMethods' },
  { method: 'GetParameterValues', names: ['Device.DeviceInfo.', ''] },
  { method: 'GetParameterNames', path: 'Device.', nextLevel: true },
  {
    method: 'SetParameterValues',
    params: [
      { name: 'Device.X.Enable', value: '1', type: 'boolean' },
      { name: 'Device.X.Name', value: ' a <b> & c ', type: 'string' },
      { name: 'Device.X.Time', value: '0001-01-01T00:00:00Z', type: 'dateTime' },
    ],
    parameterKey: 'pk&1',
  },
  { method: 'GetParameterAttributes', names: ['Device.A'] },
  {
    method: 'SetParameterAttributes',
    params: [{ name: 'Device.A', notificationChange: true, notification: 2, accessListChange: true, accessList: ['Subscriber'] }],
  },
  { method: 'AddObject', objectName: 'Device.NAT.PortMapping.', parameterKey: '' },
  { method: 'DeleteObject', objectName: 'Device.NAT.PortMapping.3.', parameterKey: 'k' },
  { method: 'InformResponse', maxEnvelopes: 1 },
  { method: 'TransferCompleteResponse' },
  { method: 'GetRPCMethodsResponse', methods: ['Inform', 'TransferComplete'] },
  { method: 'Fault', fault: { code: 8005, message: 'Retry request' } },
];

describe('CPE messages round trip (build -> parseCpeEnvelope)', () => {
  for (const msg of CPE_MESSAGES) {
    it(`${msg.method}`, () => {
      const xml = buildCpeEnvelope(msg, { id: 'id-7' });
      const parsed = parseCpeEnvelope(xml);
      expect(parsed.message).toEqual(msg);
      expect(parsed.id).toBe('id-7');
      expect(parsed.cwmpNamespace).toBe(NS.cwmp);
      expect(parsed.warnings).toEqual([]);
    });
  }

  it('answers in the namespace the ACS used and omits the header without an id', () => {
    const xml = buildCpeEnvelope({ method: 'SetParameterAttributesResponse' }, { cwmpNamespace: 'urn:dslforum-org:cwmp-1-0' });
    expect(xml).toContain('xmlns:cwmp="urn:dslforum-org:cwmp-1-0"');
    expect(xml).not.toContain('Header');
    expect(parseCpeEnvelope(xml).cwmpNamespace).toBe('urn:dslforum-org:cwmp-1-0');
  });

  it('writes array types and an xsi:type on every Value (string when unknown)', () => {
    const xml = buildCpeEnvelope(
      { method: 'GetParameterValuesResponse', params: [{ name: 'a', value: '1' }, { name: 'b', value: '2', type: 'int' }, { name: 'c', value: '' }] },
      {},
    );
    expect(xml).toContain('soap-enc:arrayType="cwmp:ParameterValueStruct[3]"');
    expect(xml).toContain('<Value xsi:type="xsd:string">1</Value>');
    expect(xml).toContain('<Value xsi:type="xsd:int">2</Value>');
    const inform = buildCpeEnvelope(CPE_MESSAGES[0]!, {});
    expect(inform).toContain('soap-enc:arrayType="cwmp:EventStruct[2]"');
    expect(inform).toMatch(/<DeviceId><Manufacturer>.*<\/Manufacturer><OUI>.*<\/OUI><ProductClass>.*<\/ProductClass><SerialNumber>/);
    expect(inform).toMatch(/<\/DeviceId><Event .*<\/Event><MaxEnvelopes>1<\/MaxEnvelopes><CurrentTime>.*<\/CurrentTime><RetryCount>3<\/RetryCount><ParameterList /);
  });
});

describe('ACS messages round trip (buildAcsEnvelope -> parseAcsEnvelope)', () => {
  for (const msg of ACS_MESSAGES) {
    it(`${msg.method}`, () => {
      const parsed = parseAcsEnvelope(buildAcsEnvelope(msg, { id: 'acs-1' }));
      expect(parsed.id).toBe('acs-1');
      expect(parsed.holdRequests).toBe(false);
      expect(parsed.warnings).toEqual([]);
      const m = parsed.message;
      if (msg.method === 'Fault') expect(m).toEqual({ kind: 'fault', fault: msg.fault });
      else if (msg.method.endsWith('Response')) expect(m).toEqual({ kind: 'response', response: msg });
      else expect(m).toEqual({ kind: 'request', request: msg });
    });
  }

  it('Raw wraps the body in a cwmp element, read back as Unsupported', () => {
    const xml = buildAcsEnvelope({ method: 'Raw', name: 'Reboot', bodyXml: '<CommandKey>x</CommandKey>' }, {});
    expect(xml).toContain('<cwmp:Reboot><CommandKey>x</CommandKey></cwmp:Reboot>');
    expect(parseAcsEnvelope(xml).message).toEqual({ kind: 'request', request: { method: 'Unsupported', name: 'Reboot' } });
  });

  it('HoldRequests header', () => {
    const xml = buildAcsEnvelope({ method: 'InformResponse', maxEnvelopes: 1 }, { holdRequests: true, cwmpNamespace: 'urn:dslforum-org:cwmp-1-1' });
    expect(xml).toContain('<cwmp:HoldRequests soap-env:mustUnderstand="1">true</cwmp:HoldRequests>');
    const parsed = parseAcsEnvelope(xml);
    expect(parsed.holdRequests).toBe(true);
    expect(parsed.id).toBeUndefined();
    expect(parsed.cwmpNamespace).toBe('urn:dslforum-org:cwmp-1-1');
  });
});

describe('parseAcsEnvelope on real-world requests', () => {
  it('GenieACS GetParameterValues: soap-env, cwmp-1-0, cwmp:ID, one ParameterNames item', () => {
    const parsed = parseAcsEnvelope(fixture('genieacs-gpv.xml'));
    expect(parsed).toEqual({
      id: '19a3f2c4e1b',
      holdRequests: false,
      cwmpNamespace: 'urn:dslforum-org:cwmp-1-0',
      message: { kind: 'request', request: { method: 'GetParameterValues', names: ['Device.DeviceInfo.SoftwareVersion'] } },
      warnings: [],
    });
  });

  it('GenieACS GetParameterNames with NextLevel "1"', () => {
    const parsed = parseAcsEnvelope(fixture('genieacs-gpn.xml'));
    expect(parsed.message).toEqual({ kind: 'request', request: { method: 'GetParameterNames', path: 'Device.', nextLevel: true } });
  });

  it('SetParameterValues keeps text exactly, decodes entities, warns on a missing xsi:type', () => {
    const parsed = parseAcsEnvelope(fixture('genieacs-spv.xml'));
    expect(parsed.message).toEqual({
      kind: 'request',
      request: {
        method: 'SetParameterValues',
        parameterKey: 'key-42',
        params: [
          { name: 'Device.ManagementServer.PeriodicInformInterval', value: '300', type: 'unsignedInt' },
          { name: 'Device.WiFi.SSID.1.SSID', value: 'Tom & Jerry <home> "5G" \'x\' \u00e9', type: 'string' },
          { name: 'Device.X_TEST.Code', value: '001122', type: 'string' },
          { name: 'Device.X_TEST.Untyped', value: '  two  spaces  ' },
          { name: 'Device.X_TEST.Empty', value: '', type: 'string' },
        ],
      },
    });
    expect(parsed.warnings).toEqual(['Device.X_TEST.Untyped: Value has no xsi:type']);
  });

  it('upper-case SOAP-ENV prefix, cwmp1 prefix, cwmp-1-2, pretty-printed', () => {
    const parsed = parseAcsEnvelope(fixture('upper-soap-env-cwmp12.xml'));
    expect(parsed.id).toBe('REQ-0007');
    expect(parsed.cwmpNamespace).toBe('urn:dslforum-org:cwmp-1-2');
    expect(parsed.message).toEqual({
      kind: 'request',
      request: {
        method: 'SetParameterAttributes',
        params: [
          { name: 'Device.DeviceInfo.SoftwareVersion', notificationChange: true, notification: 2, accessListChange: false, accessList: ['Subscriber'] },
        ],
      },
    });
  });

  it('no prefixes at all, default namespaces, cwmp-1-1', () => {
    const parsed = parseAcsEnvelope(fixture('no-prefix-cwmp11.xml'));
    expect(parsed.cwmpNamespace).toBe('urn:dslforum-org:cwmp-1-1');
    expect(parsed.id).toBeUndefined();
    expect(parsed.message).toEqual({
      kind: 'request',
      request: { method: 'AddObject', objectName: 'Device.NAT.PortMapping.', parameterKey: '' },
    });
  });

  it('HoldRequests "1" on an InformResponse', () => {
    const parsed = parseAcsEnvelope(fixture('hold-requests.xml'));
    expect(parsed.holdRequests).toBe(true);
    expect(parsed.id).toBe('1');
    expect(parsed.message).toEqual({ kind: 'response', response: { method: 'InformResponse', maxEnvelopes: 1 } });
  });

  it('malformed XML', () => {
    const parsed = parseAcsEnvelope(fixture('malformed.xml'));
    expect(parsed.message.kind).toBe('malformed');
    expect(parseAcsEnvelope('<html><body>502 Bad Gateway</body></html>').message).toEqual({ kind: 'malformed', reason: 'no SOAP Envelope' });
    expect(parseAcsEnvelope('not xml at all').message.kind).toBe('malformed');
  });

  it('empty body', () => {
    expect(parseAcsEnvelope('').message).toEqual({ kind: 'empty' });
    expect(parseAcsEnvelope(' \r\n ').message).toEqual({ kind: 'empty' });
  });

  it('unknown method -> Unsupported', () => {
    const parsed = parseAcsEnvelope(fixture('unknown-method.xml'));
    expect(parsed.id).toBe('dl-1');
    expect(parsed.message).toEqual({ kind: 'request', request: { method: 'Unsupported', name: 'ScheduleDownload' } });
  });

  it('GetParameterValues without ParameterNames -> Invalid', () => {
    const parsed = parseAcsEnvelope(fixture('gpv-no-names.xml'));
    expect(parsed.id).toBe('bad-1');
    expect(parsed.message).toEqual({
      kind: 'request',
      request: { method: 'Invalid', name: 'GetParameterValues', reason: 'missing ParameterNames' },
    });
  });

  it('ACS fault', () => {
    const parsed = parseAcsEnvelope(fixture('acs-fault.xml'));
    expect(parsed.id).toBe('tc-1');
    expect(parsed.message).toEqual({ kind: 'fault', fault: { code: 8005, message: 'Retry request' } });
  });
});

describe('parseAcsEnvelope oddities', () => {
  const raw = (name: string, bodyXml: string, holdRequests = false) =>
    parseAcsEnvelope(buildAcsEnvelope({ method: 'Raw', name, bodyXml }, { id: 'x', holdRequests }));

  it('unreadable arguments of a known request -> Invalid', () => {
    expect(raw('GetParameterNames', '<ParameterPath>Device.</ParameterPath>').message).toEqual({
      kind: 'request',
      request: { method: 'Invalid', name: 'GetParameterNames', reason: 'missing NextLevel' },
    });
    expect(raw('GetParameterNames', '<ParameterPath/><NextLevel>yes</NextLevel>').message).toMatchObject({
      request: { method: 'Invalid', reason: 'NextLevel is not a boolean: "yes"' },
    });
    expect(raw('SetParameterValues', '<ParameterList><ParameterValueStruct><Name>a</Name></ParameterValueStruct></ParameterList><ParameterKey/>').message)
      .toMatchObject({ request: { method: 'Invalid', name: 'SetParameterValues', reason: 'missing Value' } });
  });

  it('an unknown xsi:type is read as untyped, with a warning', () => {
    const parsed = raw('SetParameterValues', '<ParameterList><ParameterValueStruct><Name>a</Name><Value xsi:type="xsd:float">1.5</Value></ParameterValueStruct></ParameterList><ParameterKey/>');
    expect(parsed.message).toEqual({ kind: 'request', request: { method: 'SetParameterValues', params: [{ name: 'a', value: '1.5' }], parameterKey: '' } });
    expect(parsed.warnings).toEqual(['a: unknown xsi:type "xsd:float"']);
  });

  it('InformResponse without MaxEnvelopes still counts, with a warning', () => {
    const parsed = raw('InformResponse', '', true);
    expect(parsed.message).toEqual({ kind: 'response', response: { method: 'InformResponse', maxEnvelopes: 1 } });
    expect(parsed.holdRequests).toBe(true);
    expect(parsed.warnings).toEqual(['missing MaxEnvelopes']);
  });

  it('a fault without a numeric FaultCode is malformed', () => {
    const xml = buildAcsEnvelope({ method: 'Fault', fault: { code: 8002, message: '' } }, {}).replace('<FaultCode>8002', '<FaultCode>oops');
    expect(parseAcsEnvelope(xml).message.kind).toBe('malformed');
  });
});

describe('parseCpeEnvelope', () => {
  it('reads a pretty-printed Inform', () => {
    const parsed = parseCpeEnvelope(fixture('cpe-inform.xml'));
    expect(parsed.id).toBe('1');
    expect(parsed.message).toEqual({
      method: 'Inform',
      deviceId: { manufacturer: 'ACME', oui: '001122', productClass: 'HG-1', serialNumber: 'SN0000001' },
      events: [{ code: '1 BOOT', commandKey: '' }],
      maxEnvelopes: 1,
      currentTime: '2024-05-01T12:00:00+02:00',
      retryCount: 0,
      params: [
        { name: 'Device.DeviceInfo.SoftwareVersion', value: '1.0.0', type: 'string' },
        { name: 'Device.ManagementServer.ConnectionRequestURL', value: 'http://10.0.0.2:7547/cr?a=1&b=2', type: 'string' },
      ],
    });
  });

  it('empty POST, unknown method, malformed', () => {
    expect(parseCpeEnvelope('').message).toEqual({ method: 'Empty' });
    const tc = buildAcsEnvelope({ method: 'Raw', name: 'TransferComplete', bodyXml: '<CommandKey/>' }, {});
    expect(parseCpeEnvelope(tc).message).toEqual({ method: 'Unknown', name: 'TransferComplete' });
    const bad = parseCpeEnvelope('<soap-env:Envelope><soap-env:Body>');
    expect(bad.message).toEqual({ method: 'Unknown', name: '<malformed>' });
    expect(bad.warnings.length).toBe(1);
  });
});

describe('faults and escaping', () => {
  it('Client/Server per PROTOCOLS A.7', () => {
    for (const c of [9003, 9005, 9006, 9007, 9008, 9021, 8003]) expect(faultType(c)).toBe('Client');
    for (const c of [9000, 9001, 9002, 9004, 9009, 9020, 9032, 8005]) expect(faultType(c)).toBe('Server');
    for (let c = 9000; c <= 9032; c++) expect(FAULT_STRINGS[c]).toBeDefined();
  });

  it('builds a 9003 with SetParameterValuesFaults', () => {
    const xml = buildFault({
      code: 9003,
      message: '',
      setParameterValuesFaults: [{ name: 'Device.A', code: 9008, message: '' }],
    });
    expect(xml).toBe(
      '<soap-env:Fault><faultcode>Client</faultcode><faultstring>CWMP fault</faultstring><detail><cwmp:Fault>' +
        '<FaultCode>9003</FaultCode><FaultString>Invalid arguments</FaultString>' +
        '<SetParameterValuesFault><ParameterName>Device.A</ParameterName><FaultCode>9008</FaultCode>' +
        '<FaultString>Attempt to set a non-writable parameter</FaultString></SetParameterValuesFault>' +
        '</cwmp:Fault></detail></soap-env:Fault>',
    );
    expect(buildFault({ code: 9002, message: 'boom' })).toContain('<faultcode>Server</faultcode>');
  });

  it('escapes the five XML characters and leaves the rest alone', () => {
    expect(escapeXml(`a&b<c>d"e'f`)).toBe('a&amp;b&lt;c&gt;d&quot;e&apos;f');
    expect(escapeXml('plain 001122')).toBe('plain 001122');
    const xml = buildCpeEnvelope({ method: 'GetParameterValuesResponse', params: [{ name: 'x', value: '&amp;' }] }, {});
    expect(xml).toContain('&amp;amp;');
    expect(parseCpeEnvelope(xml).message).toEqual({ method: 'GetParameterValuesResponse', params: [{ name: 'x', value: '&amp;', type: 'string' }] });
  });

  it('decodes character references once, not twice', () => {
    const xml = buildAcsEnvelope({ method: 'Raw', name: 'GetParameterValues', bodyXml: '<ParameterNames><string>&#x41;&#66;&amp;#67;&amp;lt;&#0;</string></ParameterNames>' }, {});
    expect(parseAcsEnvelope(xml).message).toEqual({ kind: 'request', request: { method: 'GetParameterValues', names: ['AB&#67;&lt;&#0;'] } });
  });
});
