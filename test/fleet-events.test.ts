// Fleet events on a shard's CPEs (docs/scenarios.md), seen on the wire at the mock ACS:
// power on along a ramp, power cuts, reboot and factory-reset waves, a new periodic interval.
import { afterEach, describe, expect, it } from '@jest/globals';
import type { FleetEvent } from '../src/scenario/model.js';
import { isMember } from '../src/scenario/target.js';
import { events, startHarness, until, type Harness } from './helpers/harness.js';
import { settle } from './helpers/settle.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

const apply = (ev: FleetEvent, at = h!.clock.now()) => h!.shard.applyEvent(ev, at);

/** Serials that informed, in order, from session `from` on. */
const serials = (from = 0) => h!.acs.sessions.slice(from).map((s) => s.inform.deviceId.serialNumber);

async function allReady(n: number): Promise<void> {
  await settle(h!);
  await until(() => h!.shard.stateCountsByName().ready === n, 10_000, `${n} ready`);
  await settle(h!);
}

describe('power on', () => {
  it('leaves a held fleet off, then powers on only the subset, in index order along the ramp', async () => {
    h = await startHarness({ cpes: 10, holdPower: true });
    await settle(h);
    expect(h.acs.sessions).toHaveLength(0);
    // 5 CPEs [2, 7) at 1 a second: CPE 2 at once, CPE 6 four seconds later.
    expect(apply({ kind: 'powerOn', target: { from: 2, to: 7 }, ramp: { mode: 'rate', perSecond: 1 } })).toBe(5);
    await settle(h);
    expect(h.acs.sessions).toHaveLength(1);
    h.tick(1000);
    await settle(h);
    expect(h.acs.sessions).toHaveLength(2);
    h.tick(3000);
    await until(() => h!.acs.sessions.length === 5);
    await settle(h);
    expect(serials()).toEqual([2, 3, 4, 5, 6].map((i) => h!.shard.env.identity(i).serial));
    expect(h.shard.stateCountsByName()).toEqual({ new: 5, bootstrapping: 0, ready: 5, failed: 0 });
  });

  it('picks the same fraction of CPEs under the same seed, and another under another', async () => {
    const pick = (seed: number) => Array.from({ length: 1000 }, (_, i) => i).filter((i) => isMember({ fraction: 0.3 }, i, seed));
    expect(pick(1)).toEqual(pick(1));
    expect(pick(1)).not.toEqual(pick(2));
    expect(pick(1).length).toBeGreaterThan(250);
    expect(pick(1).length).toBeLessThan(350);
    h = await startHarness({ cpes: 40, holdPower: true, seed: 1 });
    const reached = apply({ kind: 'powerOn', target: { fraction: 0.3 }, ramp: { mode: 'none' } });
    expect(reached).toBe(pick(1).filter((i) => i < 40).length);
    await allReady(reached);
    expect(new Set(serials())).toEqual(new Set(pick(1).filter((i) => i < 40).map((i) => h!.shard.env.identity(i).serial)));
  });
});

describe('power cut', () => {
  it('goes dark for the duration (no session, no connection request), then boots with 1 BOOT alone along the restore ramp', async () => {
    h = await startHarness({ cpes: 4, cr: true });
    h.tick();
    await allReady(4);
    const before = h.acs.sessions.length;
    expect(apply({ kind: 'powerCut', target: { from: 0, to: 2 }, durationSeconds: 30, restore: { ramp: { mode: 'window', seconds: 10 } } })).toBe(2);
    expect(h.shard.isPoweredOn(0)).toBe(false);
    expect(h.shard.isPoweredOn(1)).toBe(false);
    expect(h.shard.isPoweredOn(2)).toBe(true);
    expect(h.shard.admin.triggerConnectionRequest(0)).toMatchObject({ accepted: false, reason: 'rebooting' });
    expect(h.shard.sample().dark).toBe(2);
    h.tick(29_999);
    await settle(h);
    expect(h.acs.sessions.length).toBe(before);
    // CPE 0 back at 30 s, CPE 1 at 35 s (half way along the 10 s restore window over [0, 2)).
    h.tick(1);
    await until(() => h!.acs.sessions.length === before + 1);
    await settle(h);
    h.tick(5000);
    await until(() => h!.acs.sessions.length === before + 2);
    await settle(h);
    const back = h.acs.sessions.slice(before);
    expect(back.map((s) => events(s.inform))).toEqual([['1 BOOT'], ['1 BOOT']]);
    expect(back.map((s) => s.inform.deviceId.serialNumber)).toEqual([0, 1].map((i) => h!.shard.env.identity(i).serial));
    expect(h.shard.sample().dark).toBe(0);
  });

  it('draws each CPE its own boot delay within the range, the same under the same seed', async () => {
    const bootTimes = async (): Promise<number[]> => {
      h = await startHarness({ cpes: 6, seed: 7 });
      h.tick();
      await allReady(6);
      const t0 = h.clock.now();
      apply({ kind: 'powerCut', target: {}, durationSeconds: 10, restore: { bootDelay: { minSeconds: 5, maxSeconds: 60 } } });
      const at: number[] = [];
      for (let step = 0; step <= 70 && at.length < 6; step++) {
        const n = h.acs.sessions.length;
        h.tick(step === 0 ? 0 : 1000);
        await settle(h);
        for (let k = n; k < h.acs.sessions.length; k++) at.push(h.clock.now() - t0);
      }
      await h.stop();
      h = undefined;
      return at;
    };
    const a = await bootTimes();
    expect(a).toHaveLength(6);
    for (const t of a) {
      expect(t).toBeGreaterThanOrEqual(15_000);
      expect(t).toBeLessThanOrEqual(70_000);
    }
    expect(new Set(a).size).toBeGreaterThan(1);
    expect(await bootTimes()).toEqual(a);
  });
});

