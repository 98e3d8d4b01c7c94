import { afterEach, describe, expect, it } from '@jest/globals';
import { retryWindow } from '../src/scheduler/backoff.js';
import { EV } from '../src/cwmp/events.js';
import { atBootstrap, bootstrapped, eventCodes, retryScheduled, spv, startHarness, until, type Harness } from './helpers/harness.js';
import { settle } from './helpers/settle.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

describe('session retry (TR-069 3.2.1.1)', () => {
  it('takes the point of the window its random source gives: the start at 0, the end near 1', async () => {
    for (const [u, edge] of [[0, 0], [0.999_999, 1]] as const) {
      h = await startHarness({ random: () => u, acs: { failInform: () => 503 } });
      h.tick();
      for (let n = 1; n <= 3; n++) {
        const wait = await retryScheduled(h, n);
        const [lo, hi] = retryWindow(n);
        expect(wait).toBe(Math.round((lo + u * (hi - lo)) * 1000));
        expect(Math.abs(wait - (edge ? hi : lo) * 1000)).toBeLessThanOrEqual(1);
        h.tick(wait);
      }
      await h.stop();
      h = undefined;
    }
  });

  it('waits inside window n before retry n, stamps RetryCount, keeps the events, and resets after success', async () => {
    const failures = 12;
    h = await startHarness({ acs: { failInform: () => (h!.acs.informCount <= failures ? 503 : undefined) } });
    h.tick();
    for (let n = 1; n <= failures; n++) {
      const wait = await retryScheduled(h, n);
      const [lo, hi] = retryWindow(n);
      expect(wait).toBeGreaterThanOrEqual(lo * 1000);
      expect(wait).toBeLessThanOrEqual(hi * 1000);
      // Nothing happens a moment before the retry is due...
      h.tick(wait - 1);
      await settle(h);
      expect(h.acs.informCount).toBe(n);
      // ...and the retry goes out when it is.
      h.tick(1);
    }
    // From the 10th retry on, the 10th window: 2560-5120 s with the defaults.
    expect(retryWindow(12)).toEqual([2560, 5120]);
    await h.acs.waitFor(() => h!.acs.sessions[0]?.ended === true, 10_000, 'success after retries');
    const s = h.acs.sessions[0]!;
    expect(s.inform.retryCount).toBe(failures);
    // The undelivered events are all still there; periodic ticks during the hours of backoff ride along.
    expect(eventCodes(s).slice(0, 2)).toEqual(['0 BOOTSTRAP', '1 BOOT']);
    expect(eventCodes(s).filter((c) => c !== '2 PERIODIC')).toEqual(['0 BOOTSTRAP', '1 BOOT']);
    await until(() => h!.shard.lifecycle(0) === 'ready');
    // After a success the count is back to 0.
    h.cwmp.raise(0, EV.PERIODIC);
    await h.acs.waitFor(() => h!.acs.sessions[1]?.ended === true);
    expect(h.acs.sessions[1]!.inform.retryCount).toBe(0);
  });

  it('uses CWMPRetryMinimumWaitInterval and CWMPRetryIntervalMultiplier from the tree', async () => {
    let fail = false;
    h = await startHarness({
      acs: {
        failInform: () => (fail ? 503 : undefined),
        script: atBootstrap(
          spv('retry', ['Device.ManagementServer.CWMPRetryMinimumWaitInterval', '30', 'unsignedInt'], ['Device.ManagementServer.CWMPRetryIntervalMultiplier', '3000', 'unsignedInt']),
        ),
      },
    });
    await bootstrapped(h);
    fail = true;
    h.cwmp.raise(0, EV.PERIODIC);
    const w1 = await retryScheduled(h, 2);
    expect(w1).toBeGreaterThanOrEqual(30_000);
    expect(w1).toBeLessThanOrEqual(90_000);
    h.tick(w1);
    const w2 = await retryScheduled(h, 3);
    expect(w2).toBeGreaterThanOrEqual(90_000);
    expect(w2).toBeLessThanOrEqual(270_000);
  });

  it('drops 6 CONNECTION REQUEST when the session fails but keeps 2 PERIODIC', async () => {
    let fail = false;
    h = await startHarness({ acs: { failInform: () => (fail ? 503 : undefined) } });
    await bootstrapped(h);
    fail = true;
    h.cwmp.raise(0, EV.CONNECTION_REQUEST | EV.PERIODIC);
    const wait = await retryScheduled(h, 2);
    fail = false;
    h.tick(wait);
    await h.acs.waitFor(() => h!.acs.sessions[1]?.ended === true);
    expect(eventCodes(h.acs.sessions[1]!)).toEqual(['2 PERIODIC']);
    expect(h.acs.sessions[1]!.inform.retryCount).toBe(1);
  });

  it('a refused connection is a failed session too', async () => {
    h = await startHarness({ acsUrl: 'http://127.0.0.1:9/' });
    h.tick();
    await until(() => h!.shard.lifecycle(0) === 'failed', 10_000, 'connect failure');
    const [lo, hi] = retryWindow(1);
    const wait = h.cwmp.retryDueAt(0) - h.clock.now();
    expect(wait).toBeGreaterThanOrEqual(lo * 1000);
    expect(wait).toBeLessThanOrEqual(hi * 1000);
  });
});
