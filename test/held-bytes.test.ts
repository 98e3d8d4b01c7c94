// What a shard holds per CPE (the typed arrays that grow with N), pinned: the same before
// and after the fleet has bootstrapped, so a fleet of ten million fits in 40 bytes a CPE.
// And the compact due times (src/scheduler/times.ts) keep exact timings past the range of
// a Uint32 of ms: a periodic interval of 60 days, and daily Informs across an epoch rebase.
import { afterEach, describe, expect, it } from '@jest/globals';
import { atBootstrap, eventCodes, spv, startHarness, until, type Harness } from './helpers/harness.js';

const DAY = 86_400_000;

describe('per-CPE bytes of a shard', () => {
  const open: Harness[] = [];
  afterEach(async () => {
    for (const h of open.splice(0)) await h.stop();
  });

  const start = async (cpes: number, udp = false): Promise<Harness> => {
    const h = await startHarness({ cpes, maxSessions: 64, ...(udp ? { udpCr: { host: '127.0.0.1', port: 0, advertiseHost: '127.0.0.1' } } : {}) });
    open.push(h);
    return h;
  };

  it('holds 34 bytes per CPE of the full profile, the same after every CPE has bootstrapped', async () => {
    const small = await start(200);
    const large = await start(400);
    // The slope between two fleet sizes: what one more CPE costs, fixed parts (event ring, heap slack) aside.
    const perCpe = (large.shard.heldBytes() - small.shard.heldBytes()) / 200;
    expect(perCpe).toBe(34);
    expect(perCpe).toBeLessThanOrEqual(40);

    const before = large.shard.heldBytes();
    large.tick();
    await large.acs.waitFor(() => large.acs.sessions.filter((s) => s.ended).length === 400, 30_000, '400 bootstrap sessions');
    await until(() => large.shard.stateCountsByName().ready === 400, 10_000, 'all ready');
    for (let l = 0; l < 400; l++) expect(large.cwmp.periodicDueAt(l)).toBeGreaterThan(large.clock.now());
    expect(large.acs.sessions.every((s) => eventCodes(s).includes('0 BOOTSTRAP'))).toBe(true);
    // Booted CPEs each hold a periodic timer entry: the scheduler was sized for them.
    expect(large.shard.heldBytes()).toBe(before);
  });

  it('adds 16 bytes per CPE for the UDP connection-request endpoint and its STUN client (--udp-cr-bind-addr)', async () => {
    const small = await start(200, true);
    const large = await start(400, true);
    expect(large.shard.udp).toBeDefined();
    expect((large.shard.heldBytes() - small.shard.heldBytes()) / 200).toBe(34 + 16);
  });
});

describe('due times beyond a Uint32 of ms', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.stop();
    h = undefined;
  });

  it('informs after a 60-day PeriodicInformInterval, at the due time to the ms', async () => {
    h = await startHarness({
      cpes: 1,
      random: () => 0.5,
      acs: { script: atBootstrap(spv('k', ['Device.ManagementServer.PeriodicInformInterval', String(60 * 86_400), 'unsignedInt'])) },
    });
    h.tick();
    await h.acs.waitFor(() => h!.acs.sessions[0]?.ended === true, 10_000, 'bootstrap session');
    await until(() => h!.shard.lifecycle(0) === 'ready');
    const due = h.cwmp.periodicDueAt(0);
    // 60 days with ±10% jitter, pinned at the middle: past 2^32 ms from the shard's epoch.
    expect(due - h.clock.now()).toBe(60 * DAY);
    h.tick(due - h.clock.now() - 1);
    expect(h.cwmp.activeSessions).toBe(0);
    h.tick(1);
    // Fired at the due ms: the session is running.
    expect(h.cwmp.activeSessions).toBe(1);
    await h.acs.waitFor(() => h!.acs.sessions[1]?.ended === true, 10_000, 'periodic session');
    expect(eventCodes(h.acs.sessions[1]!)).toEqual(['2 PERIODIC']);
    expect(Date.parse(h.acs.sessions[1]!.inform.currentTime)).toBe(due - (due % 1000));
  });

  it('keeps daily Informs on time across 60 days (the epoch moves at ~24.8 days)', async () => {
    h = await startHarness({
      cpes: 1,
      random: () => 0.5,
      acs: { script: atBootstrap(spv('k', ['Device.ManagementServer.PeriodicInformInterval', '86400', 'unsignedInt'])) },
    });
    const epoch = h.shard.timeBase.epoch;
    h.tick();
    await h.acs.waitFor(() => h!.acs.sessions[0]?.ended === true, 10_000, 'bootstrap session');
    await until(() => h!.shard.lifecycle(0) === 'ready');
    for (let k = 1; k <= 60; k++) {
      const due = h.cwmp.periodicDueAt(0);
      expect(due - h.clock.now()).toBe(DAY);
      h.tick(due - h.clock.now());
      await h.acs.waitFor(() => h!.acs.sessions[k]?.ended === true, 10_000, `periodic session ${k}`);
      expect(eventCodes(h.acs.sessions[k]!)).toEqual(['2 PERIODIC']);
      expect(Date.parse(h.acs.sessions[k]!.inform.currentTime)).toBe(due - (due % 1000));
      await until(() => h!.cwmp.periodicDueAt(0) > h!.clock.now(), 5000, 'next periodic planned');
    }
    expect(h.acs.sessions).toHaveLength(61);
    // The epoch moved (twice: ~24.8 and ~49.6 days in), and no Inform came late or early.
    expect(h.shard.timeBase.epoch).toBeGreaterThan(epoch + 40 * DAY);
  });
});
