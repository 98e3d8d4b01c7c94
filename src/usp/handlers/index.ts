// The USP request dispatcher: one handler per request type, an exhaustive
// switch with a `never` check, nothing else.
import { handleAdd } from './add.js';
import { handleDelete } from './delete.js';
import { handleGet } from './get.js';
import { handleGetInstances } from './get-instances.js';
import { handleGetSupportedDM } from './get-supported-dm.js';
import { handleGetSupportedProtocol } from './get-supported-protocol.js';
import { uspError, type HandlerResult, type UspContext } from './handler.js';
import { handleOperate } from './operate.js';
import { handleSet } from './set.js';
import type { Request } from '../types.js';

export function handleRequest(req: Request, ctx: UspContext): HandlerResult {
  switch (req.req_type) {
    case 'get':
      return handleGet(req.get, ctx);
    case 'get_instances':
      return handleGetInstances(req.get_instances, ctx);
    case 'get_supported_dm':
      return handleGetSupportedDM(req.get_supported_dm, ctx);
    case 'get_supported_protocol':
      return handleGetSupportedProtocol(req.get_supported_protocol, ctx);
    case 'set':
      return handleSet(req.set, ctx);
    case 'add':
      return handleAdd(req.add, ctx);
    case 'delete':
      return handleDelete(req.delete, ctx);
    case 'operate':
      return handleOperate(req.operate, ctx);
    // Notify travels Agent -> Controller only (TR-369 "The Notify Message"); an agent
    // that receives one answers 7001 Message not supported (R-MSG.1 allows an Error).
    case 'notify':
      return uspError(7001, 'Message not supported: an Agent does not accept Notify');
    // Register and Deregister are Agent -> Controller (USP 1.3); this agent registers nothing.
    case 'register':
    case 'deregister':
      return uspError(7001, `Message not supported: ${req.req_type} is sent by Agents, not to them`);
    default: {
      const never: never = req;
      return uspError(7001, `Message not supported: ${String((never as { req_type?: unknown }).req_type)}`);
    }
  }
}
