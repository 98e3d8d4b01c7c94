// GetInstances (TR-369 "The GetInstances Message"): the rows of the tables a path names,
// with their unique keys; with first_level_only false, the rows of every table below too.
import type { CpeView } from '../../datamodel/view.js';
import { resolvePath, walkObjects } from '../path.js';
import type { CurrInstance, GetInstancesPathResult } from '../types.js';
import { uniqueKeysOf } from '../unique-keys.js';
import { overAnswerCap, type UspHandler } from './handler.js';

/** At most MAX_NAMES_PER_REQUEST paths and answerCap() instances, counted before the answer is built (7005). */
export const handleGetInstances: UspHandler<'get_instances'> = (req, ctx) => {
  const paths = req.obj_paths;
  const over = overAnswerCap('GetInstances', paths, ctx.view.template, 'return more than {cap} instances', (p, left) => countRows(ctx.view, p, req.first_level_only, left));
  if (over) return over;
  return {
    kind: 'response',
    response: { resp_type: 'get_instances_resp', get_instances_resp: { req_path_results: paths.map((p) => instancesOf(ctx.view, p, req.first_level_only)) } },
  };
};

/** The instances instancesOf would return for `requested`, counted no further than `budget` + 1. */
function countRows(view: CpeView, requested: string, firstLevelOnly: boolean, budget: number): number {
  const r = resolvePath(view, requested);
  // Paths instancesOf answers with an error carry no instances.
  if (!r.ok || r.value.bound.target.kind !== 'object' || !r.value.bound.steps[r.value.bound.steps.length - 1]!.node.multi) return 0;
  let n = 0;
  for (const o of r.value.objects) {
    walkObjects(view, o, (m) => {
      if (m.kind === 'row') n++;
      return n <= budget && !firstLevelOnly;
    });
    if (n > budget) break;
  }
  return n;
}

function instancesOf(view: CpeView, requested: string, firstLevelOnly: boolean): GetInstancesPathResult {
  const failed = (err_code: number, err_msg: string): GetInstancesPathResult => ({ requested_path: requested, err_code, err_msg, curr_insts: [] });
  const r = resolvePath(view, requested);
  if (!r.ok) return failed(r.error.code, r.error.message);
  const { bound, objects } = r.value;
  const last = bound.steps[bound.steps.length - 1]!.node;
  // The path names a table ("Device.WiFi.SSID.") or rows of one ("Device.WiFi.SSID.*.").
  if (bound.target.kind !== 'object' || !last.multi) return failed(7018, `"${requested}" is not a multi-instance object`);
  // As for Get (R-GET.0): an instance path that names no row is an invalid path.
  if (!bound.parsed.search && objects.length === 0) return failed(7026, `Invalid path "${requested}": no such object instance`);
  const curr_insts: CurrInstance[] = [];
  for (const o of objects) {
    walkObjects(view, o, (m) => {
      if (m.kind === 'row') curr_insts.push({ instantiated_obj_path: m.path, unique_keys: uniqueKeysOf(view, m.node, m.path, m.inst) });
      return !firstLevelOnly;
    });
  }
  return { requested_path: requested, err_code: 0, err_msg: '', curr_insts };
}
