import type { RpcHandler } from './handler.js';
import * as params from './params.js';

// TR-069 A.3.2.7
export const deleteObject: RpcHandler<'DeleteObject'> = (req, { view }) => {
  const r = params.deleteObject(view, req.objectName, req.parameterKey);
  return r.ok ? { method: 'DeleteObjectResponse', status: 0 } : { method: 'Fault', fault: r.fault };
};
