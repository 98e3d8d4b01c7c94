// The MQTT bench's USP controller in a process of its own (an mqtt.js client, MQTT 3.1.1):
// what it keeps per agent (the address from each MQTTConnect Record) stays out of the
// fleet's bytes_per_cpe. Argument: the broker URL. Prints "READY" once subscribed. Stdin
// lines, each answered with one line:
//   COUNT                      -> "ANNOUNCED <agents that sent their MQTTConnect Record> ACKED <Notifies answered>"
//   RUN <name> <count> <inflight>  -> <count> Gets, <inflight> at a time, round robin over the agents
//   PACED <name> <count> <rate>    -> <count> Gets sent at <rate> a second on a fixed schedule (open loop)
// RUN and PACED answer "RESULT <name> <elapsed_ns> <p50_us> <p95_us> <p99_us> <lost>": the
// round trip from the controller's PUBLISH to the answer, through the broker twice; lost
// counts Gets unanswered after 5 s. Like a real controller it answers every Notify sent with
// send_resp (the agents' OnBoardRequest and Boot!) with a NotifyResp (TR-369 R-NOT.5), so
// the agents do not keep them for a retry. Exits when stdin closes.
import { createInterface } from 'node:readline';
import { connectAsync } from 'mqtt';
import { decodeMsg, decodeRecord, encodeMsg, encodeRecord } from '../src/usp/codec.js';
import { topicWithReplyTo } from '../src/usp/mtp/mqtt.js';

const CONTROLLER = 'self::usp-controller';
const CONTROLLER_TOPIC = '/usp/controller';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const ctl = await connectAsync(process.argv[2]!, { protocolVersion: 4, clientId: `bench-ctl-${process.pid}`, clean: true, reconnectPeriod: 0 });
(ctl.stream as { setNoDelay?: (on: boolean) => void }).setNoDelay?.(true);
const agents: Array<[string, string]> = [];
const topics = new Map<string, string>();
let acked = 0;
const waiting = new Map<string, (at: bigint) => void>();
ctl.on('message', (_topic, payload) => {
  const at = process.hrtime.bigint();
  const rec = decodeRecord(payload);
  if (!rec.ok) return;
  const r = rec.value;
  if (r.record_type === 'mqtt_connect') {
    agents.push([r.from_id, r.mqtt_connect.subscribed_topic]);
    topics.set(r.from_id, r.mqtt_connect.subscribed_topic);
    return;
  }
  if (r.record_type !== 'no_session_context') return;
  const m = decodeMsg(r.no_session_context.payload);
  if (!m.ok) return;
  const body = m.value.body;
  if (body.msg_body === 'request' && body.request.req_type === 'notify') {
    const topic = topics.get(r.from_id);
    if (body.request.notify.send_resp && topic) {
      const resp = encodeMsg({ header: { msg_id: m.value.header.msg_id }, body: { response: { notify_resp: { subscription_id: body.request.notify.subscription_id } } } });
      ctl.publish(topic, Buffer.from(encodeRecord({ version: '1.3', to_id: r.from_id, from_id: CONTROLLER, no_session_context: { payload: resp } })), { qos: 0 });
      acked++;
    }
    return;
  }
  const done = waiting.get(m.value.header.msg_id);
  if (done) {
    waiting.delete(m.value.header.msg_id);
    done(at);
  }
});
await ctl.subscribeAsync([CONTROLLER_TOPIC, `${CONTROLLER_TOPIC}/#`], { qos: 0 });
process.stdout.write('READY\n');

let seq = 0;
/** One Get to the next agent round robin: its RTT in µs, or undefined when lost. */
async function ask(): Promise<number | undefined> {
  const i = seq++;
  const [eid, topic] = agents[i % agents.length]!;
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
  return at === undefined ? undefined : Number(at - t) / 1000;
}

async function closedLoop(count: number, inflight: number): Promise<Array<number | undefined>> {
  const out: Array<number | undefined> = [];
  let started = 0;
  const worker = async (): Promise<void> => {
    while (started < count) {
      started++;
      out.push(await ask());
    }
  };
  await Promise.all(Array.from({ length: inflight }, worker));
  return out;
}

async function openLoop(count: number, perSecond: number): Promise<Array<number | undefined>> {
  const answers: Array<Promise<number | undefined>> = [];
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < count; ) {
    const due = (Number(process.hrtime.bigint() - t0) / 1e9) * perSecond;
    for (; i < count && i <= due; i++) answers.push(ask());
    await sleep(1);
  }
  return Promise.all(answers);
}

const pct = (s: number[], p: number): number => s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? 0;

let queue = Promise.resolve();
createInterface({ input: process.stdin }).on('line', (line) => {
  queue = queue.then(async () => {
    const [cmd, name, a, b] = line.trim().split(/\s+/);
    if (cmd === 'COUNT') {
      process.stdout.write(`ANNOUNCED ${agents.length} ACKED ${acked}\n`);
      return;
    }
    if (cmd !== 'RUN' && cmd !== 'PACED') return;
    const t0 = process.hrtime.bigint();
    const got = cmd === 'RUN' ? await closedLoop(Number(a), Number(b)) : await openLoop(Number(a), Number(b));
    const elapsed = process.hrtime.bigint() - t0;
    const rtts = got.filter((x): x is number => x !== undefined).sort((x, y) => x - y);
    process.stdout.write(`RESULT ${name} ${elapsed} ${pct(rtts, 50).toFixed(0)} ${pct(rtts, 95).toFixed(0)} ${pct(rtts, 99).toFixed(0)} ${got.length - rtts.length}\n`);
  });
});
process.stdin.on('end', () => {
  void ctl.endAsync(true).finally(() => process.exit(0));
});
