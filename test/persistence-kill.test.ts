// Proof by killing (docs/persistence.md): the real CLI with --state-dir against a mock ACS
// over HTTP. The ACS writes ProvisioningCode in every session of every CPE (a write storm
// at a 1 s periodic interval); the process (or one shard thread) is killed mid-storm and
// started again with the same state dir. Every write the ACS saw acknowledged is there
// (ProvisioningCode is a forced Inform parameter: the first Inform after the restart shows
// it), no CPE says 0 BOOTSTRAP again, and the 1 s interval the ACS set is kept.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from '@jest/globals';
import type { Inform } from '../src/cwmp/types.js';
import type { MockAcs } from '../src/mock-acs/mock-acs.js';
import { spawnCli } from './helpers/cli.js';
import { exampleProfile, until } from './helpers/harness.js';
import { codes, PC, param, stormAcs, writes } from './helpers/storm.js';

let acs: MockAcs | undefined;
let dir: string | undefined;
const children: Array<ReturnType<typeof spawnCli>> = [];
afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await acs?.close();
  acs = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

const CPES = 40;
const args = (acsUrl: string, stateDir: string, extra: string[] = []) => [
  '--acs-url', acsUrl, '--profile', exampleProfile, '--cpes', String(CPES), '--shards', '2', '--boot-ramp', '0',
  '--state-dir', stateDir, '--cr-bind-addr', '127.0.0.1:0', '--duration', '300', '--log-level', 'warn', ...extra,
];

describe('state survives a SIGKILL in the middle of a write storm (--state-dir)', () => {
  it('every acknowledged write is there after the restart, no CPE bootstraps again, the interval the ACS set is kept', async () => {
    dir = mkdtempSync(join(tmpdir(), 'cpe-sim-state-'));
    const storm = stormAcs();
    acs = storm.acs;
    await acs.listen();
    const first = spawnCli(args(acs.url, dir), 120_000);
    children.push(first);
    // Every CPE bootstrapped, and the storm well under way (about 40 writes a second).
    await acs.waitFor(() => (acs!.counts().informsByEvent['0 BOOTSTRAP'] ?? 0) === CPES && writes(storm.sent).ackCount >= 5 * CPES, 60_000, 'the write storm');
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));
    storm.storming.on = false;
    const { acked, sentMax } = writes(storm.sent);
    expect(acked.size).toBe(CPES);

    const before = acs.sessions.length;
    const second = spawnCli(args(acs.url, dir), 120_000);
    children.push(second);
    const after = () => acs!.sessions.slice(before);
    await until(() => new Set(after().map((s) => s.deviceId)).size === CPES, 60_000, 'every CPE to inform after the restart');
    const firstInform = new Map<string, Inform>();
    for (const s of after()) if (!firstInform.has(s.deviceId)) firstInform.set(s.deviceId, s.inform);
    for (const [d, inform] of firstInform) {
      expect(codes(inform)).not.toContain('0 BOOTSTRAP');
      expect(codes(inform)).toContain('1 BOOT');
      // What the ACS saw acknowledged, or a later write it sent whose answer the kill cut.
      const v = Number(param(inform, PC));
      expect(v).toBeGreaterThanOrEqual(acked.get(d)!);
      expect(v).toBeLessThanOrEqual(sentMax.get(d)!);
    }
    // The 1 s interval the bootstrap session set is kept: periodic Informs go on at once.
    await until(() => after().filter((s) => codes(s.inform).includes('2 PERIODIC')).length >= CPES, 30_000, 'periodic Informs at the kept interval');
    second.kill('SIGTERM');
    await new Promise((r) => second.once('exit', r));
  }, 180_000);
});
