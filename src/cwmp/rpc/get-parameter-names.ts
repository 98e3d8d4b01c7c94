import type { RpcHandler } from './handler.js';

// TR-069 A.3.2.3
export const getParameterNames: RpcHandler<'GetParameterNames'> = (req, { view }) => {
  const r = view.getParameterNames(req.path, req.nextLevel);
  return r.ok ? { method: 'GetParameterNamesResponse', params: r.value } : { method: 'Fault', fault: r.fault };
};
