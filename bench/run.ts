// npm run bench: Go-bench-style lines for what one CPE costs.
//   BenchmarkBootstrapN_<N>-<threads>  1  <ns/op>  <bytes_per_cpe>  <handles_per_cpe>  <fds_open>
// ns/op is wall time from start to every CPE ready, per CPE. bytes_per_cpe is the heap
// growth (V8 heap + external memory, after full GC) summed over the main thread and
// every shard thread, divided by N, measured once the fleet has bootstrapped and gone
// idle. handles_per_cpe is active libuv handles over all threads / N.
//
// SCENARIO_BENCH=1 adds two lines per size, each on a fleet of its own bootstrapped as above:
//   BenchmarkScenarioPowerCut_<N>-<threads>  1  <ns/op>  <bytes_per_cpe>  <handles_per_cpe>  <fds_open>
//     <boot_bytes_per_cpe>  <cut_cpes>  <restore_s>
// A powerCut event on 30% of the fleet (dark 2 s, back along a ramp of
// SCENARIO_BENCH_RESTORE_RATE, 2,000/s), then every CPE ready again (1 BOOT). ns/op is the
// wall time from the cut to all ready, per cut CPE (dark time and ramp included);
// restore_s is that wall time. bytes_per_cpe, handles_per_cpe and fds_open are measured as
// above once the fleet is idle after the restore; boot_bytes_per_cpe is the same fleet's
// bytes_per_cpe before the cut (the BootstrapN figure): the scenario engine keeps nothing
// per CPE, so the two should stay within a few per cent.
//   BenchmarkLinkFaultSessions_<N>-<threads>  <sessions>  <ns/op>  <sessions_per_s>
//     <fault_sessions_per_s>  <fault_failed>  <clean_failed>  <interval_s>  <asked_per_s>  <fault_fail_reasons>
// A setInterval event gives every CPE a periodic interval of N / SCENARIO_BENCH_RATE
// seconds (2,000 sessions/s asked, at least 1 s); asked_per_s is N / interval_s. sessions_per_s
// is sessions ended (ok and failed, from the shards' samples) per second over
// SCENARIO_BENCH_WINDOW (10 s) without a fault: below asked_per_s, the machine set the rate.
// Then a linkFault on every CPE (latency 20 ms, jitter 10 ms, resetProbability 0.05) and
// the same over the next window: fault_sessions_per_s, fault_failed (sessions failed in it)
// and fault_fail_reasons (reason=count). <sessions> and ns/op are the sessions ended under
// the fault and the wall time per session (1 / fault_sessions_per_s). clean_failed is the
// failed sessions of the window without a fault (0 expected).
//
// SESSION_BENCH=1 adds a BenchmarkSessionCost line per SESSION_BENCH_SIZES (50000): CPU per
// bootstrap and periodic CWMP session against an ACS in another process, beside a bare
// undici client sending the same bytes (bench/session-cost.ts).
//
// FIXED_BASE_BENCH=1 adds BenchmarkFixedBase_100-2 (the CLI's RSS with 100 CPEs, 2 shards and
// metrics on) and STEADY_BENCH=1 a BenchmarkSteady line per STEADY_BENCH_SIZES (sessions/s,
// CPU % of one core and RSS of the CLI at a 300 s interval): bench/whole-process.ts.
// HELD_BENCH=1 adds BenchmarkHeldFleet_10000000 (HELD_BENCH_SIZE): ten million CPEs on a
// 24-hour window and interval, bytes_per_cpe and RSS after HELD_BENCH_MINUTES (bench/held-fleet.ts).
//
// XMPP_BENCH=1 adds a BenchmarkXmpp line per size (see xmppLine below): what one CPE's XMPP
// connection (TR-069 Annex K) costs, against a prosody started for it.
//
// STATE_BENCH=1 adds a BenchmarkStateDir line per size (see stateDirLine below): bytes per
// CPE and the achieved rate of a ten-parameter SetParameterValues campaign, without and
// with --state-dir, and the state dir's size on disk after it.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Coordinator } from '../src/coordinator/coordinator.js';
import { CrListener } from '../src/http/cr-listener.js';
import { openFds, probeThread, type ThreadProbe } from '../src/util/probe.js';
import { MetricsHub } from '../src/metrics/hub.js';
import { ThreadMetrics } from '../src/metrics/thread-metrics.js';
import { MinimalAcs } from './minimal-acs.js';
import { uspRttN, uspWsN } from './usp.js';
import { sessionCostLine } from './session-cost.js';
import { fixedBaseLine, steadyLine } from './whole-process.js';
import { heldFleetLine } from './held-fleet.js';
import type { XmppInit } from '../src/threads/messages.js';
import { startProsody } from '../test/helpers/prosody.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const profile = process.env['BENCH_PROFILE'] ?? resolve(root, 'profiles/example-tr181-gateway');
// BENCH_SIZES= (empty): no BootstrapN lines, only the ones switched on below.
const sizes = (process.env['BENCH_SIZES'] ?? '100,1000,10000').split(',').filter((x) => x.trim() !== '').map(Number);
const shards = Number(process.env['BENCH_SHARDS'] ?? availableParallelism());
/** BENCH_METRICS=1: shards count and push metrics, and each line adds the cost of a scrape. */
const withMetrics = process.env['BENCH_METRICS'] === '1';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** SCENARIO_BENCH=1: the power-cut and link-fault lines after each size's BootstrapN line. */
const withScenarios = process.env['SCENARIO_BENCH'] === '1';
const cutFraction = 0.3;
const cutDarkSeconds = 2;
/** The power cut's restore ramp (CPEs/s): 30,000 cut CPEs of 100,000 are back within 15 s. */
const restoreRate = Number(process.env['SCENARIO_BENCH_RESTORE_RATE'] ?? 2000);
/** Periodic sessions/s the link-fault line asks of the fleet (via its interval). */
const sessionRate = Number(process.env['SCENARIO_BENCH_RATE'] ?? 2000);
/** Each measuring window of the link-fault line, seconds. */
const windowSeconds = Number(process.env['SCENARIO_BENCH_WINDOW'] ?? 10);

