// Set (TR-369 "The Set Message"): validate everything first, write second, so that a
// failure that fails the message (allow_partial=false, R-SET.1) leaves the data model
// untouched. Each obj_path is all-or-nothing across the instances it matches (R-SET.2a).
// Writes go through CpeView.deviceSet: USP never touches ManagementServer.ParameterKey.
import type { ParamNode } from '../../datamodel/schema.js';
import { checkWrite, type CpeView } from '../../datamodel/view.js';
import { bindPath, parsePath, resolvePath, type ObjectMatch } from '../path.js';
import type { ParamError, ParameterError, StrMap, UpdatedInstanceFailure, UpdatedInstanceResult, UpdatedObjectResult, UpdateObject } from '../types.js';
import { keyConflict, keyValuesOf, uniqueKeyParams } from '../unique-keys.js';
import { uspError, type HandlerResult, type UspHandler } from './handler.js';

/** Schema path of the Subscription rows (concrete row paths start with subscriptions.ts's SUBSCRIPTION_TABLE). */
export const SUBSCRIPTION_SCHEMA = 'Device.LocalAgent.Subscription.{i}.';

/**
 * The Error for an Add, Set or Delete with allow_partial=false that failed: nothing was
 * applied, param_errs say what failed and why. The outer code is 7004, which TR-369 defines
 * as "invalid values in the Request and/or failure to update one or more parameters
 * during an Add or Set" (obuspa ERROR_RESP_CalcOuterErrCode does the same).
 */
export function writeFailed(param_errs: ParamError[]): HandlerResult {
  const first = param_errs[0];
  return uspError(7004, `Invalid arguments: ${first ? `${first.param_path}: ${first.err_msg}` : 'nothing applied'}`, param_errs);
}

export interface Write { node: ParamNode; rel: string; path: string; value: string }

/**
 * Check one parameter setting of object `o` (an existing object, or a row Add is about to
 * create). `rel` may go through single-instance sub-objects ("MQTT.Reference").
 */
/** The TR-143 test objects of TR-181 (Device.IP.Diagnostics.IPPing. ...). */
const DIAG_OBJECT = /^Device\.IP\.Diagnostics\.(IPPing|TraceRoute|DownloadDiagnostics|UploadDiagnostics|UDPEchoDiagnostics|ServerSelectionDiagnostics)\.$/;

export function checkSetting(view: CpeView, o: ObjectMatch, rel: string, value: string): { ok: true; write: Write } | { ok: false; err: ParameterError } {
  const err = (err_code: number, err_msg: string) => ({ ok: false as const, err: { param: rel, err_code, err_msg } });
  const names = rel.split('.');
  let obj = o.node;
  for (const n of names.slice(0, -1)) {
    const c = obj.children.get(n);
    if (c?.kind !== 'object' || c.multi) return err(7010, `Unsupported parameter: ${o.path}${rel}`);
    obj = c;
  }
  const p = obj.children.get(names[names.length - 1]!);
  if (p?.kind !== 'param') return err(7010, `Unsupported parameter: ${o.path}${rel}`);
  const check = checkWrite(p, value);
  if (!check.ok) {
    const r = check.refusal;
    if (r.kind === 'type') return err(7011, `Invalid type: ${r.reason}`);
    if (r.kind === 'range') return err(7012, `Invalid value: ${r.reason}`);
    // readOnly ('unknown' never comes back for a node that exists)
    return err(7013, `Attempt to update a non-writeable parameter: ${o.path}${rel}`);
  }
  const v = check.value;
  const path = o.path + rel;
  // TR-143 tests run over USP as commands (Device.IP.Diagnostics.IPPing() ...); the CWMP way of
  // writing DiagnosticsState = Requested has no session end to run after (docs/diagnostics.md).
  if (rel === 'DiagnosticsState' && DIAG_OBJECT.test(o.path)) {
    return err(7013, `Attempt to update a non-writeable parameter: ${path} is written over CWMP only; over USP run ${o.path.slice(0, -1)}() instead`);
  }
  if (o.node.path === SUBSCRIPTION_SCHEMA) {
    // TR-181 Subscription.{i}.ID is string(1:64): it identifies the subscription in Notify.
    if (rel === 'ID' && v === '') return err(7012, 'Invalid value: ID must be 1 to 64 characters');
    // ReferenceList is immutable once set (TR-181 Subscription.{i}). From then on it behaves as a
    // writeOnceReadOnly parameter (TR-369 "writeOnceReadOnly Parameter Access": the Set is
    // rejected), and 7013 is TR-369's code for updating a parameter that is not writeable.
    if (rel === 'ReferenceList') {
      const cur = view.rawValue(p, path, o.inst);
      if (cur !== '' && cur !== v) return err(7013, 'Attempt to update a non-writeable parameter: ReferenceList cannot change once set');
      // Every entry must be a path of the supported data model (obuspa validates the list too).
      for (const ref of v.split(',').map((x) => x.trim()).filter((x) => x !== '')) {
        const parsed = parsePath(ref);
        const bound = parsed.ok ? bindPath(view.template, parsed.value) : parsed;
        if (!bound.ok) return err(7012, `Invalid value: ReferenceList entry "${ref}": ${bound.error.message}`);
      }
    }
  }
  return { ok: true, write: { node: p, rel, path, value: v } };
}

interface InstPlan { obj: ObjectMatch; writes: Write[]; errs: ParameterError[] }
type ObjPlan =
  | { ok: true; requested: string; insts: InstPlan[] }
  | { ok: false; requested: string; code: number; msg: string; failures: UpdatedInstanceFailure[] };

