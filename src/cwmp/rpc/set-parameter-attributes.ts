import type { RpcHandler } from './handler.js';
import * as params from './params.js';

// TR-069 A.3.2.4
export const setParameterAttributes: RpcHandler<'SetParameterAttributes'> = (req, { view }) => {
  const r = params.setParameterAttributes(view, req.params);
  return r.ok ? { method: 'SetParameterAttributesResponse' } : { method: 'Fault', fault: r.fault };
};
