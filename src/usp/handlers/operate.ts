// Operate (TR-369 "Operate", R-OPR.1): the command path may name several objects
// (wildcard, search); each gets one OperationResult. A failing command is a cmd_failure
// in its result, never an Error message; only a path that names no supported command
// at all (7026) or bad syntax (7008) fails the whole message.
import { resolveCommands } from '../path.js';
import type { OperationResult } from '../types.js';
import { uspError, type UspHandler } from './handler.js';

export const handleOperate: UspHandler<'operate'> = (req, ctx) => {
  const r = resolveCommands(ctx.view, req.command);
  if (!r.ok) return uspError(r.error.code, r.error.message);
  const results: OperationResult[] = [];
  for (const m of r.value) {
    // TR-369 R-OPR.6: an unrecognized input argument is ignored, the command still runs
    // (a controller may send vendor or newer-TR-181 arguments). Missing mandatory ones
    // are the command's 7027 (R-OPR.5).
    const args: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.input_args)) if (argKnown(m.def.input, k)) args[k] = v;
    const out = ctx.commands.run(m.path, req.command_key, args, req.send_resp);
    switch (out.kind) {
      case 'output':
        results.push({ executed_command: m.path, operation_resp: 'req_output_args', req_output_args: { output_args: out.outputArgs } });
        break;
      case 'async':
        results.push({ executed_command: m.path, operation_resp: 'req_obj_path', req_obj_path: out.requestPath });
        break;
      case 'failure':
        results.push({ executed_command: m.path, operation_resp: 'cmd_failure', cmd_failure: { err_code: out.errCode, err_msg: out.errMsg } });
        break;
      default: {
        const never: never = out;
        throw new Error(`unknown command outcome ${JSON.stringify(never)}`);
      }
    }
  }
  return { kind: 'response', response: { resp_type: 'operate_resp', operate_resp: { operation_results: results } } };
};

/** An input name like "TimeWindow.1.Start" matches the declared "TimeWindow.{i}.Start". */
function argKnown(declared: readonly string[], name: string): boolean {
  const schema = name.replace(/\.\d+\./g, '.{i}.');
  return declared.includes(name) || declared.includes(schema);
}
