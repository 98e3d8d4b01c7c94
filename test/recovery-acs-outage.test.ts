// Recovery from an ACS outage, measured (README "Recovery"). The real CLI runs a fleet of
// 2,000 CPEs against the mock ACS over HTTP. The ACS provisions every CPE in its bootstrap
// session (SetParameterValues: CWMPRetryMinimumWaitInterval 2 s, CWMPRetryIntervalMultiplier
// 2000, PeriodicInformInterval 1 h, so periodic Informs do not mix in). Then the ACS goes
// away: its listener is closed, so every connect is refused. While it is gone the mains
// blink (a fleet power cut of 1 s, power back along 5 s): every CPE boots, finds no ACS and
// retries in the TR-069 Amendment 6 3.2.1.1 windows. After OUTAGE_MS the ACS listens again on
// the same port. Checked at the ACS and in /metrics:
// - each CPE's first Inform after the return carries RetryCount n, no more than the
//   failures the outage allows, and arrives within m·(k/1000)^n of the return (its n-th
//   failure came before the return, and retry n+1 waits at most that long);
// - every CPE is ready again within m·(k/1000)^n_max of the return;
// - retries are spread: no one-second bucket at the ACS holds more than MAX_SHARE_PER_SECOND
//   of the fleet's Informs with RetryCount > 0.
import { afterAll, describe, expect, it } from '@jest/globals';
import type { Inform } from '../src/cwmp/types.js';
import { MockAcs } from '../src/mock-acs/mock-acs.js';
import { adminPost, startDaemon, type Daemon } from './helpers/daemon.js';
import { exampleProfile, spv } from './helpers/harness.js';
import { sample, scrape, scrapeUntil } from './helpers/scrape.js';

const CPES = 2000;
/** CWMPRetryMinimumWaitInterval (s) and CWMPRetryIntervalMultiplier the ACS provisions. */
const M = 2;
const K = 2000;
const F = K / 1000;
/** From the power cut to the ACS's return. */
const OUTAGE_MS = 30_000;
/** The power cut: dark for 1 s, power back along 5 s. */
const CUT_MS = 1000;
const RESTORE_MS = 5000;
/** A session's own time past its retry's due time (queue, connect, Inform, empty POST) on a loaded machine. */
const SLACK_MS = 15_000;
/** The shards push their lifecycle counts every 2 s. */
const PUSH_MS = 2000;
/** The most of the fleet allowed to retry within one second after the return. */
const MAX_SHARE_PER_SECOND = 0.2;

const MS = 'Device.ManagementServer.';
const READY = 'cpe_sim_fleet_cpes_by_state{lifecycle_state="ready"}';

let acs: MockAcs | undefined;
let daemon: Daemon | undefined;
afterAll(async () => {
  await daemon?.stop();
  await acs?.close();
});

/** Most failed attempts a CPE can make in `ms` when its first attempt comes at once: attempt j is at least m·(f^j − 1)/(f − 1) s later. */
function maxFailures(ms: number, m: number, f: number): number {
  let j = 0;
  while ((m * (f ** (j + 1) - 1)) / (f - 1) * 1000 < ms) j++;
  return j + 1;
}

