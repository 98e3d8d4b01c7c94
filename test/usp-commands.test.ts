import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Notify, OperationResult, UspMsg } from '../src/usp/codec.js';
import { startFileServer, type FileServer } from './helpers/file-server.js';
import { rebootMs } from './helpers/harness.js';
import { isNotify, notifyOf, type Received } from './helpers/usp-controller.js';
import { metricValue, startUspBed, type BrokerKind, type UspBed } from './helpers/usp-fleet.js';

function results(m: UspMsg): OperationResult[] {
  if (m.body.msg_body !== 'response' || m.body.response.resp_type !== 'operate_resp') throw new Error(`expected OperateResp, got ${JSON.stringify(m.body)}`);
  return m.body.response.operate_resp.operation_results;
}

describe.each<BrokerKind>(['aedes', 'mosquitto'])('USP commands (%s)', (kind) => {
  let bed: UspBed;
  let files: FileServer;
  /** Received items already looked at: each wait below looks only past this point. */
  let mark = 0;

  const since = () => {
    const from = mark;
    return (pred: (r: Received) => boolean) => (r: Received) => bed.ctl.received.indexOf(r) >= from && pred(r);
  };
  const eventNamed = (name: string) => (n: Notify) => n.notification === 'event' && n.event.event_name === name;

  const operate = (command: string, args: Record<string, string> = {}, key = '', sendResp = true) =>
    bed.ask({ request: { operate: { command, command_key: key, send_resp: sendResp, input_args: args } } });

  const subscribe = (id: string, type: string, refs: string) => bed.subscribe(id, type, refs, { Persistent: 'true' });

  /** Power cycle: the reboot window passes, the agent reconnects. */
  async function bootAgain(): Promise<void> {
    const w = since();
    bed.h.tick(rebootMs(bed.h) + 1000);
    await bed.ctl.waitFor(w((r) => r.record.record_type === 'mqtt_connect'), 5000, 'the MQTTConnect after the reboot');
  }

  beforeAll(async () => {
    files = await startFileServer({ 'HGW-5200-5.5.0.img': 4096, 'HGW-5200-5.6.0.img': 2048 });
    bed = await startUspBed(kind, { cpes: 1 });
    const ob = await bed.ctl.waitFor((r) => notifyOf(r)?.notification === 'on_board_req');
    await bed.ctl.notifyResp(bed.agent(), '', ob.msg!.header.msg_id);
    await subscribe('boot', 'Event', 'Device.Boot!');
    await subscribe('opc', 'OperationComplete', 'Device.DeviceInfo.FirmwareImage.*.Download()');
    await subscribe('opc-act', 'OperationComplete', 'Device.DeviceInfo.FirmwareImage.');
    await subscribe('tc', 'Event', 'Device.LocalAgent.TransferComplete!');
    await bed.ask({ request: { set: { allow_partial: false, update_objs: [{ obj_path: 'Device.LocalAgent.Subscription.*.', param_settings: [{ param: 'NotifRetry', value: 'false', required: true }] }] } } });
    mark = bed.ctl.received.length;
  });

  afterAll(async () => {
    await bed?.stop();
    await files?.close();
  });


  it('Device.Reboot(): answers, goes dark, comes back with Boot! (RemoteReboot, the CommandKey, the ParameterMap)', async () => {
    const w = since();
    const [r] = results(await operate('Device.Reboot()', {}, 'rk-1'));
    expect(r).toEqual({ executed_command: 'Device.Reboot()', operation_resp: 'req_output_args', req_output_args: { output_args: {} } });
    expect(bed.h.shard.lifecycle(0)).toBe('bootstrapping');
    await bootAgain();
    const boot = notifyOf(await bed.ctl.waitFor(w(isNotify('boot', eventNamed('Boot!')))))!;
    if (boot.notification !== 'event') throw new Error('unreachable');
    expect(boot.event.obj_path).toBe('Device.');
    expect(boot.event.params).toMatchObject({ Cause: 'RemoteReboot', CommandKey: 'rk-1', FirmwareUpdated: 'false' });
    expect(JSON.parse(boot.event.params['ParameterMap']!)).toEqual({ 'Device.DeviceInfo.SoftwareVersion': '5.4.1', 'Device.DeviceInfo.ProvisioningCode': expect.any(String) });
    // Onboarding was acknowledged: a mere reboot does not onboard again.
    await bed.settle();
    expect(bed.ctl.received.slice(mark).some((x) => notifyOf(x)?.notification === 'on_board_req')).toBe(false);
    mark = bed.ctl.received.length;
  });

  it('a changed ResponseTopicConfigured is the topic the agent listens on from its next connection', async () => {
    const topic = `/usp/agent/custom-${kind}`;
    await bed.ask({ request: { set: { allow_partial: false, update_objs: [{ obj_path: 'Device.LocalAgent.MTP.1.MQTT.', param_settings: [{ param: 'ResponseTopicConfigured', value: topic, required: true }] }] } } });
    mark = bed.ctl.received.length;
    const w = since();
    results(await operate('Device.Reboot()', {}, 'rk-topic'));
    await bootAgain();
    const c = await bed.ctl.waitFor(w((r) => r.record.record_type === 'mqtt_connect'));
    if (c.record.record_type !== 'mqtt_connect') throw new Error('unreachable');
    expect(c.record.mqtt_connect.subscribed_topic).toBe(topic);
    const g = await bed.ctl.request({ endpointId: bed.agent().endpointId, topic }, { request: { get: { param_paths: ['Device.DeviceInfo.SerialNumber'] } } }, { msgId: `custom-topic-${kind}` });
    expect(g.header.msg_type).toBe('GET_RESP');
    // Back to the default topic for the tests that follow.
    await bed.ctl.request({ endpointId: bed.agent().endpointId, topic }, { request: { set: { allow_partial: false, update_objs: [{ obj_path: 'Device.LocalAgent.MTP.1.MQTT.', param_settings: [{ param: 'ResponseTopicConfigured', value: bed.agent().topic, required: true }] }] } } }, { msgId: `topic-back-${kind}` });
    mark = bed.ctl.received.length;
    const w2 = since();
    results(await bed.ctl.request({ endpointId: bed.agent().endpointId, topic }, { request: { operate: { command: 'Device.Reboot()', command_key: '', send_resp: true, input_args: {} } } }, { msgId: `topic-reboot-${kind}` }));
    await bootAgain();
    await bed.ctl.waitFor(w2(isNotify('boot', eventNamed('Boot!'))));
    mark = bed.ctl.received.length;
  });

  it('FirmwareImage.2.Download(): a Request row, OperationComplete, TransferComplete!, then the new image boots', async () => {
    const w = since();
    const [r] = results(await operate('Device.DeviceInfo.FirmwareImage.2.Download()', { URL: `${files.url}/HGW-5200-5.5.0.img`, AutoActivate: 'true', FileSize: '4096' }, 'dl-1'));
    expect(r!.operation_resp).toBe('req_obj_path');
    if (r!.operation_resp !== 'req_obj_path') throw new Error('unreachable');
    expect(r!.req_obj_path).toMatch(/^Device\.LocalAgent\.Request\.\d+$/); // no trailing dot, as obuspa answers
    const oc = notifyOf(await bed.ctl.waitFor(w(isNotify('opc'))))!;
    if (oc.notification !== 'oper_complete') throw new Error('unreachable');
    expect(oc.oper_complete).toMatchObject({ obj_path: 'Device.DeviceInfo.FirmwareImage.2.', command_name: 'Download()', command_key: 'dl-1', operation_resp: 'req_output_args' });
    const tc = notifyOf(await bed.ctl.waitFor(w(isNotify('tc', eventNamed('TransferComplete!')))))!;
    if (tc.notification !== 'event') throw new Error('unreachable');
    expect(tc.event.params).toMatchObject({ Command: 'Device.DeviceInfo.FirmwareImage.2.Download()', CommandKey: 'dl-1', TransferType: 'Download', FaultCode: '0', TransferURL: `${files.url}/HGW-5200-5.5.0.img` });
    expect(files.gets).toContain('/HGW-5200-5.5.0.img');
    await bootAgain();
    const boot = notifyOf(await bed.ctl.waitFor(w(isNotify('boot', eventNamed('Boot!')))))!;
    if (boot.notification !== 'event') throw new Error('unreachable');
    expect(boot.event.params['FirmwareUpdated']).toBe('true');
    const g = await bed.ask({ request: { get: { param_paths: ['Device.DeviceInfo.SoftwareVersion', 'Device.LocalAgent.Request.'] } } });
    if (g.body.msg_body !== 'response' || g.body.response.resp_type !== 'get_resp') throw new Error('unreachable');
    expect(g.body.response.get_resp.req_path_results[0]!.resolved_path_results[0]!.result_params).toEqual({ SoftwareVersion: '5.5.0' });
    // TR-369 R-OPR.0: the Request row is gone once the command completed.
    expect(g.body.response.get_resp.req_path_results[1]!.resolved_path_results).toEqual([]);
    mark = bed.ctl.received.length;
  });

  it('a failed Download completes with cmd_failure 7022 and a TransferComplete! carrying the fault', async () => {
    const w = since();
    results(await operate('Device.DeviceInfo.FirmwareImage.1.Download()', { URL: `${files.url}/missing.img`, AutoActivate: 'false' }, 'dl-404'));
    const oc = notifyOf(await bed.ctl.waitFor(w(isNotify('opc'))))!;
    if (oc.notification !== 'oper_complete' || oc.oper_complete.operation_resp !== 'cmd_failure') throw new Error(`expected a cmd_failure, got ${JSON.stringify(oc)}`);
    expect(oc.oper_complete.cmd_failure.err_code).toBe(7022);
    const tc = notifyOf(await bed.ctl.waitFor(w(isNotify('tc'))))!;
    if (tc.notification !== 'event') throw new Error('unreachable');
    expect(tc.event.params['FaultCode']).not.toBe('0');
    mark = bed.ctl.received.length;
  });

  it('Request.{i}.Cancel() ends a stalled Download with 7023 and removes the row', async () => {
    const w = since();
    const [r] = results(await operate('Device.DeviceInfo.FirmwareImage.1.Download()', { URL: `${files.url}/stall.img`, AutoActivate: 'false' }, 'dl-stall'));
    if (r!.operation_resp !== 'req_obj_path') throw new Error('unreachable');
    const row = `${r!.req_obj_path}.`;
    const [c] = results(await operate(`${row}Cancel()`));
    expect(c!.operation_resp).toBe('req_output_args');
    const oc = notifyOf(await bed.ctl.waitFor(w(isNotify('opc'))))!;
    if (oc.notification !== 'oper_complete' || oc.oper_complete.operation_resp !== 'cmd_failure') throw new Error(`expected a cmd_failure, got ${JSON.stringify(oc)}`);
    expect(oc.oper_complete.cmd_failure.err_code).toBe(7023);
    const g = await bed.ask({ request: { get: { param_paths: [row] } } });
    if (g.body.msg_body !== 'response' || g.body.response.resp_type !== 'get_resp') throw new Error('unreachable');
    expect(g.body.response.get_resp.req_path_results[0]!.resolved_path_results).toEqual([]);
    mark = bed.ctl.received.length;
  });

  it('Activate() boots the other bank and completes after the boot', async () => {
    const w = since();
    const [r] = results(await operate('Device.DeviceInfo.FirmwareImage.1.Activate()', {}, 'act-1'));
    expect(r!.operation_resp).toBe('req_obj_path');
    await bootAgain();
    const oc = notifyOf(await bed.ctl.waitFor(w(isNotify('opc-act', (n) => n.notification === 'oper_complete' && n.oper_complete.command_name === 'Activate()'))))!;
    if (oc.notification !== 'oper_complete') throw new Error('unreachable');
    expect(oc.oper_complete).toMatchObject({ obj_path: 'Device.DeviceInfo.FirmwareImage.1.', command_key: 'act-1', operation_resp: 'req_output_args' });
    const boot = notifyOf(await bed.ctl.waitFor(w(isNotify('boot', eventNamed('Boot!')))))!;
    if (boot.notification !== 'event') throw new Error('unreachable');
    expect(boot.event.params['FirmwareUpdated']).toBe('true');
    mark = bed.ctl.received.length;
  });

  it('a missing mandatory argument is a cmd_failure (7027) in the OperateResp, not an Error; an unknown one is ignored', async () => {
    const [r] = results(await operate('Device.DeviceInfo.FirmwareImage.1.Download()', { AutoActivate: 'true' }));
    if (r!.operation_resp !== 'cmd_failure') throw new Error(`expected cmd_failure, got ${JSON.stringify(r)}`);
    expect(r!.cmd_failure.err_code).toBe(7027);
    // TR-369 R-OPR.6: unrecognized input arguments are ignored and the command runs.
    const w = since();
    const [u] = results(await operate('Device.LocalAgent.Controller.1.SendOnBoardRequest()', { X_VENDOR_Urgency: 'high' }));
    expect(u!.operation_resp).toBe('req_output_args');
    await bed.settle();
    expect(bed.ctl.received.some(w((x) => notifyOf(x)?.notification === 'on_board_req'))).toBe(true); // the OnBoardRequest it asked for
    mark = bed.ctl.received.length;
  });

  it('a command the model does not have is an Error 7026', async () => {
    const m = await operate('Device.WiFi.Radio.1.Explode()');
    expect(m.body.msg_body).toBe('error');
    if (m.body.msg_body !== 'error') throw new Error('unreachable');
    expect(m.body.error.err_code).toBe(7026);
  });

  it('Device.FactoryReset(): wipes the model and onboards again', async () => {
    const w = since();
    results(await operate('Device.FactoryReset()', {}, 'fr-1'));
    await bootAgain();
    const ob = await bed.ctl.waitFor(w((r) => notifyOf(r)?.notification === 'on_board_req'));
    expect(notifyOf(ob)!.send_resp).toBe(true);
    // The subscriptions went with the reset: Boot! is counted, not sent.
    expect(await metricValue(bed.metrics, 'cpe_sim_usp_autonomous_notifies_total', { notify_kind: 'Event', gated: 'false' })).toBeGreaterThanOrEqual(2);
    await bed.settle();
    expect(bed.ctl.received.some(w((r) => notifyOf(r)?.notification === 'event'))).toBe(false);
    const g = await bed.ask({ request: { get: { param_paths: ['Device.LocalAgent.Subscription.', 'Device.DeviceInfo.SoftwareVersion'] } } });
    if (g.body.msg_body !== 'response' || g.body.response.resp_type !== 'get_resp') throw new Error('unreachable');
    expect(g.body.response.get_resp.req_path_results[0]!.resolved_path_results).toEqual([]);
  });
});
