import type { RpcHandler } from './handler.js';

// TR-069 A.3.2.9: reboot after the session ends, then inform 1 BOOT + M Reboot
export const reboot: RpcHandler<'Reboot'> = (req, { device }) => {
  device.reboot(req.commandKey);
  return { method: 'RebootResponse' };
};
