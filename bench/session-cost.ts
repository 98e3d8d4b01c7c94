// SESSION_BENCH=1: what a CWMP session costs the simulator, next to a bare HTTP client.
//   BenchmarkSessionCost_<N>-<threads>  <N>  <ns/op>  <boot_us>  <undici_boot_us>  <boot_ratio>
//     <periodic_us>  <undici_periodic_us>  <periodic_ratio>  <periodic_per_s>  <bytes_per_session>
// The ACS is the bench's minimal ACS in a process of its own (bench/acs-process.ts), so every
// CPU microsecond this process spends is the client side's: process.cpuUsage (user + system,
// every thread) around each phase, divided by the sessions of that phase.
// - boot_us: N CPEs, held off while the shards start, then powered on at once; CPU from the
//   power-on to every CPE ready, per bootstrap session (Inform, the CPE's GetRPCMethods, the
//   empty POST; a new TCP connection each, since the ACS ends each session with 204 + close).
// - periodic_us: then every CPE's interval is set to N / SESSION_BENCH_RATE s (1,000
//   sessions/s asked); CPU over SESSION_BENCH_WINDOW s (15), per session ended in it
//   (Inform and the empty POST).
// - undici_*: with the fleet stopped, a bare undici Client per session sends the very bytes
//   the ACS recorded from the fleet's first bootstrap and first periodic session, one
//   request after the other, reading each reply whole: as many bootstrap sessions, with as
//   many at once as the fleet's --max-sessions allows, and then the periodic sessions paced
//   at the rate the fleet achieved. Each bare run goes twice and the lower CPU counts (its
//   runs vary more than the fleet's). The ratio is simulator / undici: under 1 means a
//   simulated CPE's session (data model, SOAP built and parsed, state kept) costs less CPU
//   than a bare client sending the same requests.
// - ns/op is boot_us in ns; bytes_per_session the request bytes of one bootstrap session.
import { Client } from 'undici';
import { Coordinator } from '../src/coordinator/coordinator.js';
import { AcsProcess } from './acs-child.js';
import { benchInit } from './bench-init.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const rate = Number(process.env['SESSION_BENCH_RATE'] ?? 1000);
const windowSeconds = Number(process.env['SESSION_BENCH_WINDOW'] ?? 15);
const maxSessions = 64;

/** CPU of every thread of this process since `from`, µs. */
const cpuSince = (from: NodeJS.CpuUsage) => {
  const d = process.cpuUsage(from);
  return d.user + d.system;
};

/** One session as a bare client does it: a fresh connection, the bodies in order, each reply read whole. */
async function bareSession(origin: string, path: string, bodies: string[]): Promise<void> {
  const client = new Client(origin, { pipelining: 1 });
  try {
    for (const body of bodies) {
      const headers: Record<string, string> = { 'content-length': String(Buffer.byteLength(body)) };
      if (body !== '') headers['content-type'] = 'text/xml; charset="utf-8"';
      const res = await client.request({ path, method: 'POST', headers, body });
      await res.body.text();
      if (res.statusCode !== 200 && res.statusCode !== 204) throw new Error(`bench: the ACS answered ${res.statusCode}`);
    }
  } finally {
    await client.close();
  }
}

/** `count` sessions, at most `concurrent` at once; CPU µs per session. */
async function bareBurst(url: URL, bodies: string[], count: number, concurrent: number): Promise<number> {
  let next = 0;
  const t = process.cpuUsage();
  await Promise.all(
    Array.from({ length: Math.min(concurrent, count) }, async () => {
      while (next < count) {
        next++;
        await bareSession(url.origin, url.pathname, bodies);
      }
    }),
  );
  return cpuSince(t) / count;
}

/** `count` sessions started at `perSecond` (in 10 ms ticks); CPU µs per session. */
async function barePaced(url: URL, bodies: string[], count: number, perSecond: number): Promise<number> {
  const t = process.cpuUsage();
  const t0 = Date.now();
  let started = 0;
  const running: Array<Promise<void>> = [];
  while (started < count) {
    const due = Math.min(count, Math.floor(((Date.now() - t0) / 1000) * perSecond) + 1);
    for (; started < due; started++) running.push(bareSession(url.origin, url.pathname, bodies));
    await sleep(10);
  }
  await Promise.all(running);
  return cpuSince(t) / count;
}

