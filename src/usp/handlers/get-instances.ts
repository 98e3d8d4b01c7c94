// GetInstances (TR-369 "The GetInstances Message"): the rows of the tables a path names,
// with their unique keys; with first_level_only false, the rows of every table below too.
// A single-instance object path ("Device.LocalAgent.") answers with the rows of the tables
// below it (only the tables directly under it with first_level_only), as obuspa does.
import type { CpeView } from '../../datamodel/view.js';
import { resolvePath, walkObjects, type ObjectMatch } from '../path.js';
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

/**
 * Walk the rows GetInstances answers with for `o` (a row, or a single-instance object
 * when `single`); `row` returns false to stop. first_level_only: a table path's own rows,
 * or the rows of the tables directly under a single-instance object.
 */
function eachRow(view: CpeView, o: ObjectMatch, firstLevelOnly: boolean, row: (m: ObjectMatch) => boolean): void {
  walkObjects(view, o, (m, level) => {
    if (m.kind === 'row' && !row(m)) return false;
    // The requested single-instance object itself is always entered.
    if (m.kind === 'object' && level === 1) return true;
    return !firstLevelOnly;
  });
}

/** The instances instancesOf would return for `requested`, counted no further than `budget` + 1. */
function countRows(view: CpeView, requested: string, firstLevelOnly: boolean, budget: number): number {
  const r = resolvePath(view, requested);
  // Paths instancesOf answers with an error carry no instances.
  if (!r.ok || r.value.bound.target.kind !== 'object') return 0;
  let n = 0;
  for (const o of r.value.objects) {
    eachRow(view, o, firstLevelOnly, () => ++n <= budget);
    if (n > budget) break;
  }
  return n;
}

function instancesOf(view: CpeView, requested: string, firstLevelOnly: boolean): GetInstancesPathResult {
  const failed = (err_code: number, err_msg: string): GetInstancesPathResult => ({ requested_path: requested, err_code, err_msg, curr_insts: [] });
  const r = resolvePath(view, requested);
  if (!r.ok) return failed(r.error.code, r.error.message);
  const { bound, objects } = r.value;
  // The path names an object: a table ("Device.WiFi.SSID."), rows of one ("Device.WiFi.SSID.*."),
  // or a single-instance object whose tables below are listed.
  if (bound.target.kind !== 'object') return failed(7018, `"${requested}" is not an object path`);
  // As for Get (R-GET.0): an instance path that names no row is an invalid path.
  if (!bound.parsed.search && objects.length === 0) return failed(7026, `Invalid path "${requested}": no such object instance`);
  const curr_insts: CurrInstance[] = [];
  for (const o of objects) {
    eachRow(view, o, firstLevelOnly, (m) => {
      curr_insts.push({ instantiated_obj_path: m.path, unique_keys: uniqueKeysOf(view, m.node, m.path, m.inst) });
      return true;
    });
  }
  return { requested_path: requested, err_code: 0, err_msg: '', curr_insts };
}
