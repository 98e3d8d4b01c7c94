// npm run bench: Go-bench-style lines for what one CPE costs.
//   BenchmarkBootstrapN_<N>-<threads>  1  <ns/op>  <bytes_per_cpe>  <handles_per_cpe>  <fds_open>
// ns/op is wall time from start to every CPE ready, per CPE. bytes_per_cpe is the heap
// growth (V8 heap + external memory, after full GC) summed over the main thread and
// every shard thread, divided by N, measured once the fleet has bootstrapped and gone
// idle. handles_per_cpe is active libuv handles over all threads / N.
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Coordinator } from '../src/coordinator/coordinator.js';
import { CrListener } from '../src/http/cr-listener.js';
import { openFds, probeThread } from '../src/util/probe.js';
import { MetricsHub } from '../src/metrics/hub.js';
import { ThreadMetrics } from '../src/metrics/thread-metrics.js';
import { MinimalAcs } from './minimal-acs.js';
import { uspRttN } from './usp.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const profile = process.env['BENCH_PROFILE'] ?? resolve(root, 'profiles/example-tr181-gateway');
const sizes = (process.env['BENCH_SIZES'] ?? '100,1000,10000').split(',').map(Number);
const shards = Number(process.env['BENCH_SHARDS'] ?? availableParallelism());
/** BENCH_METRICS=1: shards count and push metrics, and each line adds the cost of a scrape. */
const withMetrics = process.env['BENCH_METRICS'] === '1';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function bootstrapN(n: number): Promise<string> {
  const acs = new MinimalAcs();
  const acsUrl = await acs.listen();
  let coordinator: Coordinator | undefined;
  const cr = new CrListener((cpe, req) => coordinator!.connectionRequest(cpe, req));
  const crPort = await cr.listen('127.0.0.1', 0);
  const mainMetrics = withMetrics ? new ThreadMetrics() : undefined;
  const hub = mainMetrics ? new MetricsHub(mainMetrics, () => shards) : undefined;
  let pushBytes = 0;
  const mainBefore = probeThread();
  coordinator = new Coordinator(
    {
      fleetOffset: 0,
      fleetSize: n,
      seed: 1,
      profileDir: profile,
      acs: { url: acsUrl, username: '', password: '', timeoutMs: 30_000, caFile: undefined },
      maxSessions: 64,
      cwmp: true,
      bootRamp: { mode: 'none' },
      startAt: Date.now(),
      cr: { baseUrl: `http://127.0.0.1:${crPort}`, secret: 'bench', rateLimit: { count: 10, periodSec: 60 } },
      logLevel: 'warn',
      logFormat: 'json',
      measure: true,
      metrics: withMetrics,
    },
    shards,
    () => undefined,
    (shardId, snapshot) => {
      pushBytes = Math.max(pushBytes, JSON.stringify(snapshot).length);
      hub?.update(String(shardId), snapshot);
    },
  );
  const t0 = process.hrtime.bigint();
  await coordinator.start();
  let last = -1;
  for (;;) {
    const s = await coordinator.stats();
    if (s.states.ready === n) break;
    if (s.states.failed > 0) throw new Error(`bench: ${s.states.failed} CPEs failed to bootstrap`);
    if (s.states.ready !== last) last = s.states.ready;
    await sleep(20);
  }
  const elapsed = process.hrtime.bigint() - t0;
  if (acs.bootstraps !== n) throw new Error(`bench: ACS saw ${acs.bootstraps} bootstraps, expected ${n}`);
  // Let the last sessions' sockets close (the ACS sends Connection: close) before reading.
  await sleep(500);
  const shardNow = await coordinator.probe();
  const mainNow = probeThread();
  const growth = shardNow.reduce((sum, p, i) => sum + p.heapBytes - (coordinator!.baselines[i]?.heapBytes ?? p.heapBytes), 0) + (mainNow.heapBytes - mainBefore.heapBytes);
  const handles = shardNow.reduce((sum, p) => sum + p.handles, 0) + mainNow.handles;
  const fds = openFds();
  let scrape = '';
  if (hub) {
    const t = process.hrtime.bigint();
    const text = await hub.render();
    scrape = `\t${(Number(process.hrtime.bigint() - t) / 1e6).toFixed(2).padStart(8)} scrape_ms\t${String(text.length).padStart(7)} scrape_bytes\t${String(pushBytes).padStart(7)} push_bytes`;
  }
  await coordinator.stop();
  mainMetrics?.close();
  cr.close();
  await acs.close();
  const name = `BenchmarkBootstrapN_${n}-${coordinator.shardCount}`;
  return [
    name.padEnd(32),
    '1'.padStart(4),
    `${(Number(elapsed) / n).toFixed(0).padStart(12)} ns/op`,
    `${(growth / n).toFixed(0).padStart(10)} bytes_per_cpe`,
    `${(handles / n).toFixed(4).padStart(10)} handles_per_cpe`,
    `${String(fds).padStart(6)} fds_open`,
  ].join('\t') + scrape;
}

async function main(): Promise<void> {
  process.stdout.write(`goos: ${process.platform}\ngoarch: ${process.arch}\npkg: cpe-sim\nnode: ${process.version}\nprofile: ${profile}\nshards: ${shards}\nmetrics: ${withMetrics ? 'on' : 'off'}\n`);
  if (process.env['USP_ONLY'] !== '1') {
    for (const n of sizes) {
      process.stdout.write(`${await bootstrapN(n)}\n`);
    }
  }
  // USP_BENCH=1: request/response RTT over an aedes broker in a child process.
  if (process.env['USP_BENCH'] === '1') {
    for (const n of (process.env['USP_BENCH_SIZES'] ?? '100,1000,10000').split(',').map(Number)) {
      process.stdout.write(`${await uspRttN(n, shards, profile)}\n`);
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
