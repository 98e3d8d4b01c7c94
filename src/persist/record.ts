// One CPE's stored state (--state-dir): what a real gateway keeps in flash across a power
// cycle, and what the fleet needs to carry on where it stopped. A CPE nobody changed has no
// record. Plain arrays and numbers only, so the encoding is stable across versions of the
// code that builds the in-memory shapes (docs/persistence.md "What is kept").
import type { Attr, Overlay, TableRows } from '../datamodel/overlay.js';
import type { CpeExtra } from '../shard/extras.js';

/** Bumped when a record's shape changes; a state dir of another format is refused or migrated. */
export const RECORD_FORMAT = 1;

export interface CpeRecord {
  /** Values set by an ACS or controller: [path, value]. */
  values?: Array<[string, string]>;
  /** Tables whose rows were added or deleted: [table path, live rows, next row number]. */
  tables?: Array<[string, number[], number]>;
  /** Attributes that differ from the template's: [path, notification, access list]. */
  attrs?: Array<[string, number, string[]]>;
  /** CWMP: an ACS acknowledged 0 BOOTSTRAP. */
  bootstrapped?: 1;
  /** CWMP: pending single events (EV bits); those that survive a reboot are kept on load. */
  events?: number;
  /** Pending M events, transfers, DU changes, scheduled informs, firmware banks. */
  extra?: Omit<CpeExtra, 'deferred'>;
  /** USP: the controller answered the agent's first notification (onboarded). */
  onboarded?: 1;
}

export interface CpeParts {
  overlay: Overlay | undefined;
  bootstrapped: boolean;
  events: number;
  extra: CpeExtra | undefined;
  onboarded: boolean;
}

/** The record of a CPE's parts, or undefined when there is nothing to keep. */
export function toRecord(p: CpeParts): CpeRecord | undefined {
  const r: CpeRecord = {};
  const o = p.overlay;
  if (o?.values?.size) r.values = [...o.values];
  if (o?.tables?.size) r.tables = [...o.tables].map(([k, t]) => [k, [...t.rows], t.next]);
  if (o?.attrs?.size) r.attrs = [...o.attrs].map(([k, a]) => [k, a.notification, [...a.accessList]]);
  if (p.bootstrapped) r.bootstrapped = 1;
  if (p.events) r.events = p.events;
  const x = p.extra;
  if (x && (x.mEvents.length || x.transfers.length || x.duChanges.length || x.scheduledInforms.length || x.firmware || x.firmwareChanged)) {
    r.extra = { mEvents: x.mEvents, transfers: x.transfers, duChanges: x.duChanges, scheduledInforms: x.scheduledInforms, firmware: x.firmware, firmwareChanged: x.firmwareChanged };
  }
  if (p.onboarded) r.onboarded = 1;
  return Object.keys(r).length > 0 ? r : undefined;
}

/** The overlay a record holds (undefined when it holds none). */
export function overlayOf(r: CpeRecord): Overlay | undefined {
  if (!r.values && !r.tables && !r.attrs) return undefined;
  return {
    values: r.values ? new Map(r.values) : undefined,
    tables: r.tables ? new Map(r.tables.map(([k, rows, next]): [string, TableRows] => [k, { rows: [...rows], next }])) : undefined,
    attrs: r.attrs ? new Map(r.attrs.map(([k, notification, accessList]): [string, Attr] => [k, { notification, accessList: [...accessList] }])) : undefined,
  };
}

/** Check a record read from disk has the shape this version writes; a message naming the field when not. */
export function recordProblem(r: unknown): string | undefined {
  if (typeof r !== 'object' || r === null || Array.isArray(r)) return 'not an object';
  const x = r as Record<string, unknown>;
  const pairs = (v: unknown, n: number) => Array.isArray(v) && v.every((e) => Array.isArray(e) && e.length === n && typeof e[0] === 'string');
  if (x['values'] !== undefined && !pairs(x['values'], 2)) return 'values: expected [path, value] pairs';
  if (x['tables'] !== undefined && !pairs(x['tables'], 3)) return 'tables: expected [path, rows, next] triples';
  if (x['attrs'] !== undefined && !pairs(x['attrs'], 3)) return 'attrs: expected [path, notification, accessList] triples';
  if (x['events'] !== undefined && typeof x['events'] !== 'number') return 'events: expected a number';
  if (x['extra'] !== undefined && (typeof x['extra'] !== 'object' || x['extra'] === null)) return 'extra: expected an object';
  return undefined;
}
