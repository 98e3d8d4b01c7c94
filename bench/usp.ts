// USP_BENCH=1 npm run bench: a USP-only fleet of N agents, each with its own MQTT
// connection to an aedes broker in a child process, and a controller in another child
// process that sends Get requests and times each answer on the wire.
//   BenchmarkUSPRequestResponseRTTN_<N>-<threads>  <requests>  <ns/op>  rtt_p50_us  rtt_p95_us
//     rtt_p99_us  paced_rps  paced_p50_us  paced_p99_us  loaded_p50_us  loaded_p99_us
//     bytes_per_cpe  shard_bytes_per_cpe  fds_open  lost
// After a JIT warm-up, rtt_* are the round trips of USP_BENCH_REQUESTS (2,000) Gets sent
// one at a time: what the controller sees from its PUBLISH to the broker, through the
// agent's decode, handling and answer, back through the broker. paced_* are the round
// trips of Gets sent at USP_BENCH_RATE (1,000) a second for USP_BENCH_RATE_SECONDS (5),
// on a fixed schedule whatever the answers do (open loop). Then
// USP_BENCH_LOAD_REQUESTS (10,000) Gets with USP_BENCH_INFLIGHT (32) in flight give ns/op
// (wall time per request: the fleet's throughput) and loaded_* (RTT under that load).
// lost counts Gets unanswered after 5 s (QoS 0 both ways, as obuspa publishes by default).
// bytes_per_cpe is the heap growth (used heap and external memory, after a full GC) of the
// main and shard threads over N once every agent is connected, shard_bytes_per_cpe that of
// the shards alone; the broker's and the controller's memory are in their own processes.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Coordinator } from '../src/coordinator/coordinator.js';
import { openFds, probeThread } from '../src/util/probe.js';

const CONTROLLER = 'self::usp-controller';
const CONTROLLER_TOPIC = '/usp/controller';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function startBrokerProcess(): Promise<{ child: ChildProcess | undefined; port: number }> {
  const script = fileURLToPath(new URL('./broker-process.js', import.meta.url));
  const child = spawn(process.execPath, [script], { stdio: ['pipe', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      const m = /PORT (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`bench: broker process exited (${code})`)));
  });
  return { child, port };
}

/** A child process speaking lines: send a line, await the next line matching `re`. */
function lineChannel(child: ChildProcess): { send(line: string): void; next(re: RegExp, ms: number): Promise<RegExpExecArray> } {
  let out = '';
  const listeners = new Set<() => void>();
  child.stdout!.on('data', (b: Buffer) => {
    out += b.toString();
    for (const l of [...listeners]) l();
  });
  return {
    send: (line) => void child.stdin!.write(`${line}\n`),
    next: (re, ms) =>
      new Promise<RegExpExecArray>((resolve, reject) => {
        const look = (): void => {
          const m = re.exec(out);
          if (!m) return;
          clearTimeout(timer);
          listeners.delete(look);
          out = out.slice(m.index + m[0].length);
          resolve(m);
        };
        const timer = setTimeout(() => {
          listeners.delete(look);
          reject(new Error(`bench: no ${re} from the controller process in ${ms} ms`));
        }, ms);
        listeners.add(look);
        look();
      }),
  };
}

