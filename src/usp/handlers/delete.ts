// Delete (TR-369 "The Delete Message"): resolve and check every path first, delete second;
// with allow_partial=false a path naming something non-deletable or outside the supported
// data model is an Error and nothing is deleted (R-DEL.1). A valid path that matches no
// row is a success with no affected paths (R-DEL.2a). Rows are removed through
// CpeView.deviceDeleteRow, which never touches ManagementServer.ParameterKey.
import type { CpeView } from '../../datamodel/view.js';
import { resolvePath, walkObjects, type ObjectMatch } from '../path.js';
import type { DeletedObjectResult, ParamError } from '../types.js';
import type { UspChangeSink, UspHandler } from './handler.js';
import { writeFailed } from './set.js';

type Plan = { requested: string } & ({ ok: true; rows: ObjectMatch[] } | { ok: false; code: number; msg: string });

function plan(view: CpeView, requested: string): Plan {
  const failed = (code: number, msg: string): Plan => ({ requested, ok: false, code, msg });
  const r = resolvePath(view, requested);
  if (!r.ok) return failed(r.error.code, r.error.message);
  const { bound, objects } = r.value;
  const last = bound.steps[bound.steps.length - 1]!;
  // Delete takes instance paths and searches over a table's rows ("Device.NAT.PortMapping.*.").
  if (bound.target.kind !== 'object' || !last.node.multi || !last.sel) return failed(7018, `Not a table instance: ${requested}`);
  // obuspa USP_ERR_OBJECT_NOT_DELETABLE: a row of a table that is not writable (TR-369 7024 Delete failure).
  if (!last.node.writable) return failed(7024, `Delete failure: rows of ${last.node.path} cannot be deleted`);
  return { requested, ok: true, rows: objects };
}

/** Delete one row and tell the sink about it and every row inside it, innermost first. */
function deleteRow(view: CpeView, row: ObjectMatch, changes: UspChangeSink): boolean {
  if (!view.resolve(row.path)) return false; // gone with a parent deleted earlier in this message
  const inner: string[] = [];
  walkObjects(view, row, (m) => {
    if (m.kind === 'row' && m.path !== row.path) inner.push(m.path);
    return true;
  });
  if (!view.deviceDeleteRow(row.path)) return false;
  for (const p of inner.reverse()) changes.objectDeleted(p);
  changes.objectDeleted(row.path);
  return true;
}

export const handleDelete: UspHandler<'delete'> = (req, ctx) => {
  const plans = req.obj_paths.map((p) => plan(ctx.view, p));
  if (!req.allow_partial) {
    const errs: ParamError[] = plans.flatMap((p) => (p.ok ? [] : [{ param_path: p.requested, err_code: p.code, err_msg: p.msg }]));
    if (errs.length > 0) return writeFailed(errs);
  }
  const deleted_obj_results: DeletedObjectResult[] = plans.map((p) => {
    if (!p.ok) return { requested_path: p.requested, oper_status: { oper_status: 'oper_failure', oper_failure: { err_code: p.code, err_msg: p.msg } } };
    const affected_paths = p.rows.filter((row) => deleteRow(ctx.view, row, ctx.changes)).map((row) => row.path);
    return { requested_path: p.requested, oper_status: { oper_status: 'oper_success', oper_success: { affected_paths, unaffected_path_errs: [] } } };
  });
  return { kind: 'response', response: { resp_type: 'delete_resp', delete_resp: { deleted_obj_results } } };
};