describe('ACS outage: 2,000 CPEs come back within the TR-069 retry windows, retries spread', () => {
  it('every CPE is ready again within m·(k/1000)^n of the ACS return, no second holds more than 20% of the retries', async () => {
    let backAt = 0;
    /** Per device, the first Inform after the return: when, and its RetryCount. */
    const back = new Map<string, { at: number; retryCount: number; events: string[] }>();
    /** Informs with RetryCount > 0 after the return, per second since the return. */
    const perSecond: number[] = [];
    acs = new MockAcs({
      record: false,
      script: (inform: Inform, deviceId: string) => {
        const events = inform.events.map((e) => e.code);
        if (backAt > 0) {
          const now = Date.now();
          if (!back.has(deviceId)) back.set(deviceId, { at: now, retryCount: inform.retryCount, events });
          if (inform.retryCount > 0) {
            const s = Math.floor((now - backAt) / 1000);
            perSecond[s] = (perSecond[s] ?? 0) + 1;
          }
          return undefined;
        }
        if (!events.includes('0 BOOTSTRAP')) return undefined;
        return [spv('recovery', [`${MS}CWMPRetryMinimumWaitInterval`, String(M), 'unsignedInt'], [`${MS}CWMPRetryIntervalMultiplier`, String(K), 'unsignedInt'], [`${MS}PeriodicInformInterval`, '3600', 'unsignedInt'])];
      },
    });
    await acs.listen('127.0.0.1', 0);
    const port = Number(new URL(acs.url).port);
    daemon = await startDaemon(
      ['--acs-url', acs.url, '--profile', exampleProfile, '--cpes', String(CPES), '--shards', '2', '--boot-ramp', '500/s',
        '--cr-bind-addr', '127.0.0.1:0', '--metrics-bind-addr', '127.0.0.1:0', '--duration', '400'],
      300_000,
    );
    const mp = daemon.metricsPort;

    // Bootstrap: every CPE provisioned and ready.
    await acs.waitFor(() => acs!.counts().sessionsCompleted >= CPES, 60_000, 'every bootstrap session');
    const ready0 = await scrapeUntil(mp, (t) => sample(t, READY) === CPES, 15_000);
    expect(sample(ready0, READY)).toBe(CPES);
    expect(acs.counts().informsByEvent['0 BOOTSTRAP']).toBe(CPES);

    // The outage: the listener closes (connects refused), then the power blinks.
    await acs.close();
    const cutAt = Date.now();
    const cut = await adminPost(mp, '/admin/events', { powerCut: { target: {}, duration: `${CUT_MS / 1000}s`, restore: { ramp: `${RESTORE_MS / 1000}s` } } });
    expect([cut.status, cut.body]).toEqual([202, expect.any(String)]);
    expect(JSON.parse(cut.body)).toEqual({ kind: 'powerCut', reached: CPES });
    // Every CPE has found the ACS gone (a refused connect is reason "connect").
    const down = await scrapeUntil(mp, (t) => (sample(t, 'cpe_sim_fleet_cpes_by_state{lifecycle_state="failed"}') ?? 0) === CPES, OUTAGE_MS - 5000);
    expect(sample(down, 'cpe_sim_fleet_cpes_by_state{lifecycle_state="failed"}')).toBe(CPES);
    // The outage lasts its length (this wait is the outage itself, not a check that nothing happened).
    await new Promise((r) => setTimeout(r, cutAt + OUTAGE_MS - Date.now()));
    const refused = sample(await scrape(mp), 'cpe_sim_cwmp_session_failures_total{reason="connect",http_status="none"}') ?? 0;
    expect(refused).toBeGreaterThanOrEqual(CPES);

    // The ACS is back on the same port.
    backAt = Date.now();
    await acs.listen('127.0.0.1', port);
    // The first attempt of every CPE came no sooner than the power came back (cutAt + CUT_MS).
    const nMax = maxFailures(backAt - (cutAt + CUT_MS), M, F);
    const boundMs = M * F ** nMax * 1000 + SLACK_MS;
    let readyAt = 0;
    const deadline = backAt + boundMs + PUSH_MS + 5000;
    while (Date.now() < deadline) {
      const text = await scrape(mp);
      if (sample(text, READY) === CPES && back.size === CPES) {
        readyAt = Date.now();
        break;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    const lastInform = Math.max(...[...back.values()].map((b) => b.at));
    const counts = [...back.values()].reduce<Record<number, number>>((a, b) => ((a[b.retryCount] = (a[b.retryCount] ?? 0) + 1), a), {});
    const buckets = Array.from(perSecond, (n) => n ?? 0);
    const peak = Math.max(...buckets);
    process.stdout.write(
      `ACS outage: ${CPES} CPEs, outage ${OUTAGE_MS / 1000} s, retry windows m=${M} s k=${K}: ` +
        `last CPE informed ${((lastInform - backAt) / 1000).toFixed(1)} s after the return (bound ${(boundMs / 1000).toFixed(1)} s, n_max ${nMax}); ` +
        `all ready in /metrics ${readyAt ? ((readyAt - backAt) / 1000).toFixed(1) : 'never'} s after; RetryCount at return ${JSON.stringify(counts)}; ` +
        `retries per second after the return ${JSON.stringify(buckets)}, peak ${peak} (${((100 * peak) / CPES).toFixed(1)}% of the fleet)\n`,
    );

    expect(back.size).toBe(CPES);
    expect(readyAt).toBeGreaterThan(0);
    for (const [d, b] of back) {
      // It failed at least once and at most as often as the outage allows.
      expect([d, b.retryCount >= 1 && b.retryCount <= nMax]).toEqual([d, true]);
      // Its n-th failure came before the return; retry n+1 waits at most m·f^n.
      expect([d, b.at - backAt <= M * F ** b.retryCount * 1000 + SLACK_MS]).toEqual([d, true]);
      // A boot that found no ACS, not a new device: no 0 BOOTSTRAP.
      expect([d, b.events.includes('1 BOOT') && !b.events.includes('0 BOOTSTRAP')]).toEqual([d, true]);
    }
    expect(readyAt - backAt).toBeLessThanOrEqual(boundMs + PUSH_MS);
    expect(peak).toBeLessThanOrEqual(MAX_SHARE_PER_SECOND * CPES);
    // The same ACS object counted the bootstraps before the outage: none since.
    expect(acs.counts().informsByEvent['0 BOOTSTRAP']).toBe(CPES);
  }, 200_000);
});
