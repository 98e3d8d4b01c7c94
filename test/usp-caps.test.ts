// Hostile sizes over USP, on a real broker: a Get, GetInstances or GetSupportedDM is bounded
// in paths and in results before its answer is built, and an answer that would not fit the
// agent's MQTT Maximum Packet Size is never published: the controller gets Error 7005, and
// the agent keeps its connection and keeps answering.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { answerCap, DEFAULT_MAX_STRING_LENGTH, MAX_NAMES_PER_REQUEST } from '../src/datamodel/limits.js';
import type { UspMsg } from '../src/usp/codec.js';
import { MQTT_MAX_PACKET_BYTES } from '../src/usp/mtp/mqtt.js';
import { startUspBed, type BrokerKind, type UspBed } from './helpers/usp-fleet.js';

const err = (m: UspMsg) => {
  if (m.body.msg_body !== 'error') throw new Error(`expected an Error, got ${m.header.msg_type}`);
  return m.body.error;
};
const resp = (m: UspMsg) => {
  if (m.body.msg_body !== 'response') throw new Error(`expected a response, got ${JSON.stringify(m.body).slice(0, 300)}`);
  return m.body.response;
};

describe.each<BrokerKind>(['aedes', 'mosquitto'])('USP answers are bounded (%s)', (kind) => {
  let bed: UspBed;
  const big = 'Device.NAT.PortMapping.1.RemoteHost';

  beforeAll(async () => {
    bed = await startUspBed(kind, { cpes: 2 });
  });
  afterAll(async () => {
    await bed?.stop();
  });

  /** The agent is still connected and answers an ordinary Get. */
  async function stillServing(l = 0): Promise<void> {
    const g = resp(await bed.ask({ request: { get: { param_paths: ['Device.DeviceInfo.SerialNumber'] } } }, l));
    expect(g.resp_type).toBe('get_resp');
    expect(bed.h.shard.usp!.connections.countsByState()['connected']).toBe(2);
  }

  it('an answer over the MQTT packet limit is Error 7005, never published; one just under is sent', async () => {
    // A value at the default maximum length of an unsized string...
    const set = resp(await bed.ask({ request: { set: { allow_partial: false, update_objs: [{ obj_path: 'Device.NAT.PortMapping.1.', param_settings: [{ param: 'RemoteHost', value: 'h'.repeat(DEFAULT_MAX_STRING_LENGTH), required: true }] }] } } }));
    expect(set.resp_type).toBe('set_resp');
    // ...read 20 times is 1.3 MB: more than one packet.
    const over = err(await bed.ask({ request: { get: { param_paths: new Array<string>(20).fill(big), max_depth: 0 } } }));
    expect(over.err_code).toBe(7005);
    expect(over.err_msg).toMatch(/the answer is \d+ bytes, more than the \d+ one MQTT packet of this agent may carry/);
    const limit = Number(/more than the (\d+)/.exec(over.err_msg)![1]);
    expect(limit).toBeLessThan(MQTT_MAX_PACKET_BYTES);
    expect(limit).toBeGreaterThan(MQTT_MAX_PACKET_BYTES - 1024);
    // 15 times (983 KB) fits and arrives whole.
    const under = resp(await bed.ask({ request: { get: { param_paths: new Array<string>(15).fill(big), max_depth: 0 } } }));
    if (under.resp_type !== 'get_resp') throw new Error('unreachable');
    expect(under.get_resp.req_path_results).toHaveLength(15);
    expect(under.get_resp.req_path_results[14]!.resolved_path_results[0]!.result_params['RemoteHost']).toHaveLength(DEFAULT_MAX_STRING_LENGTH);
    await stillServing();
  });

  it('a GetSupportedDM of 100,000 paths is 7005 at once; the agents keep serving', async () => {
    const e = err(await bed.ask({ request: { get_supported_dm: { obj_paths: new Array<string>(100_000).fill('Device.'), first_level_only: false, return_commands: true, return_events: true, return_params: true, return_unique_key_sets: true } } }));
    expect(e.err_code).toBe(7005);
    expect(e.err_msg).toBe(`Resources exceeded: 100000 paths in one GetSupportedDM, at most ${MAX_NAMES_PER_REQUEST}`);
    await stillServing(0);
    await stillServing(1);
  });

  it('paths within the cap whose answers would pass the result cap are 7005 (GetSupportedDM, Get); the same request with fewer paths is answered', async () => {
    const cap = answerCap(bed.h.shard.template);
    const gsdm = (n: number) => ({ request: { get_supported_dm: { obj_paths: new Array<string>(n).fill('Device.'), first_level_only: false, return_commands: false, return_events: false, return_params: true, return_unique_key_sets: false } } });
    const e = err(await bed.ask(gsdm(MAX_NAMES_PER_REQUEST)));
    expect(e.err_code).toBe(7005);
    expect(e.err_msg).toBe(`Resources exceeded: the GetSupportedDM would describe more than ${cap} objects and parameters`);
    const one = resp(await bed.ask(gsdm(1)));
    expect(one.resp_type).toBe('get_supported_dm_resp');
    const g = err(await bed.ask({ request: { get: { param_paths: new Array<string>(MAX_NAMES_PER_REQUEST).fill('Device.'), max_depth: 0 } } }));
    expect(g.err_msg).toBe(`Resources exceeded: the Get would return more than ${cap} parameter values`);
    await stillServing();
  });

  it('more paths than the cap in a Get or GetInstances is 7005', async () => {
    const n = MAX_NAMES_PER_REQUEST + 1;
    const g = err(await bed.ask({ request: { get: { param_paths: new Array<string>(n).fill('Device.DeviceInfo.SerialNumber'), max_depth: 0 } } }));
    expect(g.err_code).toBe(7005);
    expect(g.err_msg).toContain(`${n} paths in one Get`);
    const i = err(await bed.ask({ request: { get_instances: { obj_paths: new Array<string>(n).fill('Device.WiFi.SSID.'), first_level_only: true } } }));
    expect(i.err_code).toBe(7005);
    expect(i.err_msg).toContain(`${n} paths in one GetInstances`);
    const ok = resp(await bed.ask({ request: { get_instances: { obj_paths: new Array<string>(MAX_NAMES_PER_REQUEST).fill('Device.WiFi.SSID.'), first_level_only: true } } }));
    if (ok.resp_type !== 'get_instances_resp') throw new Error('unreachable');
    expect(ok.get_instances_resp.req_path_results).toHaveLength(MAX_NAMES_PER_REQUEST);
    await stillServing();
  });
});
