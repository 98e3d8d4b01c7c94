// The CLI run from another folder (as `npx cpe-sim` is): the default profile and a shipped
// profile named bare resolve from the package; a folder of that name in the working
// directory wins; a name found nowhere is refused naming the shipped ones.
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { MockAcs } from '../src/mock-acs/mock-acs.js';
import { cliEnv } from './helpers/cli.js';
import { repoRoot } from './helpers/harness.js';

function runIn(cwd: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [join(repoRoot, 'dist/src/cli/main.js'), ...args], { cwd, env: cliEnv(), timeout: 40_000, killSignal: 'SIGKILL' });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    p.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    p.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The profile the 'starting fleet' log line names. */
const startedWith = (stderr: string): string | undefined =>
  stderr
    .split('\n')
    .map((l) => {
      try {
        return JSON.parse(l) as { msg?: string; profile?: string };
      } catch {
        return {};
      }
    })
    .find((r) => r.msg === 'starting fleet')?.profile;

describe('profiles resolve from the package when not in the working directory', () => {
  let acs: MockAcs;
  let dir: string;
  beforeAll(async () => {
    acs = new MockAcs({ record: false });
    await acs.listen();
    dir = mkdtempSync(join(tmpdir(), 'cpe-sim-cwd-'));
  });
  afterAll(async () => {
    await acs.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const common = () => ['--acs-url', acs.url, '--cpes', '2', '--shards', '1', '--boot-ramp', '0', '--cr-bind-addr', '127.0.0.1:0', '--log-level', 'info'];

  it('the default profile, from an empty folder: the fleet bootstraps on the package\'s copy', async () => {
    const before = acs.informCount;
    const r = await runIn(dir, common());
    expect(r.stderr).not.toMatch(/no such folder|no folder/);
    expect(r.code).toBe(0);
    expect(startedWith(r.stderr)).toBe(join(repoRoot, 'profiles/example-tr181-gateway'));
    expect(JSON.parse(r.stdout.trim().split('\n').at(-1)!)).toMatchObject({ summary: { ready: 2, failed: 0 } });
    expect(acs.informCount - before).toBeGreaterThanOrEqual(2);
  });

  it('a bare shipped name (--profile huawei-bm632w-tr098) resolves to the package\'s profiles/', async () => {
    const r = await runIn(dir, [...common(), '--profile', 'huawei-bm632w-tr098']);
    expect(r.code).toBe(0);
    expect(startedWith(r.stderr)).toBe(join(repoRoot, 'profiles/huawei-bm632w-tr098'));
  });

  it('a folder of that path in the working directory wins over the shipped one', async () => {
    cpSync(join(repoRoot, 'profiles/huawei-bm632w-tr098'), join(dir, 'profiles/example-tr181-gateway'), { recursive: true });
    try {
      const r = await runIn(dir, common());
      expect(r.code).toBe(0);
      expect(startedWith(r.stderr)).toBe('profiles/example-tr181-gateway');
    } finally {
      rmSync(join(dir, 'profiles'), { recursive: true, force: true });
    }
  });

  it('a name found nowhere: exit 2, naming the folder looked in and the shipped profiles', async () => {
    const r = await runIn(dir, [...common(), '--profile', 'no-such-gateway']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe(`config: profile (--profile): no folder "no-such-gateway" in ${dir}, nor a shipped profile of that name; shipped: example-tr181-gateway, huawei-bm632w-tr098`);
  });
});

describe('cpe-sim run FILE resolves a shipped scenario from the package when not in the working directory', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'cpe-sim-cwd-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  // --cpes 100 is too few for the smoke scenario's power cut of CPEs [0, 150): the refusal,
  // before anything starts, names the file that was read.
  const refusal = (file: string) =>
    `scenario ${file}: stages[3].powerCut.target: the range [0, 150) is outside the fleet's CPEs [0, 100) (--cpes 100, --fleet-offset 0)`;

  it('a bare shipped name, and the docs\' scenarios/NAME.yaml form, from an empty folder: the package\'s copy is read', async () => {
    for (const name of ['overload-smoke', 'overload-smoke.yaml', 'scenarios/overload-smoke.yaml']) {
      const r = await runIn(dir, ['run', name, '--cpes', '100']);
      expect(r.code).toBe(2);
      expect(r.stderr.trim()).toBe(refusal(join(repoRoot, 'scenarios/overload-smoke.yaml')));
    }
  });

  it('a file of that path in the working directory wins over the shipped one', async () => {
    cpSync(join(repoRoot, 'scenarios/overload-smoke.yaml'), join(dir, 'scenarios/overload-smoke.yaml'));
    try {
      const r = await runIn(dir, ['run', 'scenarios/overload-smoke.yaml', '--cpes', '100']);
      expect(r.code).toBe(2);
      expect(r.stderr.trim()).toBe(refusal('scenarios/overload-smoke.yaml'));
    } finally {
      rmSync(join(dir, 'scenarios'), { recursive: true, force: true });
    }
  });

  it('a name found nowhere: exit 2, naming the folder looked in and the shipped scenarios', async () => {
    const r = await runIn(dir, ['run', 'no-such-test.yaml']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe(`scenario no-such-test.yaml: no such file in ${dir}, nor a shipped scenario of that name; shipped: boot-storm, breakpoint, overload-smoke, steady-day`);
  });
});
