// The cpe-sim CLI as users run it, in a process of its own, measured from outside through
// /proc: its whole resident memory and its CPU (every thread), against the minimal ACS in
// another process (sessions counted by the ACS).
//   BenchmarkFixedBase_<N>-<threads>  1  <ns/op>  <rss_mb>  <peak_rss_mb>
//     FIXED_BASE_BENCH=1 (N = 100, 2 shards, metrics on): the process's RSS once every CPE is
//     ready and the fleet idle (3 s later), and its peak; ns/op is the start-up wall time
//     per CPE. What cpe-sim costs before its CPEs do.
//   BenchmarkSteady_<N>-<threads>  <sessions>  <ns/op>  <sessions_per_s>  <cpu_pct>  <rss_mb>  <interval_s>
//     STEADY_BENCH=1 (STEADY_BENCH_SIZES, 100000): N CPEs power on over one interval
//     (--boot-ramp <interval>s, the profile's 300 s PeriodicInformInterval), so from then on
//     N / 300 periodic sessions a second arrive; after the boot window and 10 s more,
//     STEADY_BENCH_WINDOW (180) seconds are measured: sessions/s at the ACS, the CLI's CPU
//     as a percentage of one core, its RSS at the end. ns/op is CPU ns per session.
//     other_sessions counts the window's Informs without 2 PERIODIC (bootstraps, VALUE
//     CHANGE...) and retried_sessions those with a RetryCount above 0 (a CPE trying again
//     after a failed session): in a steady fleet, none of either.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { AcsProcess } from './acs-child.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const cli = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

/** utime + stime of every thread of `pid`, in seconds (proc(5) /proc/pid/stat fields 14, 15). */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
}

/** VmRSS and VmHWM of `pid`, MB (proc(5) /proc/pid/status). */
export function rssMb(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
}

/** The CLI as a daemon; resolves once it logs that all its CPEs are ready, fails (and kills it) past `deadlineMs`. */
export async function startCli(args: string[], deadlineMs: number, nodeArgs: string[] = []): Promise<{ child: ChildProcess; readyAfterMs: number }> {
  const t0 = Date.now();
  const child = spawn(process.execPath, [...nodeArgs, cli, ...args, '--log-format', 'json', '--log-level', 'info'], { stdio: ['ignore', 'ignore', 'pipe'] });
  const lines = createInterface({ input: child.stderr! });
  const tail: string[] = [];
  let timer: NodeJS.Timeout | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`bench: cpe-sim exited (${code}) before its fleet was ready:\n${tail.join('\n')}`)));
      timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`bench: cpe-sim's fleet was not all ready within ${deadlineMs / 1000} s (a CPE failed, or the machine is too slow):\n${tail.join('\n')}`));
      }, deadlineMs);
      lines.on('line', (l) => {
        tail.push(l);
        if (tail.length > 20) tail.shift();
        if (/"msg":"all \d+ ready in/.test(l)) resolve();
      });
    });
  } finally {
    clearTimeout(timer);
  }
  return { child, readyAfterMs: Date.now() - t0 };
}

export async function stopCli(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

/** The CLI's arguments for the fixed-base measurement: N CPEs on `shards` shards, metrics on, all powered on at once. */
export function fixedBaseArgs(acsUrl: string, n: number, shards: number, profile: string): string[] {
  return ['--acs-url', acsUrl, '--cpes', String(n), '--shards', String(shards), '--profile', profile, '--boot-ramp', '0', '--cr-bind-addr', '127.0.0.1:0', '--metrics-bind-addr', '127.0.0.1:0'];
}

export async function fixedBaseLine(n: number, shards: number, profile: string): Promise<string> {
  const acs = await AcsProcess.start();
  try {
    const { child, readyAfterMs } = await startCli(fixedBaseArgs(acs.url, n, shards, profile), 120_000);
    try {
      await sleep(3000);
      const { rss, peak } = rssMb(child.pid!);
      return [
        `Benchmark${'FixedBase'}_${n}-${shards}`.padEnd(32),
        '1'.padStart(4),
        `${((readyAfterMs * 1e6) / n).toFixed(0).padStart(12)} ns/op`,
        `${rss.toFixed(1).padStart(7)} rss_mb`,
        `${peak.toFixed(1).padStart(7)} peak_rss_mb`,
      ].join('\t');
    } finally {
      await stopCli(child);
    }
  } finally {
    await acs.stop();
  }
}

export async function steadyLine(n: number, shards: number, profile: string, windowSeconds: number): Promise<string> {
  const interval = 300;
  const acs = await AcsProcess.start();
  try {
    const args = ['--acs-url', acs.url, '--cpes', String(n), '--shards', String(shards), '--profile', profile, '--boot-ramp', `${interval}s`, '--cr-bind-addr', '127.0.0.1:0', '--metrics-bind-addr', '127.0.0.1:0'];
    const { child } = await startCli(args, (interval + 600) * 1000);
    try {
      // Ready means every CPE bootstrapped; the last ones did so near the window's end.
      await sleep(10_000);
      const pid = child.pid!;
      const a = await acs.stats();
      const cpu0 = cpuSeconds(pid);
      const t0 = process.hrtime.bigint();
      await sleep(windowSeconds * 1000);
      const cpu = cpuSeconds(pid) - cpu0;
      const b = await acs.stats();
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      const sessions = b.informs - a.informs;
      const other = sessions - (b.periodics - a.periodics);
      const retried = b.retried - a.retried;
      const { rss } = rssMb(pid);
      return [
        `Benchmark${'Steady'}_${n}-${shards}`.padEnd(32),
        String(sessions).padStart(7),
        `${((cpu * 1e9) / Math.max(1, sessions)).toFixed(0).padStart(12)} ns/op`,
        `${(sessions / seconds).toFixed(0).padStart(6)} sessions_per_s`,
        `${((cpu / seconds) * 100).toFixed(1).padStart(6)} cpu_pct`,
        `${rss.toFixed(0).padStart(6)} rss_mb`,
        `${String(interval).padStart(4)} interval_s`,
        `${String(other).padStart(6)} other_sessions`,
        `${String(retried).padStart(6)} retried_sessions`,
      ].join('\t');
    } finally {
      await stopCli(child);
    }
  } finally {
    await acs.stop();
  }
}

