// `cpe-sim run SCENARIO.yaml` as a user runs it: the real CLI in a child process against a
// mock ACS over real HTTP in this process; the summary's numbers against what the ACS saw.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from '@jest/globals';
import { MockAcs } from '../src/mock-acs/mock-acs.js';
import type { Summary } from '../src/scenario/summary.js';
import { runCli, spawnCli } from './helpers/cli.js';
import { exampleProfile, until } from './helpers/harness.js';

let acs: MockAcs | undefined;
afterEach(async () => {
  await acs?.close();
  acs = undefined;
});

function scenarioFile(yaml: string): { file: string; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'cpe-sim-scenario-'));
  const file = join(dir, 'test.yaml');
  writeFileSync(file, yaml);
  return { file, dir };
}

const common = (acsUrl: string, logLevel = 'warn') => ['--acs-url', acsUrl, '--profile', exampleProfile, '--cr-bind-addr', '127.0.0.1:0', '--shards', '2', '--log-level', logLevel];
const codes = (i: { events: Array<{ code: string }> }) => i.events.map((e) => e.code).join('+');

describe('cpe-sim run', () => {
  it('plays the stages in order, and the summary counts what the ACS saw: boots, a power cut, a reboot wave', async () => {
    acs = new MockAcs();
    await acs.listen();
    const { file, dir } = scenarioFile(`
name: wire check
options: { cpes: 40, seed: 5 }
stages:
  - name: power-on
    powerOn: { target: {}, ramp: 0 }
  - name: cut
    powerCut: { target: { from: 0, to: 10 }, duration: 1s, restore: { ramp: 10s } }
  - name: reboots
    reboot: { target: { from: 10, to: 15 }, ramp: 0 }
thresholds:
  session_success: ['rate >= 0.99']
  'sessions{stage:cut}': ['count == 10']
  'acs_response_ms{message:Inform}': ['p(99) < 1ms']
`);
    const r = await runCli(['run', file, ...common(acs.url), '--report', dir], 120_000);
    // One threshold cannot hold (an Inform answered within 1 ms over HTTP): exit 99.
    expect(r.stderr).not.toMatch(/Error/);
    expect(r.code).toBe(99);
    const s = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as Summary;
    const ended = acs.sessions.filter((x) => x.ended);
    expect(s.stages.map((st) => [st.name, st.kind])).toEqual([['power-on', 'powerOn'], ['cut', 'powerCut'], ['reboots', 'reboot']]);
    // Every session the ACS ended is one the summary counts ok, and none failed.
    expect(s.run.sessions.ok).toBe(ended.length);
    expect(s.run.sessions.failed).toBe(0);
    const byStage = (name: string) => s.stages.find((st) => st.name === name)!;
    expect(byStage('power-on').sessions.ok).toBe(ended.filter((x) => codes(x.inform) === '0 BOOTSTRAP+1 BOOT').length);
    expect(byStage('power-on').sessions.ok).toBe(40);
    expect(byStage('cut').sessions.ok).toBe(10);
    expect(ended.filter((x) => codes(x.inform) === '1 BOOT')).toHaveLength(10);
    expect(byStage('reboots').sessions.ok).toBe(5);
    expect(ended.filter((x) => codes(x.inform) === '1 BOOT+M Reboot')).toHaveLength(5);
    expect(byStage('cut').powerOnToReadyMs.count).toBe(10);
    expect(s.run.acsResponseMs['Inform']!.count).toBe(acs.informCount);
    expect(s.thresholds.map((t) => [t.source, t.ok])).toEqual([
      ['session_success: rate >= 0.99', true],
      ['sessions{stage:cut}: count == 10', true],
      ['acs_response_ms{message:Inform}: p(99) < 1ms', false],
    ]);
    expect(s.result).toBe('thresholds-failed');
    expect(s.exitCode).toBe(99);
    // The end-of-run text: each threshold with its value, pass or fail.
    expect(r.stdout).toMatch(/✓ session_success: rate >= 0.99\s+value 1/);
    expect(r.stdout).toMatch(/✗ acs_response_ms\{message:Inform\}: p\(99\) < 1ms\s+value [\d.]+/);
    expect(r.stdout).toContain('exit code 99');
    expect(readFileSync(join(dir, 'report.html'), 'utf8')).toContain('wire check');
  }, 150_000);

  it('finds the breakpoint: the highest step rate at which every threshold scoped to it held', async () => {
    acs = new MockAcs();
    await acs.listen();
    // 200 CPEs; 3 s steps at 10, 40, 70 sessions/s: about 30, 120, 200 sessions a step.
    const { file, dir } = scenarioFile(`
name: limit
options: { cpes: 200 }
stages:
  - name: on
    powerOn: { target: {}, ramp: 0 }
  - name: find
    breakpoint: { target: {}, from: 10/s, to: 70/s, duration: 9s, step: 3s, by: interval }
thresholds:
  'sessions{stage:find}': ['count < 75']
`);
    const r = await runCli(['run', file, ...common(acs.url), '--report', dir], 120_000);
    expect(r.code).toBe(99);
    const s = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as Summary;
    const b = s.stages.find((st) => st.name === 'find')!.breakpoint!;
    expect(b.steps.map((st) => [st.rate, st.held])).toEqual([[10, true], [40, false]]);
    // A step that fell short of 80% of its aim held at what it achieved (about 10/s here, drawn).
    const first = b.steps[0]!;
    expect(first.reached).toBe(first.achieved >= 8);
    expect(b.highestRateHeld).toBe(first.reached ? 10 : first.achieved);
    expect(b.brokeAtRate).toBe(40);
    expect(b.steps[1]!.achieved).toBeGreaterThan(first.achieved);
    expect(r.stdout).toContain(`highest rate at which every threshold held: ${b.highestRateHeld} sessions/s`);
  }, 150_000);

  it('aborts at a failed abortOnFail threshold, and still writes the report', async () => {
    acs = new MockAcs({ failInform: () => 503 });
    await acs.listen();
    const { file, dir } = scenarioFile(`
name: doomed
options: { cpes: 10 }
stages:
  - name: on
    powerOn: { target: {}, ramp: 0 }
  - name: wait
    hold: 10m
thresholds:
  session_success: [{ threshold: 'rate >= 0.5', abortOnFail: true }]
`);
    const r = await runCli(['run', file, ...common(acs.url), '--report', dir], 120_000);
    expect(r.code).toBe(99);
    const s = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as Summary;
    expect(s.result).toBe('aborted');
    expect(s.abortReason).toMatch(/session_success: rate >= 0.5/);
    expect(s.run.sessions.ok).toBe(0);
    expect(s.run.failures.byReason['http-status']).toBe(s.run.sessions.failed);
  }, 150_000);

  it('ends early on SIGINT with the report written', async () => {
    acs = new MockAcs();
    await acs.listen();
    const { file, dir } = scenarioFile(`
name: interrupted
options: { cpes: 5 }
stages:
  - name: on
    powerOn: { target: {}, ramp: 0 }
  - name: long
    hold: 1h
`);
    const p = spawnCli(['run', file, ...common(acs.url, 'info'), '--report', dir], 120_000);
    let out = '';
    p.stdout.on('data', (c: Buffer) => (out += c.toString()));
    p.stderr.on('data', (c: Buffer) => (out += c.toString()));
    await acs.waitFor(() => acs!.sessions.filter((x) => x.ended).length >= 5, 60_000, 'five boots');
    await until(() => out.includes('"stage":"long"'), 60_000, 'the long stage to start');
    p.kill('SIGINT');
    const code = await new Promise<number | null>((resolve) => p.on('close', (c) => resolve(c)));
    expect(code).toBe(0);
    const s = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as Summary;
    expect(s.result).toBe('aborted');
    expect(s.abortReason).toBe('interrupted (SIGINT)');
    expect(s.stages.map((st) => st.name)).toEqual(['on', 'long']);
    expect(s.run.sessions.ok).toBe(5);
  }, 150_000);

  it('counts the sessions in flight at the end apart: the stop waits --stop-grace, then cuts them as "stopped"', async () => {
    // The ACS holds every Inform a minute: the sessions are still open when the last stage ends.
    acs = new MockAcs({ latency: { ms: 60_000, jitterMs: 0 } });
    await acs.listen();
    const { file, dir } = scenarioFile(`
name: slow-acs
options: { cpes: 3 }
stages:
  - name: on
    powerOn: { target: {}, ramp: 0 }
    duration: 2s
`);
    const r = await runCli(['run', file, ...common(acs.url), '--acs-timeout', '120', '--stop-grace', '1', '--report', dir], 120_000);
    expect(r.code).toBe(0);
    const s = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as Summary;
    expect(s.run.sessions).toMatchObject({ ok: 0, failed: 0 });
    expect(s.stop).toEqual({ inFlight: 3, ok: 0, failed: 3, byReason: { stopped: 3 } });
    expect(r.stdout).toContain('stop      3 session(s) in flight at the end: 0 ended ok, 3 failed (stopped 3) during the stop');
    await acs.waitFor(() => acs!.sessionsCut === 3, 10_000, 'the ACS to see the three connections cut');
  }, 150_000);

  it('refuses a bad scenario before anything starts (exit 2), naming the file, the key path and the form', async () => {
    acs = new MockAcs();
    await acs.listen();
    const bad = scenarioFile(`
name: bad
stages:
  - name: on
    powerOn: { target: {}, ramp: 0 }
  - name: cut
    powerCut: { target: {}, duration: soon }
`);
    let r = await runCli(['run', bad.file, ...common(acs.url)]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`scenario ${bad.file}: stages[1].powerCut.duration: expected a duration`);
    const outside = scenarioFile(`
name: outside
options: { cpes: 10 }
stages:
  - name: on
    powerOn: { target: { from: 5, to: 20 }, ramp: 0 }
`);
    r = await runCli(['run', outside.file, ...common(acs.url)]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`scenario ${outside.file}: stages[0].powerOn.target: the range [5, 20) is outside the fleet's CPEs [0, 10)`);
    const wrong = scenarioFile(`
name: wrong
options: { cpes: 10 }
stages:
  - name: on
    powerOn: { target: { profile: example-tr181-gatway }, ramp: 0 }
  - name: find
    breakpoint: { target: {}, from: 1/s, to: 50/s, duration: 10s, step: 5s }
thresholds:
  'session_success{stage:find}': ['rate >= 0.99']
`);
    r = await runCli(['run', wrong.file, ...common(acs.url)]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`scenario ${wrong.file}: stages[0].powerOn.target.profile: "example-tr181-gatway" is not the fleet's profile; expected`);
    writeFileSync(wrong.file, readFileSync(wrong.file, 'utf8').replace('profile: example-tr181-gatway', 'profile: example-tr181-gateway'));
    r = await runCli(['run', wrong.file, ...common(acs.url)]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`scenario ${wrong.file}: stages[1].breakpoint.to: 50/s is more than the target's 10 CPEs can make`);
    r = await runCli(['run', outside.file, ...common(acs.url), '--cpes', '20', '--report', join(outside.file, 'not-a-dir')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('config: --report: cannot write into');
    r = await runCli(['run', join(bad.dir, 'missing.yaml'), ...common(acs.url)]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('missing.yaml: cannot read it');
    r = await runCli(['run', ...common(acs.url)]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('cpe-sim run SCENARIO.yaml');
    expect(acs.informCount).toBe(0);
  }, 150_000);
});
