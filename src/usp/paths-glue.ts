// What subscriptions need from path resolution (docs/usp-behaviour.md): the parameters and
// instances a ReferenceList entry covers right now, and a new row's unique keys.
import type { CpeView } from '../datamodel/view.js';
import { resolveObjects, resolveParams } from './path.js';
import type { StrMap } from './types.js';
import { uniqueKeysOf } from './unique-keys.js';

/**
 * Parameters a ValueChange reference covers, with their values. Parameters reported as
 * VALUE_CHANGE_WILL_IGNORE (counters, uptime: activeNotify canDeny) never fire (GetSupportedDM).
 */
export function expandParams(view: CpeView, ref: string): Array<{ path: string; value: string; generated: boolean }> {
  const r = resolveParams(view, ref);
  if (!r.ok) return [];
  const out: Array<{ path: string; value: string; generated: boolean }> = [];
  for (const m of r.value) {
    if (m.node.activeNotify === 'canDeny') continue;
    out.push({ path: m.path, value: view.wireValue(m.node, m.path, m.inst), generated: m.node.gen !== undefined && !view.overlay?.values?.has(m.path) });
  }
  return out;
}

/**
 * Instances an ObjectCreation reference (a table: its rows) or ObjectDeletion reference
 * (instances, `*` for all) covers now.
 */
export function expandInstances(view: CpeView, ref: string, creation: boolean): string[] {
  const r = resolveObjects(view, ref);
  if (!r.ok) return [];
  const out: string[] = [];
  for (const o of r.value) {
    if (o.kind === 'row') out.push(o.path);
    else if (o.kind === 'table' && creation) for (const n of view.rows(o.node, o.path, o.inst)) out.push(`${o.path}${n}.`);
  }
  return out;
}

/** ObjectCreation's unique_keys of a new row. */
export function uniqueKeysOfRow(view: CpeView, rowPath: string): StrMap {
  const r = view.resolve(rowPath);
  if (!r || r.kind !== 'row') return {};
  return uniqueKeysOf(view, r.node, rowPath, r.inst);
}