/** STATE_BENCH=1: the state-dir line after each size's BootstrapN line. */
const withState = process.env['STATE_BENCH'] === '1';
/** SetParameterValues/s the state-dir campaign asks of the fleet (via its interval): 1,000 per shard. */
const writeRate = Number(process.env['STATE_BENCH_RATE'] ?? 1000 * shards);
/** The campaign's ten parameters (example TR-181 profile). */
const CAMPAIGN: Array<[string, string, string]> = [
  ['Device.DeviceInfo.ProvisioningCode', 'bench-campaign-1', 'string'],
  ['Device.DHCPv4.Server.Pool.1.Alias', 'lan-pool-b', 'string'],
  ['Device.DHCPv4.Server.Pool.1.VendorClassID', 'bench-vendor', 'string'],
  ['Device.DHCPv4.Server.Pool.1.DomainName', 'bench.lan', 'string'],
  ['Device.DHCPv4.Server.Pool.1.MinAddress', '192.168.1.20', 'string'],
  ['Device.DHCPv4.Server.Pool.1.MaxAddress', '192.168.1.200', 'string'],
  ['Device.DHCPv4.Server.Pool.1.DNSServers', '192.168.1.1', 'string'],
  ['Device.DHCPv4.Server.Pool.1.SubnetMask', '255.255.255.0', 'string'],
  ['Device.WiFi.SSID.1.SSID', 'bench-ssid-1', 'string'],
  ['Device.WiFi.SSID.2.SSID', 'bench-ssid-2', 'string'],
];

/** One bench fleet: the minimal ACS, the CR listener, the coordinator and what the measuring needs. */
interface BenchFleet {
  n: number;
  acs: MinimalAcs;
  cr: CrListener;
  coordinator: Coordinator;
  hub: MetricsHub | undefined;
  mainMetrics: ThreadMetrics | undefined;
  mainBefore: ThreadProbe;
  pushBytes: number;
}

