// USP subscriptions (TR-369 R-NOT.0): the rows of Device.LocalAgent.Subscription.{i} read
// from the CPE's data model, and what each one watches. Only agents with subscription
// rows hold anything here.
//
// Changes are found by comparison, not by hooks in every writer: a ValueChange
// subscription keeps the last value of each parameter it covers, an ObjectCreation or
// ObjectDeletion one the instances it covers. A Set or Add over USP, a CWMP
// SetParameterValues or AddObject, a generator or the device itself are all seen the
// same way, by a recheck right after a write and by the shard's periodic scan (TR-369
// R-NOT.0a: notify within 10 s of the change). Reference lists are re-expanded on every check, so
// instances created later are covered too.
import type { CpeView } from '../datamodel/view.js';
import { matchesReference } from './path.js';
import { expandInstances, expandParams } from './paths-glue.js';
import type { StrMap } from './types.js';

export const SUBSCRIPTION_TABLE = 'Device.LocalAgent.Subscription.';

export const NOTIF_TYPES = ['ValueChange', 'ObjectCreation', 'ObjectDeletion', 'OperationComplete', 'Event'] as const;
export type NotifType = (typeof NOTIF_TYPES)[number];

export interface Subscription {
  /** Row path, e.g. Device.LocalAgent.Subscription.3. */
  path: string;
  id: string;
  enabled: boolean;
  notifType: NotifType | '';
  refs: string[];
  referenceList: string;
  recipient: string;
  notifRetry: boolean;
  /** Seconds a Notify is retried (0: until restart). */
  notifExpiration: number;
  /** Seconds the row lives after CreationDate (0: forever). */
  timeToLive: number;
  /** Epoch ms, NaN when unknown. */
  created: number;
  persistent: boolean;
}

/** Read every subscription row of the CPE (cheap when the table is empty). */
export function readSubscriptions(view: CpeView): Subscription[] {
  const table = view.resolve(SUBSCRIPTION_TABLE);
  if (!table || table.kind !== 'table') return [];
  const out: Subscription[] = [];
  for (const n of view.rows(table.node, table.path, table.inst)) {
    const p = `${table.path}${n}.`;
    const get = (k: string) => view.get(p + k) ?? '';
    const type = get('NotifType');
    const referenceList = get('ReferenceList');
    out.push({
      path: p,
      id: get('ID'),
      enabled: get('Enable') === 'true',
      notifType: (NOTIF_TYPES as readonly string[]).includes(type) ? (type as NotifType) : '',
      refs: referenceList.split(',').map((s) => s.trim()).filter((s) => s !== ''),
      referenceList,
      recipient: get('Recipient'),
      notifRetry: get('NotifRetry') === 'true',
      notifExpiration: Number(get('NotifExpiration')) || 0,
      timeToLive: Number(get('TimeToLive')) || 0,
      created: Date.parse(get('CreationDate')),
      persistent: get('Persistent') === 'true',
    });
  }
  return out;
}

/** What one agent's subscriptions last saw. */
interface Watch {
  subs: Subscription[];
  /** ValueChange: subscription path -> parameter path -> last value. */
  values: Map<string, Map<string, string>>;
  /** ValueChange: the covered parameters whose values move by themselves (generators). */
  moving: Map<string, string[]>;
  /** ObjectCreation / ObjectDeletion: subscription path -> instance paths. */
  instances: Map<string, Set<string>>;
}

export type Detected =
  | { kind: 'ValueChange'; sub: Subscription; path: string; value: string }
  | { kind: 'ObjectCreation'; sub: Subscription; path: string; uniqueKeys: StrMap }
  | { kind: 'ObjectDeletion'; sub: Subscription; path: string };

export class SubscriptionWatch {
  private readonly watches = new Map<number, Watch>();

  constructor(private readonly uniqueKeysOf: (view: CpeView, rowPath: string) => StrMap) {}

  /** Agents holding subscriptions (the only ones the scan visits). */
  agents(): IterableIterator<number> {
    return this.watches.keys();
  }

  has(l: number): boolean {
    return this.watches.has(l);
  }

  subscriptions(l: number): readonly Subscription[] {
    return this.watches.get(l)?.subs ?? [];
  }