describe('power-on to ready', () => {
  it('is measured once a boot, also for a CPE whose first sessions failed', async () => {
    let refuse = 2;
    h = await startHarness({ cpes: 1, random: () => 0, acs: { failInform: () => (refuse-- > 0 ? 503 : undefined) } });
    h.tick();
    await settle(h);
    expect(h.shard.lifecycle(0)).toBe('failed');
    for (let i = 0; i < 10 && h.shard.lifecycle(0) !== 'ready'; i++) {
      h.tick(Math.max(0, h.cwmp.retryDueAt(0) - h.clock.now()));
      await settle(h);
    }
    expect(h.shard.lifecycle(0)).toBe('ready');
    const { readyMs } = h.shard.sample();
    expect(readyMs.count).toBe(1);
    // Two failed sessions and their retry windows (5 s, then 10 s at the window's low end).
    expect(readyMs.min).toBeGreaterThanOrEqual(15_000);
    // A later periodic session is not a new power-on.
    h.tick(h.cwmp.periodicDueAt(0) - h.clock.now());
    await settle(h);
    expect(h.shard.sample().readyMs.count).toBe(0);
  });
});

describe('reboot and factory-reset waves', () => {
  it('reboots the subset along the ramp with 1 BOOT + M Reboot, and resets with 0 BOOTSTRAP', async () => {
    h = await startHarness({ cpes: 3 });
    h.tick();
    await allReady(3);
    let from = h.acs.sessions.length;
    expect(apply({ kind: 'reboot', target: { from: 0, to: 2 }, ramp: { mode: 'none' } })).toBe(2);
    h.tick(0);
    expect(h.shard.isPoweredOn(0)).toBe(false);
    expect(h.shard.isPoweredOn(2)).toBe(true);
    h.tick(h.profile.settings.rebootSeconds * 1000);
    await until(() => h!.acs.sessions.length === from + 2);
    await settle(h);
    expect(h.acs.sessions.slice(from).map((s) => events(s.inform))).toEqual([['1 BOOT', 'M Reboot'], ['1 BOOT', 'M Reboot']]);
    from = h.acs.sessions.length;
    expect(apply({ kind: 'factoryReset', target: { from: 2, to: 3 }, ramp: { mode: 'none' } })).toBe(1);
    h.tick(0);
    h.tick(h.profile.settings.rebootSeconds * 1000);
    await until(() => h!.acs.sessions.length === from + 1);
    await settle(h);
    expect(events(h.acs.sessions[from]!.inform)).toEqual(['0 BOOTSTRAP', '1 BOOT']);
  });
});

describe('a new periodic interval', () => {
  it('reads back as PeriodicInformInterval and moves the next periodic Inform; a value the ACS set wins', async () => {
    h = await startHarness({ cpes: 2 });
    h.tick();
    await allReady(2);
    const path = 'Device.ManagementServer.PeriodicInformInterval';
    const old = Number(h.shard.view(0).get(path));
    expect(old).toBeGreaterThan(60);
    expect(apply({ kind: 'setInterval', target: { from: 0, to: 1 }, seconds: 60 })).toBe(1);
    expect(h.shard.view(0).get(path)).toBe('60');
    expect(h.shard.view(1).get(path)).toBe(String(old));
    // Within the interval and its ±10% jitter (docs/cwmp-behaviour.md "Periodic Inform").
    expect(h.cwmp.periodicDueAt(0) - h.clock.now()).toBeLessThanOrEqual(66_000);
    expect(h.cwmp.periodicDueAt(1) - h.clock.now()).toBeGreaterThan(66_000);
    const from = h.acs.sessions.length;
    h.tick(66_000);
    await until(() => h!.acs.sessions.length === from + 1);
    await settle(h);
    expect(events(h.acs.sessions[from]!.inform)).toEqual(['2 PERIODIC']);
    // The ACS's own later write (an overlay) beats the fleet rule...
    const v = h.shard.view(0);
    expect(v.setValues([{ path, value: '120' }])).toEqual([]);
    h.shard.keep(0, v);
    expect(h.shard.view(0).get(path)).toBe('120');
    // ...and the fleet's next change beats that write: the newest wins.
    apply({ kind: 'setInterval', target: { from: 0, to: 2 }, seconds: 30 });
    expect(h.shard.view(0).get(path)).toBe('30');
    expect(h.shard.view(1).get(path)).toBe('30');
  });
});
