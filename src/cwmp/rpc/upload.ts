import { UNKNOWN_TIME } from '../../datamodel/datetime.js';
import { fault, type RpcHandler } from './handler.js';

// TR-069 A.4.1.5: Upload FileType values.
const UPLOAD_TYPES = /^([12] Vendor (Configuration|Log) File|[34] Vendor (Configuration|Log) File \d+|X [0-9A-F]{6} .+)$/;

// TR-069 A.4.1.5: accept, answer Status 1, PUT later, report with TransferComplete
export const upload: RpcHandler<'Upload'> = (req, { device }) => {
  if (!UPLOAD_TYPES.test(req.fileType)) return fault(9003, `Invalid arguments: unsupported FileType "${req.fileType}"`);
  const f = device.queueTransfer({ isDownload: false, ...req, fileSize: 0, targetFileName: '' });
  if (f) return { method: 'Fault', fault: f };
  return { method: 'UploadResponse', status: 1, startTime: UNKNOWN_TIME, completeTime: UNKNOWN_TIME };
};
