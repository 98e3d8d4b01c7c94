// A shard thread that dies mid-storm comes back from the state dir (docs/persistence.md):
// shard 0 runs out of its heap cap (the test-only hook) while a mock ACS writes
// ProvisioningCode in every session; the restarted thread's CPEs boot with 1 BOOT, not
// 0 BOOTSTRAP, and report the last write the ACS saw acknowledged (or a later one it sent).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from '@jest/globals';
import { loadConfig } from '../src/config/load.js';
import { startFleet, type Fleet } from '../src/coordinator/fleet.js';
import type { Inform } from '../src/cwmp/types.js';
import type { MockAcs } from '../src/mock-acs/mock-acs.js';
import { exampleProfile, until } from './helpers/harness.js';
import { sample, scrapeUntil } from './helpers/scrape.js';
import { codes, PC, param, stormAcs, writes } from './helpers/storm.js';

let fleet: Fleet | undefined;
let acs: MockAcs | undefined;
const dir = mkdtempSync(join(tmpdir(), 'cpe-sim-state-shard-'));
afterAll(async () => {
  await fleet?.stop();
  await acs?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('a shard thread restarted from the state dir', () => {
  it('brings its CPEs back as they were: no 0 BOOTSTRAP, every acknowledged write there', async () => {
    const cpes = 20;
    const storm = stormAcs();
    acs = storm.acs;
    await acs.listen();
    const cfg = loadConfig({
      flags: { profile: exampleProfile, acsUrl: acs.url, cpes: String(cpes), shards: '2', shardHeapMb: '64', bootRamp: '0', crBindAddr: '127.0.0.1:0', metricsBindAddr: '127.0.0.1:0', stateDir: dir, logLevel: 'silent' },
      env: {},
    });
    fleet = await startFleet(cfg, pino({ level: 'silent' }), { testHooks: true, restartBackoff: { initialMs: 500, maxMs: 2000, stableMs: 60_000 } });
    await acs.waitFor(() => (acs!.counts().informsByEvent['0 BOOTSTRAP'] ?? 0) === cpes && writes(storm.sent).ackCount >= 5 * cpes, 60_000, 'the write storm');
    const mark = acs.sessions.length;
    // Shard 0 (CPEs 0..9) allocates until its 64 MiB cap: only that thread ends.
    await expect(fleet.coordinator.exhaustMemory(0)).rejects.toThrow(/out of memory/);
    // Its CPEs are gone with it: what the ACS saw acknowledged from them is final now.
    const { acked, sentMax } = writes(storm.sent);
    const rebooted = () => {
      const first = new Map<string, Inform>();
      for (const s of acs!.sessions.slice(mark)) if (codes(s.inform).includes('1 BOOT') && !first.has(s.deviceId)) first.set(s.deviceId, s.inform);
      return first;
    };
    await until(() => rebooted().size === cpes / 2, 60_000, 'shard 0 restarted and its CPEs booted');
    for (const [d, inform] of rebooted()) {
      expect(codes(inform)).not.toContain('0 BOOTSTRAP');
      const v = Number(param(inform, PC));
      expect(v).toBeGreaterThanOrEqual(acked.get(d)!);
      expect(v).toBeLessThanOrEqual(sentMax.get(d)!);
    }
    expect(acs.counts().informsByEvent['0 BOOTSTRAP']).toBe(cpes);
    // /metrics: shard 0's ten CPEs were read back; writes stored, none failed.
    const text = await scrapeUntil(fleet.admin!.port, (t) => (sample(t, 'cpe_sim_state_restored_cpes_total') ?? 0) >= cpes / 2);
    expect(sample(text, 'cpe_sim_state_restored_cpes_total')).toBe(cpes / 2);
    expect(sample(text, 'cpe_sim_state_writes_total{result="stored"}')).toBeGreaterThanOrEqual(5 * cpes);
    expect(sample(text, 'cpe_sim_state_writes_total{result="failed"}')).toBe(0);
  }, 120_000);
});
