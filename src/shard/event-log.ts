// The shard's recent events, for the admin API: one ring buffer per shard whose size does
// not depend on N, plus the last event per CPE: its code in a byte and its time in 6 (7 bytes a CPE).
import { EVENT_CODES } from '../cwmp/events.js';
import { Stamps } from '../scheduler/times.js';

/** Every code the log can name; index = stored byte. Unknown codes map to the last slot. */
export const LOGGED_CODES: readonly string[] = [...EVENT_CODES, 'M Reboot', 'M ScheduleInform', 'M Download', 'M Upload', 'M ScheduleDownload', 'M ChangeDUState', 'other'];
const INDEX = new Map(LOGGED_CODES.map((c, i) => [c, i]));
const NONE = 255;

export class EventLog {
  private readonly cpe: Int32Array;
  private readonly code: Uint8Array;
  private readonly at: Float64Array;
  private next = 0;
  private filled = false;
  private readonly last: Uint8Array;
  private readonly lastAt: Stamps;

  constructor(cpes: number, private readonly capacity = 65536) {
    this.cpe = new Int32Array(capacity);
    this.code = new Uint8Array(capacity);
    this.at = new Float64Array(capacity);
    this.last = new Uint8Array(cpes).fill(NONE);
    this.lastAt = new Stamps(cpes);
  }

  /** Bytes of the per-CPE arrays (the ring's size does not depend on N). */
  get perCpeBytes(): number {
    return this.last.byteLength + this.lastAt.byteLength;
  }

  /** Bytes of the ring. */
  get ringBytes(): number {
    return this.cpe.byteLength + this.code.byteLength + this.at.byteLength;
  }

  record(l: number, code: string, at: number): void {
    const c = INDEX.get(code) ?? LOGGED_CODES.length - 1;
    this.cpe[this.next] = l;
    this.code[this.next] = c;
    this.at[this.next] = at;
    this.next = (this.next + 1) % this.capacity;
    if (this.next === 0) this.filled = true;
    this.last[l] = c;
    this.lastAt.set(l, at);
  }

  lastOf(l: number): { code: string; at: number } | undefined {
    const c = this.last[l]!;
    return c === NONE ? undefined : { code: LOGGED_CODES[c]!, at: this.lastAt.get(l) };
  }

  /** Up to n most recent events of CPE l, newest first (those still in the ring). */
  recent(l: number, n: number): Array<{ code: string; at: number }> {
    const out: Array<{ code: string; at: number }> = [];
    const count = this.filled ? this.capacity : this.next;
    for (let k = 1; k <= count && out.length < n; k++) {
      const i = (this.next - k + this.capacity) % this.capacity;
      if (this.cpe[i] === l) out.push({ code: LOGGED_CODES[this.code[i]!]!, at: this.at[i]! });
    }
    return out;
  }
}
