import { UNKNOWN_TIME } from '../../datamodel/datetime.js';
import { fault, type RpcHandler } from './handler.js';

// TR-069 A.3.2.8: the FileType values a CPE may be asked to download.
const DOWNLOAD_TYPES = /^([1-5] (Firmware Upgrade Image|Web Content|Vendor Configuration File|Tone File|Ringer File)|X [0-9A-F]{6} .+)$/;

// TR-069 A.3.2.8: accept, answer Status 1 (not yet done), report with TransferComplete
export const download: RpcHandler<'Download'> = (req, { device }) => {
  if (!DOWNLOAD_TYPES.test(req.fileType)) return fault(9003, `Invalid arguments: unsupported FileType "${req.fileType}"`);
  const f = device.queueTransfer({ isDownload: true, ...req });
  if (f) return { method: 'Fault', fault: f };
  return { method: 'DownloadResponse', status: 1, startTime: UNKNOWN_TIME, completeTime: UNKNOWN_TIME };
};
