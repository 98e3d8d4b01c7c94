// promtool on a live scrape and on the alert recipes. promtool is the Debian package
// prometheus (npm test installs it); without it these tests fail, naming the package.
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { sample, scrapeUntil } from './helpers/scrape.js';
import { findBinary } from './helpers/peers.js';
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

  it('promtool check metrics passes on a live scrape', async () => {
    // Shard pushes (every 2 s) until every CPE's bootstrap shows.
    const text = await scrapeUntil(fleet!.admin!.port, (t) => sample(t, 'cpe_sim_fleet_bootstraps_total') === 8);
    expect(text).toContain('cpe_sim_fleet_bootstraps_total');
    expect(sample(text, 'cpe_sim_fleet_bootstraps_total')).toBe(8);
    const r = spawnSync(findBinary('promtool', 'prometheus', '/usr/bin'), ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect({ status: r.status, out: `${r.stdout}${r.stderr}`.trim() }).toEqual({ status: 0, out: '' });
  });

  it('the alert recipes pass promtool check rules and their unit tests', () => {
    const dir = `${repoRoot}docs/prometheus`;
    const check = spawnSync(findBinary('promtool', 'prometheus', '/usr/bin'), ['check', 'rules', 'cpe-sim-alerts.yml'], { cwd: dir, encoding: 'utf8' });
    expect(check.status).toBe(0);
    expect(check.stdout).toContain('5 rules found');
    const unit = spawnSync(findBinary('promtool', 'prometheus', '/usr/bin'), ['test', 'rules', 'cpe-sim-alerts.test.yml'], { cwd: dir, encoding: 'utf8' });
    expect({ status: unit.status, out: unit.stdout + unit.stderr }).toEqual({ status: 0, out: expect.stringContaining('SUCCESS') });
  });
});
