// USP path names (src/usp/path.ts, TR-369 "Path Names"): the grammar (7008), binding to the
// supported data model (7026), searches over one CPE's rows, reference matching for
// subscriptions; plus the supported commands/events table and unique keys.
import { describe, expect, it } from '@jest/globals';
import { CpeView } from '../src/datamodel/view.js';
import { compileProfile } from '../src/profile/compile.js';
import { loadProfile } from '../src/profile/load.js';
import { FleetEnv } from '../src/shard/fleet-env.js';
import { matchesReference, parsePath, resolveCommands, resolveObjects, resolveParams, resolvePath } from '../src/usp/path.js';
import { commandsOf, eventsOf, lookupCommand, lookupEvent, schemaObject } from '../src/usp/supported.js';
import { uniqueKeySets, uniqueKeysOf } from '../src/usp/unique-keys.js';
import { exampleProfile, tr098Profile } from './helpers/harness.js';

const spec = loadProfile(exampleProfile);
const template = compileProfile(spec);
const env = new FleetEnv(spec, template, 7, 'http://127.0.0.1:7548', 'path-secret', { url: 'http://acs.example/cwmp', username: 'u', password: 'p' });
const NOW = Date.UTC(2025, 0, 15, 9, 0, 0);
const newView = (): CpeView => new CpeView(template, env.context(3, NOW, NOW - 3_600_000), undefined);

const code = (path: string): number => {
  const r = resolvePath(newView(), path);
  return r.ok ? 0 : r.error.code;
};
const objects = (path: string, view = newView()): string[] => {
  const r = resolveObjects(view, path);
  if (!r.ok) throw new Error(r.error.message);
  return r.value.map((o) => o.path);
};

describe('grammar', () => {
  it('parses object, parameter, command and event paths', () => {
    const p = parsePath('Device.IP.Interface.*.IPv4Address.[Enable==true].IPAddress');
    expect(p.ok && p.value).toMatchObject({
      segs: [{ name: 'Device' }, { name: 'IP' }, { name: 'Interface', inst: { kind: 'wildcard' } }, { name: 'IPv4Address', inst: { kind: 'search' } }],
      leaf: { kind: 'param', name: 'IPAddress' },
      search: true,
    });
    expect(parsePath('Device.IP.Interface.2.').ok && parsePath('Device.IP.Interface.2.')).toMatchObject({ value: { leaf: undefined, search: false } });
    expect(parsePath('Device.Reboot()')).toMatchObject({ ok: true, value: { leaf: { kind: 'command', name: 'Reboot()' } } });
    expect(parsePath('Device.Boot!')).toMatchObject({ ok: true, value: { leaf: { kind: 'event', name: 'Boot!' } } });
  });

  it.each([
    '',
    'Device',
    'Device..IP.',
    'Device.IP.Interface.0.',
    'Device.IP.Interface.1',
    'Device.IP.Interface.{i}.',
    'Device.IP.Interface.[].',
    'Device.IP.Interface.[Name=="wan"',
    'Device.IP.Interface.[Name="wan"].',
    'Device.IP.Interface.[IPv4Address.*.Status=="Enabled"].',
    'Device.IP.Interface.[Name=="wan"]Status',
    'Device.Reboot(now)',
    'Device.Boot!.',
    'Device.IP.Interface.*.Sta tus',
  ])('%j is 7008 invalid path syntax', (path) => {
    expect(code(path)).toBe(7008);
  });

  it('reference following is refused with 7004 and a message saying so', () => {
    for (const path of ['Device.NAT.PortMapping.1.Interface+.Name', 'Device.WiFi.SSID.1.LowerLayers#1+.Name', 'Device.WiFi.AccessPoint.[SSIDReference+.SSID=="x"].']) {
      const r = resolvePath(newView(), path);
      expect(r).toMatchObject({ ok: false, error: { code: 7004 } });
      expect(!r.ok && r.error.message).toMatch(/Reference following/);
    }
  });
});

describe('supported data model', () => {
  it.each([
    'InternetGatewayDevice.',
    'Device.Nope.',
    'Device.DeviceInfo.1.',
    'Device.IP.Interface.Name',
    'Device.IP.Interface.Stats.',
    'Device.IP.Interface.1.Nope',
    'Device.IP.Interface.1.Stats',
    'Device.Nope()',
    'Device.IP.Interface.1.Reset()',
    'Device.Nope!',
    'Device.IP.Interface.[Nope=="x"].',
    'Device.IP.Interface.[Stats.Nope>1].',
  ])('%j is 7026 invalid path', (path) => {
    expect(code(path)).toBe(7026);
  });

  it.each([
    ['Device.IP.Interface.[Name<"wan"].', 'order operators on a string'],
    ['Device.IP.Interface.[Enable=="true"].', 'a quoted boolean'],
    ['Device.IP.Interface.[Enable>=true].', 'order operators on a boolean'],
    ['Device.IP.Interface.[Enable~=true].', 'list-contains on a boolean'],
    ['Device.IP.Interface.[MaxMTUSize=="1500"].', 'a quoted number'],
    ['Device.IP.Interface.[MaxMTUSize==15x].', 'a number that is not one'],
    ['Device.IP.Interface.[Name==wan].', 'an unquoted string'],
    ['Device.IP.Interface.*.IPv6Address.[ValidLifetime<tomorrow].', 'a dateTime that is not one'],
  ])('%j is 7008 (%s)', (path) => {
    expect(code(path)).toBe(7008);
  });
});

