import { fault, type RpcHandler } from './handler.js';

// TR-069 A.4.1.2: after DelaySeconds, a session with 3 SCHEDULED + M ScheduleInform
export const scheduleInform: RpcHandler<'ScheduleInform'> = (req, { device }) => {
  if (!(req.delaySeconds >= 1)) return fault(9003, 'Invalid arguments: DelaySeconds must be at least 1');
  device.scheduleInform(req.delaySeconds, req.commandKey);
  return { method: 'ScheduleInformResponse' };
};
