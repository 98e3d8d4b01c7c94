import { fault, type RpcHandler } from './handler.js';

const DOWNLOAD_TYPES = /^([1-5] (Firmware Upgrade Image|Web Content|Vendor Configuration File|Tone File|Ringer File)|X [0-9A-F]{6} .+)$/;
const WINDOW_MODES = /^([1-4] (At Any Time|Immediately|When Idle|Confirmation Needed)|X [0-9A-F]{6} .+)$/;

// TR-069 A.4.1.8: one or two non-overlapping windows, seconds from receipt; a download
// that cannot run in any of them is reported with 9020 in TransferComplete.
export const scheduleDownload: RpcHandler<'ScheduleDownload'> = (req, { device }) => {
  if (!DOWNLOAD_TYPES.test(req.fileType)) return fault(9003, `Invalid arguments: unsupported FileType "${req.fileType}"`);
  const w = req.timeWindows;
  if (w.length < 1 || w.length > 2) return fault(9003, `Invalid arguments: ${w.length} time windows (1 or 2 allowed)`);
  for (const x of w) {
    if (!(x.windowEnd > x.windowStart)) return fault(9003, 'Invalid arguments: WindowEnd must be after WindowStart');
    if (!WINDOW_MODES.test(x.windowMode)) return fault(9003, `Invalid arguments: unknown WindowMode "${x.windowMode}"`);
  }
  if (w.length === 2 && w[1]!.windowStart < w[0]!.windowEnd) return fault(9003, 'Invalid arguments: time windows overlap or are out of order');
  const f = device.queueTransfer({
    isDownload: true,
    commandKey: req.commandKey,
    fileType: req.fileType,
    url: req.url,
    username: req.username,
    password: req.password,
    fileSize: req.fileSize,
    targetFileName: req.targetFileName,
    delaySeconds: 0,
    windows: w.map((x) => ({ start: x.windowStart, end: x.windowEnd, mode: x.windowMode })),
  });
  return f ? { method: 'Fault', fault: f } : { method: 'ScheduleDownloadResponse' };
};
