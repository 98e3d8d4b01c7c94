// Add (TR-369 "The Add Message"): validate every new row first (its number, defaults,
// param_settings and unique keys), create second; with allow_partial=false any failure
// is an Error and nothing is created (R-ADD.1, R-ADD.2a). Rows are created through
// CpeView.deviceAddRow, which never touches ManagementServer.ParameterKey (that is CWMP's).
import { isoSeconds } from '../../datamodel/datetime.js';
import type { CpeView } from '../../datamodel/view.js';
import { resolvePath, type ObjectMatch } from '../path.js';
import type { AddResp, CreatedObjectResult, CreateObject, ParamError, ParameterError, StrMap } from '../types.js';
import { keyConflict, keyValuesOf, uniqueKeyParams, uniqueKeysOf } from '../unique-keys.js';
import type { UspContext, UspHandler } from './handler.js';
import { SUBSCRIPTION_SCHEMA, checkSetting, writeFailed } from './set.js';

interface RowPlan { table: ObjectMatch; row: ObjectMatch; values: Map<string, string>; errs: ParameterError[] }
/** A failed plan may name the parameter that failed it, for the Error's param_errs. */
type Plan = { requested: string } & ({ ok: true; row: RowPlan } | { ok: false; code: number; msg: string; param?: ParamError });


export const MAX_SUBSCRIPTIONS = 64;

/** Table path -> key values of the rows this message has already planned there. */
type Planned = Map<string, StrMap[]>;

function planRow(ctx: UspContext, c: CreateObject, t: ObjectMatch, next: Map<string, number>, planned: Planned): Plan {
  const view = ctx.view;
  const failed = (code: number, msg: string, param?: ParamError): Plan => ({ requested: c.obj_path, ok: false, code, msg, ...(param ? { param } : {}) });
  // Rows get the table's next number; numbers are never reused (TR-369 R-ARC.8).
  const n = next.get(t.path) ?? view.peekNextRow(t.path);
  if (n === undefined) return failed(7003, `Internal error: no row counter for ${t.path}`);
  // Each subscription costs the agent a watch: a bound keeps one controller from
  // growing an agent without limit (TR-369 7005 Resources exceeded).
  if (t.node.path === SUBSCRIPTION_SCHEMA && view.rows(t.node, t.path, t.inst).length + (planned.get(t.path)?.length ?? 0) >= MAX_SUBSCRIPTIONS) {
    return failed(7005, `Resources exceeded: at most ${MAX_SUBSCRIPTIONS} subscriptions per agent`);
  }
  const row: ObjectMatch = { kind: 'row', node: t.node, path: `${t.path}${n}.`, inst: [...t.inst, n] };
  const keys = uniqueKeyParams(t.node);
  const values = new Map<string, string>();
  const errs: ParameterError[] = [];
  for (const s of c.param_settings) {
    const r = checkSetting(view, row, s.param, s.value);
    if (r.ok) {
      values.set(s.param, r.write.value);
      continue;
    }
    // R-ADD.3; and unique key parameters count as required whatever `required` says.
    if (s.required || keys.includes(s.param)) {
      const param = { param_path: c.obj_path + s.param, err_code: r.err.err_code, err_msg: r.err.err_msg };
      return failed(7021, `Required parameter failed: ${s.param}: ${r.err.err_msg} (${r.err.err_code})`, param);
    }
    errs.push(r.err);
  }
  if (t.node.path === SUBSCRIPTION_SCHEMA) {
    // The agent fills in who subscribed and when (Recipient, CreationDate); ID, the other half
    // of the (Recipient, ID) key, is made up when the Controller left it out (R-ADD.5).
    values.set('Recipient', ctx.controllerRef);
    values.set('CreationDate', isoSeconds(ctx.now));
    if (!values.get('ID')) values.set('ID', `${n}-${ctx.now.toString(16)}`);
  }
  const candidate = keyValuesOf(view, t.node, row.path, row.inst, (k) => values.get(k));
  const others = [...(planned.get(t.path) ?? [])];
  for (const m of view.rows(t.node, t.path, t.inst)) others.push(keyValuesOf(view, t.node, `${t.path}${m}.`, [...t.inst, m]));
  const clash = keyConflict(t.node, candidate, others);
  if (clash) return failed(7025, `Object exists with duplicate unique key (${clash.join(', ')}) in ${t.path}`);
  next.set(t.path, n + 1);
  planned.set(t.path, [...(planned.get(t.path) ?? []), candidate]);
  return { requested: c.obj_path, ok: true, row: { table: t, row, values, errs } };
}

function planCreate(ctx: UspContext, c: CreateObject, next: Map<string, number>, planned: Planned): Plan[] {
  const failed = (code: number, msg: string): Plan[] => [{ requested: c.obj_path, ok: false, code, msg }];
  const r = resolvePath(ctx.view, c.obj_path);
  if (!r.ok) return failed(r.error.code, r.error.message);
  const { bound, objects } = r.value;
  const last = bound.steps[bound.steps.length - 1]!;
  if (bound.target.kind !== 'object' || !last.node.multi || last.sel) return failed(7018, `Object is not a table: ${c.obj_path}`);
  if (!last.node.writable) return failed(7019, `Attempt to create a non-creatable object: ${last.node.path}`);
  // The table exists only inside existing parent rows (a search may match several, TR-369 1.3).
  if (objects.length === 0) return failed(7016, `Object does not exist: ${c.obj_path}`);
  return objects.map((t) => planRow(ctx, c, t, next, planned));
}

export const handleAdd: UspHandler<'add'> = (req, ctx) => {
  const view: CpeView = ctx.view;
  const next = new Map<string, number>();
  const planned: Planned = new Map();
  const plans = req.create_objs.flatMap((c) => planCreate(ctx, c, next, planned));
  if (!req.allow_partial) {
    const errs: ParamError[] = plans.flatMap((p) => (p.ok ? [] : [p.param ?? { param_path: p.requested, err_code: p.code, err_msg: p.msg }]));
    if (errs.length > 0) return writeFailed(errs);
  }
  const created_obj_results: CreatedObjectResult[] = plans.map((p) => {
    if (!p.ok) return { requested_path: p.requested, oper_status: { oper_status: 'oper_failure', oper_failure: { err_code: p.code, err_msg: p.msg } } };
    const { table, values, errs } = p.row;
    const n = view.deviceAddRow(table.path, Object.fromEntries(values));
    if (n === undefined) return { requested_path: p.requested, oper_status: { oper_status: 'oper_failure', oper_failure: { err_code: 7017, err_msg: `Object could not be created in ${table.path}` } } };
    const instantiated_path = `${table.path}${n}.`;
    const unique_keys = uniqueKeysOf(view, table.node, instantiated_path, [...table.inst, n]);
    ctx.changes.objectCreated(instantiated_path, unique_keys);
    return { requested_path: p.requested, oper_status: { oper_status: 'oper_success', oper_success: { instantiated_path, param_errs: errs, unique_keys } } };
  });
  const add_resp: AddResp = { created_obj_results };
  return { kind: 'response', response: { resp_type: 'add_resp', add_resp } };
};
