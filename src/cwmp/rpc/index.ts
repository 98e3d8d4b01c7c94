// Dispatch only (STYLE 1): one handler per RPC, an exhaustive switch here.
import type { CpeView } from '../../datamodel/view.js';
import type { AcsRequest, CpeMessage } from '../types.js';
import { addObject } from './add-object.js';
import { deleteObject } from './delete-object.js';
import { getParameterAttributes } from './get-parameter-attributes.js';
import { getParameterNames } from './get-parameter-names.js';
import { getParameterValues } from './get-parameter-values.js';
import { getRpcMethods } from './get-rpc-methods.js';
import { fault } from './handler.js';
import { setParameterAttributes } from './set-parameter-attributes.js';
import { setParameterValues } from './set-parameter-values.js';

export function serveRpc(req: AcsRequest, view: CpeView): CpeMessage {
  switch (req.method) {
    case 'GetRPCMethods':
      return getRpcMethods(req, view);
    case 'GetParameterValues':
      return getParameterValues(req, view);
    case 'GetParameterNames':
      return getParameterNames(req, view);
    case 'SetParameterValues':
      return setParameterValues(req, view);
    case 'GetParameterAttributes':
      return getParameterAttributes(req, view);
    case 'SetParameterAttributes':
      return setParameterAttributes(req, view);
    case 'AddObject':
      return addObject(req, view);
    case 'DeleteObject':
      return deleteObject(req, view);
    case 'Unsupported':
      // TR-069 A.5.1: 9000 Method not supported
      return fault(9000, `Method not supported: ${req.name}`);
    case 'Invalid':
      return fault(9003, `Invalid arguments: ${req.reason}`);
    default: {
      const never: never = req;
      return fault(9002, `Internal error: unhandled request ${JSON.stringify(never)}`);
    }
  }
}
