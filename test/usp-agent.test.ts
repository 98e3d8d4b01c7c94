import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { decodeRecord, encodeMsg, encodeRecord } from '../src/usp/codec.js';
import type { UspMsg } from '../src/usp/codec.js';
import { until } from './helpers/harness.js';
import { TestController } from './helpers/usp-controller.js';
import { metricValue, startUspBed, type BrokerKind, type UspBed } from './helpers/usp-fleet.js';

const resp = (m: UspMsg) => {
  if (m.body.msg_body !== 'response') throw new Error(`expected a response, got ${JSON.stringify(m.body)}`);
  return m.body.response;
};
const err = (m: UspMsg) => {
  if (m.body.msg_body !== 'error') throw new Error(`expected an Error, got ${JSON.stringify(m.body)}`);
  return m.body.error;
};

// One suite, two transports: the embedded aedes broker speaks MQTT 3.1.1,
// mosquitto MQTT 5 (response topic and content type on every PUBLISH).
describe.each<BrokerKind>(['aedes', 'mosquitto'])('USP agent over MQTT (%s)', (kind) => {
  let bed: UspBed;

  beforeAll(async () => {
    bed = await startUspBed(kind, { cpes: 2 });
  });

  afterAll(async () => {
    await bed?.stop();
  });

  it('announces itself with an MQTTConnect Record carrying its reply-to topic', async () => {
    const r = await bed.ctl.waitFor((x) => x.record.record_type === 'mqtt_connect' && x.record.from_id === bed.agent(0).endpointId);
    expect(r.record.to_id).toBe('self::usp-controller');
    if (r.record.record_type !== 'mqtt_connect') throw new Error('unreachable');
    expect(r.record.mqtt_connect.version).toBe(kind === 'aedes' ? 'V3_1_1' : 'V5');
    expect(r.record.mqtt_connect.subscribed_topic).toBe(bed.agent(0).topic);
    expect(bed.agent(0).endpointId).toMatch(/^os::0C5A9E-CS\d{8}$/);
    if (kind === 'mosquitto') expect(r.contentType).toBe('usp.msg');
  });

  it('sends OnBoardRequest on first start and retries it until a NotifyResp', async () => {
    const first = await bed.ctl.waitFor((x) => x.record.from_id === bed.agent(1).endpointId && x.msg?.body.msg_body === 'request' && x.msg.body.request.req_type === 'notify');
    const n = first.msg!.body.msg_body === 'request' && first.msg!.body.request.req_type === 'notify' ? first.msg!.body.request.notify : undefined;
    expect(n?.send_resp).toBe(true);
    expect(n?.subscription_id).toBe('');
    expect(n?.notification).toBe('on_board_req');
    if (n?.notification !== 'on_board_req') throw new Error('unreachable');
    expect(n.on_board_req).toEqual({ oui: '0C5A9E', product_class: 'HGW-5200', serial_number: bed.h.shard.env.serial(1), agent_supported_protocol_versions: '1.0,1.1,1.2,1.3' });
    const msgId = first.msg!.header.msg_id;
    // No answer yet: the retry window (5..10 s by default) resends the same msg_id.
    const before = bed.ctl.received.filter((x) => x.msg?.header.msg_id === msgId).length;
    bed.h.tick(10_001);
    await bed.ctl.waitFor((x) => bed.ctl.received.filter((y) => y.msg?.header.msg_id === msgId).length > before && x.msg?.header.msg_id === msgId);
    expect(bed.h.shard.usp!.pendingNotifies(1)).toBe(1);
    await bed.ctl.notifyResp(bed.agent(1), '', msgId);
    await until(() => bed.h.shard.usp!.pendingNotifies(1) === 0, 5000, 'the NotifyResp to clear the OnBoardRequest').catch(() => undefined);
    expect(bed.h.shard.usp!.pendingNotifies(1)).toBe(0);
  });

  it('answers Get on the reply-to topic with per-path results and 7026 for a path not in the model', async () => {
    const m = await bed.ask({ request: { get: { param_paths: ['Device.DeviceInfo.SerialNumber', 'Device.WiFi.SSID.*.SSID', 'Device.NoSuchThing.'] } } });
    expect(m.header.msg_type).toBe('GET_RESP');
    const r = resp(m);
    if (r.resp_type !== 'get_resp') throw new Error('unreachable');
    const [serial, ssids, bad] = r.get_resp.req_path_results;
    expect(serial!.err_code).toBe(0);
    expect(serial!.resolved_path_results).toEqual([{ resolved_path: 'Device.DeviceInfo.', result_params: { SerialNumber: bed.h.shard.env.serial(0) } }]);
    expect(ssids!.resolved_path_results.map((x) => x.resolved_path)).toEqual(['Device.WiFi.SSID.1.', 'Device.WiFi.SSID.2.']);
    expect(bad!.err_code).toBe(7026);
  });

  it('refuses a Get that would return more values than its answer cap with Error 7005', async () => {
    const e = err(await bed.ask({ request: { get: { param_paths: Array.from({ length: 60 }, () => 'Device.') } } }));
    expect(e.err_code).toBe(7005);
  });

  it('applies a Set that the next Get reads back', async () => {
    const m = await bed.ask({ request: { set: { allow_partial: false, update_objs: [{ obj_path: 'Device.WiFi.SSID.1.', param_settings: [{ param: 'SSID', value: `lab-${kind}`, required: true }] }] } } });
    const r = resp(m);
    if (r.resp_type !== 'set_resp') throw new Error('unreachable');
    const st = r.set_resp.updated_obj_results[0]!.oper_status;
    expect(st.oper_status).toBe('oper_success');
    const g = resp(await bed.ask({ request: { get: { param_paths: ['Device.WiFi.SSID.1.SSID'] } } }));
    if (g.resp_type !== 'get_resp') throw new Error('unreachable');
    expect(g.get_resp.req_path_results[0]!.resolved_path_results[0]!.result_params).toEqual({ SSID: `lab-${kind}` });
  });

  it('refuses a Set of a read-only parameter with an Error carrying param_errs (nothing applied)', async () => {
    const m = await bed.ask({
      request: {
        set: {
          allow_partial: false,
          update_objs: [{ obj_path: 'Device.WiFi.SSID.1.', param_settings: [{ param: 'SSID', value: 'must-not-apply', required: true }, { param: 'BSSID', value: '00:00:00:00:00:01', required: true }] }],
        },
      },
    });
    const e = err(m);
    expect(e.param_errs.map((p) => p.err_code)).toContain(7013);
    const g = resp(await bed.ask({ request: { get: { param_paths: ['Device.WiFi.SSID.1.SSID'] } } }));
    if (g.resp_type !== 'get_resp') throw new Error('unreachable');
    expect(g.get_resp.req_path_results[0]!.resolved_path_results[0]!.result_params['SSID']).toBe(`lab-${kind}`);
  });

  it('answers GetSupportedProtocol, GetInstances and GetSupportedDM', async () => {
    const p = resp(await bed.ask({ request: { get_supported_protocol: { controller_supported_protocol_versions: '1.3' } } }));
    if (p.resp_type !== 'get_supported_protocol_resp') throw new Error('unreachable');
    expect(p.get_supported_protocol_resp.agent_supported_protocol_versions).toBe('1.0,1.1,1.2,1.3');
    const i = resp(await bed.ask({ request: { get_instances: { obj_paths: ['Device.WiFi.SSID.'], first_level_only: true } } }));
    if (i.resp_type !== 'get_instances_resp') throw new Error('unreachable');
    expect(i.get_instances_resp.req_path_results[0]!.curr_insts.map((c) => c.instantiated_obj_path)).toEqual(['Device.WiFi.SSID.1.', 'Device.WiFi.SSID.2.']);
    const d = resp(await bed.ask({ request: { get_supported_dm: { obj_paths: ['Device.'], first_level_only: true, return_commands: true, return_events: true, return_params: true } } }));
    if (d.resp_type !== 'get_supported_dm_resp') throw new Error('unreachable');
    const root = d.get_supported_dm_resp.req_obj_results[0]!;
    expect(root.err_code).toBe(0);
    const dev = root.supported_objs.find((o) => o.supported_obj_path === 'Device.')!;
    expect(dev.supported_commands.map((c) => c.command_name)).toEqual(expect.arrayContaining(['Reboot()', 'FactoryReset()']));
    expect(dev.supported_events.map((c) => c.event_name)).toContain('Boot!');
  });

  it('does not run a duplicate msg_id again, and sends its first answer again', async () => {
    const setTo = (value: string) => ({ request: { set: { allow_partial: false, update_objs: [{ obj_path: 'Device.WiFi.SSID.2.', param_settings: [{ param: 'SSID', value, required: true }] }] } } });
    const first = await bed.ctl.request(bed.agent(0), setTo('first'), { msgId: `dup-${kind}` });
    await bed.ask(setTo('second'));
    const answers = () => bed.ctl.received.filter((x) => x.msg?.header.msg_id === `dup-${kind}`);
    await bed.ctl.sendMsg(bed.agent(0), { header: { msg_id: `dup-${kind}` }, body: setTo('first') });
    await bed.ctl.waitFor(() => answers().length === 2, 5000, 'the first answer again');
    expect(answers()[1]!.msg).toEqual(first);
    // Not applied twice: the later Set stands.
    const g = resp(await bed.ask({ request: { get: { param_paths: ['Device.WiFi.SSID.2.SSID'] } } }));
    if (g.resp_type !== 'get_resp') throw new Error('unreachable');
    expect(g.get_resp.req_path_results[0]!.resolved_path_results[0]!.result_params).toEqual({ SSID: 'second' });
    expect(await metricValue(bed.metrics, 'cpe_sim_usp_records_dropped_total', { reason: 'duplicate' })).toBeGreaterThanOrEqual(1);
  });

  it('drops an unparseable Record, answers an unparseable Msg with an Error, and keeps serving', async () => {
    await bed.ctl.sendRecordBytes(bed.agent(0).topic, new Uint8Array([0xff, 0xff, 0xff, 0x01]));
    // A Msg with a readable msg_id and request type but a broken body: Error 7000/7004.
    const good = encodeMsg({ header: { msg_id: `broken-${kind}`, msg_type: 'GET' }, body: { request: { get: { param_paths: ['Device.'] } } } });
    const broken = new Uint8Array([...good.slice(0, good.length - 3), 0xff, 0xff]);
    const rec = encodeRecord({ version: '1.3', to_id: bed.agent(0).endpointId, from_id: 'self::usp-controller', no_session_context: { payload: broken } });
    expect(decodeRecord(rec).ok).toBe(true);
    await bed.ctl.sendRecordBytes(bed.agent(0).topic, rec);
    const e = await bed.ctl.waitFor((x) => x.msg?.header.msg_id === `broken-${kind}`);
    expect(e.msg!.body.msg_body).toBe('error');
    expect([7000, 7004]).toContain(err(e.msg!).err_code);
    // The agent still answers.
    const g = resp(await bed.ask({ request: { get: { param_paths: ['Device.DeviceInfo.SerialNumber'] } } }));
    expect(g.resp_type).toBe('get_resp');
    expect(await metricValue(bed.metrics, 'cpe_sim_usp_records_dropped_total', { reason: 'bad-record' })).toBeGreaterThanOrEqual(1);
  });

  it('ignores a request from an unknown controller', async () => {
    const rec = encodeRecord({ version: '1.3', to_id: bed.agent(0).endpointId, from_id: 'self::intruder', no_session_context: { payload: encodeMsg({ header: { msg_id: `intruder-${kind}` }, body: { request: { get: { param_paths: ['Device.'] } } } }) } });
    await bed.ctl.sendRecordBytes(bed.agent(0).topic, rec);
    await bed.ask({ request: { get: { param_paths: ['Device.DeviceInfo.SerialNumber'] } } });
    expect(bed.ctl.received.some((x) => x.msg?.header.msg_id === `intruder-${kind}`)).toBe(false);
  });

  it('refuses a request whose reply-to is empty or a wildcard: counted, not run, not answered, and the agent stays connected', async () => {
    const connects = () => bed.ctl.received.filter((x) => x.record.record_type === 'mqtt_connect' && x.record.from_id === bed.agent(0).endpointId).length;
    const connectsBefore = connects();
    const before = await metricValue(bed.metrics, 'cpe_sim_usp_records_dropped_total', { reason: 'bad-reply-to' });
    const agent = bed.agent(0);
    const record = (msgId: string) => encodeRecord({ version: '1.3', to_id: agent.endpointId, from_id: bed.ctl.endpointId, no_session_context: { payload: encodeMsg({ header: { msg_id: msgId, msg_type: 'SET' }, body: { request: { set: { allow_partial: false, update_objs: [{ obj_path: 'Device.WiFi.SSID.1.', param_settings: [{ param: 'SSID', value: msgId, required: true }] }] } } } }) } });
    // MQTT 3.1.1 carries the reply-to in the topic, where a wildcard cannot be published:
    // only the empty suffix can reach the agent. MQTT 5 carries it in the Response Topic.
    const bad = kind === 'aedes' ? [''] : ['', '/usp/#', 'usp/+/controller', '#'];
    let i = 0;
    for (const replyTo of bad) {
      const id = `bad-reply-to-${kind}-${i++}`;
      if (kind === 'aedes') await bed.ctl.sendRaw(`${agent.topic}/reply-to=${replyTo}`, record(id));
      else await bed.ctl.sendRaw(agent.topic, record(id), { properties: { contentType: 'usp.msg', responseTopic: replyTo } });
    }
    const deadline = Date.now() + 5000;
    while ((await metricValue(bed.metrics, 'cpe_sim_usp_records_dropped_total', { reason: 'bad-reply-to' })) < before + bad.length) {
      if (Date.now() > deadline) throw new Error('the bad reply-to requests were not counted');
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(await metricValue(bed.metrics, 'cpe_sim_usp_records_dropped_total', { reason: 'bad-reply-to' })).toBe(before + bad.length);
    // A normal request right after is answered, by the same connection, and none of the refused ones ran.
    const g = resp(await bed.ask({ request: { get: { param_paths: ['Device.WiFi.SSID.1.SSID'] } } }));
    if (g.resp_type !== 'get_resp') throw new Error('unreachable');
    expect(String(g.get_resp.req_path_results[0]!.resolved_path_results[0]!.result_params['SSID'])).not.toMatch(/^bad-reply-to-/);
    expect(bed.ctl.received.some((x) => x.msg?.header.msg_id.startsWith(`bad-reply-to-${kind}`))).toBe(false);
    expect(connects()).toBe(connectsBefore);
    expect(bed.h.shard.admin.stats().uspConnections?.['connected']).toBe(2);
  });

  it('a USP-only fleet refuses a CWMP connection request instead of failing a session', () => {
    const r = bed.h.shard.admin.triggerConnectionRequest(0);
    expect(r.accepted).toBe(false);
    expect(r.reason).toMatch(/USP-only/);
    expect(bed.h.shard.admin.stats().sessionsFailed).toBe(0);
    expect(bed.h.shard.lifecycle(0)).toBe('ready');
  });

  it('a USP-only fleet refuses a queued CWMP fault as a conflict (the admin API answers 409)', () => {
    expect(() => bed.h.shard.admin.queueFault(0, 9002)).toThrow(expect.objectContaining({ code: 'CONFLICT', message: expect.stringMatching(/USP-only/) }));
    expect(bed.h.shard.admin.stats().faultsInjected).toBe(0);
  });

  it('counts requests by type and result, every type present from the start', async () => {
    expect(await metricValue(bed.metrics, 'cpe_sim_usp_requests_total', { msg_type: 'GET', result: 'success' })).toBeGreaterThanOrEqual(3);
    expect(await metricValue(bed.metrics, 'cpe_sim_usp_requests_total', { msg_type: 'SET', result: 'error' })).toBeGreaterThanOrEqual(1);
    const all = await bed.metrics.catalog.registry.getMetricsAsJSON();
    const fam = all.find((f) => f.name === 'cpe_sim_usp_requests_total')!;
    expect(fam.values.some((v) => v.labels['msg_type'] === 'DEREGISTER')).toBe(true);
    expect(bed.h.shard.admin.stats().uspConnections?.['connected']).toBe(2);
  });

  it('publishes at LocalAgent.MTP.1.MQTT.PublishQoS (1 and 2 as well as the default 0)', async () => {
    for (const qos of ['1', '2', '0']) {
      const m = await bed.ask({ request: { set: { allow_partial: false, update_objs: [{ obj_path: 'Device.LocalAgent.MTP.1.MQTT.', param_settings: [{ param: 'PublishQoS', value: qos, required: true }] }] } } });
      expect(m.body.msg_body).toBe('response');
      const g = await bed.ask({ request: { get: { param_paths: ['Device.LocalAgent.MTP.1.MQTT.PublishQoS'] } } });
      expect(resp(g).resp_type).toBe('get_resp');
    }
  });

  it('follows Controller.1.EndpointID when a controller moves it', async () => {
    const moved = `self::moved-${kind}`;
    const m = await bed.ask({ request: { set: { allow_partial: false, update_objs: [{ obj_path: 'Device.LocalAgent.Controller.1.', param_settings: [{ param: 'EndpointID', value: moved, required: true }] }] } } });
    expect(m.body.msg_body).toBe('response');
    const other = await TestController.start({ url: bed.broker.url, protocolVersion: bed.broker.version, endpointId: moved, topic: `/usp/moved-${kind}` });
    try {
      const g = await other.request(bed.agent(0), { request: { get: { param_paths: ['Device.LocalAgent.Controller.1.EndpointID'] } } }, { msgId: `moved-${kind}` });
      expect(g.header.msg_type).toBe('GET_RESP');
      expect(g.body.msg_body === 'response' && g.body.response.resp_type === 'get_resp' && g.body.response.get_resp.req_path_results[0]!.resolved_path_results[0]!.result_params).toEqual({ EndpointID: moved });
      // The old identity is now unknown to agent 0: its requests are dropped.
      const before = await metricValue(bed.metrics, 'cpe_sim_usp_records_dropped_total', { reason: 'unknown-controller' });
      await bed.ctl.sendMsg(bed.agent(0), { header: { msg_id: `old-${kind}` }, body: { request: { get: { param_paths: ['Device.'] } } } });
      const deadline = Date.now() + 5000;
      while ((await metricValue(bed.metrics, 'cpe_sim_usp_records_dropped_total', { reason: 'unknown-controller' })) <= before) {
        if (Date.now() > deadline) throw new Error('the old controller\'s request was not dropped');
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(bed.ctl.received.some((x) => x.msg?.header.msg_id === `old-${kind}`)).toBe(false);
    } finally {
      await other.stop();
    }
  });
});