/** What one CPE costs, read once the fleet is idle (see the header). */
interface Footprint {
  bytesPerCpe: number;
  handlesPerCpe: number;
  fds: number;
  /** The BENCH_METRICS columns, or ''. */
  scrape: string;
}

/** Start N CPEs at once against a fresh minimal ACS; resolves with the wall time (ns) until every CPE is ready. */
async function bootFleet(n: number, logLevel = 'warn', stateDir?: string, xmpp?: XmppInit): Promise<{ fleet: BenchFleet; elapsedNs: number }> {
  const acs = new MinimalAcs();
  const acsUrl = await acs.listen();
  let coordinator: Coordinator | undefined;
  const cr = new CrListener((cpe, req) => coordinator!.connectionRequest(cpe, req));
  const crPort = await cr.listen('127.0.0.1', 0);
  const mainMetrics = withMetrics ? new ThreadMetrics() : undefined;
  const hub = mainMetrics ? new MetricsHub(mainMetrics, () => shards) : undefined;
  const mainBefore = probeThread();
  const fleet = { n, acs, cr, hub, mainMetrics, mainBefore, pushBytes: 0 } as BenchFleet;
  coordinator = new Coordinator(
    {
      fleetOffset: 0,
      fleetSize: n,
      seed: 1,
      profileDir: profile,
      acs: { url: acsUrl, username: '', password: '', timeoutMs: 30_000, sessionTimeoutMs: 600_000, caFile: undefined },
      maxSessions: 64,
      cwmp: true,
      bootRamp: { mode: 'none' },
      startAt: Date.now(),
      cr: { baseUrl: `http://127.0.0.1:${crPort}`, secret: 'bench', rateLimit: { count: 10, periodSec: 60 } },
      ...(stateDir ? { stateDir } : {}),
      ...(xmpp ? { xmpp } : {}),
      logLevel,
      logFormat: 'json',
      measure: true,
      metrics: withMetrics,
    },
    shards,
    () => undefined,
    (shardId, snapshot) => {
      fleet.pushBytes = Math.max(fleet.pushBytes, JSON.stringify(snapshot).length);
      hub?.update(String(shardId), snapshot);
    },
  );
  fleet.coordinator = coordinator;
  const t0 = process.hrtime.bigint();
  await coordinator.start();
  await allReady(coordinator, n, 'bootstrap');
  const elapsedNs = Number(process.hrtime.bigint() - t0);
  if (acs.bootstraps !== n) throw new Error(`bench: ACS saw ${acs.bootstraps} bootstraps, expected ${n}`);
  return { fleet, elapsedNs };
}

/** Poll the shards' state counts until all N CPEs are ready; any failed CPE fails the bench. */
async function allReady(coordinator: Coordinator, n: number, what: string): Promise<void> {
  for (;;) {
    const s = await coordinator.stats();
    if (s.states.ready === n) return;
    if (s.states.failed > 0) throw new Error(`bench: ${s.states.failed} CPEs failed during ${what}`);
    await sleep(20);
  }
}

/** Heap growth over every thread / N, handles / N and open fds, with the fleet idle. */
async function footprint(fleet: BenchFleet): Promise<Footprint> {
  // Let the last sessions' sockets close (the ACS sends Connection: close) before reading.
  await sleep(500);
  const { coordinator, n } = fleet;
  const shardNow = await coordinator.probe();
  const mainNow = probeThread();
  const growth = shardNow.reduce((sum, p, i) => sum + p.heapBytes - (coordinator.baselines[i]?.heapBytes ?? p.heapBytes), 0) + (mainNow.heapBytes - fleet.mainBefore.heapBytes);
  const handles = shardNow.reduce((sum, p) => sum + p.handles, 0) + mainNow.handles;
  const fds = openFds();
  let scrape = '';
  if (fleet.hub) {
    const t = process.hrtime.bigint();
    const text = await fleet.hub.render();
    scrape = `\t${(Number(process.hrtime.bigint() - t) / 1e6).toFixed(2).padStart(8)} scrape_ms\t${String(text.length).padStart(7)} scrape_bytes\t${String(fleet.pushBytes).padStart(7)} push_bytes`;
  }
  return { bytesPerCpe: growth / n, handlesPerCpe: handles / n, fds, scrape };
}

