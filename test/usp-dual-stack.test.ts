// One tree, two protocols (ARCHITECTURE.md): a USP Set is what the next CWMP GetParameterValues
// reads, and a CWMP SetParameterValues fires a USP ValueChange subscription.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { AcsOutgoingRequest, ParsedCpeEnvelope } from '../src/cwmp/types.js';
import { until } from './helpers/harness.js';
import { notifyOf } from './helpers/usp-controller.js';
import { startUspBed, type UspBed } from './helpers/usp-fleet.js';

let bed: UspBed;
/** What the mock ACS asks in the next connection-request session. */
let next: AcsOutgoingRequest[] = [];

/** Run one CWMP session (6 CONNECTION REQUEST) carrying `requests`; resolve with the CPE's answers. */
async function cwmpSession(requests: AcsOutgoingRequest[]): Promise<ParsedCpeEnvelope[]> {
  next = requests;
  const before = bed.h.acs.sessions.length;
  expect(bed.h.shard.admin.triggerConnectionRequest(0).accepted).toBe(true);
  await until(() => bed.h.acs.sessions.length > before && bed.h.acs.sessions[before]!.ended, 10_000, 'the CWMP session');
  return bed.h.acs.sessions[before]!.messages.filter((m) => m.message.method !== 'Empty');
}

beforeAll(async () => {
  bed = await startUspBed('aedes', {
    cpes: 1,
    cwmp: true,
    acs: {
      script: (inform) => {
        if (!inform.events.some((e) => e.code === '6 CONNECTION REQUEST')) return undefined;
        const r = next;
        next = [];
        return r;
      },
    },
  });
  await until(() => bed.h.shard.lifecycle(0) === 'ready', 10_000, 'the CWMP bootstrap');
});

afterAll(async () => {
  await bed?.stop();
});

describe('dual stack: CWMP and USP on one data model', () => {
  it('a USP Set is read by the next CWMP GetParameterValues, and leaves ParameterKey alone', async () => {
    const m = await bed.ask({ request: { set: { allow_partial: false, update_objs: [{ obj_path: 'Device.WiFi.SSID.1.', param_settings: [{ param: 'SSID', value: 'set-over-usp', required: true }] }] } } });
    expect(m.body.msg_body).toBe('response');
    const [gpv] = await cwmpSession([{ method: 'GetParameterValues', names: ['Device.WiFi.SSID.1.SSID', 'Device.ManagementServer.ParameterKey'] }]);
    expect(gpv!.message).toMatchObject({
      method: 'GetParameterValuesResponse',
      params: [
        { name: 'Device.WiFi.SSID.1.SSID', value: 'set-over-usp' },
        { name: 'Device.ManagementServer.ParameterKey', value: '' },
      ],
    });
  });

  it('a CWMP SetParameterValues fires the USP ValueChange subscription', async () => {
    await bed.subscribe('cwmp-vc', 'ValueChange', 'Device.ManagementServer.PeriodicInformInterval,Device.WiFi.SSID.');
    const [spv] = await cwmpSession([
      { method: 'SetParameterValues', params: [{ name: 'Device.ManagementServer.PeriodicInformInterval', value: '1234', type: 'unsignedInt' }, { name: 'Device.WiFi.SSID.2.SSID', value: 'set-over-cwmp', type: 'string' }], parameterKey: 'pk-1' },
    ]);
    expect(spv!.message.method).toBe('SetParameterValuesResponse');
    const seen = async (path: string, value: string) => {
      const r = await bed.ctl.waitFor((x) => {
        const n = notifyOf(x);
        return n?.subscription_id === 'cwmp-vc' && n.notification === 'value_change' && n.value_change.param_path === path;
      });
      const n = notifyOf(r)!;
      if (n.notification !== 'value_change') throw new Error('unreachable');
      expect(n.value_change.param_value).toBe(value);
    };
    await seen('Device.ManagementServer.PeriodicInformInterval', '1234');
    await seen('Device.WiFi.SSID.2.SSID', 'set-over-cwmp');
  });

  it('a CWMP AddObject is seen by USP GetInstances', async () => {
    const [add] = await cwmpSession([{ method: 'AddObject', objectName: 'Device.NAT.PortMapping.', parameterKey: 'pk-2' }]);
    if (add!.message.method !== 'AddObjectResponse') throw new Error(`expected AddObjectResponse, got ${add!.message.method}`);
    const n = add!.message.instanceNumber;
    const m = await bed.ask({ request: { get_instances: { obj_paths: ['Device.NAT.PortMapping.'], first_level_only: true } } });
    if (m.body.msg_body !== 'response' || m.body.response.resp_type !== 'get_instances_resp') throw new Error('unreachable');
    expect(m.body.response.get_instances_resp.req_path_results[0]!.curr_insts.map((c) => c.instantiated_obj_path)).toContain(`Device.NAT.PortMapping.${n}.`);
  });
});
