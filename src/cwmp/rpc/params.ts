// The TR-069 semantics of the parameter RPCs (TR-069 A.3.2): GetParameterValues/Names,
// SetParameterValues, Get/SetParameterAttributes, AddObject and DeleteObject as functions
// over a CPE's data model, with their 9xxx faults and ManagementServer.ParameterKey.
// CpeView supplies the protocol-neutral primitives (resolve, walk, checked writes,
// attribute storage, rows); this module decides what they mean to an ACS.
import type { Attr } from '../../datamodel/overlay.js';
import type { ObjectNode } from '../../datamodel/schema.js';
import { answerCap, MAX_NAMES_PER_REQUEST } from '../../datamodel/limits.js';
import type { CpeView, ParamRef, Refusal, Resolved, WriteRule } from '../../datamodel/view.js';
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

/** TR-069 A.3.2.1, A.3.2.6, A.3.2.7: ParameterKey is a string(32) argument. */
export const MAX_PARAMETER_KEY_LENGTH = 32;

/**
 * AddObjects one session may run; past it each is answered 9004 (the CPE's tables would
 * otherwise grow without bound inside one session, and every later answer with them).
 */
export const MAX_ADD_OBJECTS_PER_SESSION = 256;

/**
 * Resolve a name list ("" = everything) and count what it expands to, before anything is
 * built: more names than MAX_NAMES_PER_REQUEST, or an answer over answerCap(), is 9004
 * Resources exceeded; a bad name is 9005. The count stops at the cap, so a request costs
 * at most the cap whatever it names.
 */
function planNames(view: CpeView, names: readonly string[]): Result<Array<Resolved | undefined>> {
  if (names.length > MAX_NAMES_PER_REQUEST) return fail(9004, `Resources exceeded: ${names.length} names in one request, at most ${MAX_NAMES_PER_REQUEST}`);
  const cap = answerCap(view.template);
  const roots: Array<Resolved | undefined> = [];
  let total = 0;
  for (const name of names) {
    let r: Resolved | undefined;
    if (name !== '') {
      r = view.resolve(name);
      if (!r) return fail(9005, `Invalid parameter name: ${name}`);
    }
    total += view.countBelow(r, cap - total);
    if (total > cap) return fail(9004, `Resources exceeded: the answer would carry more than ${cap} parameters`);
    roots.push(r);
  }
  return ok(roots);
}

/** Expand a name list (full and partial paths, "" = everything) to parameters, within the caps of planNames. */
export function expandNames(view: CpeView, names: readonly string[]): Result<ParamRef[]> {
  const plan = planNames(view, names);
  if (!plan.ok) return plan;
  const out: ParamRef[] = [];
  for (const r of plan.value) view.params(r, out);
  return ok(out);
}

/** A ParameterKey longer than string(32) is an invalid argument (9003); SetParameterValuesFault names parameters only. */
function badParameterKey(key: string): Result<never> | undefined {
  if (key.length <= MAX_PARAMETER_KEY_LENGTH) return undefined;
  return fail(9003, `Invalid arguments: ParameterKey is ${key.length} characters, at most ${MAX_PARAMETER_KEY_LENGTH}`);
}

// ---- RPC semantics (TR-069 A.3.2) ----

export function getParameterValues(view: CpeView, names: readonly string[]): Result<ParameterValue[]> {
  const ex = expandNames(view, names);
  if (!ex.ok) return ex;
  return ok(ex.value.map(({ node, path, inst }) => ({ name: path, value: view.wireValue(node, path, inst), type: node.type })));
}

