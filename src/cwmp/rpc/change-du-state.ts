import type { RpcHandler } from './handler.js';

// TR-069 A.4.1.10: accepted at once; results come later in DUStateChangeComplete with
// 11 DU STATE CHANGE COMPLETE + M ChangeDUState.
export const changeDuState: RpcHandler<'ChangeDUState'> = (req, { device }) => {
  device.changeDuState(req.commandKey, req.operations);
  return { method: 'ChangeDUStateResponse' };
};
