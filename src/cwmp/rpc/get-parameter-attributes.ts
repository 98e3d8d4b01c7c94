import type { RpcHandler } from './handler.js';
import * as params from './params.js';

// TR-069 A.3.2.5
export const getParameterAttributes: RpcHandler<'GetParameterAttributes'> = (req, { view }) => {
  const r = params.getParameterAttributes(view, req.names);
  return r.ok ? { method: 'GetParameterAttributesResponse', params: r.value } : { method: 'Fault', fault: r.fault };
};