/** Plan one UpdateObject; `pending` holds the values earlier UpdateObjects will write. */
function planObject(view: CpeView, u: UpdateObject, pending: Map<string, string>): ObjPlan {
  const failed = (code: number, msg: string, failures: UpdatedInstanceFailure[] = []): ObjPlan => ({ ok: false, requested: u.obj_path, code, msg, failures });
  const r = resolvePath(view, u.obj_path);
  if (!r.ok) return failed(r.error.code, r.error.message);
  const { bound, objects } = r.value;
  const last = bound.steps[bound.steps.length - 1]!;
  if (bound.target.kind !== 'object') return failed(7026, `Invalid path "${u.obj_path}": Set takes an object path, parameters go in param_settings`);
  if (last.node.multi && !last.sel) return failed(7026, `Invalid path "${u.obj_path}": a table has no parameters; name its instances`);
  if (!bound.parsed.search && objects.length === 0) return failed(7016, `Object does not exist: ${u.obj_path}`);
  const local = new Map(pending);
  const insts: InstPlan[] = [];
  const failures: UpdatedInstanceFailure[] = [];
  for (const o of objects) {
    const writes: Write[] = [];
    const errs: ParameterError[] = [];
    let requiredFailed = false;
    for (const s of u.param_settings) {
      const c = checkSetting(view, o, s.param, s.value);
      if (c.ok) {
        writes.push(c.write);
      } else {
        errs.push(c.err);
        requiredFailed ||= s.required;
      }
    }
    // TR-369 7025: keys may not be set to values another row has. Checked against the
    // values after this message ("Key Parameters need only to have unique values after
    // the whole Message has been processed"); a conflict fails the instance.
    const conflict = o.kind === 'row' ? keyClash(view, o, writes, local) : undefined;
    if (conflict) {
      const param = writes.find((w) => conflict.includes(w.rel))?.rel ?? conflict[0]!;
      errs.push({ param, err_code: 7025, err_msg: `Object exists with duplicate unique key (${conflict.join(', ')})` });
      requiredFailed = true;
    }
    if (requiredFailed) failures.push({ affected_path: o.path, param_errs: errs });
    else {
      for (const w of writes) local.set(w.path, w.value);
      insts.push({ obj: o, writes, errs });
    }
  }
  if (failures.length > 0) return failed(7021, `Required parameter failed on ${failures.map((f) => f.affected_path).join(', ')}`, failures);
  for (const [k, v] of local) pending.set(k, v);
  return { ok: true, requested: u.obj_path, insts };
}

function keyClash(view: CpeView, o: ObjectMatch, writes: readonly Write[], pending: ReadonlyMap<string, string>): string[] | undefined {
  const keys = uniqueKeyParams(o.node);
  if (!writes.some((w) => keys.includes(w.rel))) return undefined;
  const mine = new Map(writes.map((w) => [w.rel, w.value]));
  const candidate = keyValuesOf(view, o.node, o.path, o.inst, (n) => mine.get(n) ?? pending.get(o.path + n));
  const tablePath = o.path.slice(0, o.path.length - `${o.inst[o.inst.length - 1]}.`.length);
  const others: StrMap[] = [];
  for (const n of view.rows(o.node, tablePath, o.inst.slice(0, -1))) {
    const rowPath = `${tablePath}${n}.`;
    if (rowPath !== o.path) others.push(keyValuesOf(view, o.node, rowPath, [...o.inst.slice(0, -1), n], (k) => pending.get(rowPath + k)));
  }
  return keyConflict(o.node, candidate, others);
}

export const handleSet: UspHandler<'set'> = (req, ctx) => {
  const view = ctx.view;
  const pending = new Map<string, string>();
  const plans = req.update_objs.map((u) => planObject(view, u, pending));
  if (!req.allow_partial) {
    const errs: ParamError[] = [];
    for (const p of plans) {
      if (p.ok) continue;
      if (p.failures.length === 0) errs.push({ param_path: p.requested, err_code: p.code, err_msg: p.msg });
      for (const f of p.failures) for (const e of f.param_errs) errs.push({ param_path: f.affected_path + e.param, err_code: e.err_code, err_msg: e.err_msg });
    }
    if (errs.length > 0) return writeFailed(errs);
  }
  const updated_obj_results: UpdatedObjectResult[] = plans.map((p) => {
    if (!p.ok) return { requested_path: p.requested, oper_status: { oper_status: 'oper_failure', oper_failure: { err_code: p.code, err_msg: p.msg, updated_inst_failures: p.failures } } };
    const updated_inst_results: UpdatedInstanceResult[] = p.insts.map((i) => {
      const updated_params: StrMap = {};
      for (const w of i.writes) {
        const before = view.rawValue(w.node, w.path, i.obj.inst);
        view.deviceSet(w.path, w.value);
        // Only a real transition is a change (TR-369 ValueChange); setting the same value is not.
        if (before !== w.value) ctx.changes.valueSet(w.path, w.value);
        updated_params[w.rel] = w.node.hidden ? '' : w.value;
      }
      return { affected_path: i.obj.path, param_errs: i.errs, updated_params };
    });
    return { requested_path: p.requested, oper_status: { oper_status: 'oper_success', oper_success: { updated_inst_results } } };
  });
  return { kind: 'response', response: { resp_type: 'set_resp', set_resp: { updated_obj_results } } };
};
