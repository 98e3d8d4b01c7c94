// --fleet-index: a process's slice of a fleet spread over several processes or pods. The real
// CLI bootstraps against the mock ACS over HTTP; the serials the ACS sees (CS{index:08} in the
// shipped profile) show which global CPE indexes the process ran.
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { MockAcs } from '../src/mock-acs/mock-acs.js';
import { runCli } from './helpers/cli.js';

describe('--fleet-index', () => {
  let acs: MockAcs;
  beforeEach(async () => {
    acs = new MockAcs({});
    await acs.listen();
  });
  afterEach(async () => {
    await acs.close();
  });

  const boot = (fleetArgs: string[], env: NodeJS.ProcessEnv) =>
    runCli(['--acs-url', acs.url, '--cpes', '3', '--shards', '1', '--boot-ramp', '0', '--cr-bind-addr', '127.0.0.1:0', '--log-level', 'warn', ...fleetArgs], 40_000, env);
  const serials = () => [...acs.devices.values()].map((i) => i.deviceId.serialNumber).sort();

  it('auto reads a StatefulSet ordinal from HOSTNAME: pod cpe-sim-4 of --cpes 3 runs CPEs 12..14', async () => {
    const r = await boot(['--fleet-index', 'auto'], { HOSTNAME: 'cpe-sim-4', JOB_COMPLETION_INDEX: undefined });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(serials()).toEqual(['CS00000012', 'CS00000013', 'CS00000014']);
    const summary = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { summary: Record<string, number> };
    expect(summary.summary).toMatchObject({ ready: 3, failed: 0 });
  });

  it('auto prefers JOB_COMPLETION_INDEX (an Indexed Job) over the hostname', async () => {
    const r = await boot(['--fleet-index', 'auto'], { HOSTNAME: 'cpe-sim-run-2-x7k2p', JOB_COMPLETION_INDEX: '5' });
    expect(r.code).toBe(0);
    expect(serials()).toEqual(['CS00000015', 'CS00000016', 'CS00000017']);
  });

  it('a number is the index itself, from the flag or CPE_SIM_FLEET_INDEX', async () => {
    const r = await boot([], { CPE_SIM_FLEET_INDEX: '1', HOSTNAME: 'no-ordinal' });
    expect(r.code).toBe(0);
    expect(serials()).toEqual(['CS00000003', 'CS00000004', 'CS00000005']);
  });

  it('refuses a hostname without an ordinal, a bad JOB_COMPLETION_INDEX and --fleet-offset alongside, naming the keys', async () => {
    const noOrdinal = await boot(['--fleet-index', 'auto'], { HOSTNAME: 'laptop', JOB_COMPLETION_INDEX: undefined });
    expect(noOrdinal.code).toBe(2);
    expect(noOrdinal.stderr).toContain('config: fleetIndex: auto: hostname "laptop" has no trailing "-<ordinal>"');
    const badJob = await boot(['--fleet-index', 'auto'], { HOSTNAME: 'cpe-sim-1', JOB_COMPLETION_INDEX: 'two' });
    expect(badJob.code).toBe(2);
    expect(badJob.stderr).toContain('config: fleetIndex: auto: JOB_COMPLETION_INDEX is "two"');
    const both = await boot(['--fleet-index', '2', '--fleet-offset', '6'], {});
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('config: fleetIndex and fleetOffset: give one of --fleet-index and --fleet-offset, not both');
    const bad = await boot(['--fleet-index', '-1'], {});
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('config: fleetIndex (flag --fleet-index): expected "auto" or a whole number >= 0, got "-1"');
    expect(acs.informCount).toBe(0);
  });
});
