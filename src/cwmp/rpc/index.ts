// Dispatch only: one handler per RPC, an exhaustive switch here.
import type { AcsRequest, CpeMessage } from '../types.js';
import { addObject } from './add-object.js';
import { deleteObject } from './delete-object.js';
import { getParameterAttributes } from './get-parameter-attributes.js';
import { getParameterNames } from './get-parameter-names.js';
import { getParameterValues } from './get-parameter-values.js';
import { getRpcMethods } from './get-rpc-methods.js';
import { cancelTransfer } from './cancel-transfer.js';
import { changeDuState } from './change-du-state.js';
import { download } from './download.js';
import { factoryReset } from './factory-reset.js';
import { fault, type RpcContext } from './handler.js';
import { getAllQueuedTransfers, getQueuedTransfers } from './queued-transfers.js';
import { reboot } from './reboot.js';
import { scheduleDownload } from './schedule-download.js';
import { scheduleInform } from './schedule-inform.js';
import { upload } from './upload.js';
import { setParameterAttributes } from './set-parameter-attributes.js';
import { setParameterValues } from './set-parameter-values.js';

export function serveRpc(req: AcsRequest, ctx: RpcContext): CpeMessage {
  switch (req.method) {
    case 'GetRPCMethods':
      return getRpcMethods(req, ctx);
    case 'GetParameterValues':
      return getParameterValues(req, ctx);
    case 'GetParameterNames':
      return getParameterNames(req, ctx);
    case 'SetParameterValues':
      return setParameterValues(req, ctx);
    case 'GetParameterAttributes':
      return getParameterAttributes(req, ctx);
    case 'SetParameterAttributes':
      return setParameterAttributes(req, ctx);
    case 'AddObject':
      return addObject(req, ctx);
    case 'DeleteObject':
      return deleteObject(req, ctx);
    case 'Reboot':
      return reboot(req, ctx);
    case 'FactoryReset':
      return factoryReset(req, ctx);
    case 'Download':
      return download(req, ctx);
    case 'Upload':
      return upload(req, ctx);
    case 'ScheduleInform':
      return scheduleInform(req, ctx);
    case 'GetQueuedTransfers':
      return getQueuedTransfers(req, ctx);
    case 'GetAllQueuedTransfers':
      return getAllQueuedTransfers(req, ctx);
    case 'CancelTransfer':
      return cancelTransfer(req, ctx);
    case 'ScheduleDownload':
      return scheduleDownload(req, ctx);
    case 'ChangeDUState':
      return changeDuState(req, ctx);
    case 'Unsupported':
      // TR-069 A.5.1: 9000 Method not supported
      return fault(9000, `Method not supported: ${req.name}`);
    case 'Invalid':
      return fault(9003, `Invalid arguments: ${req.reason}`);
    case 'NotUnderstood':
      // SOAP 1.1 section 4.2.3: a mandatory header not understood fails the whole message;
      // the RPC is not run.
      return { method: 'Fault', fault: { code: 0, message: `SOAP header not understood: ${req.headers.join(', ')}`, soap: 'MustUnderstand' } };
    default: {
      const never: never = req;
      return fault(9002, `Internal error: unhandled request ${JSON.stringify(never)}`);
    }
  }
}
