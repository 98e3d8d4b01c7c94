import type { RpcHandler } from './handler.js';
import * as params from './params.js';

// TR-069 A.3.2.2: partial paths expand to every parameter below; any bad name is 9005
export const getParameterValues: RpcHandler<'GetParameterValues'> = (req, { view }) => {
  const r = params.getParameterValues(view, req.names);
  return r.ok ? { method: 'GetParameterValuesResponse', params: r.value } : { method: 'Fault', fault: r.fault };
};
