// The fault hook (the admin API's POST .../fault/{code}): CWMP fault
// codes queued per CPE, each answering the CPE's next ACS request. Only CPEs with a
// queued fault have an entry.
import type { CpeMessage } from '../cwmp/types.js';
import { FAULT_STRINGS } from '../cwmp/faults.js';
import { CpeSimError } from '../util/errors.js';

/** Faults the hook may queue per CPE before it refuses more. */
export const MAX_QUEUED_FAULTS = 32;

export class FaultHook {
  private readonly queued = new Map<number, number[]>();
  /** Injected faults answered so far, by code. */
  readonly answered: Record<string, number> = {};
  total = 0;

  /** Queue `code` (TR-069 A.5.1: 9000-9899) for local CPE l; returns how many wait. */
  queue(l: number, cpe: number, code: number): number {
    if (!Number.isInteger(code) || code < 9000 || code > 9899) {
      throw new CpeSimError('BAD_REQUEST', `fault code ${code} is not a CPE fault: expected an integer from 9000 to 9899 (TR-069 A.5.1)`);
    }
    const list = this.queued.get(l) ?? [];
    if (list.length >= MAX_QUEUED_FAULTS) throw new CpeSimError('CONFLICT', `CPE ${cpe} already has ${MAX_QUEUED_FAULTS} faults queued for its next requests`);
    list.push(code);
    this.queued.set(l, list);
    return list.length;
  }

  /** The fault to answer this ACS request with, if one is queued. */
  take(l: number): CpeMessage | undefined {
    const list = this.queued.get(l);
    const code = list?.shift();
    if (code === undefined) return undefined;
    if (list!.length === 0) this.queued.delete(l);
    this.total++;
    this.answered[code] = (this.answered[code] ?? 0) + 1;
    return { method: 'Fault', fault: { code, message: FAULT_STRINGS[code] ?? 'Vendor fault' } };
  }

  clear(l: number): void {
    this.queued.delete(l);
  }
}
