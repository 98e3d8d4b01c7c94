// HELD_BENCH=1: how many CPEs one host holds (see heldFleetLine).
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Coordinator } from '../src/coordinator/coordinator.js';
import { probeThread } from '../src/util/probe.js';
import { AcsProcess } from './acs-child.js';
import { benchInit } from './bench-init.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 *   BenchmarkHeldFleet_<N>-<threads>  <sessions>  <ns/op>  <bytes_per_cpe>  <rss_mb>  <sessions_per_s>  <booted>  <start_s>
 * HELD_BENCH=1 (HELD_BENCH_SIZE, 10,000,000): N CPEs of the full profile with a 24-hour
 * PeriodicInformInterval (the profile copied with that default) powered on along a 24-hour
 * window: about N / 86,400 sessions a second. After the shards are up, HELD_BENCH_MINUTES
 * (5) of that; then bytes_per_cpe (heap growth of every thread after a full GC, / N) and the
 * process's RSS. Most CPEs have not booted by then (booted says how many have): their
 * memory must be the same as a booted one's. ns/op is the shards' start-up per CPE.
 */
export async function heldFleetLine(n: number, shards: number, profile: string, minutes: number): Promise<string> {
  const day = 86_400;
  const dir = mkdtempSync(join(tmpdir(), 'cpe-sim-held-'));
  const acs = await AcsProcess.start();
  try {
    cpSync(profile, dir, { recursive: true });
    const ms = join(dir, 'model/management-server.yaml');
    const text = readFileSync(ms, 'utf8');
    const patched = text.replace(/(PeriodicInformInterval: \{[^}]*value: )300\b/, `$1${day}`);
    if (patched === text) throw new Error(`bench: no PeriodicInformInterval of 300 in ${ms}`);
    writeFileSync(ms, patched);
    const mainBefore = probeThread();
    const coordinator = new Coordinator({ ...benchInit(n, dir, acs.url), bootRamp: { mode: 'window', seconds: day }, measure: true }, shards);
    const t0 = process.hrtime.bigint();
    await coordinator.start();
    const startNs = Number(process.hrtime.bigint() - t0);
    const a = await acs.stats();
    const t1 = process.hrtime.bigint();
    await sleep(minutes * 60_000);
    const b = await acs.stats();
    const seconds = Number(process.hrtime.bigint() - t1) / 1e9;
    const shardNow = await coordinator.probe();
    const mainNow = probeThread();
    const growth = shardNow.reduce((sum, p, i) => sum + p.heapBytes - (coordinator.baselines[i]?.heapBytes ?? p.heapBytes), 0) + (mainNow.heapBytes - mainBefore.heapBytes);
    const rss = process.memoryUsage().rss / 2 ** 20;
    const stats = await coordinator.stats();
    await coordinator.stop();
    return [
      `Benchmark${'HeldFleet'}_${n}-${coordinator.shardCount}`.padEnd(32),
      String(b.informs - a.informs).padStart(7),
      `${(startNs / n).toFixed(0).padStart(12)} ns/op`,
      `${(growth / n).toFixed(1).padStart(8)} bytes_per_cpe`,
      `${rss.toFixed(0).padStart(6)} rss_mb`,
      `${((b.informs - a.informs) / seconds).toFixed(1).padStart(7)} sessions_per_s`,
      `${String(stats.states.ready + stats.states.failed).padStart(7)} booted`,
      `${(startNs / 1e9).toFixed(1).padStart(6)} start_s`,
    ].join('\t');
  } finally {
    await acs.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