export async function uspRttN(n: number, shards: number, profile: string): Promise<string> {
  // USP_BENCH_BROKER_URL: bench against another broker (mosquitto, EMQX...) instead.
  const external = process.env['USP_BENCH_BROKER_URL'];
  const { child, port } = external ? { child: undefined, port: 0 } : await startBrokerProcess();
  const url = external ?? `mqtt://127.0.0.1:${port}`;
  // The controller runs in a process of its own too: what it keeps per agent is not the fleet's.
  const ctlChild = spawn(process.execPath, [fileURLToPath(new URL('./mqtt-controller-process.js', import.meta.url)), url], { stdio: ['pipe', 'pipe', 'inherit'] });
  const ctl = lineChannel(ctlChild);
  await ctl.next(/READY\n/, 30_000);

  const mainBefore = probeThread();
  const coordinator = new Coordinator(
    {
      fleetOffset: 0,
      fleetSize: n,
      seed: 1,
      profileDir: profile,
      acs: { url: '', username: '', password: '', timeoutMs: 30_000, sessionTimeoutMs: 600_000, caFile: undefined },
      maxSessions: 64,
      cwmp: false,
      usp: {
        mtp: 'mqtt',
        brokerUrl: url,
        brokerLabel: url,
        protocolVersion: 4,
        endpointId: 'os::{oui}-{serial}',
        agentTopic: '/usp/agent/{endpointId}',
        controllerId: CONTROLLER,
        controllerTopic: CONTROLLER_TOPIC,
        username: undefined,
        password: undefined,
        secret: undefined,
        ca: undefined,
      },
      bootRamp: { mode: 'rate', perSecond: 1000 },
      startAt: Date.now(),
      cr: { baseUrl: 'http://127.0.0.1:9', secret: 'bench', rateLimit: { count: 10, periodSec: 60 } },
      logLevel: process.env['USP_BENCH_DEBUG'] ? 'debug' : 'warn',
      logFormat: 'json',
      measure: true,
    },
    shards,
    () => undefined,
  );
  try {
    await coordinator.start();
    const deadline = Date.now() + 60_000 + n * 20;
    for (;;) {
      const s = await coordinator.stats();
      ctl.send('COUNT');
      const counted = await ctl.next(/ANNOUNCED (\d+) ACKED (\d+)\n/, 30_000);
      const announced = Number(counted[1]);
      // Every agent connected, announced, and its OnBoardRequest answered (as a real controller does).
      if ((s.uspConnections?.['connected'] ?? 0) === n && announced === n && Number(counted[2]) >= n) break;
      if (Date.now() > deadline) throw new Error(`bench: only ${s.uspConnections?.['connected'] ?? 0} of ${n} agents connected (${announced} announced)`);
      await sleep(50);
    }
    await sleep(500);
    const shardNow = await coordinator.probe();
    const mainNow = probeThread();
    const shardGrowth = shardNow.reduce((sum, p, i) => sum + p.heapBytes - (coordinator.baselines[i]?.heapBytes ?? p.heapBytes), 0);
    const growth = shardGrowth + (mainNow.heapBytes - mainBefore.heapBytes);
    const fds = openFds();

    let lost = 0;
    const result = async (line: string, name: string): Promise<{ elapsedNs: number; p50: number; p95: number; p99: number }> => {
      ctl.send(line);
      const m = await ctl.next(new RegExp(`RESULT ${name} (\\d+) (\\d+) (\\d+) (\\d+) (\\d+)\\n`), 600_000);
      lost += Number(m[5]);
      return { elapsedNs: Number(m[1]), p50: Number(m[2]), p95: Number(m[3]), p99: Number(m[4]) };
    };
    // JIT warm-up, then latency one request at a time, then the target load at a fixed
    // rate, then throughput with many in flight.
    await result(`RUN warm ${Math.min(2000, 4 * n)} 32`, 'warm');
    const one = await result(`RUN one ${Number(process.env['USP_BENCH_REQUESTS'] ?? 2000)} 1`, 'one');
    // The target load: USP_BENCH_RATE (1,000) Gets a second for USP_BENCH_RATE_SECONDS (5 s).
    const rate = Number(process.env['USP_BENCH_RATE'] ?? 1000);
    const paced = await result(`PACED paced ${rate * Number(process.env['USP_BENCH_RATE_SECONDS'] ?? 5)} ${rate}`, 'paced');
    const inflight = Number(process.env['USP_BENCH_INFLIGHT'] ?? 32);
    const busy = Number(process.env['USP_BENCH_LOAD_REQUESTS'] ?? 10_000);
    const loaded = await result(`RUN loaded ${busy} ${inflight}`, 'loaded');
    if (lost > 0 || process.env['USP_BENCH_DEBUG']) {
      const st = await coordinator.stats();
      process.stderr.write(`bench: ${lost} lost; connections now ${JSON.stringify(st.uspConnections)}\n`);
    }
    const name = `BenchmarkUSPRequestResponseRTTN_${n}-${coordinator.shardCount}`;
    return [
      name.padEnd(40),
      String(busy).padStart(6),
      `${(loaded.elapsedNs / busy).toFixed(0).padStart(10)} ns/op`,
      `${String(one.p50).padStart(7)} rtt_p50_us`,
      `${String(one.p95).padStart(7)} rtt_p95_us`,
      `${String(one.p99).padStart(7)} rtt_p99_us`,
      `${String(rate).padStart(5)} paced_rps`,
      `${String(paced.p50).padStart(7)} paced_p50_us`,
      `${String(paced.p99).padStart(7)} paced_p99_us`,
      `${String(loaded.p50).padStart(7)} loaded_p50_us`,
      `${String(loaded.p99).padStart(7)} loaded_p99_us`,
      `${(growth / n).toFixed(0).padStart(8)} bytes_per_cpe`,
      `${(shardGrowth / n).toFixed(0).padStart(8)} shard_bytes_per_cpe`,
      `${String(fds).padStart(6)} fds_open`,
      `${String(lost).padStart(4)} lost`,
    ].join('\t');
  } finally {
    await coordinator.stop();
    ctlChild.stdin!.end();
    await new Promise((r) => ctlChild.once('exit', r));
    if (child) {
      child.stdin!.end();
      await new Promise((r) => child.once('exit', r));
    }
  }
}

