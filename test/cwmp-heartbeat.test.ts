import { afterEach, describe, expect, it } from '@jest/globals';
import { EV } from '../src/cwmp/events.js';
import { atBootstrap, bootstrapped, eventCodes, spv, startHarness, until, type Harness } from './helpers/harness.js';
import { settle } from './helpers/settle.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

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
  await bootstrapped(harness);
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
    h.cwmp.raise(0, EV.PERIODIC); // a periodic inform just before...
    await h.acs.waitFor(() => h!.acs.sessions[1]?.ended === true);
    h.tick(1); // ...and the heartbeat
    await h.acs.waitFor(() => h!.acs.sessions[2]?.ended === true, 10_000, 'heartbeat');
    expect(eventCodes(h.acs.sessions[2]!)).toEqual(['14 HEARTBEAT']);
    expect(h.acs.sessions[2]!.messages.map((m) => m.message.method)).toEqual(['Empty']);
    // Every ReportingInterval after that.
    h.tick(60_000);
    await h.acs.waitFor(() => h!.acs.sessions[3]?.ended === true, 10_000, 'second heartbeat');
    expect(eventCodes(h.acs.sessions[3]!)).toEqual(['14 HEARTBEAT']);
  });

  it('never mixes: events raised with a heartbeat pending go in the next session', async () => {
    h = await withHeartbeat();
    h.tick(untilNext(h.clock.now()));
    h.cwmp.raise(0, EV.PERIODIC);
    await h.acs.waitFor(() => h!.acs.sessions.length >= 3 && h!.acs.sessions.slice(1, 3).every((s) => s.ended), 10_000, 'two sessions');
    expect(h.acs.sessions.slice(1, 3).map(eventCodes)).toEqual([['14 HEARTBEAT'], ['2 PERIODIC']]);
  });

  it('waits while a failed session is being retried', async () => {
    let failing = false;
    h = await withHeartbeat(() => failing);
    failing = true;
    h.cwmp.raise(0, EV.PERIODIC);
    await until(() => h!.shard.lifecycle(0) === 'failed', 10_000, 'failed session');
    const retryAt = h.cwmp.retryDueAt(0);
    const hbWait = untilNext(h.clock.now());
    expect(hbWait).toBeLessThan(retryAt - h.clock.now());
    const before = h.acs.informCount;
    h.tick(hbWait);
    await settle(h);
    expect(h.acs.informCount).toBe(before);
    failing = false;
    h.tick(retryAt - h.clock.now());
    await h.acs.waitFor(() => h!.acs.sessions.filter((s) => s.ended).length >= 3, 10_000, 'retry then heartbeat');
    const last = h.acs.sessions.slice(-2).map(eventCodes);
    expect(last).toEqual([['2 PERIODIC'], ['14 HEARTBEAT']]);
  });
});
