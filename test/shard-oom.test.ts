// A shard thread that runs out of heap dies alone: the pool's resourceLimits make Node end
// that thread with ERR_WORKER_OUT_OF_MEMORY instead of V8 aborting the process. The other
// shard keeps answering, the dead one is restarted after a backoff, /metrics counts the
// restart with reason out-of-memory, and an error-level log line names shard, reason, delay.
import { request } from 'node:http';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { loadConfig } from '../src/config/load.js';
import { DEFAULT_RESTART_BACKOFF, restartDelay, shardHeapMb } from '../src/coordinator/coordinator.js';
import { startFleet, type Fleet } from '../src/coordinator/fleet.js';
import { MockAcs } from '../src/mock-acs/mock-acs.js';
import { exampleProfile } from './helpers/harness.js';
import { sample, scrapeUntil } from './helpers/scrape.js';

const value = (text: string, series: string) => sample(text, series) ?? NaN;

function get(port: number, path: string): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as unknown }));
    })
      .on('error', reject)
      .end();
  });
}

describe('restart backoff and heap caps', () => {
  it('doubles from 1 s to 30 s', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 50].map((n) => restartDelay(DEFAULT_RESTART_BACKOFF, n))).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
  });
  it('splits the memory over the shards, at least 256 MiB, unless set', () => {
    expect(shardHeapMb(1_000_000)).toBe(256);
    expect(shardHeapMb(1)).toBeGreaterThanOrEqual(shardHeapMb(2));
    expect(shardHeapMb(4, 48)).toBe(48);
  });
});

describe('a shard thread that runs out of memory', () => {
  const cpes = 10;
  let fleet: Fleet;
  let acs: MockAcs;
  const lines: Array<Record<string, unknown>> = [];

  beforeAll(async () => {
    acs = new MockAcs({ record: false });
    await acs.listen();
    const cfg = loadConfig({
      flags: { profile: exampleProfile, acsUrl: acs.url, cpes: String(cpes), shards: '2', shardHeapMb: '64', bootRamp: '0', crBindAddr: '127.0.0.1:0', metricsBindAddr: '127.0.0.1:0', logLevel: 'silent' },
      env: {},
    });
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
        done();
      },
    });
    // Restarts after 2 s: long enough to see shard 1 answer while shard 0 is down.
    fleet = await startFleet(cfg, pino({ level: 'error' }, sink), { testHooks: true, restartBackoff: { initialMs: 2000, maxMs: 8000, stableMs: 60_000 } });
  });
  afterAll(async () => {
    await fleet?.stop();
    await acs.close();
  });

  it('dies alone, is restarted after a backoff, and is counted as out-of-memory', async () => {
    const port = fleet.admin!.port;
    expect(fleet.coordinator.heapMb).toBe(64);
    let text = await scrapeUntil(port, (t) => value(t, 'cpe_sim_fleet_bootstraps_total') === cpes);
    expect(value(text, 'cpe_sim_fleet_bootstraps_total')).toBe(cpes);
    expect(value(text, 'cpe_sim_process_shard_restarts_total{reason="out-of-memory"}')).toBe(0);

    // Shard 0 allocates until its 64 MiB cap: Node ends that thread, not the process.
    await expect(fleet.coordinator.exhaustMemory(0)).rejects.toThrow(/shard 0: ran out of memory \(heap cap 64 MiB\)/);

    // Shard 1 (CPEs 5..9) answers while shard 0 waits for its restart.
    const other = await get(port, '/admin/cpes/7');
    expect(other.status).toBe(200);
    expect((other.body as { id: number }).id).toBe(7);
    const stats = await fleet.coordinator.statsPerShard();
    expect(stats[1]?.states.ready).toBe(cpes / 2);

    // The restart: counted, the CPEs of shard 0 back, two threads running.
    text = await scrapeUntil(
      port,
      (t) => value(t, 'cpe_sim_process_shard_restarts_total{reason="out-of-memory"}') === 1 && value(t, 'cpe_sim_fleet_cpes_by_state{lifecycle_state="ready"}') === cpes && value(t, 'cpe_sim_fleet_bootstraps_total') === cpes + cpes / 2,
      30_000,
    );
    expect(value(text, 'cpe_sim_process_shard_restarts_total{reason="out-of-memory"}')).toBe(1);
    expect(value(text, 'cpe_sim_process_shard_restarts_total{reason="error"}')).toBe(0);
    expect(value(text, 'cpe_sim_process_shard_restarts_total{reason="exit"}')).toBe(0);
    expect(value(text, 'cpe_sim_fleet_cpes_by_state{lifecycle_state="ready"}')).toBe(cpes);
    expect(value(text, 'cpe_sim_process_worker_threads')).toBe(2);
    expect(fleet.coordinator.generation).toBe(1);
    const back = await get(port, '/admin/cpes/2');
    expect(back.status).toBe(200);

    // One error-level line names the shard, the reason and the delay.
    const died = lines.filter((l) => l['shard'] === 0 && l['reason'] === 'out-of-memory');
    expect(died).toHaveLength(1);
    expect(died[0]).toMatchObject({ level: 50, delayMs: 2000 });
    expect(String(died[0]!['msg'])).toContain('restarting it in 2 s');
  });

  it('backs off longer when the same shard dies again soon', async () => {
    const port = fleet.admin!.port;
    await expect(fleet.coordinator.exhaustMemory(0)).rejects.toThrow(/ran out of memory/);
    const text = await scrapeUntil(port, (t) => value(t, 'cpe_sim_process_shard_restarts_total{reason="out-of-memory"}') === 2 && value(t, 'cpe_sim_fleet_cpes_by_state{lifecycle_state="ready"}') === cpes, 30_000);
    expect(value(text, 'cpe_sim_process_shard_restarts_total{reason="out-of-memory"}')).toBe(2);
    const died = lines.filter((l) => l['shard'] === 0 && l['reason'] === 'out-of-memory');
    expect(died.map((l) => l['delayMs'])).toEqual([2000, 4000]);
  });
});
