import type { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { loadConfig } from '../src/config/load.js';
import { startFleet, type Fleet } from '../src/coordinator/fleet.js';
import { createLogger } from '../src/log.js';
import { MockAcs } from '../src/mock-acs/mock-acs.js';
import { exampleProfile } from './helpers/harness.js';
import { sample, scrape, scrapeUntil } from './helpers/scrape.js';

const value = (text: string, series: string) => sample(text, series) ?? NaN;

describe('a shard thread that dies', () => {
  const cpes = 10;
  let fleet: Fleet;
  let acs: MockAcs;

  beforeAll(async () => {
    acs = new MockAcs({ record: false });
    await acs.listen();
    const cfg = loadConfig({
      flags: { profile: exampleProfile, acsUrl: acs.url, cpes: String(cpes), shards: '2', bootRamp: '0', crBindAddr: '127.0.0.1:0', metricsBindAddr: '127.0.0.1:0', logLevel: 'silent' },
      env: {},
    });
    fleet = await startFleet(cfg, createLogger('silent', 'json'));
  });
  afterAll(async () => {
    await fleet?.stop();
    await acs.close();
  });

  it('is restarted, its CPEs boot again, and merged counters never go backwards', async () => {
    const port = fleet.admin!.port;
    let text = await scrapeUntil(port, (t) => value(t, 'cpe_sim_fleet_bootstraps_total') === cpes, 10_000);
    expect(value(text, 'cpe_sim_fleet_bootstraps_total')).toBe(cpes);
    // Kill shard 0's thread from outside, as a crash would.
    const pool = (fleet.coordinator as unknown as { pool: { threads: Worker[] } }).pool;
    await pool.threads[0]!.terminate();
    const seen: number[] = [];
    for (let i = 0; i < 100; i++) {
      text = await scrape(port);
      seen.push(value(text, 'cpe_sim_fleet_bootstraps_total'));
      if (fleet.coordinator.generation >= 1 && value(text, 'cpe_sim_fleet_bootstraps_total') === cpes + cpes / 2 && value(text, 'cpe_sim_fleet_cpes_by_state{lifecycle_state="ready"}') === cpes) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(fleet.coordinator.generation).toBe(1);
    for (let i = 1; i < seen.length; i++) expect(seen[i]!).toBeGreaterThanOrEqual(seen[i - 1]!);
    // The restarted shard's 5 CPEs bootstrapped again (their state died with the thread) ...
    expect(value(text, 'cpe_sim_fleet_bootstraps_total')).toBe(cpes + cpes / 2);
    // ... and the dead run's gauges are not counted twice.
    expect(value(text, 'cpe_sim_fleet_cpes_by_state{lifecycle_state="ready"}')).toBe(cpes);
    expect(value(text, 'cpe_sim_process_worker_threads')).toBe(2);
    // Terminated from outside: counted as a restart, not as running out of memory.
    text = await scrapeUntil(port, (t) => value(t, 'cpe_sim_process_shard_restarts_total{reason="error"}') + value(t, 'cpe_sim_process_shard_restarts_total{reason="exit"}') === 1);
    expect(value(text, 'cpe_sim_process_shard_restarts_total{reason="out-of-memory"}')).toBe(0);
    expect(value(text, 'cpe_sim_process_shard_restarts_total{reason="error"}') + value(text, 'cpe_sim_process_shard_restarts_total{reason="exit"}')).toBe(1);
  });

  it('refuses the test-only memory hook when the fleet was not started by a test with hooks on', async () => {
    await expect(fleet.coordinator.exhaustMemory(1)).rejects.toThrow(/test hooks are off/);
    expect(fleet.coordinator.liveShards).toBe(2);
  });
});
