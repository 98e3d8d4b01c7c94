// GetSupportedDM (TR-369 "The GetSupportedDM Message"): the Supported Data Model (the
// profile's template), paths in `{i}` notation. Object paths may be given in Supported
// Data Model notation ("Device.WiFi.Radio.{i}."), with the final "{i}." left out
// ("Device.WiFi.Radio."), or as instantiated paths of existing objects ("Device.WiFi.Radio.1.").
// Parameter, command and event paths are not accepted here (7026).
import type { ObjectNode, ParamNode, Template } from '../../datamodel/schema.js';
import type { XsdType } from '../../datamodel/values.js';
import type { CpeView } from '../../datamodel/view.js';
import { commandsOf, eventsOf } from '../supported.js';
import type { GetSupportedDM, ParamValueType, RequestedObjectResult, SupportedObjectResult, SupportedParamResult } from '../types.js';
import { uniqueKeySets } from '../unique-keys.js';
import { overAnswerCap, type UspHandler } from './handler.js';

export const TR181_DATA_MODEL_URI = 'urn:broadband-forum-org:tr-181-2-16-0';

/**
 * At most MAX_NAMES_PER_REQUEST obj_paths and answerCap() supported objects and
 * parameters in all, counted on the template before the answer is built (7005): a
 * GetSupportedDM of "Device." repeated echoes the whole model each time.
 */
export const handleGetSupportedDM: UspHandler<'get_supported_dm'> = (req, ctx) => {
  const paths = req.obj_paths;
  const over = overAnswerCap('GetSupportedDM', paths, ctx.view.template, 'describe more than {cap} objects and parameters', (p) => {
    const found = findObject(ctx.view, p);
    return 'node' in found ? supportedSize(found.node, req) : 0;
  });
  if (over) return over;
  return {
    kind: 'response',
    response: { resp_type: 'get_supported_dm_resp', get_supported_dm_resp: { req_obj_results: paths.map((p) => supportedOf(ctx.view, p, req)) } },
  };
};

/** Objects and parameters below each template object (itself included), computed once per template. */
const subtreeSizes = new WeakMap<ObjectNode, { objects: number; params: number }>();

function subtree(node: ObjectNode): { objects: number; params: number } {
  let s = subtreeSizes.get(node);
  if (!s) {
    s = { objects: 1, params: 0 };
    for (const c of node.childList) {
      if (c.kind === 'param') s.params++;
      else {
        const k = subtree(c);
        s.objects += k.objects;
        s.params += k.params;
      }
    }
    subtreeSizes.set(node, s);
  }
  return s;
}

/** How many objects (and parameters, with return_params) supportedOf reports for `node`. */
function supportedSize(node: ObjectNode, req: GetSupportedDM): number {
  if (req.first_level_only) {
    const own = node.childList.filter((c) => c.kind === 'param').length;
    return 1 + node.childList.filter((c) => c.kind === 'object').length + (req.return_params ? own : 0);
  }
  const s = subtree(node);
  return s.objects + (req.return_params ? s.params : 0);
}

const VALUE_TYPES: Record<XsdType, ParamValueType> = {
  string: 'PARAM_STRING',
  boolean: 'PARAM_BOOLEAN',
  int: 'PARAM_INT',
  unsignedInt: 'PARAM_UNSIGNED_INT',
  long: 'PARAM_LONG',
  unsignedLong: 'PARAM_UNSIGNED_LONG',
  dateTime: 'PARAM_DATE_TIME',
  base64: 'PARAM_BASE_64',
  hexBinary: 'PARAM_HEX_BINARY',
};

function paramResult(p: ParamNode): SupportedParamResult {
  return {
    param_name: p.name,
    access: p.writable ? 'PARAM_READ_WRITE' : 'PARAM_READ_ONLY',
    value_type: VALUE_TYPES[p.type],
    // Parameters that may deny active notification (counters, uptimes) are the ones a
    // ValueChange subscription is ignored for (docs/usp-behaviour.md "Subscriptions").
    value_change: p.activeNotify === 'canDeny' ? 'VALUE_CHANGE_WILL_IGNORE' : 'VALUE_CHANGE_ALLOWED',
  };
}

