// The same seed rebuilds the same fleet value for value (src/util/hash.ts): every value a
// CPE has outside its overlay is a pure function of (seed, index, parameter, time).
import { describe, expect, it } from '@jest/globals';
import type { ParameterValue } from '../src/cwmp/types.js';
import { getParameterNames, getParameterValues } from '../src/cwmp/rpc/params.js';
import { CpeView } from '../src/datamodel/view.js';
import { compileProfile } from '../src/profile/compile.js';
import { loadProfile } from '../src/profile/load.js';
import { FleetEnv } from '../src/shard/fleet-env.js';
import { exampleProfile } from './helpers/harness.js';

const BOOT = Date.UTC(2025, 0, 15, 8, 0, 0);
const NOW = BOOT + 3_600_000 + 250; // one hour (and a quarter second) after boot
const ACS = { url: 'http://acs.example:7547/cwmp', username: 'fleet', password: 'fleet-pw' };
const CR_BASE = 'http://127.0.0.1:7548';
const CR_SECRET = 'determinism-secret';
const INDICES = [0, 1, 2, 7, 42, 999, 65_536, 1_234_567];

const WAN_MAC = 'Device.Ethernet.Interface.1.MACAddress';
const WAN_IPV4 = 'Device.IP.Interface.1.IPv4Address.1.IPAddress';
const WAN_IPV6 = 'Device.IP.Interface.1.IPv6Address.1.IPAddress';
const SERIAL = 'Device.DeviceInfo.SerialNumber';
const UPTIME = 'Device.DeviceInfo.UpTime';
const BYTES_SENT = 'Device.Ethernet.Interface.1.Stats.BytesSent';
const IP_BYTES_SENT = 'Device.IP.Interface.1.Stats.BytesSent';
const SSID = 'Device.WiFi.SSID.1.SSID';

/** A FleetEnv built from scratch: its own profile read and its own compiled template. */
function freshEnv(seed: number, serialPattern?: string, crSecret = CR_SECRET): FleetEnv {
  const spec = loadProfile(exampleProfile);
  if (serialPattern) spec.identity.serialPattern = serialPattern;
  return new FleetEnv(spec, compileProfile(spec), seed, CR_BASE, crSecret, ACS);
}

const view = (env: FleetEnv, index: number, now = NOW, bootAt = BOOT) => new CpeView(env.template, env.context(index, now, bootAt), undefined);

function all(env: FleetEnv, index: number, now = NOW, bootAt = BOOT): ParameterValue[] {
  const r = getParameterValues(view(env, index, now, bootAt), ['']);
  if (!r.ok) throw new Error(`GetParameterValues failed: ${r.fault.message}`);
  return r.value;
}

function read(env: FleetEnv, index: number, path: string, now = NOW, bootAt = BOOT): string {
  const v = view(env, index, now, bootAt).get(path);
  if (v === undefined) throw new Error(`${path} does not exist for CPE ${index}`);
  return v;
}

/** A concrete name with its row numbers replaced by {i}. */
const schemaName = (name: string) => name.replace(/\.\d+(?=\.|$)/g, '.{i}');

describe('same seed, same fleet', () => {
  const a = freshEnv(7);
  const b = freshEnv(7);

  it.each(INDICES)('CPE %i: every parameter value is identical across two separately built envs', (index) => {
    const va = all(a, index);
    const vb = all(b, index);
    expect(va.length).toBeGreaterThanOrEqual(400);
    expect(vb).toEqual(va);
  });

  it('identity, connection-request URL and derived values match', () => {
    for (const i of INDICES) {
      expect(b.identity(i)).toEqual(a.identity(i));
      expect(b.crUrl(i)).toBe(a.crUrl(i));
      for (const p of [SERIAL, WAN_MAC, WAN_IPV4, WAN_IPV6, SSID, UPTIME, BYTES_SENT]) expect(read(b, i, p)).toBe(read(a, i, p));
    }
  });

  it('getParameterNames agree too', () => {
    for (const i of [0, 42]) {
      const na = getParameterNames(view(a, i), '', false);
      const nb = getParameterNames(view(b, i), '', false);
      expect(na.ok && nb.ok).toBe(true);
      expect(nb).toEqual(na);
    }
  });

  it('the connection-request URL depends on the secret, not on the seed', () => {
    const otherSecret = freshEnv(7, undefined, 'another-secret');
    const otherSeed = freshEnv(8);
    expect(otherSecret.crUrl(3)).not.toBe(a.crUrl(3));
    expect(otherSeed.crUrl(3)).toBe(a.crUrl(3));
    expect(a.crUrl(3)).toMatch(/^http:\/\/127\.0\.0\.1:7548\/cr\/3\/[0-9a-f]{24}$/);
  });
});

