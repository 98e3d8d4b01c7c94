import type { RpcHandler } from './handler.js';

// TR-069 A.4.1.6: reset after the session ends, then inform 0 BOOTSTRAP + 1 BOOT
export const factoryReset: RpcHandler<'FactoryReset'> = (_req, { device }) => {
  device.factoryReset();
  return { method: 'FactoryResetResponse' };
};
