// USP_BENCH=1 npm run bench: a USP-only fleet of N agents, each with its own MQTT
// connection to an aedes broker in a child process, and a controller that sends Get
// requests and times each answer on the wire.
//   BenchmarkUSPRequestResponseRTTN_<N>-<threads>  <requests>  <ns/op>  rtt_p50_us  rtt_p95_us
//     rtt_p99_us  paced_rps  paced_p50_us  paced_p99_us  loaded_p50_us  loaded_p99_us
//     bytes_per_cpe  fds_open  lost
// After a JIT warm-up, rtt_* are the round trips of USP_BENCH_REQUESTS (2,000) Gets sent
// one at a time: what the controller sees from its PUBLISH to the broker, through the
// agent's decode, handling and answer, back through the broker. paced_* are the round
// trips of Gets sent at USP_BENCH_RATE (1,000) a second for USP_BENCH_RATE_SECONDS (5),
// on a fixed schedule whatever the answers do (open loop). Then
// USP_BENCH_LOAD_REQUESTS (10,000) Gets with USP_BENCH_INFLIGHT (32) in flight give ns/op
// (wall time per request: the fleet's throughput) and loaded_* (RTT under that load).
// lost counts Gets unanswered after 5 s (QoS 0 both ways, as obuspa publishes by default).
// bytes_per_cpe is the heap growth (after a full GC) of the main and shard threads over N
// once every agent is connected; the broker's own memory is in its own process.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { connectAsync, type MqttClient } from 'mqtt';
import { Coordinator } from '../src/coordinator/coordinator.js';
import { decodeMsg, decodeRecord, encodeMsg, encodeRecord } from '../src/usp/codec.js';
import { topicWithReplyTo } from '../src/usp/mtp/mqtt.js';
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

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export async function uspRttN(n: number, shards: number, profile: string): Promise<string> {
  // USP_BENCH_BROKER_URL: bench against another broker (mosquitto, EMQX...) instead.
  const external = process.env['USP_BENCH_BROKER_URL'];
  const { child, port } = external ? { child: undefined, port: 0 } : await startBrokerProcess();
  const url = external ?? `mqtt://127.0.0.1:${port}`;
  const agents = new Map<string, string>();
  let connects = 0;
  const waiting = new Map<string, (at: bigint) => void>();
  const ctl: MqttClient = await connectAsync(url, { protocolVersion: 4, clientId: `bench-ctl-${process.pid}`, clean: true, reconnectPeriod: 0 });
  (ctl.stream as { setNoDelay?: (on: boolean) => void }).setNoDelay?.(true);
  ctl.on('message', (_topic, payload) => {
    const at = process.hrtime.bigint();
    const rec = decodeRecord(payload);
    if (!rec.ok) return;
    const r = rec.value;
    if (r.record_type === 'mqtt_connect') {
      connects++;
      agents.set(r.from_id, r.mqtt_connect.subscribed_topic);
      return;
    }
    if (r.record_type !== 'no_session_context') return;
    const m = decodeMsg(r.no_session_context.payload);
    if (!m.ok) return;
    const done = waiting.get(m.value.header.msg_id);
    if (done) {
      waiting.delete(m.value.header.msg_id);
      done(at);
    }
  });
  await ctl.subscribeAsync([CONTROLLER_TOPIC, `${CONTROLLER_TOPIC}/#`], { qos: 0 });

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
      if ((s.uspConnections?.['connected'] ?? 0) === n && agents.size === n) break;
      if (Date.now() > deadline) throw new Error(`bench: only ${s.uspConnections?.['connected'] ?? 0} of ${n} agents connected (${agents.size} announced)`);
      await sleep(50);
    }
    await sleep(500);
    const shardNow = await coordinator.probe();
    const mainNow = probeThread();
    const shardGrowth = shardNow.reduce((sum, p, i) => sum + p.heapBytes - (coordinator.baselines[i]?.heapBytes ?? p.heapBytes), 0);
    const growth = shardGrowth + (mainNow.heapBytes - mainBefore.heapBytes);
    process.stderr.write(`bench: heap growth per agent: shards ${(shardGrowth / n).toFixed(0)}, main thread (coordinator and this bench's controller) ${((mainNow.heapBytes - mainBefore.heapBytes) / n).toFixed(0)}\n`);
    const fds = openFds();

    const list = [...agents.entries()];
    let seq = 0;
    let lost = 0;
    /** One Get to the next agent round robin: its RTT in µs, or undefined when lost. */
    const ask = async (): Promise<number | undefined> => {
      const i = seq++;
      const [eid, topic] = list[i % list.length]!;
      const msgId = `bench-${i}`;
      const rec = encodeRecord({ version: '1.3', to_id: eid, from_id: CONTROLLER, no_session_context: { payload: encodeMsg({ header: { msg_id: msgId }, body: { request: { get: { param_paths: ['Device.DeviceInfo.SoftwareVersion'] } } } }) } });
      const answered = new Promise<bigint | undefined>((resolve) => {
        waiting.set(msgId, resolve);
        setTimeout(() => {
          if (waiting.delete(msgId)) resolve(undefined);
        }, 5000).unref();
      });
      const t = process.hrtime.bigint();
      ctl.publish(topicWithReplyTo(topic, CONTROLLER_TOPIC), Buffer.from(rec), { qos: 0 });
      const at = await answered;
      if (at === undefined) {
        lost++;
        return undefined;
      }
      return Number(at - t) / 1000;
    };
    /** `count` Gets, `inflight` at a time, round robin over the agents; RTTs in µs. */
    const run = async (count: number, inflight: number): Promise<number[]> => {
      const rtts: number[] = [];
      let started = 0;
      const worker = async (): Promise<void> => {
        while (started < count) {
          started++;
          const rtt = await ask();
          if (rtt !== undefined) rtts.push(rtt);
        }
      };
      await Promise.all(Array.from({ length: inflight }, worker));
      return rtts.sort((a, b) => a - b);
    };
    /** `count` Gets sent at `perSecond` on a fixed schedule (open loop: not waiting for answers); RTTs in µs. */
    const paced = async (count: number, perSecond: number): Promise<number[]> => {
      const rtts: number[] = [];
      const answers: Array<Promise<void>> = [];
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < count; ) {
        const due = (Number(process.hrtime.bigint() - t0) / 1e9) * perSecond;
        for (; i < count && i <= due; i++) answers.push(ask().then((rtt) => void (rtt !== undefined && rtts.push(rtt))));
        await sleep(1);
      }
      await Promise.all(answers);
      return rtts.sort((a, b) => a - b);
    };
    // JIT warm-up, then latency one request at a time, then throughput with many in flight.
    await run(Math.min(2000, 4 * n), 32);
    const rtts = await run(Number(process.env['USP_BENCH_REQUESTS'] ?? 2000), 1);
    // The target load: USP_BENCH_RATE (1,000) Gets a second for USP_BENCH_RATE_SECONDS (5 s).
    const rate = Number(process.env['USP_BENCH_RATE'] ?? 1000);
    const pacedRtts = await paced(rate * Number(process.env['USP_BENCH_RATE_SECONDS'] ?? 5), rate);
    const inflight = Number(process.env['USP_BENCH_INFLIGHT'] ?? 32);
    const busy = Number(process.env['USP_BENCH_LOAD_REQUESTS'] ?? 10_000);
    const t0 = process.hrtime.bigint();
    const loaded = await run(busy, inflight);
    const elapsed = Number(process.hrtime.bigint() - t0);
    if (lost > 0 || process.env['USP_BENCH_DEBUG']) {
      const st = await coordinator.stats();
      process.stderr.write(`bench: ${lost} lost; connections now ${JSON.stringify(st.uspConnections)}; MQTTConnect records ${connects} for ${n} agents\n`);
    }
    const name = `BenchmarkUSPRequestResponseRTTN_${n}-${coordinator.shardCount}`;
    return [
      name.padEnd(40),
      String(busy).padStart(6),
      `${(elapsed / busy).toFixed(0).padStart(10)} ns/op`,
      `${percentile(rtts, 50).toFixed(0).padStart(7)} rtt_p50_us`,
      `${percentile(rtts, 95).toFixed(0).padStart(7)} rtt_p95_us`,
      `${percentile(rtts, 99).toFixed(0).padStart(7)} rtt_p99_us`,
      `${String(rate).padStart(5)} paced_rps`,
      `${percentile(pacedRtts, 50).toFixed(0).padStart(7)} paced_p50_us`,
      `${percentile(pacedRtts, 99).toFixed(0).padStart(7)} paced_p99_us`,
      `${percentile(loaded, 50).toFixed(0).padStart(7)} loaded_p50_us`,
      `${percentile(loaded, 99).toFixed(0).padStart(7)} loaded_p99_us`,
      `${(growth / n).toFixed(0).padStart(8)} bytes_per_cpe`,
      `${String(fds).padStart(6)} fds_open`,
      `${String(lost).padStart(4)} lost`,
    ].join('\t');
  } finally {
    await coordinator.stop();
    await ctl.endAsync(true).catch(() => undefined);
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
