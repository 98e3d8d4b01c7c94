// The shipped overload scenario against a real ACS process (the standalone mock ACS in
// overload mode, started by scripts/prove-acs-load.ts): cpe-sim's summary must agree
// with what that ACS counted on its side (503s, Informs, sessions, resets).
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from '@jest/globals';
import type { ProofCheck } from '../scripts/prove-acs-load.js';
import { cliEnv } from './helpers/cli.js';
import { repoRoot } from './helpers/harness.js';

it('runs scenarios/overload-smoke.yaml against an overloaded ACS process, and both sides agree', async () => {
  const report = mkdtempSync(join(tmpdir(), 'cpe-sim-proof-'));
  const p = spawn(process.execPath, [join(repoRoot, 'dist/scripts/prove-acs-load.js'), 'scenarios/overload-smoke.yaml', '--report', report, '--', '--log-level', 'error', '--cr-bind-addr', '127.0.0.1:0'], {
    cwd: repoRoot,
    env: cliEnv(),
    timeout: 240_000,
    killSignal: 'SIGKILL',
  });
  let out = '';
  let err = '';
  p.stdout.on('data', (c: Buffer) => (out += c.toString()));
  p.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const code = await new Promise<number | null>((resolve) => p.on('close', (c) => resolve(c)));
  const line = out.split('\n').find((l) => l.startsWith('{"proof"'));
  expect({ line: line !== undefined, err: err.split('\n').filter((l) => !l.startsWith('{"level"')).join('\n').trim() }).toEqual({ line: true, err: '' });
  const proof = (JSON.parse(line!) as { proof: { checks: ProofCheck[]; cpeSimExit: number; acs: { refused503: number; resets: number; sessionsCompleted: number } } }).proof;
  // A disagreement shows both sides' numbers.
  expect(proof.checks.filter((c) => !c.ok)).toEqual([]);
  expect(code).toBe(0);
  // The scenario ran to its end: its thresholds judge the ACS (exit 0 or 99), not the proof.
  expect([0, 99]).toContain(proof.cpeSimExit);
  expect(proof.checks.map((c) => c.what)).toHaveLength(5);
  // The scenario really overloads the ACS and cuts links: the agreement is not over zeros.
  expect(proof.acs.refused503).toBeGreaterThan(0);
  expect(proof.acs.resets).toBeGreaterThan(0);
  expect(proof.acs.sessionsCompleted).toBeGreaterThan(600);
}, 260_000);