async function closeFleet(fleet: BenchFleet): Promise<void> {
  await fleet.coordinator.stop();
  fleet.mainMetrics?.close();
  fleet.cr.close();
  await fleet.acs.close();
}

const benchName = (what: string, fleet: BenchFleet) => `Benchmark${what}_${fleet.n}-${fleet.coordinator.shardCount}`.padEnd(32);
const nsCol = (ns: number) => `${ns.toFixed(0).padStart(12)} ns/op`;
const bytesCol = (bytes: number, unit = 'bytes_per_cpe') => `${bytes.toFixed(0).padStart(10)} ${unit}`;
const fpCols = (fp: Footprint) => [bytesCol(fp.bytesPerCpe), `${fp.handlesPerCpe.toFixed(4).padStart(10)} handles_per_cpe`, `${String(fp.fds).padStart(6)} fds_open`];

async function bootstrapN(n: number): Promise<string> {
  const { fleet, elapsedNs } = await bootFleet(n);
  const fp = await footprint(fleet);
  await closeFleet(fleet);
  return [benchName('BootstrapN', fleet), '1'.padStart(4), nsCol(elapsedNs / n), ...fpCols(fp)].join('\t') + fp.scrape;
}

/** Summed over the shards: sessions ended (ok and failed) and failures by reason, so far. */
async function sessionCounts(coordinator: Coordinator): Promise<{ sessions: number; failed: number; reasons: Record<string, number> }> {
  const all = await coordinator.samples();
  const out = { sessions: 0, failed: 0, reasons: {} as Record<string, number> };
  all.forEach((s, i) => {
    if (!s) throw new Error(`bench: shard ${i} did not answer its sample`);
    out.sessions += s.sessionsOk + s.sessionsFailed;
    out.failed += s.sessionsFailed;
    for (const [k, v] of Object.entries(s.failReasons)) out.reasons[k] = (out.reasons[k] ?? 0) + v;
  });
  return out;
}

async function scenarioPowerCut(n: number): Promise<string> {
  const { fleet } = await bootFleet(n);
  const { coordinator, acs } = fleet;
  // The same fleet's footprint before the cut: the BootstrapN figure to compare with.
  const before = await footprint(fleet);
  const informs = acs.informs;
  const t0 = process.hrtime.bigint();
  const cut = await coordinator.applyEvent(
    { kind: 'powerCut', target: { fraction: cutFraction }, durationSeconds: cutDarkSeconds, restore: { ramp: { mode: 'rate', perSecond: restoreRate } } },
    Date.now(),
  );
  if (cut === 0) throw new Error('bench: the power cut reached no CPE');
  await allReady(coordinator, n, 'the power cut restore');
  const elapsedNs = Number(process.hrtime.bigint() - t0);
  if (acs.informs - informs < cut) throw new Error(`bench: ACS saw ${acs.informs - informs} Informs after the cut, expected at least ${cut}`);
  if (acs.bootstraps !== n) throw new Error(`bench: ACS saw ${acs.bootstraps} bootstraps after the cut, expected ${n} (a cut is 1 BOOT, not 0 BOOTSTRAP)`);
  const after = await footprint(fleet);
  await closeFleet(fleet);
  return [
    benchName('ScenarioPowerCut', fleet),
    '1'.padStart(4),
    nsCol(elapsedNs / cut),
    ...fpCols(after),
    bytesCol(before.bytesPerCpe, 'boot_bytes_per_cpe'),
    `${String(cut).padStart(7)} cut_cpes`,
    `${(elapsedNs / 1e9).toFixed(1).padStart(6)} restore_s`,
  ].join('\t') + after.scrape;
}

