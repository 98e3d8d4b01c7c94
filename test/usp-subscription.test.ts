import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { isNotify, notifyOf } from './helpers/usp-controller.js';
import { addedPath as added, metricValue, startUspBed, type BrokerKind, type UspBed } from './helpers/usp-fleet.js';

describe.each<BrokerKind>(['aedes', 'mosquitto'])('USP subscriptions (%s)', (kind) => {
  let bed: UspBed;

  const subscribe = (id: string, type: string, refs: string, extra: Record<string, string> = {}) => bed.subscribe(id, type, refs, extra);
  const set = (obj: string, param: string, value: string) =>
    bed.ask({ request: { set: { allow_partial: false, update_objs: [{ obj_path: obj, param_settings: [{ param, value, required: true }] }] } } });

  beforeAll(async () => {
    bed = await startUspBed(kind, { cpes: 1 });
  });

  afterAll(async () => {
    await bed?.stop();
  });

  it('counts the Boot! nobody subscribed to as not gated, and sends nothing for it', async () => {
    expect(await metricValue(bed.metrics, 'cpe_sim_usp_autonomous_notifies_total', { notify_kind: 'Event', gated: 'false' })).toBeGreaterThanOrEqual(1);
    await bed.settle();
    expect(bed.ctl.received.some((r) => notifyOf(r)?.notification === 'event')).toBe(false);
  });

  it('fills in Recipient and CreationDate of a subscription a controller adds', async () => {
    const path = await subscribe('vc', 'ValueChange', 'Device.WiFi.SSID.*.SSID');
    expect(path).toMatch(/^Device\.LocalAgent\.Subscription\.\d+\.$/);
    const g = await bed.ask({ request: { get: { param_paths: [`${path}Recipient`, `${path}CreationDate`] } } });
    if (g.body.msg_body !== 'response' || g.body.response.resp_type !== 'get_resp') throw new Error('unreachable');
    const params = Object.assign({}, ...g.body.response.get_resp.req_path_results.map((r) => r.resolved_path_results[0]!.result_params)) as Record<string, string>;
    expect(params['Recipient']).toBe('Device.LocalAgent.Controller.1');
    expect(params['CreationDate']).toMatch(/^\d{4}-\d{2}-\d{2}T/);
  });

  it('ValueChange: a Set of a covered parameter is notified, even when the subscriber made it', async () => {
    await set('Device.WiFi.SSID.2.', 'SSID', `vc-${kind}`);
    const r = await bed.ctl.waitFor(isNotify('vc', (n) => n.notification === 'value_change'));
    const n = notifyOf(r)!;
    if (n.notification !== 'value_change') throw new Error('unreachable');
    expect(n.value_change).toEqual({ param_path: 'Device.WiFi.SSID.2.SSID', param_value: `vc-${kind}` });
    expect(n.send_resp).toBe(false);
    expect(await metricValue(bed.metrics, 'cpe_sim_usp_autonomous_notifies_total', { notify_kind: 'ValueChange', gated: 'true' })).toBeGreaterThanOrEqual(1);
  });

  it('ValueChange: an uncovered parameter does not notify; a disabled subscription does not either', async () => {
    const before = bed.ctl.received.filter(isNotify('vc')).length;
    await set('Device.WiFi.Radio.1.', 'Channel', '11');
    await set('Device.LocalAgent.Subscription.1.', 'Enable', 'false');
    await set('Device.WiFi.SSID.1.', 'SSID', 'quiet');
    await bed.settle();
    expect(bed.ctl.received.filter(isNotify('vc')).length).toBe(before);
  });

  it('ObjectCreation and ObjectDeletion cover rows added and deleted, with the new row\'s unique keys', async () => {
    await subscribe('oc', 'ObjectCreation', 'Device.NAT.PortMapping.');
    await subscribe('od', 'ObjectDeletion', 'Device.NAT.PortMapping.*.');
    const row = added(await bed.ask({ request: { add: { allow_partial: false, create_objs: [{ obj_path: 'Device.NAT.PortMapping.', param_settings: [{ param: 'Alias', value: `pm-${kind}`, required: true }, { param: 'ExternalPort', value: '40001', required: true }] }] } } }));
    const c = notifyOf(await bed.ctl.waitFor(isNotify('oc')))!;
    if (c.notification !== 'obj_creation') throw new Error(`expected obj_creation, got ${c.notification}`);
    expect(c.obj_creation.obj_path).toBe(row);
    expect(c.obj_creation.unique_keys['Alias']).toBe(`pm-${kind}`);
    await bed.ask({ request: { delete: { allow_partial: false, obj_paths: [row] } } });
    const d = notifyOf(await bed.ctl.waitFor(isNotify('od')))!;
    if (d.notification !== 'obj_deletion') throw new Error(`expected obj_deletion, got ${d.notification}`);
    expect(d.obj_deletion.obj_path).toBe(row);
  });

  it('a wildcard reference covers instances created after the subscription', async () => {
    await subscribe('later', 'ValueChange', 'Device.NAT.PortMapping.*.Description');
    const row = added(await bed.ask({ request: { add: { allow_partial: false, create_objs: [{ obj_path: 'Device.NAT.PortMapping.', param_settings: [{ param: 'ExternalPort', value: '40002', required: true }] }] } } }));
    await set(row, 'Description', 'new row');
    const n = notifyOf(await bed.ctl.waitFor(isNotify('later')))!;
    if (n.notification !== 'value_change') throw new Error('unreachable');
    expect(n.value_change.param_path).toBe(`${row}Description`);
  });

  it('NotifRetry: the Notify asks for a response and is resent until the NotifyResp', async () => {
    await subscribe('retry', 'ValueChange', 'Device.ManagementServer.PeriodicInformInterval', { NotifRetry: 'true' });
    await set('Device.ManagementServer.', 'PeriodicInformInterval', '777');
    const first = await bed.ctl.waitFor(isNotify('retry'));
    expect(notifyOf(first)!.send_resp).toBe(true);
    const msgId = first.msg!.header.msg_id;
    const sent = () => bed.ctl.received.filter((r) => r.msg?.header.msg_id === msgId).length;
    bed.h.tick(10_001);
    await bed.ctl.waitFor(() => sent() >= 2, 5000, 'the retry');
    await bed.ctl.notifyResp(bed.agent(), 'retry', msgId);
    await bed.settle();
    const after = sent();
    bed.h.tick(60_000);
    await bed.settle();
    expect(sent()).toBe(after);
  });

  it('Periodic! fires every Controller.PeriodicNotifInterval to an Event subscriber', async () => {
    await subscribe('per', 'Event', 'Device.LocalAgent.Periodic!');
    await set('Device.LocalAgent.Controller.1.', 'PeriodicNotifInterval', '60');
    bed.h.tick(60_001);
    const n = notifyOf(await bed.ctl.waitFor(isNotify('per')))!;
    if (n.notification !== 'event') throw new Error('unreachable');
    expect(n.event).toEqual({ obj_path: 'Device.LocalAgent.', event_name: 'Periodic!', params: {} });
    const count = () => bed.ctl.received.filter(isNotify('per')).length;
    bed.h.tick(60_000);
    await bed.settle();
    expect(count()).toBe(2); // the second Periodic!
  });

  it('ValueChange: a generator-driven value is found by the periodic scan; a VALUE_CHANGE_WILL_IGNORE one never fires', async () => {
    await subscribe('lease', 'ValueChange', 'Device.DHCPv4.Client.1.LeaseTimeRemaining');
    await subscribe('uptime', 'ValueChange', 'Device.DeviceInfo.UpTime');
    bed.h.tick(5_600); // agent 0's slice comes round every 5 s
    const n = notifyOf(await bed.ctl.waitFor(isNotify('lease')))!;
    if (n.notification !== 'value_change') throw new Error('unreachable');
    expect(n.value_change.param_path).toBe('Device.DHCPv4.Client.1.LeaseTimeRemaining');
    await bed.settle();
    expect(bed.ctl.received.some(isNotify('uptime'))).toBe(false);
    await set('Device.LocalAgent.Subscription.[ID=="lease"].', 'Enable', 'false');
  });

  it('TimeToLive removes the subscription once it has lived that long', async () => {
    const path = await subscribe('ttl', 'ValueChange', 'Device.WiFi.SSID.1.SSID', { TimeToLive: '30' });
    bed.h.tick(35_000); // the 5 s scan finds it expired
    await set('Device.WiFi.SSID.1.', 'SSID', 'after-ttl');
    const g = await bed.ask({ request: { get: { param_paths: [path] } } });
    if (g.body.msg_body !== 'response' || g.body.response.resp_type !== 'get_resp') throw new Error('unreachable');
    expect(g.body.response.get_resp.req_path_results[0]!.resolved_path_results).toEqual([]);
    expect(bed.ctl.received.some(isNotify('ttl'))).toBe(false);
  });

  it('lists the subscriptions in the admin detail', () => {
    const d = bed.h.shard.admin.detail(0)!;
    expect(d.usp?.mqtt).toBe('connected');
    expect(d.uspSubscriptions.map((s) => s.id)).toEqual(expect.arrayContaining(['vc', 'oc', 'od', 'later', 'retry', 'per']));
  });
});
