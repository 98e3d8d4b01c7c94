// Get (TR-369 "The Get Message"): one RequestedPathResult per requested
// path, one ResolvedPathResult per object, parameter names relative to it.
import type { CpeView } from '../../datamodel/view.js';
import { resolvePath, walkObjects, type ObjectMatch } from '../path.js';
import type { RequestedPathResult, ResolvedPathResult, StrMap } from '../types.js';
import { overAnswerCap, type UspHandler } from './handler.js';

/**
 * A Get names at most MAX_NAMES_PER_REQUEST paths and returns at most answerCap() values
 * (about four full data models): both are counted before anything is built, and past
 * either the Get fails with 7005 Resources exceeded instead of holding the shard and
 * publishing more than one MQTT packet carries.
 */
export const handleGet: UspHandler<'get'> = (req, ctx) => {
  const paths = req.param_paths;
  const over = overAnswerCap('Get', paths, ctx.view.template, 'return more than {cap} parameter values', (p, left) => countValues(ctx.view, p, req.max_depth, left));
  if (over) return over;
  return { kind: 'response', response: { resp_type: 'get_resp', get_resp: { req_path_results: paths.map((p) => getPath(ctx.view, p, req.max_depth)) } } };
};

/** The values getPath would return for `requested`, counted no further than `budget` + 1. */
function countValues(view: CpeView, requested: string, maxDepth: number, budget: number): number {
  const r = resolvePath(view, requested);
  if (!r.ok) return 0;
  const t = r.value.bound.target;
  if (t.kind === 'param') return r.value.objects.length;
  if (t.kind !== 'object') return 0;
  let n = 0;
  for (const o of r.value.objects) {
    walkObjects(view, o, (m, level) => {
      if (n > budget || (maxDepth > 0 && level > maxDepth)) return false;
      for (const c of m.node.childList) if (c.kind === 'param') n++;
      return true;
    });
    if (n > budget) break;
  }
  return n;
}

const failed = (requested_path: string, err_code: number, err_msg: string): RequestedPathResult => ({
  requested_path,
  err_code,
  err_msg,
  resolved_path_results: [],
});

/** The object's own parameters (not its sub-objects'), as a Controller reads them (hidden ones as ""). */
function paramsOf(view: CpeView, o: ObjectMatch): StrMap {
  const out: StrMap = {};
  for (const c of o.node.childList) if (c.kind === 'param') out[c.name] = view.wireValue(c, o.path + c.name, o.inst);
  return out;
}

function getPath(view: CpeView, requested: string, maxDepth: number): RequestedPathResult {
  // A bad path is an error inside its own result, never an Error message (R-GET.0).
  const r = resolvePath(view, requested);
  if (!r.ok) return failed(requested, r.error.code, r.error.message);
  const { bound, objects } = r.value;
  const t = bound.target;
  if (t.kind === 'command' || t.kind === 'event') return failed(requested, 7026, `Invalid path "${requested}": Get reads objects and parameters, not ${t.kind}s`);
  // R-GET.0: a path without wildcards or searches must name something that exists; a
  // search that matches nothing is an empty, successful result (R-GET.1a).
  if (!bound.parsed.search && objects.length === 0) return failed(requested, 7026, `Invalid path "${requested}": no such object instance`);
  const results: ResolvedPathResult[] = [];
  if (t.kind === 'param') {
    // R-GET.2, R-GET.3: the parent object, holding only that parameter.
    for (const o of objects) results.push({ resolved_path: o.path, result_params: { [t.node.name]: view.wireValue(t.node, o.path + t.node.name, o.inst) } });
  } else {
    for (const o of objects) {
      walkObjects(view, o, (m, level) => {
        // R-GET.5: max_depth 1 is the object's own parameters, 2 adds its sub-objects...
        if (maxDepth > 0 && level > maxDepth) return false;
        const params = paramsOf(view, m);
        if (Object.keys(params).length > 0) results.push({ resolved_path: m.path, result_params: params });
        return true;
      });
    }
  }
  return { requested_path: requested, err_code: 0, err_msg: '', resolved_path_results: results };
}
