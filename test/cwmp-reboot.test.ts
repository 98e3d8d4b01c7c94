import { afterEach, describe, expect, it } from '@jest/globals';
import { EV } from '../src/cwmp/events.js';
import { getParameterAttributes } from '../src/cwmp/rpc/params.js';
import type { AcsOutgoingRequest, Inform } from '../src/cwmp/types.js';
import { MockAcs } from '../src/mock-acs/mock-acs.js';
import { eventCodes, events, isBootstrap, rebootMs, startHarness, until, type Harness } from './helpers/harness.js';
import { settle } from './helpers/settle.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

async function bootstrapWith(reqs: AcsOutgoingRequest[], extra: Parameters<typeof startHarness>[0] = {}): Promise<Harness> {
  let sent = false;
  const once = (i: Inform) => {
    if (sent || !isBootstrap(i)) return undefined;
    sent = true;
    return reqs;
  };
  const harness = await startHarness({ ...extra, acs: { ...extra.acs, script: once } });
  harness.tick();
  await harness.acs.waitFor(() => harness.acs.sessions[0]?.ended === true, 10_000, 'bootstrap session');
  return harness;
}

describe('Reboot (TR-069 A.3.2.9)', () => {
  it('goes dark after the session, refuses CRs, then informs 1 BOOT + M Reboot with the CommandKey and a fresh uptime', async () => {
    h = await bootstrapWith([{ method: 'Reboot', commandKey: 'rb-42' }], { cr: true });
    const s0 = h.acs.sessions[0]!;
    expect(s0.messages.at(-1)!.message.method).toBe('RebootResponse');
    h.tick(100_000); // uptime grows before the reboot
    await until(() => !h!.shard.isPoweredOn(0), 5000, 'dark');
    const user = h.shard.view(0).get('Device.ManagementServer.ConnectionRequestUsername')!;
    const pass = h.shard.view(0).get('Device.ManagementServer.ConnectionRequestPassword')!;
    expect((await MockAcs.connectionRequest(h.shard.env.crUrl(0), user, pass)).status).toBe(503);
    expect(h.shard.lifecycle(0)).toBe('bootstrapping');
    // Nothing while dark...
    h.tick(rebootMs(h) - 1);
    await settle(h);
    expect(h.acs.sessions).toHaveLength(1);
    // ...then the boot Inform.
    const rebootAt = h.clock.now() + 1;
    h.tick(1);
    await h.acs.waitFor(() => h!.acs.sessions[1]?.ended === true, 10_000, 'boot session');
    expect(events(h.acs.sessions[1]!.inform)).toEqual(['1 BOOT', 'M Reboot:rb-42']);
    const up = Number(h.shard.view(0).get('Device.DeviceInfo.UpTime'));
    expect(up).toBe(Math.floor((h.clock.now() - rebootAt) / 1000));
    await until(() => h!.shard.lifecycle(0) === 'ready');
  });

  it('keeps 2 PERIODIC across a reboot but drops 6 CONNECTION REQUEST and 4 VALUE CHANGE', async () => {
    let second = false;
    h = await startHarness({
      acs: {
        informDelayMs: () => (second ? 400 : 0),
        script: (i) => (second && !isBootstrap(i) && !i.events.some((e) => e.code === '1 BOOT') ? [{ method: 'Reboot', commandKey: 'k' }] : undefined),
      },
    });
    h.tick();
    await h.acs.waitFor(() => h!.acs.sessions[0]?.ended === true);
    await until(() => h!.shard.lifecycle(0) === 'ready');
    second = true;
    h.cwmp.raise(0, EV.CONNECTION_REQUEST);
    // While that session waits for its InformResponse, more events come up; the Reboot ends it.
    await h.acs.waitFor(() => h!.acs.informCount === 2, 5000, 'second inform');
    h.cwmp.raise(0, EV.PERIODIC | EV.VALUE_CHANGE | EV.CONNECTION_REQUEST);
    await h.acs.waitFor(() => h!.acs.sessions[1]?.ended === true, 5000, 'reboot session');
    await until(() => !h!.shard.isPoweredOn(0), 5000, 'dark');
    h.tick(rebootMs(h));
    await h.acs.waitFor(() => h!.acs.sessions[2]?.ended === true, 10_000, 'boot');
    expect(events(h.acs.sessions[2]!.inform)).toEqual(['1 BOOT', '2 PERIODIC', 'M Reboot:k']);
  });
});

