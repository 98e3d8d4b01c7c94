import type { RpcHandler } from './handler.js';

// TR-069 A.4.1.1 / A.4.1.7: at most 16 entries
export const getQueuedTransfers: RpcHandler<'GetQueuedTransfers'> = (_req, { device }) => ({
  method: 'GetQueuedTransfersResponse',
  transfers: device
    .queuedTransfers()
    .filter((t) => t.isDownload)
    .slice(0, 16)
    .map((t) => ({ commandKey: t.commandKey, state: t.state })),
});

export const getAllQueuedTransfers: RpcHandler<'GetAllQueuedTransfers'> = (_req, { device }) => ({
  method: 'GetAllQueuedTransfersResponse',
  transfers: device.queuedTransfers().slice(0, 16),
});
