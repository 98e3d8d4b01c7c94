import { afterEach, describe, expect, it } from '@jest/globals';
import type { Inform } from '../src/cwmp/types.js';
import { atBootstrap, spv, startHarness, until, type Harness } from './helpers/harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

const codes = (i: Inform) => i.events.map((e) => e.code);
const ANCHOR = '2030-01-01T00:00:05Z';

async function withHeartbeat(fail: () => boolean = () => false): Promise<Harness> {
  const harness = await startHarness({
    acs: {
      failInform: () => (fail() ? 503 : undefined),
      script: atBootstrap(
        spv(
          'hb',
          ['Device.ManagementServer.HeartbeatPolicy.Enable', 'true', 'boolean'],
          ['Device.ManagementServer.HeartbeatPolicy.ReportingInterval', '60', 'unsignedInt'],
          ['Device.ManagementServer.HeartbeatPolicy.InitiationTime', ANCHOR, 'dateTime'],
        ),
      ),
    },
  });
  harness.tick();
  await harness.acs.waitFor(() => harness.acs.sessions[0]?.ended === true);
  await until(() => harness.shard.lifecycle(0) === 'ready');
  return harness;
}

/** Milliseconds until the next heartbeat instant ANCHOR + k·60 s. */
const untilNext = (now: number) => {
  const a = Date.parse(ANCHOR);
  return a + (Math.floor((now - a) / 60_000) + 1) * 60_000 - now;
};

describe('HeartbeatPolicy (TR-069 Amd 6, docs/cwmp-behaviour.md "Heartbeat")', () => {
  it('sends 14 HEARTBEAT alone, on the InitiationTime phase, and other events in a session of their own', async () => {
    h = await withHeartbeat();
    const wait = untilNext(h.clock.now());
    h.tick(wait - 1);
    h.cwmp.raise(0, 1 << 2); // a periodic inform just before...
    await h.acs.waitFor(() => h!.acs.sessions[1]?.ended === true);
    h.tick(1); // ...and the heartbeat
    await h.acs.waitFor(() => h!.acs.sessions[2]?.ended === true, 10_000, 'heartbeat');
    expect(codes(h.acs.sessions[2]!.inform)).toEqual(['14 HEARTBEAT']);
    expect(h.acs.sessions[2]!.messages.map((m) => m.message.method)).toEqual(['Empty']);
    // Every ReportingInterval after that.
    h.tick(60_000);
    await h.acs.waitFor(() => h!.acs.sessions[3]?.ended === true, 10_000, 'second heartbeat');
    expect(codes(h.acs.sessions[3]!.inform)).toEqual(['14 HEARTBEAT']);
  });

  it('never mixes: events raised with a heartbeat pending go in the next session', async () => {
    h = await withHeartbeat();
    h.tick(untilNext(h.clock.now()));
    h.cwmp.raise(0, 1 << 2);
    await h.acs.waitFor(() => h!.acs.sessions.length >= 3 && h!.acs.sessions.slice(1, 3).every((s) => s.ended), 10_000, 'two sessions');
    expect(h.acs.sessions.slice(1, 3).map((s) => codes(s.inform))).toEqual([['14 HEARTBEAT'], ['2 PERIODIC']]);
  });

  it('waits while a failed session is being retried', async () => {
    let failing = false;
    h = await withHeartbeat(() => failing);
    failing = true;
    h.cwmp.raise(0, 1 << 2);
    await until(() => h!.shard.lifecycle(0) === 'failed', 10_000, 'failed session');
    const retryAt = h.cwmp.retryDueAt(0);
    const hbWait = untilNext(h.clock.now());
    expect(hbWait).toBeLessThan(retryAt - h.clock.now());
    const before = h.acs.informCount;
    h.tick(hbWait);
    await new Promise((r) => setTimeout(r, 150));
    expect(h.acs.informCount).toBe(before);
    failing = false;
    h.tick(retryAt - h.clock.now());
    await h.acs.waitFor(() => h!.acs.sessions.filter((s) => s.ended).length >= 3, 10_000, 'retry then heartbeat');
    const last = h.acs.sessions.slice(-2).map((s) => codes(s.inform));
    expect(last).toEqual([['2 PERIODIC'], ['14 HEARTBEAT']]);
  });
});