describe('FactoryReset (TR-069 A.4.1.6)', () => {
  it('wipes what the ACS set and informs 0 BOOTSTRAP + 1 BOOT after the dark window', async () => {
    h = await bootstrapWith([
      { method: 'SetParameterValues', params: [{ name: 'Device.WiFi.SSID.1.SSID', value: 'provisioned', type: 'string' }], parameterKey: 'pk-1' },
      { method: 'AddObject', objectName: 'Device.NAT.PortMapping.', parameterKey: 'pk-2' },
      { method: 'SetParameterAttributes', params: [{ name: 'Device.WiFi.SSID.1.SSID', notificationChange: true, notification: 1, accessListChange: false, accessList: [] }] },
      { method: 'FactoryReset' },
    ]);
    expect(h.acs.sessions[0]!.messages.at(-1)!.message.method).toBe('FactoryResetResponse');
    await until(() => !h!.shard.isPoweredOn(0), 5000, 'dark');
    h.tick(rebootMs(h));
    await h.acs.waitFor(() => h!.acs.sessions[1]?.ended === true, 10_000, 'bootstrap after reset');
    const s = h.acs.sessions[1]!;
    expect(eventCodes(s)).toEqual(['0 BOOTSTRAP', '1 BOOT']);
    expect(s.inform.params.find((p) => p.name === 'Device.ManagementServer.ParameterKey')!.value).toBe('');
    const v = h.shard.view(0);
    expect(v.get('Device.WiFi.SSID.1.SSID')).not.toBe('provisioned');
    expect(v.get('Device.NAT.PortMappingNumberOfEntries')).toBe('1');
    const attrs = getParameterAttributes(v, ['Device.WiFi.SSID.1.SSID']);
    expect(attrs.ok && attrs.value[0]!.notification).toBe(0);
  });
});

describe('ScheduleInform (TR-069 A.4.1.2)', () => {
  it('informs 3 SCHEDULED + M ScheduleInform after DelaySeconds, one M per CommandKey', async () => {
    h = await bootstrapWith([
      { method: 'Raw', name: 'ScheduleInform', bodyXml: '<DelaySeconds>120</DelaySeconds><CommandKey>s-1</CommandKey>' },
      { method: 'Raw', name: 'ScheduleInform', bodyXml: '<DelaySeconds>120</DelaySeconds><CommandKey>s-2</CommandKey>' },
      { method: 'Raw', name: 'ScheduleInform', bodyXml: '<DelaySeconds>0</DelaySeconds><CommandKey>bad</CommandKey>' },
    ]);
    const answers = h.acs.sessions[0]!.messages.slice(2).map((m) => (m.message.method === 'Fault' ? m.message.fault.code : m.message.method));
    expect(answers).toEqual(['ScheduleInformResponse', 'ScheduleInformResponse', 9003]);
    await until(() => h!.shard.lifecycle(0) === 'ready');
    h.tick(119_000);
    await settle(h);
    expect(h.acs.sessions).toHaveLength(1);
    h.tick(1000);
    await h.acs.waitFor(() => h!.acs.sessions[1]?.ended === true, 10_000, 'scheduled session');
    expect(events(h.acs.sessions[1]!.inform)).toEqual(['3 SCHEDULED', 'M ScheduleInform:s-1', 'M ScheduleInform:s-2']);
  });
});
