import { afterEach, describe, expect, it } from '@jest/globals';
import { EV } from '../src/cwmp/events.js';
import { CpeSimError } from '../src/util/errors.js';
import { startHarness, until, type Harness } from './helpers/harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

describe('fault hook', () => {
  it('answers the next ACS request of the next session with the queued fault, then serves normally', async () => {
    h = await startHarness({
      acs: {
        script: () => [
          { method: 'GetParameterValues', names: ['Device.DeviceInfo.SerialNumber'] },
          { method: 'GetParameterValues', names: ['Device.DeviceInfo.SerialNumber'] },
        ],
      },
    });
    expect(h.shard.admin.queueFault(0, 9001)).toEqual({ queued: 1 });
    expect(h.shard.admin.queueFault(0, 9850)).toEqual({ queued: 2 });
    h.tick();
    await h.acs.waitFor(() => h!.acs.sessions[0]?.ended === true);
    const answers = h.acs.sessions[0]!.messages.slice(2);
    expect(answers.map((m) => (m.message.method === 'Fault' ? m.message.fault.code : m.message.method))).toEqual([9001, 9850]);
    // A valid SOAP Fault: Server type, FaultString, the request's cwmp:ID echoed.
    const raw = h.acs.sessions[0]!.raw[3]!;
    expect(raw).toMatch(/<faultcode>Server<\/faultcode>/);
    expect(raw).toMatch(/<FaultString>Request denied[^<]*<\/FaultString>/);
    expect(answers[0]!.id).toBe(h.acs.sessions[0]!.sentIds[0]);
    await until(() => h!.shard.admin.stats().faultsInjected === 2);
    // Queue drained: the next session is served normally.
    h.cwmp.raise(0, EV.PERIODIC);
    await h.acs.waitFor(() => h!.acs.sessions[1]?.ended === true);
    expect(h.acs.sessions[1]!.messages.slice(1).map((m) => m.message.method)).toEqual(['GetParameterValuesResponse', 'GetParameterValuesResponse']);
  });

  it('uses the Client fault type for Client codes', async () => {
    h = await startHarness({ acs: { script: () => [{ method: 'GetRPCMethods' }] } });
    h.shard.admin.queueFault(0, 9005);
    h.tick();
    await h.acs.waitFor(() => h!.acs.sessions[0]?.ended === true);
    expect(h.acs.sessions[0]!.raw[3]).toMatch(/<faultcode>Client<\/faultcode>/);
  });

  it('refuses codes outside 9000-9899 and CPEs outside the shard with a clear error', async () => {
    h = await startHarness();
    for (const bad of [8000, 9900, 42, 9000.5]) {
      expect(() => h!.shard.admin.queueFault(0, bad)).toThrow(/expected an integer from 9000 to 9899/);
    }
    try {
      h.shard.admin.queueFault(5, 9001);
      throw new Error('accepted');
    } catch (e) {
      expect((e as CpeSimError).code).toBe('NOT_FOUND');
    }
  });
});
