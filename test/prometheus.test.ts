// promtool on a live scrape and on the alert recipes. CI installs promtool (Debian
// package prometheus); elsewhere these tests are skipped when it is missing.
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect } from '@jest/globals';
import { sample, scrapeUntil, withPromtool as maybe } from './helpers/scrape.js';
import { loadConfig } from '../src/config/load.js';
import { startFleet, type Fleet } from '../src/coordinator/fleet.js';
import { createLogger } from '../src/log.js';
import { exampleProfile, repoRoot } from './helpers/harness.js';


describe('Prometheus for real', () => {
  let fleet: Fleet | undefined;
  beforeAll(async () => {
    const cfg = loadConfig({
      flags: { profile: exampleProfile, mockAcs: '127.0.0.1:0', cpes: '8', shards: '2', bootRamp: '0', crBindAddr: '127.0.0.1:0', metricsBindAddr: '127.0.0.1:0', logLevel: 'silent' },
      env: {},
    });
    fleet = await startFleet(cfg, createLogger('silent', 'json'));
  });
  afterAll(async () => {
    await fleet?.stop();
  });

  maybe('promtool check metrics passes on a live scrape', async () => {
    // Shard pushes (every 2 s) until every CPE's bootstrap shows.
    const text = await scrapeUntil(fleet!.admin!.port, (t) => sample(t, 'cpe_sim_fleet_bootstraps_total') === 8);
    expect(text).toContain('cpe_sim_fleet_bootstraps_total');
    expect(sample(text, 'cpe_sim_fleet_bootstraps_total')).toBe(8);
    const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect({ status: r.status, out: `${r.stdout}${r.stderr}`.trim() }).toEqual({ status: 0, out: '' });
  });

  maybe('the alert recipes pass promtool check rules and their unit tests', () => {
    const dir = `${repoRoot}docs/prometheus`;
    const check = spawnSync('promtool', ['check', 'rules', 'cpe-sim-alerts.yml'], { cwd: dir, encoding: 'utf8' });
    expect(check.status).toBe(0);
    expect(check.stdout).toContain('5 rules found');
    const unit = spawnSync('promtool', ['test', 'rules', 'cpe-sim-alerts.test.yml'], { cwd: dir, encoding: 'utf8' });
    expect({ status: unit.status, out: unit.stdout + unit.stderr }).toEqual({ status: 0, out: expect.stringContaining('SUCCESS') });
  });
});
