// TR-143 diagnostics over USP (docs/diagnostics.md): Device.IP.Diagnostics.<Test>() as async
// commands through a real MQTT broker (aedes), a Request row until OperationComplete
// carries the outputs as TR-181 names them; downloads and uploads to a file server on 127.0.0.1.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Notify, OperationResult, UspMsg } from '../src/usp/codec.js';
import { startFileServer, type FileServer } from './helpers/file-server.js';
import { until } from './helpers/harness.js';
import { isNotify, notifyOf, type Received } from './helpers/usp-controller.js';
import { metricValue, startUspBed, type UspBed } from './helpers/usp-fleet.js';

const IPD = 'Device.IP.Diagnostics.';

function results(m: UspMsg): OperationResult[] {
  if (m.body.msg_body !== 'response' || m.body.response.resp_type !== 'operate_resp') throw new Error(`expected OperateResp, got ${JSON.stringify(m.body)}`);
  return m.body.response.operate_resp.operation_results;
}

describe('TR-143 over USP (aedes)', () => {
  let bed: UspBed;
  let files: FileServer;
  let mark = 0;
  const since = () => {
    const from = mark;
    return (pred: (r: Received) => boolean) => (r: Received) => bed.ctl.received.indexOf(r) >= from && pred(r);
  };
  const operate = (command: string, args: Record<string, string>, key: string) => bed.ask({ request: { operate: { command, command_key: key, send_resp: true, input_args: args } } });

  /** Run a command to its OperationComplete (a modelled test runs out on the fake clock). */
  async function run(command: string, args: Record<string, string>, key: string): Promise<{ row: string; oc: Extract<Notify, { notification: 'oper_complete' }>['oper_complete'] }> {
    const w = since();
    const [r] = results(await operate(`${IPD}${command}`, args, key));
    if (r!.operation_resp !== 'req_obj_path') throw new Error(`expected req_obj_path, got ${JSON.stringify(r)}`);
    const row = r!.req_obj_path;
    await until(() => bed.h.shard.diagnostics.dueAt(0) > 0 || bed.h.shard.diagnostics.inFlight(0) === 0, 10_000, 'the test to run');
    const due = bed.h.shard.diagnostics.dueAt(0);
    if (due > 0) bed.h.tick(due - bed.h.clock.now());
    const n = notifyOf(await bed.ctl.waitFor(w(isNotify('opc', (x) => x.notification === 'oper_complete' && x.oper_complete.command_key === key))))!;
    if (n.notification !== 'oper_complete') throw new Error('unreachable');
    mark = bed.ctl.received.length;
    return { row, oc: n.oper_complete };
  }

  const outputs = (oc: { operation_resp: string; req_output_args?: { output_args: Record<string, string> } }): Record<string, string> => {
    if (oc.operation_resp !== 'req_output_args') throw new Error(`expected req_output_args, got ${JSON.stringify(oc)}`);
    return oc.req_output_args!.output_args;
  };

  beforeAll(async () => {
    files = await startFileServer({ 'speed.bin': 120_000 });
    bed = await startUspBed('aedes', { cpes: 1, seed: 9 });
    const ob = await bed.ctl.waitFor((r) => notifyOf(r)?.notification === 'on_board_req');
    await bed.ctl.notifyResp(bed.agent(), '', ob.msg!.header.msg_id);
    await bed.subscribe('opc', 'OperationComplete', IPD);
    await bed.ask({ request: { set: { allow_partial: false, update_objs: [{ obj_path: 'Device.LocalAgent.Subscription.*.', param_settings: [{ param: 'NotifRetry', value: 'false', required: true }] }] } } });
    mark = bed.ctl.received.length;
  });

  afterAll(async () => {
    await bed?.stop();
    await files?.close();
  });

  it('GetSupportedDM declares the six tests as async commands with TR-181 argument names', async () => {
    const m = await bed.ask({ request: { get_supported_dm: { obj_paths: [IPD], first_level_only: true, return_commands: true, return_events: false, return_params: false, return_unique_key_sets: false } } });
    if (m.body.msg_body !== 'response' || m.body.response.resp_type !== 'get_supported_dm_resp') throw new Error(JSON.stringify(m.body));
    const obj = m.body.response.get_supported_dm_resp.req_obj_results[0]!.supported_objs.find((o) => o.supported_obj_path === IPD)!;
    expect(obj.supported_commands.map((c) => [c.command_name, c.command_type])).toEqual([
      ['IPPing()', 'CMD_ASYNC'],
      ['TraceRoute()', 'CMD_ASYNC'],
      ['DownloadDiagnostics()', 'CMD_ASYNC'],
      ['UploadDiagnostics()', 'CMD_ASYNC'],
      ['UDPEchoDiagnostics()', 'CMD_ASYNC'],
      ['ServerSelectionDiagnostics()', 'CMD_ASYNC'],
    ]);
    const ping = obj.supported_commands[0]!;
    expect(ping.input_arg_names).toEqual(['Interface', 'ProtocolVersion', 'Host', 'NumberOfRepetitions', 'Timeout', 'DataBlockSize', 'DSCP']);
    expect(ping.output_arg_names).toContain('AverageResponseTimeDetailed');
  });

  it('IPPing(): a Request row while it runs, then OperationComplete with Status Complete and the modelled times; the row goes', async () => {
    const w = since();
    const [r] = results(await operate(`${IPD}IPPing()`, { Host: '192.0.2.44', NumberOfRepetitions: '4' }, 'ping-1'));
    if (r!.operation_resp !== 'req_obj_path') throw new Error(JSON.stringify(r));
    const g = await bed.ask({ request: { get: { param_paths: [`${r!.req_obj_path}.Command`, `${r!.req_obj_path}.Status`] } } });
    if (g.body.msg_body !== 'response' || g.body.response.resp_type !== 'get_resp') throw new Error('unreachable');
    expect(g.body.response.get_resp.req_path_results.map((x) => x.resolved_path_results[0]?.result_params)).toEqual([{ Command: `${IPD}IPPing()` }, { Status: 'Active' }]);
    mark = bed.ctl.received.length;
    await until(() => bed.h.shard.diagnostics.dueAt(0) > 0);
    bed.h.tick(bed.h.shard.diagnostics.dueAt(0) - bed.h.clock.now());
    const n = notifyOf(await bed.ctl.waitFor(w(isNotify('opc', (x) => x.notification === 'oper_complete'))))!;
    if (n.notification !== 'oper_complete') throw new Error('unreachable');
    expect(n.oper_complete).toMatchObject({ obj_path: IPD, command_name: 'IPPing()', command_key: 'ping-1' });
    const o = outputs(n.oper_complete);
    expect(o['Status']).toBe('Complete');
    expect(Number(o['SuccessCount']) + Number(o['FailureCount'])).toBe(4);
    expect(Number(o['MinimumResponseTimeDetailed'])).toBeLessThanOrEqual(Number(o['MaximumResponseTimeDetailed']));
    expect(Object.keys(o).sort()).toEqual(['AverageResponseTime', 'AverageResponseTimeDetailed', 'FailureCount', 'IPAddressUsed', 'MaximumResponseTime', 'MaximumResponseTimeDetailed', 'MinimumResponseTime', 'MinimumResponseTimeDetailed', 'Status', 'SuccessCount']);
    await bed.settle();
    const after = await bed.ask({ request: { get: { param_paths: ['Device.LocalAgent.Request.'] } } });
    if (after.body.msg_body !== 'response' || after.body.response.resp_type !== 'get_resp') throw new Error('unreachable');
    expect(after.body.response.get_resp.req_path_results[0]!.resolved_path_results).toEqual([]);
    // Nothing of the USP run lands in the CWMP object.
    expect(bed.h.shard.view(0).get(`${IPD}IPPing.DiagnosticsState`)).toBe('None');
    expect(await metricValue(bed.metrics, 'cpe_sim_diagnostics_total', { test: 'ipPing', protocol: 'usp', result: 'complete' })).toBe(1);
    mark = bed.ctl.received.length;
  });

  it('TraceRoute(), UDPEchoDiagnostics(), ServerSelectionDiagnostics(): modelled outputs; an .invalid host is Error_CannotResolveHostName', async () => {
    const t = outputs((await run('TraceRoute()', { Host: '203.0.113.5' }, 'tr')).oc);
    expect(t['Status']).toBe('Complete');
    const hops = Object.keys(t).filter((k) => /^RouteHops\.\d+\.HostAddress$/.test(k)).length;
    expect(hops).toBeGreaterThanOrEqual(5);
    expect(t[`RouteHops.${hops}.HostAddress`]).toBe('203.0.113.5');
    const u = outputs((await run('UDPEchoDiagnostics()', { Host: '192.0.2.7', Port: '7', NumberOfRepetitions: '3' }, 'udp')).oc);
    expect(u).toMatchObject({ Status: 'Complete' });
    expect(Number(u['SuccessCount']) + Number(u['FailureCount'])).toBe(3);
    const s = outputs((await run('ServerSelectionDiagnostics()', { HostList: 'nowhere.invalid,192.0.2.8,192.0.2.9' }, 'sel')).oc);
    expect(s['Status']).toBe('Complete');
    expect(['192.0.2.8', '192.0.2.9']).toContain(s['FastestHost']);
    const bad = outputs((await run('IPPing()', { Host: 'no-such-host.invalid' }, 'bad')).oc);
    expect(bad).toEqual({ Status: 'Error_CannotResolveHostName' });
  });

  it('DownloadDiagnostics() and UploadDiagnostics() move real bytes; a refused connection is Error_InitConnectionFailed', async () => {
    const d = outputs((await run('DownloadDiagnostics()', { DownloadURL: `${files.url}/files/speed.bin` }, 'dl')).oc);
    expect(d).toMatchObject({ Status: 'Complete', TestBytesReceived: '120000' });
    expect(d['EOMTime']).toMatch(/\.\d{6}Z$/);
    expect(Number(d['TotalBytesReceived'])).toBeGreaterThan(120_000);
    const up = outputs((await run('UploadDiagnostics()', { UploadURL: `${files.url}/up/u.bin`, TestFileLength: '30000' }, 'ul')).oc);
    expect(up).toMatchObject({ Status: 'Complete', TestBytesSent: '30000' });
    expect(files.puts.at(-1)!.body.length).toBe(30_000);
    const refused = outputs((await run('DownloadDiagnostics()', { DownloadURL: 'http://127.0.0.1:9/x' }, 'dl-refused')).oc);
    expect(refused).toEqual({ Status: 'Error_InitConnectionFailed' });
    expect(await metricValue(bed.metrics, 'cpe_sim_diagnostics_bytes_total', { test: 'download' })).toBe(120_000);
  });

  it('bad input is refused with 7027 naming the argument; Cancel() ends a test with 7023', async () => {
    for (const [cmd, args, why] of [
      ['IPPing()', {}, /missing mandatory input Host/],
      ['IPPing()', { Host: '192.0.2.1', NumberOfRepetitions: 'many' }, /invalid input NumberOfRepetitions/],
      ['DownloadDiagnostics()', { DownloadURL: 'http://127.0.0.1:9/', DSCP: '99' }, /invalid input DSCP: 99 is outside \[0, 63\]/],
    ] as const) {
      const [r] = results(await operate(`${IPD}${cmd}`, args, 'x'));
      if (r!.operation_resp !== 'cmd_failure') throw new Error(JSON.stringify(r));
      expect(r!.cmd_failure.err_code).toBe(7027);
      expect(r!.cmd_failure.err_msg).toMatch(why);
    }
    const w = since();
    const [r] = results(await operate(`${IPD}TraceRoute()`, { Host: '192.0.2.3' }, 'cancel-me'));
    if (r!.operation_resp !== 'req_obj_path') throw new Error(JSON.stringify(r));
    await until(() => bed.h.shard.diagnostics.inFlight(0) === 1);
    results(await operate(`${r!.req_obj_path}.Cancel()`, {}, ''));
    const n = notifyOf(await bed.ctl.waitFor(w(isNotify('opc', (x) => x.notification === 'oper_complete'))))!;
    if (n.notification !== 'oper_complete' || n.oper_complete.operation_resp !== 'cmd_failure') throw new Error(JSON.stringify(n));
    expect(n.oper_complete.cmd_failure.err_code).toBe(7023);
    expect(bed.h.shard.diagnostics.inFlight(0)).toBe(0);
    mark = bed.ctl.received.length;
  });
  it('a USP Set of DiagnosticsState is refused with 7013 pointing at the command; a Set of an input puts a CWMP-requested state back to None', async () => {
    const m = await bed.ask({ request: { set: { allow_partial: false, update_objs: [{ obj_path: `${IPD}IPPing.`, param_settings: [{ param: 'DiagnosticsState', value: 'Requested', required: true }] }] } } });
    if (m.body.msg_body !== 'error') throw new Error(JSON.stringify(m.body));
    expect(m.body.error.param_errs.map((e) => [e.param_path, e.err_code])).toEqual([[`${IPD}IPPing.DiagnosticsState`, 7013]]);
    expect(m.body.error.param_errs[0]!.err_msg).toContain(`run ${IPD}IPPing() instead`);
    // As if an ACS had requested a test (CWMP): a USP write of Host resets the state.
    const v = bed.h.shard.view(0);
    v.deviceSet(`${IPD}IPPing.DiagnosticsState`, 'Requested');
    bed.h.shard.keep(0, v);
    const ok = await bed.ask({ request: { set: { allow_partial: false, update_objs: [{ obj_path: `${IPD}IPPing.`, param_settings: [{ param: 'Host', value: '192.0.2.9', required: true }] }] } } });
    expect(ok.body.msg_body).toBe('response');
    expect(bed.h.shard.view(0).get(`${IPD}IPPing.DiagnosticsState`)).toBe('None');
    mark = bed.ctl.received.length;
  });
});
