// CpeView.resolve keeps, per template, the nodes of parameters outside every table (they
// resolve the same for every CPE): reads through it must answer exactly as the walk does,
// per CPE, before and after writes, and rows stay each CPE's own.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startHarness, type Harness } from './helpers/harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ cpes: 2 });
});
afterAll(async () => {
  await h.stop();
});

describe('the view path cache', () => {
  it('reads every parameter of two CPEs of one template as the tree walk gives it, on a first and a cached second read', () => {
    for (const l of [0, 1]) {
      const v = h.shard.view(l);
      const refs = v.params(undefined);
      expect(refs.length).toBeGreaterThan(100);
      for (let pass = 0; pass < 2; pass++) {
        for (const ref of refs) expect([ref.path, v.get(ref.path)]).toEqual([ref.path, v.rawValue(ref.node, ref.path, ref.inst)]);
      }
    }
    // Per-CPE values behind the same cached node: each CPE keeps its own serial number.
    const serial = 'Device.DeviceInfo.SerialNumber';
    expect(h.shard.view(0).get(serial)).not.toBe(h.shard.view(1).get(serial));
  });

  it('gives a write on one CPE to that CPE alone, and keeps table rows per CPE', () => {
    const path = 'Device.ManagementServer.PeriodicInformInterval';
    const v0 = h.shard.view(0);
    const v1 = h.shard.view(1);
    const before = v0.get(path);
    expect(v1.get(path)).toBe(before);
    expect(v1.deviceSet(path, '77')).toBe(true);
    expect(v1.get(path)).toBe('77');
    expect(v0.get(path)).toBe(before);
    // A row only CPE 1 has: its parameters resolve there, not on CPE 0, however often asked.
    const n = v1.deviceAddRow('Device.NAT.PortMapping.', {})!;
    expect(n).toBeGreaterThan(0);
    const rowParam = `Device.NAT.PortMapping.${n}.Enable`;
    for (let pass = 0; pass < 2; pass++) {
      expect(v1.get(rowParam)).toBeDefined();
      expect(v0.get(rowParam)).toBeUndefined();
    }
    expect(v1.deviceDeleteRow(`Device.NAT.PortMapping.${n}.`)).toBe(true);
    expect(v1.get(rowParam)).toBeUndefined();
    // Objects and paths outside the tree are not parameters, cached or not.
    for (let pass = 0; pass < 2; pass++) {
      expect(v0.get('Device.ManagementServer.')).toBeUndefined();
      expect(v0.get('Device.ManagementServer.NoSuchThing')).toBeUndefined();
      expect(v0.get('InternetGatewayDevice.ManagementServer.PeriodicInformInterval')).toBeUndefined();
    }
    // A path given as a slice of a longer string (as a SOAP body's names are) reads the same.
    const body = `<Name>${path}</Name>`.repeat(2);
    expect(v1.get(body.slice(6, 6 + path.length))).toBe('77');
  });
});
