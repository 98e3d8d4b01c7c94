import type { RpcHandler } from './handler.js';

// TR-069 A.4.1.9: 9021 when the transfer is under way, done or unknown
export const cancelTransfer: RpcHandler<'CancelTransfer'> = (req, { device }) => {
  const f = device.cancelTransfer(req.commandKey);
  return f ? { method: 'Fault', fault: f } : { method: 'CancelTransferResponse' };
};
