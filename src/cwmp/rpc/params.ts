// The TR-069 semantics of the parameter RPCs (TR-069 A.3.2): GetParameterValues/Names,
// SetParameterValues, Get/SetParameterAttributes, AddObject and DeleteObject as functions
// over a CPE's data model, with their 9xxx faults and ManagementServer.ParameterKey.
// CpeView supplies the protocol-neutral primitives (resolve, walk, checked writes,
// attribute storage, rows); this module decides what they mean to an ACS.
import type { Attr } from '../../datamodel/overlay.js';
import type { ObjectNode } from '../../datamodel/schema.js';
import type { CpeView, ParamRef, Refusal } from '../../datamodel/view.js';
import type { CwmpFault, ParameterAttribute, ParameterInfo, ParameterValue, SetParameterAttributesStruct, SetParameterValuesFault } from '../types.js';

export type Result<T> = { ok: true; value: T } | { ok: false; fault: CwmpFault };

const ok = <T>(value: T): Result<T> => ({ ok: true, value });
const fail = (code: number, message: string, spv?: SetParameterValuesFault[]): Result<never> => ({
  ok: false,
  fault: spv ? { code, message, setParameterValuesFaults: spv } : { code, message },
});

function walkNames(view: CpeView, obj: ObjectNode, prefix: string, inst: number[], atTable: boolean, out: ParameterInfo[]): void {
  if (atTable) {
    for (const n of view.rows(obj, prefix, inst)) {
      out.push({ name: `${prefix}${n}.`, writable: obj.writable });
      inst.push(n);
      walkNames(view, obj, `${prefix}${n}.`, inst, false, out);
      inst.pop();
    }
    return;
  }
  for (const child of obj.childList) {
    if (child.kind === 'param') {
      out.push({ name: prefix + child.name, writable: child.writable });
    } else {
      const p = `${prefix}${child.name}.`;
      out.push({ name: p, writable: child.multi && child.writable });
      walkNames(view, child, p, inst, child.multi, out);
    }
  }
}

/** Expand a name list (full and partial paths, "" = everything) to parameters. */
export function expandNames(view: CpeView, names: readonly string[]): Result<ParamRef[]> {
  const out: ParamRef[] = [];
  for (const name of names) {
    if (name === '') {
      view.params(undefined, out);
      continue;
    }
    const r = view.resolve(name);
    if (!r) return fail(9005, `Invalid parameter name: ${name}`);
    view.params(r, out);
  }
  return ok(out);
}

// ---- RPC semantics (TR-069 A.3.2) ----

export function getParameterValues(view: CpeView, names: readonly string[]): Result<ParameterValue[]> {
  const ex = expandNames(view, names);
  if (!ex.ok) return ex;
  return ok(ex.value.map(({ node, path, inst }) => ({ name: path, value: view.wireValue(node, path, inst), type: node.type })));
}

export function getParameterNames(view: CpeView, path: string, nextLevel: boolean): Result<ParameterInfo[]> {
  const root = view.template.root;
  if (path === '') {
    const out: ParameterInfo[] = [{ name: `${root.name}.`, writable: false }];
    if (!nextLevel) walkNames(view, root, `${root.name}.`, [], false, out);
    return ok(out);
  }
  const r = view.resolve(path);
  if (!r) return fail(9005, `Invalid parameter name: ${path}`);
  if (r.kind === 'param') {
    // TR-069 A.3.2.3: NextLevel true with a full parameter name is invalid
    if (nextLevel) return fail(9003, 'NextLevel is true but ParameterPath names a parameter');
    return ok([{ name: r.path, writable: r.node.writable }]);
  }
  const all: ParameterInfo[] = [];
  walkNames(view, r.node, r.path, r.inst.slice(), r.kind === 'table', all);
  if (!nextLevel) {
    const self: ParameterInfo = { name: r.path, writable: r.kind === 'table' || r.kind === 'row' ? r.node.writable : false };
    return ok([self, ...all]);
  }
  // Immediate children only: names one level below r.path.
  const depth = r.path.split('.').length;
  return ok(all.filter((i) => i.name.split('.').length === (i.name.endsWith('.') ? depth + 1 : depth)));
}