export function getParameterNames(view: CpeView, path: string, nextLevel: boolean): Result<ParameterInfo[]> {
  const root = view.template.root;
  const cap = answerCap(view.template);
  const tooMany = () => fail(9004, `Resources exceeded: the answer would carry more than ${cap} names`);
  if (path === '') {
    const out: ParameterInfo[] = [{ name: `${root.name}.`, writable: false }];
    if (!nextLevel) {
      if (view.countBelow(undefined, cap - 1, true) > cap - 1) return tooMany();
      walkNames(view, root, `${root.name}.`, [], false, out);
    }
    return ok(out);
  }
  const r = view.resolve(path);
  if (!r) return fail(9005, `Invalid parameter name: ${path}`);
  if (r.kind === 'param') {
    // TR-069 A.3.2.3: NextLevel true with a full parameter name is invalid
    if (nextLevel) return fail(9003, 'NextLevel is true but ParameterPath names a parameter');
    return ok([{ name: r.path, writable: r.node.writable }]);
  }
  if (nextLevel) {
    // Immediate children only: a table's rows, an object's parameters and objects.
    const out: ParameterInfo[] = [];
    if (r.kind === 'table') {
      const rows = view.rows(r.node, r.path, r.inst);
      if (rows.length > cap) return tooMany();
      for (const n of rows) out.push({ name: `${r.path}${n}.`, writable: r.node.writable });
    } else {
      for (const c of r.node.childList) out.push(c.kind === 'param' ? { name: r.path + c.name, writable: c.writable } : { name: `${r.path}${c.name}.`, writable: c.multi && c.writable });
    }
    return ok(out);
  }
  if (view.countBelow(r, cap - 1, true) > cap - 1) return tooMany();
  const out: ParameterInfo[] = [{ name: r.path, writable: r.kind === 'table' || r.kind === 'row' ? r.node.writable : false }];
  walkNames(view, r.node, r.path, r.inst.slice(), r.kind === 'table', out);
  return ok(out);
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

export function setParameterValues(view: CpeView, params: readonly ParameterValue[], parameterKey: string, rule?: WriteRule): Result<0> {
  if (params.length > MAX_NAMES_PER_REQUEST) return fail(9004, `Resources exceeded: ${params.length} parameters in one request, at most ${MAX_NAMES_PER_REQUEST}`);
  const seen = new Set<string>();
  for (const pv of params) {
    if (seen.has(pv.name)) return fail(9003, `Parameter ${pv.name} appears more than once`);
    seen.add(pv.name);
  }
  // Checked before any write: the set is all or nothing (TR-069 A.3.2.1).
  const badKey = badParameterKey(parameterKey);
  if (badKey) return badKey;
  const refused = view.setValues(params.map((pv) => ({ path: pv.name, value: pv.value })), rule);
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
  if (structs.length > MAX_NAMES_PER_REQUEST) return fail(9004, `Resources exceeded: ${structs.length} names in one request, at most ${MAX_NAMES_PER_REQUEST}`);
  const changes: Array<{ node: ParamRef['node']; path: string; attr: Attr }> = [];
  // Every name counted together: the whole request is within the answer cap.
  const plan = planNames(view, structs.map((s) => s.name));
  if (!plan.ok) return plan;
  for (const [i, s] of structs.entries()) {
    const ex = { value: view.params(plan.value[i]) };
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
  const badKey = badParameterKey(parameterKey);
  if (badKey) return badKey;
  const r = view.resolve(objectName);
  if (!r || r.kind !== 'table') return fail(9005, `Invalid parameter name: ${objectName} is not a table`);
  if (!r.node.writable) return fail(9005, `Invalid parameter name: rows of ${objectName} cannot be added`);
  const n = view.deviceAddRow(r.path, {})!;
  setParameterKey(view, parameterKey);
  return ok(n);
}

export function deleteObject(view: CpeView, objectName: string, parameterKey: string): Result<0> {
  const badKey = badParameterKey(parameterKey);
  if (badKey) return badKey;
  const r = view.resolve(objectName);
  if (!r || r.kind !== 'row') return fail(9005, `Invalid parameter name: ${objectName} is not a row`);
  if (!r.node.writable) return fail(9005, `Invalid parameter name: rows of ${objectName.replace(/\d+\.$/, '')} cannot be deleted`);
  view.deviceDeleteRow(r.path);
  setParameterKey(view, parameterKey);
  return ok(0);
}
