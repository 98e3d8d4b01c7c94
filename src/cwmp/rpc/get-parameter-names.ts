import type { RpcHandler } from './handler.js';
import * as params from './params.js';

// TR-069 A.3.2.3
export const getParameterNames: RpcHandler<'GetParameterNames'> = (req, { view }) => {
  const r = params.getParameterNames(view, req.path, req.nextLevel);
  return r.ok ? { method: 'GetParameterNamesResponse', params: r.value } : { method: 'Fault', fault: r.fault };
};