describe('searches', () => {
  it('unique-key addressing, && and tolerated spaces', () => {
    expect(objects('Device.IP.Interface.[Name=="wan"].')).toEqual(['Device.IP.Interface.1.']);
    expect(objects('Device.IP.Interface.[ Alias == "cpe-lan" ].')).toEqual(['Device.IP.Interface.2.']);
    expect(objects('Device.IP.Interface.[Type=="Normal"&&Name!="wan"].')).toEqual(['Device.IP.Interface.2.']);
    expect(objects('Device.NAT.PortMapping.[RemoteHost==""&&ExternalPort==8080&&Protocol=="TCP"].')).toEqual(['Device.NAT.PortMapping.1.']);
  });

  it('booleans as true/false/1/0, numbers and sub-object parameters', () => {
    expect(objects('Device.IP.Interface.[ULAEnable==true].')).toEqual(['Device.IP.Interface.2.']);
    expect(objects('Device.IP.Interface.[ULAEnable==0].')).toEqual(['Device.IP.Interface.1.']);
    expect(objects('Device.IP.Interface.[MaxMTUSize>=1500&&MaxMTUSize<=1500].')).toHaveLength(2);
    expect(objects('Device.IP.Interface.[MaxMTUSize<1500].')).toEqual([]);
    expect(objects('Device.IP.Interface.[Stats.BytesSent>0].')).toHaveLength(2);
    expect(objects('Device.WiFi.Radio.[Channel>13].')).toEqual(['Device.WiFi.Radio.2.']);
  });

  it('~= is list-contains; dateTime compares as time', () => {
    expect(objects('Device.WiFi.Radio.[SupportedStandards~="ac"].')).toEqual(['Device.WiFi.Radio.2.']);
    expect(objects('Device.WiFi.Radio.[ChannelsInUse~="6"].')).toEqual(['Device.WiFi.Radio.1.']);
    expect(objects('Device.IP.Interface.*.IPv6Address.[ValidLifetime>2030-01-01T00:00:00Z].')).toHaveLength(2);
    expect(objects('Device.IP.Interface.*.IPv6Address.[ValidLifetime<2030-01-01T00:00:00Z].')).toEqual([]);
  });

  it('%22 and %25 in string constants; && and ] inside a string are literal', () => {
    const view = newView();
    view.deviceSet('Device.DNS.Client.Server.2.Interface', 'a]&&b==c');
    expect(objects('Device.DNS.Client.Server.[Interface=="a]&&b==c"].', view)).toEqual(['Device.DNS.Client.Server.2.']);
    view.deviceSet('Device.NAT.PortMapping.1.Description', 'say "hi" 100%');
    expect(objects('Device.NAT.PortMapping.[Description=="say %22hi%22 100%25"].', view)).toEqual(['Device.NAT.PortMapping.1.']);
    expect(objects('Device.NAT.PortMapping.[Description=="say "].', view)).toEqual([]);
  });

  it('a search that matches nothing and an absent instance are empty, not errors; wildcards expand nested tables', () => {
    expect(objects('Device.IP.Interface.[Name=="eth9"].')).toEqual([]);
    expect(objects('Device.IP.Interface.7.')).toEqual([]);
    expect(objects('Device.IP.Interface.*.IPv4Address.*.')).toEqual(['Device.IP.Interface.1.IPv4Address.1.', 'Device.IP.Interface.2.IPv4Address.1.']);
    expect(objects('Device.IP.Interface.')).toEqual(['Device.IP.Interface.']);
  });

  it('hidden values read as "" so a search cannot probe a secret', () => {
    const view = newView();
    view.deviceSet('Device.MQTT.Client.1.Password', 'sekrit');
    expect(objects('Device.MQTT.Client.[Password=="sekrit"].', view)).toEqual([]);
    expect(objects('Device.MQTT.Client.[Password==""].', view)).toEqual(['Device.MQTT.Client.1.']);
  });

  it('resolveParams and resolveCommands', () => {
    const r = resolveParams(newView(), 'Device.IP.Interface.*.Name');
    expect(r.ok && r.value.map((p) => [p.path, p.objPath])).toEqual([
      ['Device.IP.Interface.1.Name', 'Device.IP.Interface.1.'],
      ['Device.IP.Interface.2.Name', 'Device.IP.Interface.2.'],
    ]);
    const all = resolveParams(newView(), 'Device.IP.Interface.1.');
    expect(all.ok && all.value.map((p) => p.path)).toContain('Device.IP.Interface.1.Stats.BytesSent');
    const c = resolveCommands(newView(), 'Device.DeviceInfo.FirmwareImage.*.Download()');
    expect(c.ok && c.value.map((m) => [m.path, m.def.type])).toEqual([
      ['Device.DeviceInfo.FirmwareImage.1.Download()', 'async'],
      ['Device.DeviceInfo.FirmwareImage.2.Download()', 'async'],
    ]);
    expect(resolveCommands(newView(), 'Device.IP.Interface.1.Name')).toMatchObject({ ok: false, error: { code: 7026 } });
  });
});

