// MQTT 5 broker-assigned topics (TR-369 R-MQTT.15, R-MQTT.21; docs/usp-behaviour.md "The MQTT
// connection"): a CONNACK `subscribe-topic` User Property becomes the agent's own topic, as
// Oktopus-style brokers hand out. mosquitto cannot add CONNACK User Properties (nor can
// aedes, which speaks 3.1.1 only), so the broker here is test/helpers/mqtt5-broker.ts: a
// routing MQTT 5 broker on mqtt-packet over real sockets. The agents are a real shard's.
import { afterEach, describe, expect, it } from '@jest/globals';
import type { IConnectPacket, Packet } from 'mqtt-packet';
import { startHarness, uspInit, until, type Harness } from './helpers/harness.js';
import { startMqtt5Broker, type Mqtt5Broker } from './helpers/mqtt5-broker.js';
import { TestController, type Received } from './helpers/usp-controller.js';
import { subscriptionPlan } from '../src/usp/mtp/mqtt.js';
import type { UspMsg } from '../src/usp/codec.js';

const eidOf = (c: IConnectPacket): string | undefined => {
  const v = c.properties?.userProperties?.['usp-endpoint-id'];
  return typeof v === 'string' ? v : undefined;
};

const paramsOf = (m: UspMsg): Record<string, string> => {
  if (m.body.msg_body !== 'response' || m.body.response.resp_type !== 'get_resp') throw new Error(`expected GetResp, got ${JSON.stringify(m.body)}`);
  return Object.assign({}, ...m.body.response.get_resp.req_path_results.flatMap((r) => r.resolved_path_results.map((x) => x.result_params)));
};

const isConnectRecord = (eid: string) => (r: Received) => r.record.from_id === eid && r.record.record_type === 'mqtt_connect';

describe('subscriptionPlan (R-MQTT.15, R-MQTT.21)', () => {
  it('Response Information wins the reply-to; a topic-name subscribe-topic comes next; else the configured topic', () => {
    expect(subscriptionPlan('/cfg', '/ri', ['/st'])).toEqual({ replyTopic: '/ri', source: 'response-information', filters: ['/st', '/ri'] });
    expect(subscriptionPlan('/cfg', undefined, ['a/+/x', '/st'])).toEqual({ replyTopic: '/st', source: 'subscribe-topic', filters: ['a/+/x', '/st', '/cfg'] });
    // A subscribe-topic filter that covers the configured topic: not subscribed twice.
    expect(subscriptionPlan('/usp/agent/x', undefined, ['/usp/agent/+', '/st'])).toEqual({ replyTopic: '/st', source: 'subscribe-topic', filters: ['/usp/agent/+', '/st'] });
    expect(subscriptionPlan('/cfg', undefined, [])).toEqual({ replyTopic: '/cfg', source: 'configured', filters: ['/cfg'] });
  });

  it('a filter covering the configured topic or the Response Information is not doubled', () => {
    expect(subscriptionPlan('usp/agent/x', undefined, ['usp/agent/#'])).toEqual({ replyTopic: 'usp/agent/x', source: 'configured', filters: ['usp/agent/#'] });
    expect(subscriptionPlan('/cfg', 'r/a/b', ['r/+/b'])).toEqual({ replyTopic: 'r/a/b', source: 'response-information', filters: ['r/+/b'] });
  });
});

describe('MQTT 5 CONNACK subscribe-topic (broker-assigned agent topic)', () => {
  let broker: Mqtt5Broker | undefined;
  let ctl: TestController | undefined;
  let h: Harness | undefined;

  afterEach(async () => {
    await h?.stop();
    await ctl?.stop();
    await broker?.close();
    h = ctl = broker = undefined;
  });

  it('the agent subscribes to the assigned topic instead of its configured one, announces it and is reached there', async () => {
    const assigned = (eid: string) => `oktopus/usp/v1/agent/${eid}`;
    broker = await startMqtt5Broker({ connack: (c) => (eidOf(c) ? { userProperties: { 'subscribe-topic': assigned(eidOf(c)!) } } : undefined) });
    ctl = await TestController.start({ url: broker.url, protocolVersion: 5 });
    h = await startHarness({ cwmp: false, cpes: 2, usp: uspInit(broker.url, { protocolVersion: 5 }) });
    h.tick();
    await until(() => h!.shard.usp!.connections.countsByState().connected === 2, 10_000, 'both agents connected');

    for (const l of [0, 1]) {
      const eid = h.shard.env.endpointId(l);
      const configured = h.shard.env.agentTopic(l);
      // SUBSCRIBE names the assigned topic and, with no Response Information, the configured
      // one too (R-MQTT.15, last bullet); the assigned one is the reply-to.
      const subs = (broker.packets.get(eid) ?? []).filter((p): p is Extract<Packet, { cmd: 'subscribe' }> => p.cmd === 'subscribe');
      expect(subs.flatMap((s) => s.subscriptions.map((x) => x.topic))).toEqual([assigned(eid), `/usp/agent/${eid}`]);
      // The MQTTConnect Record names it, and so does the Response Topic of the PUBLISH carrying it.
      const rec = await ctl.waitFor(isConnectRecord(eid), 5000, `the MQTTConnect Record of ${eid}`);
      expect(rec.record.record_type === 'mqtt_connect' && rec.record.mqtt_connect).toEqual({ version: 'V5', subscribed_topic: assigned(eid) });
      expect(rec.replyTo).toBe(assigned(eid));
      // A Get sent to the assigned topic is answered; the data model tells both topics apart.
      const m = await ctl.request(
        { endpointId: eid, topic: assigned(eid) },
        { request: { get: { param_paths: ['Device.LocalAgent.MTP.1.MQTT.ResponseTopicConfigured', 'Device.LocalAgent.MTP.1.MQTT.ResponseTopicDiscovered'] } } },
      );
      expect(paramsOf(m)).toEqual({ ResponseTopicConfigured: configured, ResponseTopicDiscovered: assigned(eid) });
    }
  });

  it('a subscribe-topic filter (wildcard) is subscribed as well, and the configured topic stays the reply-to', async () => {
    broker = await startMqtt5Broker({ connack: (c) => (eidOf(c) ? { userProperties: { 'subscribe-topic': ['broadcast/+'] } } : undefined) });
    ctl = await TestController.start({ url: broker.url, protocolVersion: 5 });
    h = await startHarness({ cwmp: false, usp: uspInit(broker.url, { protocolVersion: 5 }) });
    h.tick();
    const eid = h.shard.env.endpointId(0);
    const configured = h.shard.env.agentTopic(0);
    const rec = await ctl.waitFor(isConnectRecord(eid), 10_000, 'the MQTTConnect Record');
    expect(rec.record.record_type === 'mqtt_connect' && rec.record.mqtt_connect.subscribed_topic).toBe(configured);
    const subs = (broker.packets.get(eid) ?? []).filter((p): p is Extract<Packet, { cmd: 'subscribe' }> => p.cmd === 'subscribe');
    expect(subs.flatMap((s) => s.subscriptions.map((x) => x.topic))).toEqual(['broadcast/+', configured]);
    // Reached through the broadcast filter too.
    const m = await ctl.request({ endpointId: eid, topic: 'broadcast/all' }, { request: { get: { param_paths: ['Device.LocalAgent.MTP.1.MQTT.ResponseTopicDiscovered'] } } });
    expect(paramsOf(m)).toEqual({ ResponseTopicDiscovered: '' });
  });
});
