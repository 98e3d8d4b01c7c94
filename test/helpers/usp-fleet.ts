// A USP test bed: an in-process shard whose CPEs are USP agents on a real broker (the
// embedded aedes for MQTT 3.1.1, mosquitto for MQTT 5), a TestController on the same
// broker, and the shard's metrics catalog fed from the diagnostics channels.
import { startEmbeddedBroker } from '../../src/broker/embedded.js';
import { ThreadMetrics } from '../../src/metrics/thread-metrics.js';
import { startHarness, uspInit, until, type Harness, type HarnessOptions } from './harness.js';
import { startMosquitto } from './mosquitto.js';
import { settle } from './settle.js';
import { TestController, type AgentAddress } from './usp-controller.js';
import type { UspInit } from '../../src/threads/messages.js';
import type { MsgInput, UspMsg } from '../../src/usp/codec.js';

export type BrokerKind = 'aedes' | 'mosquitto';

export interface Broker {
  url: string;
  version: 4 | 5;
  stop(): Promise<void>;
  /** Stop now; start again on the same port when `up()` is called. */
  restart?: () => Promise<void>;
}

export async function startBroker(kind: BrokerKind): Promise<Broker> {
  if (kind === 'aedes') {
    const b = await startEmbeddedBroker({ host: '127.0.0.1', port: 0 });
    return { url: b.url, version: 4, stop: () => b.close() };
  }
  const m = await startMosquitto();
  return { url: m.url, version: 5, stop: () => m.stop(), restart: () => m.restart() };
}

export interface UspBed {
  h: Harness;
  ctl: TestController;
  broker: Broker;
  metrics: ThreadMetrics;
  agent(l?: number): AgentAddress;
  /** Request to agent l (default 0); resolves with the answer Msg. */
  ask(body: MsgInput['body'], l?: number): Promise<UspMsg>;
  /**
   * Settle: the harness idle (settle()), then a Get round trip to agent l. Its answer
   * comes after every Record the agent sent before it (one connection, in order), so a
   * Notify that was going to be sent has arrived by then.
   */
  settle(l?: number): Promise<void>;
  /** Add an enabled Device.LocalAgent.Subscription row on agent 0; resolves with its path. */
  subscribe(id: string, notifType: string, referenceList: string, extra?: Record<string, string>): Promise<string>;
  stop(): Promise<void>;
}

export async function startUspBed(kind: BrokerKind, o: HarnessOptions & { uspOverrides?: Partial<UspInit> } = {}): Promise<UspBed> {
  const broker = await startBroker(kind);
  const metrics = new ThreadMetrics();
  const ctl = await TestController.start({ url: broker.url, protocolVersion: broker.version });
  const h = await startHarness({ cwmp: false, ...o, usp: uspInit(broker.url, { protocolVersion: broker.version, ...o.uspOverrides }) });
  const agent = (l = 0): AgentAddress => ({ endpointId: h.shard.env.endpointId(l + (o.lo ?? 0)), topic: h.shard.env.agentTopic(l + (o.lo ?? 0)) });
  h.tick();
  const cpes = o.cpes ?? 1;
  await until(() => h.shard.usp!.connections.countsByState()['connected'] === cpes, 10_000, 'every agent connected');
  let seq = 0;
  const ask = (body: MsgInput['body'], l = 0) => ctl.request(agent(l), body, { msgId: `req-${kind}-${++seq}` });
  return {
    h,
    ctl,
    broker,
    metrics,
    agent,
    ask,
    async settle(l = 0) {
      await settle(h);
      await ask({ request: { get: { param_paths: ['Device.DeviceInfo.SerialNumber'] } } }, l);
    },
    async subscribe(id, notifType, referenceList, extra = {}) {
      const settings = Object.entries({ Enable: 'true', ID: id, NotifType: notifType, ReferenceList: referenceList, ...extra });
      const m = await ask({ request: { add: { allow_partial: false, create_objs: [{ obj_path: 'Device.LocalAgent.Subscription.', param_settings: settings.map(([param, value]) => ({ param, value, required: true })) }] } } });
      return addedPath(m);
    },
    async stop() {
      await h.stop();
      await ctl.stop();
      await broker.stop();
      metrics.close();
    },
  };
}

/** Read a counter/gauge value from the catalog by label set. */
export async function metricValue(m: ThreadMetrics, name: string, labels: Record<string, string>): Promise<number> {
  const all = await m.catalog.registry.getMetricsAsJSON();
  const fam = all.find((f) => f.name === name);
  const v = fam?.values.find((x) => Object.entries(labels).every(([k, val]) => String(x.labels[k]) === val));
  return v?.value ?? 0;
}

/** The instantiated_path of a successful single-object AddResp. */
export function addedPath(m: UspMsg): string {
  if (m.body.msg_body !== 'response' || m.body.response.resp_type !== 'add_resp') throw new Error(`expected AddResp, got ${JSON.stringify(m.body)}`);
  const st = m.body.response.add_resp.created_obj_results[0]!.oper_status;
  if (st.oper_status !== 'oper_success') throw new Error(`Add failed: ${JSON.stringify(st)}`);
  return st.oper_success.instantiated_path;
}
