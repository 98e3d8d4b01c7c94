// A write storm from a mock ACS (docs/persistence.md, the kill tests): the bootstrap session
// sets a 1 s periodic interval and ProvisioningCode 0, every later session code n+1. The
// ACS keeps, per session, what it sent; a SetParameterValuesResponse is the acknowledgement.
import type { Inform } from '../../src/cwmp/types.js';
import { MockAcs, type RecordedSession } from '../../src/mock-acs/mock-acs.js';
import { spv } from './harness.js';

export const PC = 'Device.DeviceInfo.ProvisioningCode';
export const INTERVAL = 'Device.ManagementServer.PeriodicInformInterval';

export const codes = (i: Inform) => i.events.map((e) => e.code);
export const param = (i: Inform, name: string) => i.params.find((p) => p.name === name)?.value;

/** The write storm: the bootstrap session sets a 1 s interval and code 0, every later session code n+1. */
export function stormAcs(): { acs: MockAcs; sent: Map<RecordedSession, [string, number]>; storming: { on: boolean } } {
  const sent = new Map<RecordedSession, [string, number]>();
  const next = new Map<string, number>();
  const storming = { on: true };
  const a: MockAcs = new MockAcs({
    script: (inform, deviceId) => {
      if (!storming.on) return undefined;
      const rec = a.sessions.at(-1)!;
      const n = next.get(deviceId) ?? 0;
      next.set(deviceId, n + 1);
      sent.set(rec, [deviceId, n]);
      if (codes(inform).includes('0 BOOTSTRAP')) return [spv(`k${n}`, [INTERVAL, '1', 'unsignedInt'], [PC, String(n), 'string'])];
      return [spv(`k${n}`, [PC, String(n), 'string'])];
    },
  });
  return { acs: a, sent, storming };
}

/** Per device: the highest code the ACS saw acknowledged, and the highest it sent. */
export function writes(sent: Map<RecordedSession, [string, number]>): { acked: Map<string, number>; sentMax: Map<string, number>; ackCount: number } {
  const acked = new Map<string, number>();
  const sentMax = new Map<string, number>();
  let ackCount = 0;
  for (const [rec, [d, n]] of sent) {
    sentMax.set(d, Math.max(sentMax.get(d) ?? -1, n));
    if (rec.messages.some((m) => m.message.method === 'SetParameterValuesResponse')) {
      ackCount++;
      acked.set(d, Math.max(acked.get(d) ?? -1, n));
    }
  }
  return { acked, sentMax, ackCount };
}

