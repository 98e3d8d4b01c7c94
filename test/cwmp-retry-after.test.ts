import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from '@jest/globals';
import { ThreadMetrics } from '../src/metrics/thread-metrics.js';
import { retryWindow } from '../src/scheduler/backoff.js';
import { exampleProfile, retryScheduled, startHarness, until, type Harness } from './helpers/harness.js';
import { settle } from './helpers/settle.js';

let h: Harness | undefined;
let metrics: ThreadMetrics | undefined;
let tmp: string | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
  metrics?.close();
  metrics = undefined;
  if (tmp) rmSync(tmp, { recursive: true, force: true });
  tmp = undefined;
});

/** The example profile with `settings.honorRetryAfter: false` (firmware that ignores the header). */
function ignoringProfile(): string {
  tmp = mkdtempSync(join(tmpdir(), 'cpe-sim-ra-'));
  const dir = join(tmp, 'ignores-retry-after');
  cpSync(exampleProfile, dir, { recursive: true });
  const yaml = readFileSync(join(dir, 'profile.yaml'), 'utf8').replace('settings:\n', 'settings:\n  honorRetryAfter: false\n');
  writeFileSync(join(dir, 'profile.yaml'), yaml);
  return dir;
}

describe('Retry-After on a 503 or 429 (RFC 9110 10.2.3)', () => {
  it('delta-seconds: the retry waits until the ACS asked, is counted, and goes out then', async () => {
    h = await startHarness({ random: () => 0, acs: { failInform: () => (h!.acs.informCount === 1 ? 503 : undefined), retryAfter: () => '600' } });
    h.tick();
    const wait = await retryScheduled(h, 1);
    expect(wait).toBe(600_000);
    expect(h.shard.admin.stats().retryAfterHonored).toBe(1);
    expect(h.shard.admin.stats().failStatuses).toEqual({ 503: 1 });
    h.tick(wait - 1);
    await settle(h);
    expect(h.acs.informCount).toBe(1);
    h.tick(1);
    await h.acs.waitFor(() => h!.acs.sessions[0]?.ended === true, 10_000, 'the retry');
    expect(h.acs.sessions[0]!.inform.retryCount).toBe(1);
  });

  it('an HTTP-date on a 429 is honoured the same way', async () => {
    h = await startHarness({ random: () => 0, acs: { failInform: () => 429, retryAfter: () => new Date(h!.clock.now() + 900_000).toUTCString() } });
    h.tick();
    expect(await retryScheduled(h, 1)).toBe(900_000);
    expect(h.shard.admin.stats().retryAfterHonored).toBe(1);
    expect(h.shard.admin.stats().failStatuses).toEqual({ 429: 1 });
  });

  it('a Retry-After sooner than the TR-069 window leaves the window alone and is not counted', async () => {
    h = await startHarness({ random: () => 0, acs: { failInform: () => 503, retryAfter: () => '1' } });
    h.tick();
    expect(await retryScheduled(h, 1)).toBe(retryWindow(1)[0] * 1000);
    expect(h.shard.admin.stats().retryAfterHonored).toBe(0);
  });

  it('firmware that ignores it (settings.honorRetryAfter: false) retries in the TR-069 window', async () => {
    h = await startHarness({ profileDir: ignoringProfile(), random: () => 0, acs: { failInform: () => 503, retryAfter: () => '600' } });
    expect(h.profile.settings.honorRetryAfter).toBe(false);
    h.tick();
    expect(await retryScheduled(h, 1)).toBe(retryWindow(1)[0] * 1000);
    expect(h.shard.admin.stats().retryAfterHonored).toBe(0);
    expect(h.shard.admin.stats().failStatuses).toEqual({ 503: 1 });
  });
});

describe('failed sessions by reason and HTTP status', () => {
  it('counts 503, 500 and 401 apart, in the shard stats and in the metrics text', async () => {
    metrics = new ThreadMetrics();
    const bySerialEnd: Record<string, number> = { '0': 503, '1': 500, '2': 401 };
    h = await startHarness({
      cpes: 3,
      acs: { failInform: (inform) => bySerialEnd[inform.deviceId.serialNumber.at(-1)!], retryAfter: () => '120' },
    });
    h.tick();
    await until(() => h!.shard.admin.stats().sessionsFailed === 3, 10_000, 'three failed sessions');
    const stats = h.shard.admin.stats();
    expect(stats.failReasons).toEqual({ 'http-status': 2, auth: 1 });
    expect(stats.failStatuses).toEqual({ 401: 1, 500: 1, 503: 1 });
    expect(stats.retryAfterHonored).toBe(1);
    const text = await metrics.catalog.registry.metrics();
    const line = (labels: string) => new RegExp(`^cpe_sim_cwmp_session_failures_total\\{${labels}\\} (\\d+)$`, 'm').exec(text)?.[1];
    expect(line('reason="http-status",http_status="503"')).toBe('1');
    expect(line('reason="http-status",http_status="500"')).toBe('1');
    expect(line('reason="auth",http_status="401"')).toBe('1');
    // Present at 0 from the start: the statuses and link-fault reasons that did not happen.
    expect(line('reason="http-status",http_status="504"')).toBe('0');
    expect(line('reason="reset",http_status="none"')).toBe('0');
    expect(/^cpe_sim_cwmp_retry_after_honored_total 1$/m.test(text)).toBe(true);
  });

  it('a status outside the common list is labelled "other"', async () => {
    metrics = new ThreadMetrics();
    h = await startHarness({ acs: { failInform: () => 418 } });
    h.tick();
    await until(() => h!.shard.admin.stats().sessionsFailed === 1, 10_000, 'failed session');
    expect(h.shard.admin.stats().failStatuses).toEqual({ 418: 1 });
    const text = await metrics.catalog.registry.metrics();
    expect(text).toMatch(/^cpe_sim_cwmp_session_failures_total\{reason="http-status",http_status="other"\} 1$/m);
  });
});
