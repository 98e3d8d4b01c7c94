import { afterEach, describe, expect, it } from '@jest/globals';
import { EV } from '../src/cwmp/events.js';
import { atBootstrap, eventCodes, spv, startHarness, until, type Harness } from './helpers/harness.js';
import { settle } from './helpers/settle.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

describe('Inform on the wire', () => {
  it('bootstraps with 0 BOOTSTRAP + 1 BOOT, DeviceId, forced-inform parameters with xsi:types, and RetryCount 0', async () => {
    h = await startHarness({ cpes: 1 });
    h.tick();
    await h.acs.waitFor(() => h!.acs.sessions.some((s) => s.ended), 10_000, 'bootstrap session end');
    const s = h.acs.sessions[0]!;
    expect(eventCodes(s)).toEqual(['0 BOOTSTRAP', '1 BOOT']);
    expect(s.inform.retryCount).toBe(0);
    expect(s.inform.maxEnvelopes).toBe(1);
    const id = h.shard.env.identity(0);
    expect(s.inform.deviceId).toEqual({ manufacturer: id.manufacturer, oui: id.oui, productClass: id.productClass, serialNumber: id.serial });
    expect(s.inform.deviceId.oui).toMatch(/^[0-9A-F]{6}$/);
    const names = s.inform.params.map((p) => p.name);
    for (const n of [
      'Device.RootDataModelVersion',
      'Device.DeviceInfo.HardwareVersion',
      'Device.DeviceInfo.SoftwareVersion',
      'Device.DeviceInfo.ProvisioningCode',
      'Device.ManagementServer.ParameterKey',
      'Device.ManagementServer.ConnectionRequestURL',
    ]) {
      expect(names).toContain(n);
    }
    for (const p of s.inform.params) expect(p.type).toBeDefined();
    const crUrl = s.inform.params.find((p) => p.name === 'Device.ManagementServer.ConnectionRequestURL')!.value;
    expect(crUrl).toBe(h.shard.env.crUrl(0));
    // Raw wire details the parser would smooth over.
    const raw = s.raw[0]!;
    expect(raw).toContain('urn:dslforum-org:cwmp-1-2');
    expect(raw).toMatch(/<Event soap-enc:arrayType="cwmp:EventStruct\[2\]">/);
    expect(raw).toMatch(/<Value xsi:type="xsd:string">/);
    // Every CPE request carries its own cwmp:ID, mustUnderstand (TR-069 3.5), as firmware does.
    const idOf = (body: string) => /<cwmp:ID soap-env:mustUnderstand="1">(\d+)<\/cwmp:ID>/.exec(body)?.[1];
    const informId = idOf(raw);
    const rpcId = idOf(s.raw[1]!);
    expect(informId).toBeDefined();
    expect(rpcId).toBeDefined();
    expect(rpcId).not.toBe(informId);
    // The empty POST carries nothing.
    expect(s.raw[2]).toBe('');
    expect(Date.parse(s.inform.currentTime)).toBe(h.clock.now() - (h.clock.now() % 1000));
    // icwmp-style: a bootstrap session asks for the ACS's methods, then the empty POST ends it.
    expect(s.messages.map((m) => m.message.method)).toEqual(['GetRPCMethods', 'Empty']);
    expect(s.cookieSeen).toBe(true);
    await until(() => h!.shard.lifecycle(0) === 'ready', 5000, 'ready');
  });

  it('informs 2 PERIODIC within ±10% of PeriodicInformInterval and no second BOOTSTRAP', async () => {
    h = await startHarness({ cpes: 1 });
    const t0 = h.clock.now();
    h.tick();
    await h.acs.waitFor(() => h!.acs.sessions[0]?.ended === true);
    await until(() => h!.shard.lifecycle(0) === 'ready');
    const due = h.cwmp.periodicDueAt(0);
    const interval = Number(h.shard.view(0).get('Device.ManagementServer.PeriodicInformInterval')) * 1000;
    expect(due - t0).toBeGreaterThanOrEqual(interval * 0.9);
    expect(due - t0).toBeLessThanOrEqual(interval * 1.1);
    h.tick(due - h.clock.now());
    await h.acs.waitFor(() => h!.acs.sessions[1]?.ended === true);
    expect(eventCodes(h.acs.sessions[1]!)).toEqual(['2 PERIODIC']);
    expect(h.acs.sessions[1]!.messages.map((m) => m.message.method)).toEqual(['Empty']);
  });

  it('anchors periodic informs to PeriodicInformTime when the ACS sets it (TR-069 3.2.1.2)', async () => {
    const anchor = '2030-06-01T00:00:07Z';
    h = await startHarness({
      cpes: 1,
      acs: {
        script: atBootstrap(spv('k1', ['Device.ManagementServer.PeriodicInformTime', anchor, 'dateTime'], ['Device.ManagementServer.PeriodicInformInterval', '60', 'unsignedInt'])),
      },
    });
    h.tick();
    await h.acs.waitFor(() => h!.acs.sessions[0]?.ended === true);
    await until(() => h!.shard.lifecycle(0) === 'ready');
    // At once, not after the old schedule: the next inform keeps the phase Time + k*60s,
    // even though Time is in the future.
    const next = h.cwmp.periodicDueAt(0);
    expect(Math.abs((next - Date.parse(anchor)) % 60_000)).toBe(0);
    expect(next - h.clock.now()).toBeLessThanOrEqual(60_000);
    expect(next).toBeGreaterThan(h.clock.now());
    h.tick(next - h.clock.now());
    await h.acs.waitFor(() => h!.acs.sessions[1]?.ended === true);
    expect(eventCodes(h.acs.sessions[1]!)).toEqual(['2 PERIODIC']);
    await until(() => h!.cwmp.periodicDueAt(0) === next + 60_000);
  });

  it('defers a trigger that arrives during a session and runs it after (never dropped)', async () => {
    h = await startHarness({ cpes: 1 });
    h.tick();
    // Raise PERIODIC while the bootstrap session is in flight.
    h.cwmp.raise(0, EV.PERIODIC);
    await h.acs.waitFor(() => h!.acs.sessions.length >= 2 && h!.acs.sessions[1]!.ended, 10_000, 'deferred session');
    expect(eventCodes(h.acs.sessions[0]!)).toEqual(['0 BOOTSTRAP', '1 BOOT']);
    expect(eventCodes(h.acs.sessions[1]!)).toEqual(['2 PERIODIC']);
  });

  it('stops periodic informs when PeriodicInformEnable goes false and resumes when it comes back', async () => {
    const set = (v: string) => ({ method: 'SetParameterValues' as const, params: [{ name: 'Device.ManagementServer.PeriodicInformEnable', value: v, type: 'boolean' as const }], parameterKey: v });
    let next: string | undefined = 'false';
    h = await startHarness({ acs: { script: () => (next ? [set(next)] : undefined) } });
    h.tick();
    await h.acs.waitFor(() => h!.acs.sessions[0]?.ended === true);
    await until(() => h!.shard.lifecycle(0) === 'ready');
    expect(h.cwmp.periodicDueAt(0)).toBe(0);
    h.tick(10 * 86400_000);
    await settle(h);
    expect(h.acs.sessions).toHaveLength(1);
    next = 'true';
    h.cwmp.raise(0, EV.CONNECTION_REQUEST);
    await h.acs.waitFor(() => h!.acs.sessions[1]?.ended === true);
    next = undefined;
    await until(() => h!.cwmp.periodicDueAt(0) > h!.clock.now(), 5000, 'rescheduled');
    h.tick(h.cwmp.periodicDueAt(0) - h.clock.now());
    await h.acs.waitFor(() => h!.acs.sessions[2]?.ended === true);
    expect(eventCodes(h.acs.sessions[2]!)).toEqual(['2 PERIODIC']);
  });

  it('sends 0 BOOTSTRAP to a new ACS after ManagementServer.URL changes', async () => {
    const { MockAcs } = await import('../src/mock-acs/mock-acs.js');
    const second = new MockAcs();
    const url2 = await second.listen();
    try {
      h = await startHarness({
        acs: { script: atBootstrap(spv('move', ['Device.ManagementServer.URL', url2, 'string'])) },
      });
      h.tick();
      await second.waitFor(() => second.sessions[0]?.ended === true, 10_000, 'bootstrap at the new ACS');
      expect(eventCodes(second.sessions[0]!)).toEqual(['0 BOOTSTRAP']);
      await settle(h);
      expect(h.acs.sessions).toHaveLength(1);
    } finally {
      await second.close();
    }
  });
});