async function ended(coordinator: Coordinator): Promise<number> {
  const all = await coordinator.samples();
  return all.reduce((sum, s, i) => {
    if (!s) throw new Error(`bench: shard ${i} did not answer its sample`);
    return sum + s.sessionsOk + s.sessionsFailed;
  }, 0);
}

export async function sessionCostLine(n: number, shards: number, profile: string): Promise<string> {
  const acs = await AcsProcess.start();
  try {
    const coordinator = new Coordinator({ ...benchInit(n, profile, acs.url), maxSessions, holdPower: true }, shards);
    await coordinator.start();
    // The shards are up and idle: what follows is the sessions' cost alone.
    await sleep(500);
    const bootCpu = process.cpuUsage();
    await coordinator.applyEvent({ kind: 'powerOn', target: {}, ramp: { mode: 'none' } }, Date.now());
    const deadline = Date.now() + 120_000 + n * 10;
    for (;;) {
      if (Date.now() > deadline) throw new Error(`bench: the fleet was not all ready by the deadline: ${JSON.stringify((await coordinator.stats()).states)}`);
      const s = await coordinator.stats();
      if (s.states.ready === n) break;
      if (s.states.failed > 0) throw new Error(`bench: ${s.states.failed} CPEs failed to bootstrap: ${JSON.stringify(s.failReasons)}`);
      await sleep(100);
    }
    const bootUs = cpuSince(bootCpu) / n;
    const interval = Math.max(1, Math.round(n / rate));
    await coordinator.applyEvent({ kind: 'setInterval', target: {}, seconds: interval }, Date.now());
    // One second for the new phases to take over from the old schedule.
    await sleep(1000);
    const before = await ended(coordinator);
    const periodicCpu = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    await sleep(windowSeconds * 1000);
    const periodicUsRaw = cpuSince(periodicCpu);
    const sessions = (await ended(coordinator)) - before;
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    if (sessions === 0) throw new Error('bench: no periodic session ended in the window');
    const periodicUs = periodicUsRaw / sessions;
    const perSecond = sessions / seconds;
    await coordinator.stop();
    const { samples, bootstraps } = await acs.stats();
    if (bootstraps !== n) throw new Error(`bench: the ACS saw ${bootstraps} bootstraps, expected ${n}`);
    if (!samples.bootstrap || !samples.periodic) throw new Error('bench: the ACS recorded no bootstrap or no periodic session');
    const url = new URL(acs.url);
    // The bare client's runs vary more from run to run than the fleet's: it gets the better
    // of two, so a ratio can only err against cpe-sim.
    const bareBootUs = Math.min(
      await bareBurst(url, samples.bootstrap, n, maxSessions * coordinator.shardCount),
      await bareBurst(url, samples.bootstrap, n, maxSessions * coordinator.shardCount),
    );
    const barePeriodicUs = Math.min(await barePaced(url, samples.periodic, sessions, perSecond), await barePaced(url, samples.periodic, sessions, perSecond));
    const bytes = samples.bootstrap.reduce((sum, b) => sum + Buffer.byteLength(b), 0);
    return [
      `Benchmark${'SessionCost'}_${n}-${coordinator.shardCount}`.padEnd(32),
      String(n).padStart(7),
      `${(bootUs * 1000).toFixed(0).padStart(12)} ns/op`,
      `${bootUs.toFixed(0).padStart(6)} boot_us`,
      `${bareBootUs.toFixed(0).padStart(6)} undici_boot_us`,
      `${(bootUs / bareBootUs).toFixed(2).padStart(6)} boot_ratio`,
      `${periodicUs.toFixed(0).padStart(6)} periodic_us`,
      `${barePeriodicUs.toFixed(0).padStart(6)} undici_periodic_us`,
      `${(periodicUs / barePeriodicUs).toFixed(2).padStart(6)} periodic_ratio`,
      `${perSecond.toFixed(0).padStart(6)} periodic_per_s`,
      `${String(bytes).padStart(6)} bytes_per_session`,
    ].join('\t');
  } finally {
    await acs.stop();
  }
}
