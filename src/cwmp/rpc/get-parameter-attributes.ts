import type { RpcHandler } from './handler.js';

// TR-069 A.3.2.5
export const getParameterAttributes: RpcHandler<'GetParameterAttributes'> = (req, { view }) => {
  const r = view.getParameterAttributes(req.names);
  return r.ok ? { method: 'GetParameterAttributesResponse', params: r.value } : { method: 'Fault', fault: r.fault };
};