describe('a different seed', () => {
  const s1 = freshEnv(1);
  const s2 = freshEnv(2);

  it('changes drawn values (hex(), counter rates) at the same index and time', () => {
    for (const i of INDICES) {
      expect(read(s2, i, SSID)).not.toBe(read(s1, i, SSID));
      expect(read(s2, i, BYTES_SENT)).not.toBe(read(s1, i, BYTES_SENT));
      expect(read(s2, i, IP_BYTES_SENT)).not.toBe(read(s1, i, IP_BYTES_SENT));
    }
    // ...and most of the values of a CPE that are drawn at all
    const v1 = new Map(all(s1, 5).map((p) => [p.name, p.value]));
    const changed = all(s2, 5).filter((p) => v1.has(p.name) && v1.get(p.name) !== p.value);
    expect(changed.length).toBeGreaterThanOrEqual(50);
  });

  it('changes serials drawn with {hex:N}', () => {
    const h1 = freshEnv(1, 'CS{hex:6}-{index:08}');
    const h2 = freshEnv(2, 'CS{hex:6}-{index:08}');
    const h1again = freshEnv(1, 'CS{hex:6}-{index:08}');
    for (const i of INDICES) {
      expect(read(h1, i, SERIAL)).toMatch(new RegExp(`^CS[0-9A-F]{6}-${String(i).padStart(8, '0')}$`));
      expect(read(h2, i, SERIAL)).not.toBe(read(h1, i, SERIAL));
      expect(read(h1again, i, SERIAL)).toBe(read(h1, i, SERIAL));
    }
  });

  it('keeps index-derived identity: {index} serials, MAC blocks and pool addresses (docs/profiles.md)', () => {
    for (const i of INDICES) {
      expect(read(s2, i, SERIAL)).toBe(`CS${String(i).padStart(8, '0')}`);
      expect(read(s2, i, SERIAL)).toBe(read(s1, i, SERIAL));
      expect(read(s2, i, WAN_MAC)).toBe(read(s1, i, WAN_MAC));
      expect(read(s2, i, WAN_IPV4)).toBe(read(s1, i, WAN_IPV4));
    }
  });

  it('keeps the parameter names (row counts of {min, max} tables aside) and their types', () => {
    for (const i of INDICES) {
      const p1 = all(s1, i);
      const p2 = all(s2, i);
      // the same schema
      expect(new Set(p2.map((p) => schemaName(p.name)))).toEqual(new Set(p1.map((p) => schemaName(p.name))));
      // outside the tables whose row count is drawn per CPE, the very same names and types
      const fixedRows = (p: ParameterValue) => !/^Device\.(Hosts\.Host\.|WiFi\.AccessPoint\.\d+\.AssociatedDevice\.)/.test(p.name) && !/^Device\.Hosts\.HostNumberOfEntries$|AssociatedDeviceNumberOfEntries$/.test(p.name);
      expect(p2.filter(fixedRows).map((p) => [p.name, p.type])).toEqual(p1.filter(fixedRows).map((p) => [p.name, p.type]));
    }
  });

  it('draws the row count of {min, max} tables from the seed, within bounds', () => {
    const counts = (env: FleetEnv) => INDICES.map((i) => Number(read(env, i, 'Device.Hosts.HostNumberOfEntries')));
    const c1 = counts(s1);
    const c2 = counts(s2);
    for (const c of [...c1, ...c2]) {
      expect(c).toBeGreaterThanOrEqual(2);
      expect(c).toBeLessThanOrEqual(6);
    }
    expect(counts(freshEnv(1))).toEqual(c1);
    expect(c2).not.toEqual(c1);
  });
});