async function scenarioLinkFault(n: number): Promise<string> {
  // 'error': the fault's failed sessions would log a warning per shard every 5 s among the lines.
  const { fleet } = await bootFleet(n, 'error');
  const { coordinator } = fleet;
  // N / interval sessions a second once every CPE has its new random phase in the interval.
  const interval = Math.max(1, Math.round(n / sessionRate));
  await coordinator.applyEvent({ kind: 'setInterval', target: {}, seconds: interval }, Date.now());
  const window = async () => {
    const a = await sessionCounts(coordinator);
    const t = process.hrtime.bigint();
    await sleep(windowSeconds * 1000);
    const b = await sessionCounts(coordinator);
    const seconds = Number(process.hrtime.bigint() - t) / 1e9;
    const reasons = Object.entries(b.reasons)
      .map(([k, v]) => [k, v - (a.reasons[k] ?? 0)] as const)
      .filter(([, v]) => v > 0);
    return { perSecond: (b.sessions - a.sessions) / seconds, sessions: b.sessions - a.sessions, failed: b.failed - a.failed, reasons, seconds };
  };
  const clean = await window();
  // The fault lasts a little longer than the window, so the whole window is under it.
  const fault = { latencyMs: 20, jitterMs: 10, resetProbability: 0.05, stallProbability: 0, down: false };
  await coordinator.applyEvent({ kind: 'linkFault', target: {}, durationSeconds: windowSeconds + 1, fault }, Date.now());
  const faulty = await window();
  await closeFleet(fleet);
  const reasons = faulty.reasons.length ? faulty.reasons.map(([k, v]) => `${k}=${v}`).join(',') : '-';
  return [
    benchName('LinkFaultSessions', fleet),
    String(faulty.sessions).padStart(6),
    nsCol(1e9 / Math.max(faulty.perSecond, 1e-9)),
    `${clean.perSecond.toFixed(0).padStart(7)} sessions_per_s`,
    `${faulty.perSecond.toFixed(0).padStart(7)} fault_sessions_per_s`,
    `${String(faulty.failed).padStart(6)} fault_failed`,
    `${String(clean.failed).padStart(4)} clean_failed`,
    `${String(interval).padStart(4)} interval_s`,
    `${(n / interval).toFixed(0).padStart(6)} asked_per_s`,
    `${reasons} fault_fail_reasons`,
  ].join('\t');
}

/**
 * A fleet bootstrapped, measured idle, then a campaign: every CPE gets one SetParameterValues
 * of ten parameters, at writeRate sessions/s asked (a setInterval of N / writeRate s).
 * writes_per_s is what the fleet achieved (N over first to last acknowledged write).
 */
async function campaign(n: number, stateDir?: string): Promise<{ fp: Footprint; writesPerSecond: number; shards: number }> {
  const { fleet } = await bootFleet(n, 'error', stateDir);
  const fp = await footprint(fleet);
  const { coordinator, acs } = fleet;
  acs.startCampaign(CAMPAIGN);
  const interval = Math.max(1, Math.round(n / writeRate));
  await coordinator.applyEvent({ kind: 'setInterval', target: {}, seconds: interval }, Date.now());
  const deadline = Date.now() + interval * 3000 + 120_000;
  while (acs.sets + acs.setFaults < n) {
    if (Date.now() > deadline) throw new Error(`bench: campaign stalled at ${acs.sets} of ${n} writes`);
    await sleep(100);
  }
  if (acs.setFaults > 0) throw new Error(`bench: ${acs.setFaults} SetParameterValues were answered with a fault`);
  const writesPerSecond = n / Math.max(0.001, (acs.lastSetAt - acs.firstSetAt) / 1000);
  await closeFleet(fleet);
  return { fp, writesPerSecond, shards: coordinator.shardCount };
}

