// Hostile sizes over a real CWMP session: a request whose answer would pass a documented
// cap is answered 9004 before the answer is built, AddObjects past the per-session cap are
// 9004, and values and ParameterKeys obey their maximum length (9007 inside 9003; 9003).
import { afterEach, describe, expect, it } from '@jest/globals';
import { EV } from '../src/cwmp/events.js';
import { MAX_ADD_OBJECTS_PER_SESSION } from '../src/cwmp/rpc/params.js';
import type { AcsOutgoingRequest, CpeMessage, ParsedCpeEnvelope } from '../src/cwmp/types.js';
import { answerCap, DEFAULT_MAX_STRING_LENGTH, MAX_NAMES_PER_REQUEST } from '../src/datamodel/limits.js';
import { atBootstrap, startHarness, until, type Harness } from './helpers/harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

/** Run one bootstrap session carrying `reqs`; the CPE's answers to them, in order. */
async function session(reqs: AcsOutgoingRequest[]): Promise<ParsedCpeEnvelope[]> {
  h = await startHarness({ cpes: 1, acsTimeoutMs: 20_000, acs: { script: atBootstrap(...reqs) } });
  h.tick();
  await h.acs.waitFor(() => h!.acs.sessions[0]?.ended === true, 30_000, 'the session');
  const s = h.acs.sessions[0]!;
  // GetRPCMethods and the empty POST come first, then one answer per request.
  return s.messages.slice(2);
}

function fault(m: ParsedCpeEnvelope | undefined) {
  expect(m?.message.method).toBe('Fault');
  return (m!.message as Extract<CpeMessage, { method: 'Fault' }>).fault;
}

const gpv = (...names: string[]): AcsOutgoingRequest => ({ method: 'GetParameterValues', names });

describe('GetParameterValues / Names / Attributes are bounded before they are built', () => {
  it('Device. named 100,000 times is 9004 at once, with bounded memory; the next request is served', async () => {
    const before = process.memoryUsage().rss;
    const [big, small] = await session([gpv(...new Array<string>(100_000).fill('Device.')), gpv('Device.DeviceInfo.SerialNumber')]);
    const f = fault(big);
    expect(f.code).toBe(9004);
    expect(f.message).toContain(`100000 names in one request, at most ${MAX_NAMES_PER_REQUEST}`);
    expect(small!.message.method).toBe('GetParameterValuesResponse');
    // Answering in full would have held 100,000 copies of the tree (gigabytes): the cost stayed
    // that of parsing the request.
    expect(process.memoryUsage().rss - before).toBeLessThan(512 * 1024 * 1024);
  });

  it('names over the cap are 9004; up to the cap they are served; overlapping partial paths past the answer cap are 9004', async () => {
    const leaf = 'Device.DeviceInfo.SerialNumber';
    const answers = await session([
      gpv(...new Array<string>(MAX_NAMES_PER_REQUEST + 1).fill(leaf)),
      gpv(...new Array<string>(MAX_NAMES_PER_REQUEST).fill(leaf)),
      gpv(...new Array<string>(50).fill('')),
      gpv('', ''),
      { method: 'GetParameterAttributes', names: new Array<string>(MAX_NAMES_PER_REQUEST + 1).fill(leaf) },
      { method: 'GetParameterAttributes', names: new Array<string>(50).fill('Device.') },
      { method: 'SetParameterAttributes', params: new Array(50).fill({ name: 'Device.', notificationChange: false, notification: 0, accessListChange: true, accessList: [] }) },
      // A bad name is still 9005 when it comes before the cap is reached.
      gpv('Device.Nope.', ...new Array<string>(50).fill('')),
    ]);
    expect(fault(answers[0]).code).toBe(9004);
    const ok = answers[1]!.message as Extract<CpeMessage, { method: 'GetParameterValuesResponse' }>;
    expect(ok.params).toHaveLength(MAX_NAMES_PER_REQUEST);
    const cap = answerCap(h!.shard.template);
    expect(fault(answers[2]).message).toContain(`more than ${cap} parameters`);
    expect(fault(answers[2]).code).toBe(9004);
    expect((answers[3]!.message as Extract<CpeMessage, { method: 'GetParameterValuesResponse' }>).params.length).toBeGreaterThan(400);
    expect(fault(answers[4]).code).toBe(9004);
    expect(fault(answers[5]).code).toBe(9004);
    expect(fault(answers[6]).code).toBe(9004);
    expect(fault(answers[7]).code).toBe(9005);
    // 9004 is a Server fault on the wire (TR-069 A.5.1).
    expect(h!.acs.sessions[0]!.raw[3]).toMatch(/<faultcode>Server<\/faultcode>[\s\S]*<FaultCode>9004<\/FaultCode>/);
  });
});

