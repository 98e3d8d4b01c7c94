import type { RpcHandler } from './handler.js';
import * as params from './params.js';

// TR-069 A.3.2.6
export const addObject: RpcHandler<'AddObject'> = (req, { view }) => {
  const r = params.addObject(view, req.objectName, req.parameterKey);
  return r.ok ? { method: 'AddObjectResponse', instanceNumber: r.value, status: 0 } : { method: 'Fault', fault: r.fault };
};
