// The SOAP codec: build -> parse round trips both ways, and real-world ACS quirks read
// from wire fixtures (test/fixtures/cwmp).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { parseAcsEnvelope, parseCpeEnvelope } from '../src/cwmp/soap-parse.js';
import { FAULT_STRINGS, faultType } from '../src/cwmp/faults.js';
import { buildAcsEnvelope, buildCpeEnvelope, buildFault } from '../src/cwmp/soap-build.js';
import { escapeXml } from '../src/cwmp/soap-elements.js';
import { NS, type CpeMessage } from '../src/cwmp/types.js';
import { ACS_MESSAGES, CPE_MESSAGES } from './fixtures/cwmp/messages.js';

// Compiled to dist/test/, the fixtures stay in test/fixtures/.
const fixture = (name: string): string =>
  readFileSync(new URL(`../../test/fixtures/cwmp/${name}`, import.meta.url), 'utf8');

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

  it('writes the transfer arrays with their soap-enc:arrayType, in schema order', () => {
    const build = (m: string, i = 0) => buildCpeEnvelope(CPE_MESSAGES.filter((x) => x.method === m)[i]!, {});
    expect(build('GetQueuedTransfersResponse')).toContain(
      '<TransferList soap-enc:arrayType="cwmp:QueuedTransferStruct[2]"><QueuedTransferStruct><CommandKey>dl&lt;1&gt;</CommandKey><State>2</State></QueuedTransferStruct>',
    );
    expect(build('GetQueuedTransfersResponse', 1)).toContain('<TransferList soap-enc:arrayType="cwmp:QueuedTransferStruct[0]"></TransferList>');
    expect(build('GetAllQueuedTransfersResponse')).toContain(
      '<TransferList soap-enc:arrayType="cwmp:AllQueuedTransferStruct[2]"><AllQueuedTransferStruct><CommandKey>fw</CommandKey><State>3</State>' +
        '<IsDownload>true</IsDownload><FileType>1 Firmware Upgrade Image</FileType><FileSize>4194304</FileSize><TargetFileName></TargetFileName>',
    );
    expect(build('DUStateChangeComplete')).toMatch(
      /<cwmp:DUStateChangeComplete><Results soap-enc:arrayType="cwmp:OpResultStruct\[2\]"><OpResultStruct><UUID>.*<\/UUID><DeploymentUnitRef>.*<Version>.*<CurrentState>Installed<\/CurrentState><Resolved>true<\/Resolved><ExecutionUnitRefList>.*<StartTime>.*<CompleteTime>.*<Fault><FaultCode>0<\/FaultCode><FaultString><\/FaultString><\/Fault><\/OpResultStruct>/,
    );
    expect(build('DUStateChangeComplete')).toMatch(/<\/Results><CommandKey>cdus-key<\/CommandKey><\/cwmp:DUStateChangeComplete>/);
    expect(build('TransferComplete')).toContain(
      '<cwmp:TransferComplete><CommandKey>fw-2.0</CommandKey><FaultStruct><FaultCode>0</FaultCode><FaultString></FaultString></FaultStruct>' +
        '<StartTime>2024-05-01T12:00:00Z</StartTime><CompleteTime>2024-05-01T12:01:30Z</CompleteTime></cwmp:TransferComplete>',
    );
    expect(build('DownloadResponse')).toContain(
      '<cwmp:DownloadResponse><Status>1</Status><StartTime>0001-01-01T00:00:00Z</StartTime><CompleteTime>0001-01-01T00:00:00Z</CompleteTime></cwmp:DownloadResponse>',
    );
    expect(build('RebootResponse')).toContain('<soap-env:Body><cwmp:RebootResponse></cwmp:RebootResponse></soap-env:Body>');
  });

  it('a failed transfer without a FaultString gets the code meaning', () => {
    const xml = buildCpeEnvelope(
      { method: 'TransferComplete', commandKey: 'k', fault: { code: 9010, message: '' }, startTime: '0001-01-01T00:00:00Z', completeTime: '0001-01-01T00:00:00Z' },
      {},
    );
    expect(parseCpeEnvelope(xml).message).toMatchObject({ fault: { code: 9010, message: 'File transfer failure' } });
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
    const xml = buildAcsEnvelope({ method: 'Raw', name: 'GetOptions', bodyXml: '<OptionName>x</OptionName>' }, {});
    expect(xml).toContain('<cwmp:GetOptions><OptionName>x</OptionName></cwmp:GetOptions>');
    expect(parseAcsEnvelope(xml).message).toEqual({ kind: 'request', request: { method: 'Unsupported', name: 'GetOptions' } });
  });

  it('writes the transfer arrays with their soap-enc:arrayType and typed operations', () => {
    const find = (m: string) => ACS_MESSAGES.find((x) => x.method === m)!;
    expect(buildAcsEnvelope(find('ScheduleDownload'), {})).toContain(
      '<TimeWindowList soap-enc:arrayType="cwmp:TimeWindowStruct[2]"><TimeWindowStruct><WindowStart>0</WindowStart><WindowEnd>3600</WindowEnd>' +
        '<WindowMode>1 At Any Time</WindowMode><UserMessage></UserMessage><MaxRetries>-1</MaxRetries></TimeWindowStruct>',
    );
    const cdus = buildAcsEnvelope(find('ChangeDUState'), {});
    expect(cdus).toContain('<Operations soap-enc:arrayType="cwmp:OperationStruct[3]"><OperationStruct xsi:type="cwmp:InstallOpStruct"><URL>');
    expect(cdus).toContain('<OperationStruct xsi:type="cwmp:UpdateOpStruct"><UUID>');
    expect(cdus).toContain('<OperationStruct xsi:type="cwmp:UninstallOpStruct"><UUID>');
    expect(cdus).toMatch(/<\/Operations><CommandKey>cdus<\/CommandKey><\/cwmp:ChangeDUState>/);
    expect(buildAcsEnvelope(find('Download'), {})).toMatch(
      /<cwmp:Download><CommandKey>.*<\/CommandKey><FileType>.*<URL>.*<Username>.*<Password>.*<FileSize>4194304<\/FileSize><TargetFileName>.*<DelaySeconds>30<\/DelaySeconds><SuccessURL>.*<FailureURL><\/FailureURL><\/cwmp:Download>/,
    );
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
    expect(parsed.message).toEqual({ kind: 'request', request: { method: 'Unsupported', name: 'SetVouchers' } });
  });

  it('GenieACS Download: soap-env, cwmp-1-0, FileSize 0, empty Username/Password and URLs', () => {
    const parsed = parseAcsEnvelope(fixture('genieacs-download.xml'));
    expect(parsed).toEqual({
      id: '19a3f2c4e2d',
      holdRequests: false,
      cwmpNamespace: 'urn:dslforum-org:cwmp-1-0',
      message: {
        kind: 'request',
        request: {
          method: 'Download',
          commandKey: '6630f1c2a9e4b1d2c3f4a5b6',
          fileType: '1 Firmware Upgrade Image',
          url: 'http://10.0.0.1:7567/HG-1_firmware-2.0.1.bin',
          username: '',
          password: '',
          fileSize: 0,
          targetFileName: '',
          delaySeconds: 0,
          successUrl: '',
          failureUrl: '',
        },
      },
      warnings: [],
    });
  });

  it('ChangeDUState with all three operation types, xsi:type under different prefixes', () => {
    const parsed = parseAcsEnvelope(fixture('change-du-state.xml'));
    expect(parsed.id).toBe('cdus-1');
    expect(parsed.cwmpNamespace).toBe('urn:dslforum-org:cwmp-1-2');
    expect(parsed.warnings).toEqual([]);
    expect(parsed.message).toEqual({
      kind: 'request',
      request: {
        method: 'ChangeDUState',
        commandKey: 'cdus-key',
        operations: [
          {
            op: 'Install',
            url: 'http://files.example.net/du/app-1.0.ipk?sig=a&b',
            uuid: '6b6b8d3e-4a52-5b8a-9f1e-0a1b2c3d4e5f',
            username: 'du-user',
            password: '',
            executionEnvRef: 'Device.SoftwareModules.ExecEnv.1',
          },
          { op: 'Update', uuid: '0f0e0d0c-0b0a-5908-8706-050403020100', version: '2.0', url: 'http://files.example.net/du/other-2.0.ipk', username: '', password: '' },
          { op: 'Uninstall', uuid: '11111111-2222-5333-8444-555555555555', version: '', executionEnvRef: 'Device.SoftwareModules.ExecEnv.2' },
        ],
      },
    });
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

  it('transfer requests: missing optional strings read as "", a missing FileSize as 0 with a warning', () => {
    expect(raw('Reboot', '').message).toEqual({ kind: 'request', request: { method: 'Reboot', commandKey: '' } });
    expect(raw('CancelTransfer', '').message).toEqual({ kind: 'request', request: { method: 'CancelTransfer', commandKey: '' } });
    const dl = raw('Download', '<FileType>3 Vendor Configuration File</FileType><URL>http://f/c.xml</URL><DelaySeconds> 5 </DelaySeconds>');
    expect(dl.message).toEqual({
      kind: 'request',
      request: {
        method: 'Download',
        commandKey: '',
        fileType: '3 Vendor Configuration File',
        url: 'http://f/c.xml',
        username: '',
        password: '',
        fileSize: 0,
        targetFileName: '',
        delaySeconds: 5,
        successUrl: '',
        failureUrl: '',
      },
    });
    expect(dl.warnings).toEqual(['missing FileSize, read as 0']);
    expect(raw('ScheduleInform', '<DelaySeconds>60</DelaySeconds>').message).toEqual({
      kind: 'request',
      request: { method: 'ScheduleInform', delaySeconds: 60, commandKey: '' },
    });
  });

  it('transfer requests with unreadable arguments -> Invalid', () => {
    const invalid = (name: string, body: string, reason: string) =>
      expect(raw(name, body).message).toEqual({ kind: 'request', request: { method: 'Invalid', name, reason } });
    const dl = '<CommandKey>k</CommandKey><FileType>1 Firmware Upgrade Image</FileType><URL>http://f/fw</URL>';
    invalid('Download', `${dl}<FileSize>0</FileSize>`, 'missing DelaySeconds');
    invalid('Download', `${dl}<FileSize>0</FileSize><DelaySeconds>soon</DelaySeconds>`, 'DelaySeconds is not an unsigned integer: "soon"');
    invalid('Download', `${dl}<FileSize>-1</FileSize><DelaySeconds>0</DelaySeconds>`, 'FileSize is not an unsigned integer: "-1"');
    invalid('Download', '<FileType>1 Firmware Upgrade Image</FileType><DelaySeconds>0</DelaySeconds>', 'missing URL');
    invalid('Upload', '<URL>http://f/up</URL><DelaySeconds>0</DelaySeconds>', 'missing FileType');
    invalid('Upload', '<FileType>2 Vendor Log File</FileType><URL>http://f/up</URL>', 'missing DelaySeconds');
    invalid('ScheduleInform', '<CommandKey>k</CommandKey>', 'missing DelaySeconds');
    invalid('ScheduleInform', '<DelaySeconds>4294967296</DelaySeconds>', 'DelaySeconds is not an unsigned integer: "4294967296"');
    invalid('ScheduleDownload', `${dl}<FileSize>0</FileSize>`, 'missing TimeWindowList');
    invalid(
      'ScheduleDownload',
      `${dl}<TimeWindowList><TimeWindowStruct><WindowStart>0</WindowStart><WindowEnd>60</WindowEnd><WindowMode>1 At Any Time</WindowMode><MaxRetries>many</MaxRetries></TimeWindowStruct></TimeWindowList>`,
      'MaxRetries is not an int: "many"',
    );
    invalid('ChangeDUState', '<CommandKey>k</CommandKey>', 'missing Operations');
    invalid('ChangeDUState', '<Operations></Operations><CommandKey>k</CommandKey>', 'Operations is empty');
    invalid(
      'ChangeDUState',
      '<Operations><OperationStruct xsi:type="cwmp:InstallOpStruct"><URL>u</URL></OperationStruct><OperationStruct xsi:type="cwmp:RebootOpStruct"><UUID>x</UUID></OperationStruct></Operations>',
      'Operations item 2 has unknown xsi:type "cwmp:RebootOpStruct"',
    );
    invalid('ChangeDUState', '<Operations><OperationStruct><UUID>x</UUID></OperationStruct></Operations>', 'Operations item 1 has no xsi:type');
    invalid('ChangeDUState', '<Operations><OperationStruct xsi:type="cwmp:InstallOpStruct"><UUID>x</UUID></OperationStruct></Operations>', 'missing URL');
  });

  it('an operation without xsi:type is read from its element name, with a warning', () => {
    const parsed = raw('ChangeDUState', '<Operations><UninstallOpStruct><UUID>x</UUID></UninstallOpStruct></Operations><CommandKey>k</CommandKey>');
    expect(parsed.message).toEqual({
      kind: 'request',
      request: { method: 'ChangeDUState', commandKey: 'k', operations: [{ op: 'Uninstall', uuid: 'x', version: '', executionEnvRef: '' }] },
    });
    expect(parsed.warnings).toEqual(['Operations item 1 has no xsi:type, read as UninstallOpStruct']);
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

  it('empty POST, unknown method, unreadable arguments, malformed', () => {
    expect(parseCpeEnvelope('').message).toEqual({ method: 'Empty' });
    const kicked = buildAcsEnvelope({ method: 'Raw', name: 'Kicked', bodyXml: '<Command/>' }, {});
    expect(parseCpeEnvelope(kicked).message).toEqual({ method: 'Unknown', name: 'Kicked' });
    const tc = parseCpeEnvelope(buildAcsEnvelope({ method: 'Raw', name: 'TransferComplete', bodyXml: '<CommandKey/>' }, {}));
    expect(tc.message).toEqual({ method: 'Unknown', name: 'TransferComplete' });
    expect(tc.warnings).toEqual(['TransferComplete: missing FaultStruct']);
    const bad = parseCpeEnvelope('<soap-env:Envelope><soap-env:Body>');
    expect(bad.message).toEqual({ method: 'Unknown', name: '<malformed>' });
    expect(bad.warnings.length).toBe(1);
  });
});

describe('parseCpeEnvelope reads transfer messages strictly (the mock ACS checks the CPE)', () => {
  const cpe = (msg: CpeMessage, edit: (xml: string) => string) => parseCpeEnvelope(edit(buildCpeEnvelope(msg, {})));

  it('a queued transfer State outside 1..3', () => {
    const parsed = cpe({ method: 'GetQueuedTransfersResponse', transfers: [{ commandKey: 'k', state: 1 }] }, (x) => x.replace('<State>1', '<State>4'));
    expect(parsed.message).toEqual({ method: 'Unknown', name: 'GetQueuedTransfersResponse' });
    expect(parsed.warnings).toEqual(['GetQueuedTransfersResponse: State must be 1, 2 or 3, got 4']);
  });

  it('a DU CurrentState outside the enumeration', () => {
    const msg = CPE_MESSAGES.find((m) => m.method === 'DUStateChangeComplete')!;
    const parsed = cpe(msg, (x) => x.replace('<CurrentState>Installed', '<CurrentState>Installing'));
    expect(parsed.message).toEqual({ method: 'Unknown', name: 'DUStateChangeComplete' });
    expect(parsed.warnings).toEqual(['DUStateChangeComplete: CurrentState must be Installed, Uninstalled or Failed, got "Installing"']);
  });

  it('a DownloadResponse Status outside 0..1 or without times', () => {
    const msg: CpeMessage = { method: 'DownloadResponse', status: 0, startTime: 't0', completeTime: 't1' };
    expect(cpe(msg, (x) => x.replace('<Status>0', '<Status>2')).warnings).toEqual(['DownloadResponse: Status must be 0 or 1, got 2']);
    expect(cpe(msg, (x) => x.replace(/<CompleteTime>.*<\/CompleteTime>/, '')).warnings).toEqual(['DownloadResponse: missing CompleteTime']);
  });
});

describe('faults and escaping', () => {
  it('Client/Server as icwmp splits them (docs/cwmp-behaviour.md "Faults")', () => {
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
