// A broker outage: agents lose their connections, wait out the MQTT client's retry
// window (Device.MQTT.Client ConnectRetryTime...), reconnect, announce themselves again
// with an MQTTConnect Record, and do not send a second Boot! (a reconnect is not a boot).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { until } from './helpers/harness.js';
import { isNotify } from './helpers/usp-controller.js';
import { metricValue, startUspBed, type UspBed } from './helpers/usp-fleet.js';

let bed: UspBed;

beforeAll(async () => {
  bed = await startUspBed('mosquitto', { cpes: 3 });
});

afterAll(async () => {
  await bed?.stop();
});

describe('USP agents across a broker restart (mosquitto, MQTT 5)', () => {
  it('go to backoff when the broker goes, reconnect along the retry window when it is back', async () => {
    const counts = () => bed.h.shard.usp!.connections.countsByState();
    const connects = (eid: string) => bed.ctl.received.filter((r) => r.record.record_type === 'mqtt_connect' && r.record.from_id === eid).length;
    const eids = [0, 1, 2].map((l) => bed.agent(l).endpointId);
    await until(() => eids.every((e) => connects(e) === 1), 5000, 'the first MQTTConnect Records');
    await bed.broker.restart!();
    // Agents saw the connection drop and wait out ConnectRetryTime (5 s, x2 per attempt).
    await until(() => counts()['connected'] === 0, 10_000, 'every agent to notice the outage');
    expect(counts()['backoff']).toBe(3);
    expect(bed.h.shard.lifecycle(0)).toBe('failed');
    await until(() => bed.ctl.connected, 10_000, 'the controller back on the broker');
    await bed.ctl.roundTrip(); // its resubscription is in place
    bed.h.tick(10_001); // the first retry window is [5, 10] s
    await until(() => counts()['connected'] === 3, 10_000, 'every agent back');
    // The controller reconnects by itself; each agent announced itself again.
    await until(() => eids.every((e) => connects(e) >= 2), 10_000, 'MQTTConnect Records after the reconnect');
    expect(bed.h.shard.lifecycle(0)).toBe('ready');
    expect(await metricValue(bed.metrics, 'cpe_sim_usp_autonomous_notifies_total', { notify_kind: 'Event', gated: 'false' })).toBe(3);
    const m = await bed.ask({ request: { get: { param_paths: ['Device.LocalAgent.MTP.1.MQTT.ResponseTopicDiscovered'] } } });
    expect(m.body.msg_body).toBe('response');
  });

  it('notifies on the reconnect a change made while the agent was down (NotifRetry), not at the next full scan', async () => {
    const PC = 'Device.DeviceInfo.ProvisioningCode';
    const counts = () => bed.h.shard.usp!.connections.countsByState();
    await bed.subscribe('while-down', 'ValueChange', PC, { NotifRetry: 'true' });
    await bed.broker.restart!();
    await until(() => counts()['connected'] === 0, 10_000, 'every agent to notice the outage');
    // A change while the agent is down, along the path a CWMP write takes (the tree changed, USP looks).
    const v = bed.h.shard.view(0);
    expect(v.deviceSet(PC, 'set-while-down')).toBe(true);
    bed.h.shard.keep(0, v);
    bed.h.shard.usp!.recheck(0);
    await until(() => bed.ctl.connected, 10_000, 'the controller back on the broker');
    await bed.ctl.roundTrip();
    bed.h.tick(10_001); // the first retry window is [5, 10] s; no full scan is due within it
    await until(() => counts()['connected'] === 3, 10_000, 'every agent back');
    const r = await bed.ctl.waitFor(isNotify('while-down', (n) => n.notification === 'value_change' && n.value_change.param_value === 'set-while-down'), 5000, 'the ValueChange made while down');
    expect(r.record.from_id).toBe(bed.agent(0).endpointId);
  });
});
