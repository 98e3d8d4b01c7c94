import { afterEach, describe, expect, it } from '@jest/globals';
import { EV } from '../src/cwmp/events.js';
import type { AcsOutgoingRequest } from '../src/cwmp/types.js';
import { bootstrapped, eventCodes, isBootstrap, startHarness, until, type Harness } from './helpers/harness.js';
import { settle } from './helpers/settle.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

const spa = (name: string, notification: number): AcsOutgoingRequest => ({
  method: 'SetParameterAttributes',
  params: [{ name, notificationChange: true, notification, accessListChange: false, accessList: [] }],
});
const LEASE = 'Device.DHCPv4.Client.1.LeaseTimeRemaining';

async function provisioned(reqs: AcsOutgoingRequest[], later: () => AcsOutgoingRequest[] | undefined = () => undefined): Promise<Harness> {
  const harness = await startHarness({ acs: { script: (i) => (isBootstrap(i) ? reqs : later()) } });
  await bootstrapped(harness);
  return harness;
}

describe('value-change notification (TR-069 A.3.2.4)', () => {
  it('passive (1): no session of its own; the next Inform carries 4 VALUE CHANGE and the changed value', async () => {
    h = await provisioned([spa('Device.DeviceInfo.UpTime', 1)]);
    h.tick(20_000);
    await settle(h);
    expect(h.acs.sessions).toHaveLength(1);
    h.cwmp.raise(0, EV.PERIODIC);
    await h.acs.waitFor(() => h!.acs.sessions[1]?.ended === true);
    const inf = h.acs.sessions[1]!.inform;
    expect(eventCodes(h.acs.sessions[1]!)).toEqual(['2 PERIODIC', '4 VALUE CHANGE']);
    expect(inf.params.find((p) => p.name === 'Device.DeviceInfo.UpTime')?.value).toBe('20');
    // Reported: with no time passing nothing has changed since...
    await until(() => h!.shard.lifecycle(0) === 'ready');
    h.cwmp.raise(0, EV.PERIODIC);
    await h.acs.waitFor(() => h!.acs.sessions[2]?.ended === true);
    expect(eventCodes(h.acs.sessions[2]!)).toEqual(['2 PERIODIC']);
    expect(h.acs.sessions[2]!.inform.params.some((p) => p.name === 'Device.DeviceInfo.UpTime')).toBe(false);
    // ...and once it moves on, it is reported again.
    h.tick(3000);
    h.cwmp.raise(0, EV.PERIODIC);
    await h.acs.waitFor(() => h!.acs.sessions[3]?.ended === true);
    expect(eventCodes(h.acs.sessions[3]!)).toEqual(['2 PERIODIC', '4 VALUE CHANGE']);
    expect(h.acs.sessions[3]!.inform.params.find((p) => p.name === 'Device.DeviceInfo.UpTime')?.value).toBe('23');
  });

  it('active (2): a change opens a session by itself', async () => {
    h = await provisioned([spa(LEASE, 2)]);
    h.tick(6000); // the shard's scan runs every 5 s
    await h.acs.waitFor(() => h!.acs.sessions[1]?.ended === true, 10_000, 'active notification session');
    const inf = h.acs.sessions[1]!.inform;
    expect(eventCodes(h.acs.sessions[1]!)).toEqual(['4 VALUE CHANGE']);
    expect(Number(inf.params.find((p) => p.name === LEASE)?.value)).toBeGreaterThan(0);
  });

  it('active notification waits out DefaultActiveNotificationThrottle since the last session', async () => {
    h = await provisioned([
      { method: 'SetParameterValues', params: [{ name: 'Device.ManagementServer.DefaultActiveNotificationThrottle', value: '60', type: 'unsignedInt' }], parameterKey: 't' },
      spa(LEASE, 2),
    ]);
    const ended = h.clock.now();
    h.tick(30_000);
    await settle(h);
    expect(h.acs.sessions).toHaveLength(1);
    h.tick(ended + 60_000 - h.clock.now());
    await h.acs.waitFor(() => h!.acs.sessions[1]?.ended === true, 10_000, 'throttled session');
    expect(eventCodes(h.acs.sessions[1]!)).toEqual(['4 VALUE CHANGE']);
  });

  it('changes made by the ACS itself do not notify', async () => {
    let round = 0;
    h = await provisioned([spa('Device.WiFi.SSID.1.SSID', 2)], () =>
      ++round === 1 ? [{ method: 'SetParameterValues', params: [{ name: 'Device.WiFi.SSID.1.SSID', value: 'acs-chose-this', type: 'string' }], parameterKey: 'x' }] : undefined,
    );
    h.cwmp.raise(0, EV.PERIODIC);
    await h.acs.waitFor(() => h!.acs.sessions[1]?.ended === true);
    h.tick(30_000);
    await settle(h);
    expect(h.acs.sessions).toHaveLength(2);
    h.cwmp.raise(0, EV.PERIODIC);
    await h.acs.waitFor(() => h!.acs.sessions[2]?.ended === true);
    expect(eventCodes(h.acs.sessions[2]!)).toEqual(['2 PERIODIC']);
  });

  it('costs nothing for CPEs whose attributes nobody set', async () => {
    h = await startHarness({ cpes: 50 });
    h.tick();
    await h.acs.waitFor(() => h!.acs.sessions.filter((s) => s.ended).length === 50, 10_000, 'bootstraps');
    expect(h.cwmp.notifications.watchedCpes).toBe(0);
    expect(h.shard.device.extras.size).toBe(0);
  });
});
