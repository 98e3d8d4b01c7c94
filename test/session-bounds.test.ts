import { afterEach, describe, expect, it } from '@jest/globals';
import type { AcsOutgoingRequest } from '../src/cwmp/types.js';
import { startHarness, until, type Harness } from './helpers/harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

const gpv: AcsOutgoingRequest = { method: 'GetParameterValues', names: ['Device.DeviceInfo.SoftwareVersion'] };

describe('a CWMP session is cut from the CPE side (docs/cwmp-behaviour.md "Sessions")', () => {
  it('a power cut resets the session in flight: the ACS sees its socket die, the CPE counts "power-off"', async () => {
    h = await startHarness({ acs: { latency: { ms: 60_000, jitterMs: 0 } } });
    h.tick();
    await h.acs.waitFor(() => h!.acs.informCount === 1, 10_000, 'the Inform to reach the ACS');
    expect(h.shard.admin.stats().activeSessions).toBe(1);
    h.shard.applyEvent({ kind: 'powerCut', target: {}, durationSeconds: 600, restore: { ramp: { mode: 'window', seconds: 1 } } }, h.clock.now());
    await until(() => h!.shard.admin.stats().activeSessions === 0, 10_000, 'the session to end');
    expect(h.shard.admin.stats().failReasons).toEqual({ 'power-off': 1 });
    await h.acs.waitFor(() => h!.acs.sessionsCut === 1, 10_000, 'the ACS to see the connection cut');
  });

  it('a session cut by a power cut leaves the dark CPE bootstrapping with no retry planned; its boot, not a retry, brings it back', async () => {
    const cutMs = 600_000;
    h = await startHarness({ stopGraceMs: 100, acs: { latency: { ms: 60_000, jitterMs: 0 } } });
    h.tick();
    await h.acs.waitFor(() => h!.acs.informCount === 1, 10_000, 'the Inform to reach the ACS');
    h.shard.applyEvent({ kind: 'powerCut', target: {}, durationSeconds: cutMs / 1000, restore: { ramp: { mode: 'none' } } }, h.clock.now());
    // The failed session settles after the cut, while the CPE is dark.
    await until(() => h!.shard.admin.stats().activeSessions === 0, 10_000, 'the session to end');
    expect(h.shard.admin.stats().failReasons).toEqual({ 'power-off': 1 });
    expect(h.shard.lifecycle(0)).toBe('bootstrapping');
    expect(h.cwmp.retryDueAt(0)).toBe(0);
    // Through the whole retry window (TR-069 3.2.1.1: 5-10 s for a first retry) and up to the
    // last ms before the power comes back, nothing asks for a session.
    h.tick(cutMs - 1);
    expect(h.shard.admin.stats().activeSessions).toBe(0);
    expect(h.shard.lifecycle(0)).toBe('bootstrapping');
    // The boot does: 0 BOOTSTRAP is still unacknowledged, so it rides along with 1 BOOT.
    h.tick(1);
    await h.acs.waitFor(() => h!.acs.informCount === 2, 10_000, 'the boot Inform');
    expect(h.acs.sessions[1]!.inform.events.map((e) => e.code).sort()).toEqual(['0 BOOTSTRAP', '1 BOOT']);
  });

  it('a session past --session-timeout is cut as "too-long", however many exchanges each stayed within --acs-timeout', async () => {
    // Every answer comes in 200 ms (well within the ACS timeout), but the ACS keeps asking.
    h = await startHarness({ sessionTimeoutMs: 1000, acsTimeoutMs: 5000, acs: { latency: { ms: 200, jitterMs: 0 }, script: () => Array.from({ length: 100 }, () => gpv) } });
    h.tick();
    await until(() => h!.shard.lifecycle(0) === 'failed', 10_000, 'the session to be cut');
    expect(h.shard.admin.stats().failReasons).toEqual({ 'too-long': 1 });
    const s = h.acs.sessions[0]!;
    // It got some way, not to the end of the ACS's list.
    expect(s.messages.length).toBeGreaterThan(0);
    expect(s.messages.length).toBeLessThan(100);
    expect(s.ended).toBe(false);
    // The ACS saw the socket reset (or a session it holds open that never ends).
    await h.acs.waitFor(() => h!.acs.sessionsCut === 1, 10_000, 'the ACS to see the connection cut');
  });

  it('a stop waits --stop-grace for a session in flight, then cuts it and counts it "stopped"', async () => {
    h = await startHarness({ stopGraceMs: 300, acs: { latency: { ms: 60_000, jitterMs: 0 } } });
    h.tick();
    await h.acs.waitFor(() => h!.acs.informCount === 1, 10_000, 'the Inform to reach the ACS');
    const stats = await h.shard.stop();
    expect(stats.failReasons).toEqual({ stopped: 1 });
    expect(stats.sessionsFailed).toBe(1);
    expect(stats.activeSessions).toBe(0);
    await h.acs.waitFor(() => h!.acs.sessionsCut === 1, 10_000, 'the ACS to see the connection cut');
  });

  it('a stop lets a session that ends within --stop-grace end well', async () => {
    h = await startHarness({ stopGraceMs: 30_000, acs: { latency: { ms: 300, jitterMs: 0 } } });
    h.tick();
    await h.acs.waitFor(() => h!.acs.informCount === 1, 10_000, 'the Inform to reach the ACS');
    const stats = await h.shard.stop();
    expect(stats.failReasons).toEqual({});
    expect(stats.sessionsOk).toBe(1);
    expect(h.acs.sessionsCut).toBe(0);
  });
});