describe('AddObject per session', () => {
  it(`past ${MAX_ADD_OBJECTS_PER_SESSION} AddObjects in one session each is 9004; the next session may add again; a tree grown past the cap answers GetParameterNames 9004`, async () => {
    const add: AcsOutgoingRequest = { method: 'AddObject', objectName: 'Device.NAT.PortMapping.', parameterKey: 'k' };
    const perSession = MAX_ADD_OBJECTS_PER_SESSION + 2;
    let sessions = 0;
    const gpnAll: AcsOutgoingRequest = { method: 'GetParameterNames', path: '', nextLevel: false };
    const gpnRows: AcsOutgoingRequest = { method: 'GetParameterNames', path: 'Device.NAT.PortMapping.', nextLevel: true };
    h = await startHarness({
      cpes: 1,
      acsTimeoutMs: 20_000,
      acs: { script: () => (++sessions <= 3 ? [...new Array<AcsOutgoingRequest>(perSession).fill(add), gpnRows] : [gpnAll, gpnRows, gpv('Device.NAT.')]) },
    });
    h.tick();
    for (let n = 1; n <= 4; n++) {
      await h.acs.waitFor(() => h!.acs.sessions[n - 1]?.ended === true, 60_000, `session ${n}`);
      await until(() => h!.shard.lifecycle(0) === 'ready');
      if (n < 4) h.cwmp.raise(0, EV.PERIODIC);
      h.tick();
    }
    const first = h.acs.sessions[0]!.messages.slice(2);
    const adds = first.slice(0, perSession).map((m) => (m.message.method === 'Fault' ? m.message.fault.code : m.message.method));
    expect(adds.slice(0, MAX_ADD_OBJECTS_PER_SESSION).every((x) => x === 'AddObjectResponse')).toBe(true);
    expect(adds.slice(MAX_ADD_OBJECTS_PER_SESSION)).toEqual([9004, 9004]);
    // The second session starts a new count.
    const second = h.acs.sessions[1]!.messages.slice(1, 1 + perSession);
    expect(second.filter((m) => m.message.method === 'AddObjectResponse')).toHaveLength(MAX_ADD_OBJECTS_PER_SESSION);
    // One row at boot plus three sessions' worth, listed with NextLevel true.
    const last = h.acs.sessions[3]!.messages.slice(1);
    expect(fault(last[0]).code).toBe(9004);
    const rows = (last[1]!.message as Extract<CpeMessage, { method: 'GetParameterNamesResponse' }>).params;
    expect(rows).toHaveLength(1 + 3 * MAX_ADD_OBJECTS_PER_SESSION);
    expect(rows.every((r) => /^Device\.NAT\.PortMapping\.\d+\.$/.test(r.name))).toBe(true);
    expect(fault(last[2]).code).toBe(9004);
  });
});

describe('maximum lengths', () => {
  it('a value over its maxLength, or over the default cap, is 9007 inside 9003; a ParameterKey over 32 characters is 9003 and changes nothing', async () => {
    const spv = (key: string, ...params: Array<[string, string]>): AcsOutgoingRequest => ({ method: 'SetParameterValues', params: params.map(([name, value]) => ({ name, value, type: 'string' })), parameterKey: key });
    const answers = await session([
      spv('k1', ['Device.NAT.PortMapping.1.Description', 'x'.repeat(257)], ['Device.NAT.PortMapping.1.RemoteHost', 'y'.repeat(DEFAULT_MAX_STRING_LENGTH + 1)], ['Device.NAT.PortMapping.1.Alias', 'fits']),
      spv('k'.repeat(32), ['Device.NAT.PortMapping.1.Description', 'x'.repeat(256)], ['Device.NAT.PortMapping.1.RemoteHost', 'y'.repeat(DEFAULT_MAX_STRING_LENGTH)]),
      spv('k'.repeat(1024 * 1024), ['Device.NAT.PortMapping.1.Alias', 'must-not-apply']),
      { method: 'AddObject', objectName: 'Device.NAT.PortMapping.', parameterKey: 'k'.repeat(33) },
      { method: 'DeleteObject', objectName: 'Device.NAT.PortMapping.1.', parameterKey: 'k'.repeat(33) },
      gpv('Device.ManagementServer.ParameterKey', 'Device.NAT.PortMapping.1.Alias', 'Device.NAT.PortMappingNumberOfEntries'),
    ]);
    const f = fault(answers[0]);
    expect(f.code).toBe(9003);
    expect(f.setParameterValuesFaults).toEqual([
      { name: 'Device.NAT.PortMapping.1.Description', code: 9007, message: 'Invalid parameter value: longer than 256 characters' },
      { name: 'Device.NAT.PortMapping.1.RemoteHost', code: 9007, message: `Invalid parameter value: longer than ${DEFAULT_MAX_STRING_LENGTH} characters` },
    ]);
    expect(answers[1]!.message).toEqual({ method: 'SetParameterValuesResponse', status: 0 });
    for (const i of [2, 3, 4]) {
      const k = fault(answers[i]);
      expect(k.code).toBe(9003);
      expect(k.message).toMatch(/ParameterKey is \d+ characters, at most 32/);
      expect(k.setParameterValuesFaults ?? []).toEqual([]);
    }
    const values = Object.fromEntries((answers[5]!.message as Extract<CpeMessage, { method: 'GetParameterValuesResponse' }>).params.map((p) => [p.name, p.value]));
    expect(values).toEqual({ 'Device.ManagementServer.ParameterKey': 'k'.repeat(32), 'Device.NAT.PortMapping.1.Alias': 'cpe-pm-1', 'Device.NAT.PortMappingNumberOfEntries': '1' });
  });
});