/**
 *   BenchmarkStateDir_<N>-<threads>  <writes>  <ns/op>  <bytes_per_cpe>  <nostate_bytes_per_cpe>
 *     <writes_per_s>  <nostate_writes_per_s>  <asked_per_s>  <disk_bytes>  <disk_bytes_per_cpe>
 * The same fleet and campaign without and with --state-dir, alternated twice (the best
 * write rate of each kept): bytes_per_cpe once bootstrapped and idle (every CPE then has a
 * record: its bootstrap flag), the campaign's achieved write rate, and the state dir's size
 * on disk (du) after the campaign. ns/op is per write with the state dir.
 */
async function stateDirLine(n: number): Promise<string> {
  // Alternated twice, best of each: this machine's noise is larger than the difference.
  const dirs: string[] = [];
  const fresh = () => {
    dirs.push(mkdtempSync(join(tmpdir(), 'cpe-sim-bench-state-')));
    return dirs.at(-1)!;
  };
  try {
    const runs = { plain: [] as Array<Awaited<ReturnType<typeof campaign>>>, kept: [] as Array<Awaited<ReturnType<typeof campaign>>> };
    for (let i = 0; i < 2; i++) {
      runs.plain.push(await campaign(n));
      runs.kept.push(await campaign(n, fresh()));
    }
    const best = (list: typeof runs.plain) => list.reduce((a, b) => (b.writesPerSecond > a.writesPerSecond ? b : a));
    const plain = best(runs.plain);
    const kept = best(runs.kept);
    const disk = Number(execFileSync('du', ['-sb', dirs.at(-1)!]).toString().split(/\s/)[0]);
    return [
      `Benchmark${'StateDir'}_${n}-${kept.shards}`.padEnd(32),
      String(n).padStart(7),
      nsCol(1e9 / kept.writesPerSecond),
      bytesCol(kept.fp.bytesPerCpe),
      bytesCol(plain.fp.bytesPerCpe, 'nostate_bytes_per_cpe'),
      `${kept.writesPerSecond.toFixed(0).padStart(7)} writes_per_s`,
      `${plain.writesPerSecond.toFixed(0).padStart(7)} nostate_writes_per_s`,
      `${(n / Math.max(1, Math.round(n / writeRate))).toFixed(0).padStart(6)} asked_per_s`,
      `${String(disk).padStart(11)} disk_bytes`,
      `${(disk / n).toFixed(0).padStart(6)} disk_bytes_per_cpe`,
    ].join('\t');
  } finally {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
}

/**
 *   BenchmarkXmpp_<N>-<threads>  <N>  <ns/op>  <bytes_per_cpe>  <noxmpp_bytes_per_cpe>  <xmpp_bytes_per_cpe>  <fds_open>  <noxmpp_fds_open>
 * The BootstrapN fleet twice, without and with --xmpp-server (a prosody of its own, c2s on
 * loopback, SCRAM-SHA-1 on plain TCP, one account per CPE): bytes_per_cpe of each once
 * every CPE is ready and (with XMPP) logged in, and their difference, xmpp_bytes_per_cpe:
 * what one CPE's XMPP connection costs this process (socket, client, parser, the JID
 * kept). ns/op is the wall time from start until every CPE has logged in, per CPE.
 */
async function xmppLine(n: number): Promise<string> {
  const plainRun = await bootFleet(n);
  const plain = await footprint(plainRun.fleet);
  await closeFleet(plainRun.fleet);
  const accounts = Array.from({ length: n }, (_, i) => ({ username: `cs${String(i).padStart(8, '0')}`, password: `pw-${i}` }));
  const server = await startProsody({ accounts });
  try {
    const t0 = process.hrtime.bigint();
    const { fleet } = await bootFleet(n, 'warn', undefined, { server: { host: server.host, port: server.port }, domain: server.domain, username: '{serial}', password: 'pw-{index}', allowedJids: '', useTls: false, ca: undefined });
    for (;;) {
      const s = await fleet.coordinator.stats();
      if ((s.xmppConnections?.['connected'] ?? 0) === n) break;
      if ((s.xmppConnections?.['backoff'] ?? 0) > 0) throw new Error(`bench: XMPP logins failed: ${JSON.stringify(s.failReasons)} ${JSON.stringify(s.xmppConnections)}\n${server.log()}`);
      await sleep(20);
    }
    const elapsedNs = Number(process.hrtime.bigint() - t0);
    const fp = await footprint(fleet);
    await closeFleet(fleet);
    return [
      benchName('Xmpp', fleet),
      String(n).padStart(6),
      nsCol(elapsedNs / n),
      bytesCol(fp.bytesPerCpe),
      bytesCol(plain.bytesPerCpe, 'noxmpp_bytes_per_cpe'),
      bytesCol(fp.bytesPerCpe - plain.bytesPerCpe, 'xmpp_bytes_per_cpe'),
      `${String(fp.fds).padStart(6)} fds_open`,
      `${String(plain.fds).padStart(6)} noxmpp_fds_open`,
    ].join('\t');
  } finally {
    await server.stop();
  }
}

async function main(): Promise<void> {
  process.stdout.write(`goos: ${process.platform}\ngoarch: ${process.arch}\npkg: cpe-sim\nnode: ${process.version}\nprofile: ${profile}\nshards: ${shards}\nmetrics: ${withMetrics ? 'on' : 'off'}\nscenarios: ${withScenarios ? 'on' : 'off'}\n`);
  if (process.env['USP_ONLY'] !== '1') {
    for (const n of sizes) {
      process.stdout.write(`${await bootstrapN(n)}\n`);
      if (withState) process.stdout.write(`${await stateDirLine(n)}\n`);
      if (withScenarios) {
        process.stdout.write(`${await scenarioPowerCut(n)}\n`);
        process.stdout.write(`${await scenarioLinkFault(n)}\n`);
      }
    }
  }
  if (process.env['XMPP_BENCH'] === '1') {
    for (const n of (process.env['XMPP_BENCH_SIZES'] ?? '100,1000').split(',').map(Number)) process.stdout.write(`${await xmppLine(n)}\n`);
  }
  // FIXED_BASE_BENCH=1 and STEADY_BENCH=1: the CLI in a process of its own, seen through /proc.
  if (process.env['FIXED_BASE_BENCH'] === '1') process.stdout.write(`${await fixedBaseLine(100, 2, profile)}\n`);
  if (process.env['STEADY_BENCH'] === '1') {
    const window = Number(process.env['STEADY_BENCH_WINDOW'] ?? 180);
    for (const n of (process.env['STEADY_BENCH_SIZES'] ?? '100000').split(',').map(Number)) process.stdout.write(`${await steadyLine(n, shards, profile, window)}\n`);
  }
  if (process.env['HELD_BENCH'] === '1') {
    process.stdout.write(`${await heldFleetLine(Number(process.env['HELD_BENCH_SIZE'] ?? 10_000_000), shards, profile, Number(process.env['HELD_BENCH_MINUTES'] ?? 5))}\n`);
  }
  // SESSION_BENCH=1: CPU per CWMP session against an ACS in another process, next to a bare undici client.
  if (process.env['SESSION_BENCH'] === '1') {
    for (const n of (process.env['SESSION_BENCH_SIZES'] ?? '50000').split(',').map(Number)) process.stdout.write(`${await sessionCostLine(n, shards, profile)}\n`);
  }
  // USP_BENCH=1: request/response RTT over an aedes broker in a child process.
  if (process.env['USP_BENCH'] === '1') {
    for (const n of (process.env['USP_BENCH_SIZES'] ?? '100,1000,10000').split(',').map(Number)) {
      process.stdout.write(`${await (process.env['USP_BENCH_MTP'] === 'websocket' ? uspWsN : uspRttN)(n, shards, profile)}\n`);
    }
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  },
);
