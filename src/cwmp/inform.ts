// The Inform a CPE sends (TR-069 A.3.3.1): DeviceId from its identity,
// the events, and ParameterList = forced-inform parameters plus changed notified ones.
import type { CpeView } from '../datamodel/view.js';
import { isoSeconds } from '../datamodel/datetime.js';
import type { EventStruct, Inform, ParameterValue } from './types.js';

/** TR-069 A.3.3.1: at most 64 EventStructs. */
export const MAX_INFORM_EVENTS = 64;

export function buildInform(view: CpeView, events: readonly EventStruct[], retryCount: number, now: number, changed: readonly ParameterValue[] = []): Inform {
  const id = view.ctx.identity;
  const forced = forcedInform(view);
  return {
    method: 'Inform',
    deviceId: { manufacturer: id.manufacturer, oui: id.oui, productClass: id.productClass, serialNumber: id.serial },
    events: events.slice(0, MAX_INFORM_EVENTS),
    maxEnvelopes: 1,
    currentTime: isoSeconds(now),
    retryCount,
    params: [...forced, ...changed.filter((c) => !forced.some((f) => f.name === c.name))],
  };
}

/** Forced-inform parameters (TR-069 A.3.3.1), expanded over existing rows. */
export function forcedInform(view: CpeView): ParameterValue[] {
  const out: ParameterValue[] = [];
  for (const p of view.template.forcedInform) {
    if (!p.path.includes('{i}')) {
      out.push({ name: p.path, value: view.wireValue(p, p.path, []), type: p.type });
      continue;
    }
    const objPath = p.path.slice(0, p.path.length - p.name.length);
    const ex = view.instancesOf(objPath);
    for (const { path, inst } of ex) {
      const full = path + p.name;
      out.push({ name: full, value: view.wireValue(p, full, inst), type: p.type });
    }
  }
  return out;
}
