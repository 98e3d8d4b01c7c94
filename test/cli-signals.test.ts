// SIGTERM while the CLI is still starting (threads spinning up, the state dir opening): it
// is caught, the fleet is stopped as soon as it is up, and the process exits by itself with
// the code of an interrupted run, its log saying so; a state dir it opened stays usable.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { MockAcs } from '../src/mock-acs/mock-acs.js';
import { runCli, spawnCli } from './helpers/cli.js';
import { until } from './helpers/harness.js';

type Rec = { msg?: string; level?: number; signal?: string; summary?: Record<string, unknown> } & Record<string, unknown>;

/** Start the CLI, send SIGTERM as soon as `first` is logged; resolves with its exit, stdout and log records. */
async function termAtStart(args: string[], first: string): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; records: Rec[] }> {
  const p = spawnCli([...args, '--log-format', 'json'], 90_000);
  let stdout = '';
  let stderr = '';
  p.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  p.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => p.on('close', (code, signal) => resolve({ code, signal })));
  await until(() => stderr.includes(`"msg":"${first}"`) || p.exitCode !== null, 30_000, `"${first}" in the log`);
  expect(p.exitCode).toBeNull();
  p.kill('SIGTERM');
  const end = await exited;
  const records = stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Rec);
  return { ...end, stdout, records };
}

const index = (records: Rec[], msg: string | RegExp) => records.findIndex((r) => (typeof msg === 'string' ? r.msg === msg : msg.test(r.msg ?? '')));

describe('SIGTERM during start-up', () => {
  let acs: MockAcs;
  const dirs: string[] = [];
  beforeAll(async () => {
    acs = new MockAcs({ record: false });
    await acs.listen();
  });
  afterAll(async () => {
    await acs.close();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  const tempDir = () => {
    const d = mkdtempSync(join(tmpdir(), 'cpe-sim-signals-'));
    dirs.push(d);
    return d;
  };

  it('a daemon with --state-dir: stops once the fleet is up, exits 0 by itself, and the state dir opens again', async () => {
    const stateDir = join(tempDir(), 'state');
    const args = ['--mock-acs', '127.0.0.1:0', '--cr-bind-addr', '127.0.0.1:0', '--cpes', '2000', '--shards', '2', '--state-dir', stateDir];
    const r = await termAtStart(args, 'starting fleet');
    expect(r.signal).toBeNull();
    expect(r.code).toBe(0);
    // The signal came while the fleet was starting, and the stop waited for it to be up.
    const caught = index(r.records, 'SIGTERM during start-up: stopping the fleet as soon as it is up (again to exit at once)');
    const started = index(r.records, 'fleet started');
    const stopped = index(r.records, 'fleet stopped');
    expect(caught).toBeGreaterThan(index(r.records, 'starting fleet'));
    expect(started).toBeGreaterThan(caught);
    expect(stopped).toBeGreaterThan(started);
    expect(r.records[caught]).toMatchObject({ level: 40, signal: 'SIGTERM' });
    expect(r.records[stopped]).toMatchObject({ level: 30, signal: 'SIGTERM' });
    // Not judged, no summary on stdout: as a daemon stopped by a signal after its start.
    expect(r.stdout).toBe('');
    // The same state dir starts a fleet again, as the one it was made for.
    const again = await runCli([...args, '--duration', '1', '--log-format', 'json'], 90_000);
    expect(again.code).toBe(0);
    const opened = again.stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Rec);
    expect(index(opened, 'state dir opened: CPEs come back as they were')).toBeGreaterThanOrEqual(0);
    expect(index(opened, 'fleet started')).toBeGreaterThan(0);
  });

  it('a bootstrap run: stops once the fleet is up, exits 0 with its summary naming the signal, no verdict', async () => {
    const r = await termAtStart(['--acs-url', acs.url, '--cr-bind-addr', '127.0.0.1:0', '--cpes', '2000', '--shards', '2', '--boot-ramp', '100/s'], 'starting fleet');
    expect(r.signal).toBeNull();
    expect(r.code).toBe(0);
    expect(index(r.records, /^SIGTERM during start-up: stopping the fleet/)).toBeGreaterThan(0);
    expect(index(r.records, 'bootstrap run stopped (SIGTERM)')).toBeGreaterThan(index(r.records, 'fleet started'));
    const { summary } = JSON.parse(r.stdout.trim()) as { summary: Record<string, unknown> };
    expect(summary).toMatchObject({ signal: 'SIGTERM' });
    expect(summary).not.toHaveProperty('verdict');
  });

  it('cpe-sim run: the run ends as soon as the fleet is up, judged on what ran, with its end summary and report', async () => {
    const dir = tempDir();
    const file = join(dir, 'short.yaml');
    writeFileSync(file, `name: interrupted at start\noptions: { cpes: 2000, seed: 3 }\nstages:\n  - name: on\n    powerOn: { target: {}, ramp: 100/s }\n`);
    const r = await termAtStart(['run', file, '--acs-url', acs.url, '--cr-bind-addr', '127.0.0.1:0', '--shards', '2', '--report', dir], 'starting scenario');
    expect(r.signal).toBeNull();
    // No threshold to fail: exit 0, the result "aborted" with the reason.
    expect(r.code).toBe(0);
    expect(index(r.records, 'SIGTERM during start-up: ending the run as soon as the fleet is up (again to exit without a report)')).toBeGreaterThan(0);
    expect(r.stdout).toMatch(/result +aborted \(interrupted \(SIGTERM\) during start-up\), exit code 0/);
    expect(r.stdout).toContain(`report: ${dir}/report.html, ${dir}/summary.json`);
  });
});