  forget(l: number): void {
    this.watches.delete(l);
  }

  /**
   * Re-read the rows (after a write under Device.LocalAgent.Subscription. or a boot)
   * and take a fresh baseline for new subscriptions; existing ones keep theirs, so a
   * change made in the same message as the subscription is not lost.
   */
  reload(l: number, view: CpeView, recipient: string): void {
    const subs = readSubscriptions(view);
    if (subs.length === 0) {
      this.watches.delete(l);
      return;
    }
    const old = this.watches.get(l);
    const w: Watch = { subs, values: new Map(), moving: new Map(), instances: new Map() };
    for (const s of subs) {
      if (!s.enabled || s.recipient !== recipient) continue;
      if (s.notifType === 'ValueChange') {
        const kept = old?.values.get(s.path);
        if (kept) {
          w.values.set(s.path, kept);
          w.moving.set(s.path, old!.moving.get(s.path) ?? []);
        } else {
          const { values, moving } = this.valuesOf(view, s);
          w.values.set(s.path, values);
          w.moving.set(s.path, moving);
        }
      }
      if (s.notifType === 'ObjectCreation' || s.notifType === 'ObjectDeletion') w.instances.set(s.path, old?.instances.get(s.path) ?? this.instancesOf(view, s));
    }
    this.watches.set(l, w);
  }

  private valuesOf(view: CpeView, s: Subscription): { values: Map<string, string>; moving: string[] } {
    const values = new Map<string, string>();
    const moving: string[] = [];
    for (const ref of s.refs) {
      for (const { path, value, generated } of expandParams(view, ref)) {
        values.set(path, value);
        if (generated) moving.push(path);
      }
    }
    return { values, moving };
  }

  private instancesOf(view: CpeView, s: Subscription): Set<string> {
    const set = new Set<string>();
    for (const ref of s.refs) for (const p of expandInstances(view, ref, s.notifType === 'ObjectCreation')) set.add(p);
    return set;
  }

  /**
   * Compare with the baselines; what changed becomes the new baseline. `movingOnly`
   * (the periodic scan) re-reads just the generator-driven parameters: everything else
   * changes only by a write, after which the writer asks for a full check.
   */
  detect(l: number, view: CpeView, movingOnly = false): Detected[] {
    const w = this.watches.get(l);
    if (!w) return [];
    const out: Detected[] = [];
    for (const s of w.subs) {
      const base = w.values.get(s.path);
      if (base && movingOnly) {
        for (const path of w.moving.get(s.path) ?? []) {
          const value = view.get(path);
          const before = base.get(path);
          if (value === undefined || before === undefined || before === value) continue;
          out.push({ kind: 'ValueChange', sub: s, path, value });
          base.set(path, value);
        }
      } else if (base) {
        const { values: now, moving } = this.valuesOf(view, s);
        for (const [path, value] of now) {
          const before = base.get(path);
          // A parameter that appeared with a new row is covered from now on, not a change.
          if (before !== undefined && before !== value) out.push({ kind: 'ValueChange', sub: s, path, value });
        }
        w.values.set(s.path, now);
        w.moving.set(s.path, moving);
      }
      const insts = w.instances.get(s.path);
      if (insts) {
        const now = this.instancesOf(view, s);
        if (s.notifType === 'ObjectCreation') {
          for (const p of now) if (!insts.has(p)) out.push({ kind: 'ObjectCreation', sub: s, path: p, uniqueKeys: this.uniqueKeysOf(view, p) });
        } else {
          for (const p of insts) if (!now.has(p)) out.push({ kind: 'ObjectDeletion', sub: s, path: p });
        }
        w.instances.set(s.path, now);
      }
    }
    return out;
  }

  /** Enabled subscriptions of `type` for `recipient` whose reference list covers `path`. */
  matching(l: number, type: 'Event' | 'OperationComplete', path: string, recipient: string, view?: CpeView): Subscription[] {
    const w = this.watches.get(l);
    if (!w) return [];
    return w.subs.filter((s) => s.enabled && s.notifType === type && s.recipient === recipient && s.refs.some((r) => matchesReference(r, path, view)));
  }
}