/** TR-069 A.3.2.1 fault codes of a refused write. */
function spvFault(name: string, refusal: Refusal): SetParameterValuesFault {
  switch (refusal.kind) {
    case 'unknown':
      return { name, code: 9005, message: 'Invalid parameter name' };
    case 'readOnly':
      return { name, code: 9008, message: 'Attempt to set a non-writable parameter' };
    case 'type':
      return { name, code: 9006, message: `Invalid parameter type: ${refusal.reason}` };
    case 'range':
      return { name, code: 9007, message: `Invalid parameter value: ${refusal.reason}` };
    default: {
      const never: never = refusal;
      return { name, code: 9002, message: `Internal error: ${JSON.stringify(never)}` };
    }
  }
}

export function setParameterValues(view: CpeView, params: readonly ParameterValue[], parameterKey: string): Result<0> {
  const seen = new Set<string>();
  for (const pv of params) {
    if (seen.has(pv.name)) return fail(9003, `Parameter ${pv.name} appears more than once`);
    seen.add(pv.name);
  }
  const refused = view.setValues(params.map((pv) => ({ path: pv.name, value: pv.value })));
  // TR-069 A.3.2.1: all or nothing; one SetParameterValuesFault per bad parameter
  if (refused.length > 0) return fail(9003, 'Invalid arguments', refused.map((r) => spvFault(params[r.index]!.name, r.refusal)));
  setParameterKey(view, parameterKey);
  return ok(0);
}

/** ManagementServer.ParameterKey follows every successful SetParameterValues, AddObject and DeleteObject. */
function setParameterKey(view: CpeView, key: string): void {
  view.deviceSet(`${view.template.rootName}.ManagementServer.ParameterKey`, key);
}

export function getParameterAttributes(view: CpeView, names: readonly string[]): Result<ParameterAttribute[]> {
  const ex = expandNames(view, names);
  if (!ex.ok) return ex;
  return ok(ex.value.map(({ node, path }) => {
    const a = view.attribute(node, path);
    return { name: path, notification: a.notification, accessList: a.accessList };
  }));
}

export function setParameterAttributes(view: CpeView, structs: readonly SetParameterAttributesStruct[]): Result<void> {
  const changes: Array<{ node: ParamRef['node']; path: string; attr: Attr }> = [];
  for (const s of structs) {
    const ex = expandNames(view, [s.name]);
    if (!ex.ok) return ex;
    if (s.notificationChange && !(s.notification >= 0 && s.notification <= 6)) return fail(9003, `Notification ${s.notification} is not 0..6`);
    if (s.accessListChange && s.accessList.some((a) => a !== 'Subscriber')) return fail(9003, 'AccessList may only hold "Subscriber"');
    for (const { node, path } of ex.value) {
      const cur = view.attribute(node, path);
      const next: Attr = {
        notification: s.notificationChange ? s.notification : cur.notification,
        accessList: s.accessListChange ? [...s.accessList] : cur.accessList,
      };
      if (s.notificationChange) {
        // TR-069 A.3.2.4 (docs/cwmp-behaviour.md): canDeny parameters may refuse active notification;
        // forceEnabled ones stay active whatever is asked.
        // Active kinds: 2 active, 5 active lightweight, 6 passive + active lightweight.
        if (node.activeNotify === 'canDeny' && (s.notification === 2 || s.notification === 5 || s.notification === 6)) {
          return fail(9009, `Notification request rejected: active notification is not allowed on ${path}`);
        }
        if (node.activeNotify === 'forceEnabled' && s.notification !== 2) {
          return fail(9009, `Notification request rejected: ${path} is always active`);
        }
      }
      changes.push({ node, path, attr: next });
    }
  }
  view.setAttributes(changes);
  return ok(undefined);
}

export function addObject(view: CpeView, objectName: string, parameterKey: string): Result<number> {
  const r = view.resolve(objectName);
  if (!r || r.kind !== 'table') return fail(9005, `Invalid parameter name: ${objectName} is not a table`);
  if (!r.node.writable) return fail(9005, `Invalid parameter name: rows of ${objectName} cannot be added`);
  const n = view.deviceAddRow(r.path, {})!;
  setParameterKey(view, parameterKey);
  return ok(n);
}

export function deleteObject(view: CpeView, objectName: string, parameterKey: string): Result<0> {
  const r = view.resolve(objectName);
  if (!r || r.kind !== 'row') return fail(9005, `Invalid parameter name: ${objectName} is not a row`);
  if (!r.node.writable) return fail(9005, `Invalid parameter name: rows of ${objectName.replace(/\d+\.$/, '')} cannot be deleted`);
  view.deviceDeleteRow(r.path);
  setParameterKey(view, parameterKey);
  return ok(0);
}
