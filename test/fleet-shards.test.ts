import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { loadConfig } from '../src/config/load.js';
import { Coordinator, partition, shardOf } from '../src/coordinator/coordinator.js';
import { startFleet, type Fleet } from '../src/coordinator/fleet.js';
import { createLogger } from '../src/log.js';
import { MockAcs } from '../src/mock-acs/mock-acs.js';
import { CpeView } from '../src/datamodel/view.js';
import { compileProfile } from '../src/profile/compile.js';
import { loadProfile } from '../src/profile/load.js';
import { FleetEnv } from '../src/shard/fleet-env.js';
import { eventCodes, exampleProfile } from './helpers/harness.js';

describe('partitioning by arithmetic', () => {
  it('splits [offset, offset + n) into contiguous ranges and finds a CPE\'s shard without a table', () => {
    const plan = { fleetOffset: 1000, cpes: 10, shards: 3 };
    expect(partition(plan)).toEqual([
      { lo: 1000, hi: 1004 },
      { lo: 1004, hi: 1008 },
      { lo: 1008, hi: 1010 },
    ]);
    const ranges = partition(plan);
    for (let cpe = 1000; cpe < 1010; cpe++) {
      const s = shardOf(plan, cpe)!;
      expect(cpe >= ranges[s]!.lo && cpe < ranges[s]!.hi).toBe(true);
    }
    expect(shardOf(plan, 999)).toBeUndefined();
    expect(shardOf(plan, 1010)).toBeUndefined();
    expect(partition({ fleetOffset: 0, cpes: 1, shards: 4 })).toEqual([{ lo: 0, hi: 1 }]);
  });
});

describe('a shard that cannot start', () => {
  it('fails start() with the shard\'s error, and stop() still returns', async () => {
    const c = new Coordinator(
      {
        fleetOffset: 0,
        fleetSize: 4,
        seed: 1,
        profileDir: '/nonexistent/profile',
        acs: { url: 'http://127.0.0.1:9/', username: '', password: '', timeoutMs: 1000, sessionTimeoutMs: 600_000, caFile: undefined },
        maxSessions: 4,
        cwmp: true,
        bootRamp: { mode: 'none' },
        startAt: Date.now(),
        cr: { baseUrl: 'http://127.0.0.1:9', secret: 's', rateLimit: { count: 1, periodSec: 1 } },
        logLevel: 'silent',
        logFormat: 'json',
      },
      2,
    );
    await expect(c.start()).rejects.toThrow(/no such folder/);
    await expect(c.stats()).resolves.toMatchObject({ states: { new: 0, bootstrapping: 0, ready: 0, failed: 0 } });
    await expect(c.connectionRequest(0, { method: 'GET', url: '/cr/0/x', authorization: undefined })).rejects.toThrow(/shard 0/);
    await c.stop();
  });
});

describe('a fleet on two worker-thread shards against the mock ACS', () => {
  let fleet: Fleet;
  let acs: MockAcs;
  const cpes = 40;
  const offset = 500;

  beforeAll(async () => {
    acs = new MockAcs();
    await acs.listen();
    const cfg = loadConfig({
      flags: {
        profile: exampleProfile,
        acsUrl: acs.url,
        cpes: String(cpes),
        fleetOffset: String(offset),
        shards: '2',
        bootRamp: '0',
        crBindAddr: '127.0.0.1:0',
        crSecret: 'fleet-test',
        logLevel: 'silent',
      },
      env: {},
    });
    fleet = await startFleet(cfg, createLogger('silent', 'json'));
  });

  afterAll(async () => {
    await fleet?.stop();
    await acs.close();
  });

  it('bootstraps every CPE, with CPEs on both shards and distinct serials', async () => {
    await acs.waitFor(() => acs.sessions.filter((s) => s.ended).length >= cpes, 20_000, 'all bootstraps');
    expect(fleet.coordinator.shardCount).toBe(2);
    const serials = new Set(acs.sessions.map((s) => s.inform.deviceId.serialNumber));
    expect(serials.size).toBe(cpes);
    expect(acs.sessions.every((s) => eventCodes(s).join() === '0 BOOTSTRAP,1 BOOT')).toBe(true);
    let stats = await fleet.coordinator.stats();
    for (let i = 0; i < 50 && stats.states.ready < cpes; i++) {
      await new Promise((r) => setTimeout(r, 100));
      stats = await fleet.coordinator.stats();
    }
    expect(stats.states).toEqual({ new: 0, bootstrapping: 0, ready: cpes, failed: 0 });
    expect(stats.bootstraps).toBe(cpes);
    const first = await fleet.coordinator.inspect(offset);
    const last = await fleet.coordinator.inspect(offset + cpes - 1);
    expect(first?.lifecycleState).toBe('ready');
    expect(last?.lifecycleState).toBe('ready');
    expect(first?.serial).not.toBe(last?.serial);
    expect(await fleet.coordinator.inspect(offset + cpes)).toBeNull();
  });

  it('routes a connection request through the main-thread listener to the owning shard', async () => {
    // The fleet's CR credentials are derived from (seed, index): rebuild them here, in this thread.
    const profile = loadProfile(exampleProfile);
    const template = compileProfile(profile);
    const env = new FleetEnv(profile, template, 1, fleet.crBaseUrl, 'fleet-test', { url: acs.url, username: '', password: '' });
    for (const cpe of [offset, offset + cpes - 1]) {
      const summary = (await fleet.coordinator.inspect(cpe))!;
      const inform = acs.sessions.find((s) => s.inform.deviceId.serialNumber === summary.serial)!.inform;
      const crUrl = inform.params.find((p) => p.name === 'Device.ManagementServer.ConnectionRequestURL')!.value;
      expect(crUrl).toBe(summary.crUrl);
      expect(crUrl).toBe(env.crUrl(cpe));
      const view = new CpeView(template, env.context(cpe, Date.now(), Date.now()), undefined);
      const user = view.get('Device.ManagementServer.ConnectionRequestUsername')!;
      const pass = view.get('Device.ManagementServer.ConnectionRequestPassword')!;
      expect((await MockAcs.connectionRequest(crUrl, user, 'guess')).status).toBe(401);
      const before = acs.sessions.length;
      expect((await MockAcs.connectionRequest(crUrl, user, pass)).status).toBe(200);
      await acs.waitFor(() => acs.sessions.length > before && acs.sessions.at(-1)!.ended, 10_000, 'CR session');
      const s = acs.sessions.at(-1)!;
      expect(s.inform.deviceId.serialNumber).toBe(summary.serial);
      expect(eventCodes(s)).toEqual(['6 CONNECTION REQUEST']);
    }
  });

  it('answers 404 for a CPE outside the fleet', async () => {
    const r = await MockAcs.connectionRequest(`${fleet.crBaseUrl}/cr/${offset + cpes}/00`, 'x', 'y');
    expect(r.status).toBe(404);
  });
});