/**
 * USP_BENCH_MTP=websocket: the same fleet as agents that are WebSocket clients of a
 * controller in a child process (ws-controller-process.ts).
 *   BenchmarkUSPWebSocketN_<N>-<threads>  <requests>  rtt_p50_us  rtt_p99_us  bytes_per_cpe  fds_open  lost
 */
export async function uspWsN(n: number, shards: number, profile: string): Promise<string> {
  const script = fileURLToPath(new URL('./ws-controller-process.js', import.meta.url));
  const child = spawn(process.execPath, [script], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  const lineOf = (re: RegExp, ms: number) =>
    new Promise<RegExpExecArray>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`bench: no ${re} from the controller process`)), ms);
      const look = () => {
        const m = re.exec(out);
        if (m) {
          clearTimeout(timer);
          child.stdout!.off('data', look);
          out = out.slice(m.index + m[0].length);
          resolve(m);
        }
      };
      child.stdout!.on('data', look);
      look();
    });
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  const port = Number((await lineOf(/PORT (\d+)\n/, 10_000))[1]);
  const mainBefore = probeThread();
  const url = `ws://127.0.0.1:${port}/usp`;
  const coordinator = new Coordinator(
    {
      fleetOffset: 0,
      fleetSize: n,
      seed: 1,
      profileDir: profile,
      acs: { url: '', username: '', password: '', timeoutMs: 30_000, sessionTimeoutMs: 600_000, caFile: undefined },
      maxSessions: 64,
      cwmp: false,
      usp: { mtp: 'websocket', brokerUrl: url, brokerLabel: url, protocolVersion: 4, endpointId: 'os::{oui}-{serial}', agentTopic: '/usp/agent/{endpointId}', controllerId: CONTROLLER, controllerTopic: CONTROLLER_TOPIC, username: undefined, password: undefined, secret: undefined, ca: undefined },
      bootRamp: { mode: 'rate', perSecond: 1000 },
      startAt: Date.now(),
      cr: { baseUrl: 'http://127.0.0.1:9', secret: 'bench', rateLimit: { count: 10, periodSec: 60 } },
      logLevel: 'warn',
      logFormat: 'json',
      measure: true,
    },
    shards,
    () => undefined,
  );
  try {
    await coordinator.start();
    const deadline = Date.now() + 60_000 + n * 20;
    for (;;) {
      const s = await coordinator.stats();
      if ((s.uspConnections?.['connected'] ?? 0) === n) break;
      if (Date.now() > deadline) throw new Error(`bench: only ${s.uspConnections?.['connected'] ?? 0} of ${n} WebSocket agents connected`);
      await sleep(50);
    }
    await sleep(1000);
    const shardNow = await coordinator.probe();
    const mainNow = probeThread();
    const growth = shardNow.reduce((sum, p, i) => sum + p.heapBytes - (coordinator.baselines[i]?.heapBytes ?? p.heapBytes), 0) + (mainNow.heapBytes - mainBefore.heapBytes);
    const fds = openFds();
    const requests = Number(process.env['USP_BENCH_REQUESTS'] ?? 2000);
    child.stdin!.write(`GET ${Math.min(2000, 4 * n)}\n`); // warm-up
    await lineOf(/RTT \d+ \d+ \d+\n/, 120_000);
    child.stdin!.write(`GET ${requests}\n`);
    const [, p50, p99, lost] = (await lineOf(/RTT (\d+) (\d+) (\d+)\n/, 120_000)) as unknown as [string, string, string, string];
    return [
      `BenchmarkUSPWebSocketN_${n}-${coordinator.shardCount}`.padEnd(40),
      String(requests).padStart(6),
      `${p50.padStart(7)} rtt_p50_us`,
      `${p99.padStart(7)} rtt_p99_us`,
      `${(growth / n).toFixed(0).padStart(8)} bytes_per_cpe`,
      `${String(fds).padStart(6)} fds_open`,
      `${lost.padStart(4)} lost`,
    ].join('\t');
  } finally {
    await coordinator.stop();
    child.stdin!.end();
    await new Promise((r) => child.once('exit', r));
  }
}