describe('matchesReference (subscription ReferenceList)', () => {
  it.each([
    ['Device.IP.Interface.*.Status', 'Device.IP.Interface.2.Status', true],
    ['Device.IP.Interface.*.Status', 'Device.IP.Interface.2.Name', false],
    ['Device.IP.Interface.1.Status', 'Device.IP.Interface.2.Status', false],
    ['Device.IP.Interface.', 'Device.IP.Interface.3.', true],
    ['Device.IP.Interface.', 'Device.IP.Interface.1.Stats.BytesSent', true],
    ['Device.IP.Interface.1.', 'Device.IP.Interface.', false],
    ['Device.IP.', 'Device.IPsec.Enable', false],
    ['Device.', 'Device.Boot!', true],
    ['Device.Boot!', 'Device.Boot!', true],
    ['Device.Boot!', 'Device.LocalAgent.Periodic!', false],
    ['Device.DeviceInfo.FirmwareImage.*.Download()', 'Device.DeviceInfo.FirmwareImage.2.Download()', true],
    ['Device.DeviceInfo.FirmwareImage.*.Download()', 'Device.DeviceInfo.FirmwareImage.2.Activate()', false],
    ['Device.NAT.PortMapping.*.', 'Device.NAT.PortMapping.4.', true],
    ['Device.IP.Interface.*.Status', 'Device.IP.Interface.2.Status.', false],
    ['not a path', 'Device.IP.', false],
  ])('%s ~ %s -> %s', (ref, concrete, want) => {
    expect(matchesReference(ref, concrete)).toBe(want);
  });

  it('a search reference needs the view to read the row', () => {
    const ref = 'Device.IP.Interface.[Name=="wan"].Status';
    expect(matchesReference(ref, 'Device.IP.Interface.1.Status')).toBe(false);
    expect(matchesReference(ref, 'Device.IP.Interface.1.Status', newView())).toBe(true);
    expect(matchesReference(ref, 'Device.IP.Interface.2.Status', newView())).toBe(false);
  });
});

describe('supported commands and events', () => {
  it('lists only what the template has, with sync/async and input arguments', () => {
    expect(commandsOf(template, 'Device.').map((c) => [c.name, c.type, c.input])).toEqual([
      ['Reboot()', 'sync', ['Cause']],
      ['FactoryReset()', 'sync', ['Cause']],
    ]);
    expect(lookupCommand(template, 'Device.DeviceInfo.FirmwareImage.2.Activate()')).toMatchObject({ type: 'async', input: expect.arrayContaining(['TimeWindow.{i}.Start']) });
    expect(lookupCommand(template, 'Device.LocalAgent.Request.5.Cancel()')).toMatchObject({ type: 'sync' });
    expect(lookupCommand(template, 'Device.LocalAgent.Controller.1.SendOnBoardRequest()')).toMatchObject({ type: 'sync' });
    expect(lookupCommand(template, 'Device.IP.Interface.1.Reset()')).toBeUndefined();
    expect(eventsOf(template, 'Device.LocalAgent.').map((e) => e.name)).toEqual(['Periodic!', 'TransferComplete!', 'WakeUp!']);
    expect(lookupEvent(template, 'Device.Boot!')?.args).toEqual(['CommandKey', 'Cause', 'FirmwareUpdated', 'ParameterMap']);
    // A TR-098 profile has no Device. root: no TR-181 commands.
    const tr098 = compileProfile(loadProfile(tr098Profile));
    expect(commandsOf(tr098, 'Device.')).toEqual([]);
    expect(schemaObject(template, 'Device.WiFi.Radio.')).toBeUndefined();
    expect(schemaObject(template, 'Device.WiFi.Radio.{i}.')?.multi).toBe(true);
  });
});

describe('unique keys', () => {
  it('built-in sets, Alias fallback, none without Alias', () => {
    expect(uniqueKeySets(schemaObject(template, 'Device.LocalAgent.Subscription.{i}.')!)).toEqual([['Recipient', 'ID'], ['Alias']]);
    expect(uniqueKeySets(schemaObject(template, 'Device.NAT.PortMapping.{i}.')!)).toEqual([['RemoteHost', 'ExternalPort', 'Protocol'], ['Alias']]);
    expect(uniqueKeySets(schemaObject(template, 'Device.DNS.Relay.Forwarding.{i}.')!)).toEqual([['Alias']]);
    expect(uniqueKeySets(schemaObject(template, 'Device.DeviceInfo.')!)).toEqual([]);
    const ip = schemaObject(template, 'Device.IP.Interface.{i}.')!;
    expect(uniqueKeysOf(newView(), ip, 'Device.IP.Interface.1.', [1])).toEqual({ Name: 'wan', Alias: 'cpe-wan' });
  });
});
