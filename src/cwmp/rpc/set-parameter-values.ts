import type { RpcHandler } from './handler.js';
import * as params from './params.js';

// TR-069 A.3.2.1: atomic; 9003 with one SetParameterValuesFault per bad parameter
export const setParameterValues: RpcHandler<'SetParameterValues'> = (req, { view, writeRule }) => {
  const r = params.setParameterValues(view, req.params, req.parameterKey, writeRule);
  return r.ok ? { method: 'SetParameterValuesResponse', status: 0 } : { method: 'Fault', fault: r.fault };
};