describe('distinct CPEs', () => {
  const env = freshEnv(1);
  const N = 2000;

  it(`${N} CPEs have distinct serials, WAN MACs, WAN IPv4 and IPv6 addresses`, () => {
    const serials = new Set<string>();
    const macs = new Set<string>();
    const v4 = new Set<string>();
    const v6 = new Set<string>();
    const crUrls = new Set<string>();
    for (let i = 0; i < N; i++) {
      const v = view(env, i);
      serials.add(v.get(SERIAL)!);
      macs.add(v.get(WAN_MAC)!);
      v4.add(v.get(WAN_IPV4)!);
      v6.add(v.get(WAN_IPV6)!);
      crUrls.add(v.get('Device.ManagementServer.ConnectionRequestURL')!);
    }
    for (const s of [serials, macs, v4, v6, crUrls]) expect(s.size).toBe(N);
    for (const m of macs) expect(m).toMatch(/^([0-9A-F]{2}:){5}[0-9A-F]{2}$/);
    // 100.64.0.0/10
    for (const ip of v4) {
      const [o1, o2] = ip.split('.').map(Number) as [number, number];
      expect(o1).toBe(100);
      expect(o2 >= 64 && o2 < 128).toBe(true);
    }
  });

  it('the MAC blocks of neighbouring CPEs do not overlap (all Ethernet and Wi-Fi MACs of 500 CPEs)', () => {
    const seen = new Map<string, string>();
    for (let i = 0; i < 500; i++) {
      const v = view(env, i);
      const paths = [1, 2, 3, 4].map((k) => `Device.Ethernet.Interface.${k}.MACAddress`).concat(['Device.WiFi.SSID.1.BSSID', 'Device.WiFi.SSID.2.BSSID']);
      for (const p of paths) {
        const mac = v.get(p)!;
        const key = `${i}:${p}`;
        expect(seen.get(mac) ?? key).toBe(key);
        seen.set(mac, key);
      }
    }
    expect(seen.size).toBe(500 * 6);
  });
});

describe('moving values', () => {
  const env = freshEnv(3);

  it('change with time and are monotonic after boot (UpTime, BytesSent counters)', () => {
    for (const i of [0, 17, 4242]) {
      let prev: Record<string, number> | undefined;
      for (let s = 1; s <= 7200; s = Math.ceil(s * 1.7)) {
        const t = BOOT + s * 1000 + 500;
        const cur = { up: Number(read(env, i, UPTIME, t)), eth: Number(read(env, i, BYTES_SENT, t)), ip: Number(read(env, i, IP_BYTES_SENT, t)) };
        expect(cur.up).toBe(s);
        if (prev) {
          expect(cur.up).toBeGreaterThan(prev.up!);
          expect(cur.eth).toBeGreaterThan(prev.eth!);
          expect(cur.ip).toBeGreaterThan(prev.ip!);
        }
        prev = cur;
      }
    }
  });

  it('differ between two times after boot, for the same CPE', () => {
    const t1 = BOOT + 60_000;
    const t2 = BOOT + 600_000;
    expect(read(env, 9, UPTIME, t1)).toBe('60');
    expect(read(env, 9, UPTIME, t2)).toBe('600');
    expect(Number(read(env, 9, BYTES_SENT, t2))).toBeGreaterThan(Number(read(env, 9, BYTES_SENT, t1)));
    // a counter starts from 0 at boot (and before it)
    expect(read(env, 9, BYTES_SENT, BOOT)).toBe('0');
    expect(read(env, 9, UPTIME, BOOT - 5000)).toBe('0');
  });

  it('restart from zero after a reboot (same time, later bootAt)', () => {
    const t = BOOT + 3_600_000;
    const rebootAt = t - 30_000;
    expect(read(env, 4, UPTIME, t, rebootAt)).toBe('30');
    expect(Number(read(env, 4, BYTES_SENT, t, rebootAt))).toBeLessThan(Number(read(env, 4, BYTES_SENT, t, BOOT)));
  });

  it('are pure: the same time gives the same value, whatever was read before', () => {
    const t1 = BOOT + 123_456;
    const t2 = BOOT + 987_654;
    const first = all(env, 11, t1);
    all(env, 11, t2); // read other times in between
    read(env, 11, BYTES_SENT, t2 + 1);
    expect(all(env, 11, t1)).toEqual(first);
    expect(all(freshEnv(3), 11, t1)).toEqual(first);
    // one view read twice
    const v = view(env, 11, t2);
    for (const p of [UPTIME, BYTES_SENT, 'Device.DeviceInfo.ProcessStatus.CPUUsage', 'Device.DeviceInfo.MemoryStatus.Free']) {
      expect(v.get(p)).toBe(v.get(p));
    }
    // and something did move between t1 and t2
    const later = new Map(all(env, 11, t2).map((p) => [p.name, p.value]));
    expect(first.filter((p) => later.get(p.name) !== p.value).length).toBeGreaterThanOrEqual(20);
  });
});