/** `details` false: a first_level_only child, reported without params, commands or events. */
function objectResult(tpl: Template, node: ObjectNode, req: GetSupportedDM, details: boolean): SupportedObjectResult {
  return {
    supported_obj_path: node.path,
    access: node.multi && node.writable ? 'OBJ_ADD_DELETE' : 'OBJ_READ_ONLY',
    is_multi_instance: node.multi,
    supported_commands: details && req.return_commands
      ? commandsOf(tpl, node.path).map((c) => ({
        command_name: c.name,
        input_arg_names: [...c.input],
        output_arg_names: [...c.output],
        command_type: c.type === 'sync' ? 'CMD_SYNC' : 'CMD_ASYNC',
      }))
      : [],
    supported_events: details && req.return_events ? eventsOf(tpl, node.path).map((e) => ({ event_name: e.name, arg_names: [...e.args] })) : [],
    supported_params: details && req.return_params ? node.childList.filter((c): c is ParamNode => c.kind === 'param').map(paramResult) : [],
    divergent_paths: [],
    unique_key_sets: req.return_unique_key_sets ? uniqueKeySets(node).map((key_names) => ({ key_names })) : [],
  };
}

/** The object node an object path names in any of the accepted notations. */
function findObject(view: CpeView, path: string): { node: ObjectNode } | { code: number; message: string } {
  const syntax = (why: string) => ({ code: 7008, message: `Invalid path syntax "${path}": ${why}` });
  const invalid = (why: string) => ({ code: 7026, message: `Invalid path "${path}": ${why}` });
  if (!path.endsWith('.')) return invalid('GetSupportedDM takes object paths (ending in ".")');
  const segs = path.slice(0, -1).split('.');
  const root = view.template.root;
  if (segs[0] !== root.name) return invalid(`the root object is ${root.name}.`);
  let cur = root;
  let atRow = false;
  let sawSchema = false;
  let sawInstance = false;
  for (const seg of segs.slice(1)) {
    if (seg === '{i}' || /^\d+$/.test(seg)) {
      if (!cur.multi || atRow) return invalid(`${cur.path} is not a table`);
      if (seg === '{i}') sawSchema = true;
      else if (sawSchema) return syntax('"{i}" may not be followed by an instance number');
      else if (!/^[1-9]\d{0,9}$/.test(seg)) return syntax(`bad instance number ${seg}`);
      else sawInstance = true;
      atRow = true;
      continue;
    }
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(seg)) return syntax(`"${seg}" is not a name`);
    if (cur.multi && !atRow) return invalid(`${cur.path} is a table: "{i}." or an instance number comes before ${seg}`);
    const c = cur.children.get(seg);
    if (!c || c.kind !== 'object') return invalid(`${seg} is not an object of ${cur.path}`);
    cur = c;
    atRow = false;
  }
  // An instantiated path is answered for an object that exists (TR-369 GetSupportedDM).
  if (sawInstance) {
    const last = segs.findLastIndex((s) => /^\d+$/.test(s));
    const instance = `${segs.slice(0, last + 1).join('.')}.`;
    if (!view.resolve(instance)) return { code: 7016, message: `Object ${instance} does not exist` };
  }
  return { node: cur };
}

function supportedOf(view: CpeView, requested: string, req: GetSupportedDM): RequestedObjectResult {
  const tpl = view.template;
  const uri = tpl.root.name === 'Device' ? TR181_DATA_MODEL_URI : '';
  const found = findObject(view, requested);
  if (!('node' in found)) return { req_obj_path: requested, err_code: found.code, err_msg: found.message, data_model_inst_uri: '', supported_objs: [] };
  const supported_objs: SupportedObjectResult[] = [objectResult(tpl, found.node, req, true)];
  const walk = (node: ObjectNode): void => {
    for (const c of node.childList) {
      if (c.kind !== 'object') continue;
      supported_objs.push(objectResult(tpl, c, req, !req.first_level_only));
      if (!req.first_level_only) walk(c);
    }
  };
  walk(found.node);
  return { req_obj_path: requested, err_code: 0, err_msg: '', data_model_inst_uri: uri, supported_objs };
}
